//! `get` and `wait` on a terminal: the escaped form, unless `--raw`; `list`
//! and `entries` fit the terminal's width, unless `--wide`.
//!
//! kvp runs with its stdout on a pseudo-terminal that this test opens, so
//! that `isatty(1)` is true for it exactly as in an operator's shell.

use std::fs::File;
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::process::{Command, Stdio};

use crate::support::{wide_pool, Pools, KVP};

/// A value as the host could write it into pool 0: it sets the terminal's
/// title, clears the screen, moves the cursor, starts a C1 CSI colour and
/// reverses the text that follows.
const HOSTILE: &str = "\x1b]0;pwned\x07\x1b[2J\x1b[1;1H\u{9b}31mok\u{202e}gnp.exe";
/// HOSTILE in the escaped form.
const SHOWN: &str = r"\x1b]0;pwned\x07\x1b[2J\x1b[1;1H\u{009b}31mok\u{202e}gnp.exe";

/// A pseudo-terminal: the side kvp writes to and the side this test reads.
struct Pty {
    reader: File,
    terminal: OwnedFd,
}

/// A pseudo-terminal `columns` wide (0: a size never set, as on a serial
/// console).
fn open_pty(columns: u16) -> Pty {
    let (mut master, mut slave) = (-1, -1);
    let size = libc::winsize {
        ws_row: 24,
        ws_col: columns,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: openpty writes two descriptors into the two ints and reads
    // the winsize; the name and termios pointers may be NULL.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            &size,
        )
    };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: openpty succeeded, so both descriptors are open and ours.
    let (reader, terminal) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    for fd in [&reader, &terminal] {
        // Children of tests running in parallel must not keep the pty open.
        // SAFETY: F_SETFD on a descriptor we own.
        unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) };
    }
    // Output processing off, so that what kvp writes arrives unchanged
    // (no LF turned into CR LF).
    // SAFETY: termios is plain data that tcgetattr fills in.
    let mut termios: libc::termios = unsafe { std::mem::zeroed() };
    // SAFETY: a valid descriptor and a valid termios pointer.
    unsafe {
        assert_eq!(libc::tcgetattr(terminal.as_raw_fd(), &mut termios), 0);
        termios.c_oflag &= !libc::OPOST;
        assert_eq!(
            libc::tcsetattr(terminal.as_raw_fd(), libc::TCSANOW, &termios),
            0
        );
    }
    Pty {
        reader: File::from(reader),
        terminal,
    }
}

/// Runs kvp with `args` and stdout on a terminal: its status and the exact
/// bytes it wrote there.
fn on_terminal(pools: &Pools, args: &[&str]) -> (i32, Vec<u8>) {
    on_sized_terminal(pools, args, 0, None)
}

/// As [`on_terminal`], on a terminal `columns` wide, with `$COLUMNS` set
/// to `env_columns` or unset.
fn on_sized_terminal(
    pools: &Pools,
    args: &[&str],
    columns: u16,
    env_columns: Option<&str>,
) -> (i32, Vec<u8>) {
    let Pty {
        mut reader,
        terminal,
    } = open_pty(columns);
    let dir = pools.dir.path().to_str().expect("utf-8 temp path");
    let mut command = Command::new(KVP);
    match env_columns {
        Some(value) => command.env("COLUMNS", value),
        None => command.env_remove("COLUMNS"),
    };
    let child = command
        .arg("--dir")
        .arg(dir)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::from(terminal))
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn kvp");
    // Dropping the Command closes this process's copy of the terminal
    // side, so the read ends (EIO) once kvp has exited.
    drop(command);
    let output = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        // read_to_end keeps what it read before the EIO that ends a pty.
        let _ = reader.read_to_end(&mut bytes);
        bytes
    });
    let status = child.wait_with_output().expect("wait for kvp");
    assert_eq!(String::from_utf8_lossy(&status.stderr), "");
    let bytes = output.join().expect("reader thread");
    (status.status.code().expect("exit code"), bytes)
}

fn hostile_pool() -> Pools {
    let pools = Pools::new();
    pools.write(&["set", "k", HOSTILE]);
    pools
}

#[test]
fn get_shows_the_escaped_form_on_a_terminal() {
    let pools = hostile_pool();
    let (code, bytes) = on_terminal(&pools, &["get", "k"]);
    assert_eq!(code, 0);
    assert_eq!(String::from_utf8_lossy(&bytes), format!("{SHOWN}\n"));
    assert!(
        !bytes.contains(&0x1b) && !bytes.contains(&0x07),
        "{bytes:?}"
    );
}

#[test]
fn get_raw_prints_the_exact_bytes_even_to_a_terminal() {
    let pools = hostile_pool();
    let (code, bytes) = on_terminal(&pools, &["get", "--raw", "k"]);
    assert_eq!(code, 0);
    assert_eq!(bytes, format!("{HOSTILE}\n").as_bytes());
}

#[test]
fn a_pipe_gets_the_exact_bytes() {
    let pools = hostile_pool();
    assert_eq!(pools.run(&["get", "k"]).ok(), format!("{HOSTILE}\n"));
    assert_eq!(
        pools.run(&["wait", "k", "--timeout", "0s"]).ok(),
        format!("{HOSTILE}\n")
    );
}

#[test]
fn wait_shows_the_escaped_form_on_a_terminal_unless_raw() {
    let pools = hostile_pool();
    let (code, bytes) = on_terminal(&pools, &["wait", "k", "--timeout", "0s"]);
    assert_eq!(code, 0);
    assert_eq!(String::from_utf8_lossy(&bytes), format!("{SHOWN}\n"));
    let (code, bytes) = on_terminal(&pools, &["wait", "--raw", "k", "--timeout", "0s"]);
    assert_eq!(code, 0);
    assert_eq!(bytes, format!("{HOSTILE}\n").as_bytes());
}

#[test]
fn tables_and_json_are_escaped_on_a_terminal_too() {
    let pools = hostile_pool();
    for args in [
        &["list"][..],
        &["entries"],
        &["get", "--json", "k"],
        &["dump"],
    ] {
        let (code, bytes) = on_terminal(&pools, args);
        assert_eq!(code, 0, "{args:?}");
        let c1 = bytes
            .windows(2)
            .any(|w| w[0] == 0xc2 && (0x80..=0x9f).contains(&w[1]));
        let bidi = String::from_utf8_lossy(&bytes).contains('\u{202e}');
        assert!(
            !bytes.contains(&0x1b) && !c1 && !bidi,
            "{args:?}: {bytes:?}"
        );
    }
}

fn lines(bytes: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(bytes)
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn tables_fit_the_terminal_width() {
    let (pools, key, _) = wide_pool();
    for (args, columns) in [
        (&["list"][..], 100u16),
        (&["entries"], 100),
        (&["list"], 57),
    ] {
        let (code, bytes) = on_sized_terminal(&pools, args, columns, Some("200"));
        assert_eq!(code, 0, "{args:?}");
        let lines = lines(&bytes);
        let width = usize::from(columns);
        assert!(
            lines.iter().all(|l| l.chars().count() <= width),
            "{args:?} on {columns} columns: {lines:#?}"
        );
        let long = lines
            .iter()
            .find(|l| l.contains("CLOUD_INIT|"))
            .expect("the long row");
        assert_eq!(long.chars().count(), width, "{args:?}: {long}");
        assert_eq!(long.matches('…').count(), 2, "key and value cut: {long}");
        assert!(!long.contains(&key), "{long}");
        let short = lines.iter().any(|l| {
            l.split_whitespace()
                .collect::<Vec<_>>()
                .ends_with(&["short", "1"])
        });
        assert!(short, "short rows are not cut: {lines:#?}");
    }
}

#[test]
fn columns_is_the_fallback_for_a_terminal_of_no_size() {
    let (pools, ..) = wide_pool();
    let (code, bytes) = on_sized_terminal(&pools, &["list"], 0, Some("70"));
    assert_eq!(code, 0);
    assert_eq!(lines_width(&bytes), 70, "{:#?}", lines(&bytes));
    let (code, bytes) = on_sized_terminal(&pools, &["list"], 0, None);
    assert_eq!(code, 0);
    assert_eq!(lines_width(&bytes), 80, "80 when nothing tells");
}

fn lines_width(bytes: &[u8]) -> usize {
    lines(bytes)
        .iter()
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(0)
}

#[test]
fn wide_never_cuts_on_a_terminal() {
    let (pools, key, shown) = wide_pool();
    for (args, prefix) in [(&["list", "--wide"][..], "0  "), (&["entries", "-w"], "")] {
        let (code, bytes) = on_sized_terminal(&pools, args, 100, None);
        assert_eq!(code, 0, "{args:?}");
        let lines = lines(&bytes);
        let row = format!("{prefix}{key}  {shown}");
        assert!(lines.contains(&row), "{args:?}: {lines:#?}");
        assert!(!lines.iter().any(|l| l.contains('…')), "{args:?}");
    }
}
