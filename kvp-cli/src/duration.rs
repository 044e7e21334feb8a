//! Durations on the command line: `500ms`, `2s`, `1.5s`, `1m`, `1h`.
//!
//! Four units do not justify a dependency; a bare number means seconds.

use std::time::Duration;

/// Parses a non-negative number followed by `ms`, `s`, `m` or `h` (or by
/// nothing, meaning seconds).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let seconds_per_unit = match unit {
        "ms" => 0.001,
        "" | "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        _ => return Err(invalid(text)),
    };
    let number: f64 = number.parse().map_err(|_| invalid(text))?;
    Duration::try_from_secs_f64(number * seconds_per_unit).map_err(|_| invalid(text))
}

/// How long to wait for a pool's lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockWait {
    /// At most this long.
    For(Duration),
    /// As long as it takes.
    Forever,
}

impl LockWait {
    /// The core's form: `None` waits forever.
    pub fn timeout(self) -> Option<Duration> {
        match self {
            LockWait::For(duration) => Some(duration),
            LockWait::Forever => None,
        }
    }
}

/// Parses `--lock-timeout`: a duration, or `forever`.
pub fn parse_lock_wait(text: &str) -> Result<LockWait, String> {
    if text.trim() == "forever" {
        return Ok(LockWait::Forever);
    }
    parse_duration(text)
        .map(LockWait::For)
        .map_err(|e| format!("{e}, or forever"))
}

fn invalid(text: &str) -> String {
    format!("{text:?} is not a duration: write a number with ms, s, m or h, such as 500ms or 2s")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        let ok = |t: &str| parse_duration(t).expect(t);
        assert_eq!(ok("500ms"), Duration::from_millis(500));
        assert_eq!(ok("2s"), Duration::from_secs(2));
        assert_eq!(ok("2"), Duration::from_secs(2));
        assert_eq!(ok("1.5s"), Duration::from_millis(1500));
        assert_eq!(ok("1m"), Duration::from_secs(60));
        assert_eq!(ok("1h"), Duration::from_secs(3600));
        assert_eq!(ok("0"), Duration::ZERO);
    }

    #[test]
    fn lock_waits() {
        assert_eq!(parse_lock_wait("forever"), Ok(LockWait::Forever));
        assert_eq!(
            parse_lock_wait("2s"),
            Ok(LockWait::For(Duration::from_secs(2)))
        );
        assert_eq!(LockWait::Forever.timeout(), None);
        assert!(parse_lock_wait("never").is_err());
    }

    #[test]
    fn rejects_nonsense() {
        for bad in ["", "ms", "-1s", "2x", "1.2.3s", "s2", "1e9999s", "5 s"] {
            let err = parse_duration(bad).expect_err(bad);
            assert!(err.contains("not a duration"), "{bad}: {err}");
        }
    }
}
