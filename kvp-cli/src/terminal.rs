//! The width of the terminal on stdout, which tables fit.

/// What is assumed when neither the terminal nor `$COLUMNS` tells.
const DEFAULT_COLUMNS: usize = 80;

/// The terminal's width in columns: what the kernel says for stdout
/// (`TIOCGWINSZ`), then `$COLUMNS`, then 80.
///
/// The kernel's answer comes first because it is the live size, and it
/// follows every resize; `$COLUMNS` is a shell variable that shells
/// usually do not export, so a child sees it stale or not at all. The
/// kernel says 0 on a terminal that was never given a size (a serial
/// console, some container ptys); `$COLUMNS` is the way to tell kvp then.
pub fn columns() -> usize {
    kernel_columns()
        .or_else(env_columns)
        .unwrap_or(DEFAULT_COLUMNS)
}

fn kernel_columns() -> Option<usize> {
    let mut size = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one winsize through the pointer, which is
    // valid for it; on a descriptor that is not a terminal it fails
    // (ENOTTY) and writes nothing.
    let rc = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut size) };
    (rc == 0 && size.ws_col > 0).then_some(usize::from(size.ws_col))
}

fn env_columns() -> Option<usize> {
    parse_columns(&std::env::var("COLUMNS").ok()?)
}

/// A positive number of columns, as `$COLUMNS` may hold it.
fn parse_columns(text: &str) -> Option<usize> {
    text.trim().parse().ok().filter(|&n| n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_from_the_environment() {
        assert_eq!(parse_columns("120"), Some(120));
        assert_eq!(parse_columns(" 90\n"), Some(90));
        for bad in ["", "0", "-5", "wide", "1e3"] {
            assert_eq!(parse_columns(bad), None, "{bad}");
        }
        assert!(columns() > 0);
    }
}
