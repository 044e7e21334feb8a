//! Waiting for a pool's lock in slices, so that Ctrl-C still works.
//!
//! The core either blocks in `flock`/`F_OFD_SETLKW` (no timeout) or polls
//! until a deadline, and it retries on EINTR, so a signal alone never ends a
//! wait. The binding therefore gives the core at most one [`SLICE`] at a
//! time, with the GIL released, and between slices takes the GIL back and
//! runs Python's signal handlers. A KeyboardInterrupt raised there ends the
//! wait. A lock timeout only ever happens before the operation touched the
//! file, so retrying the whole operation is safe.

use std::time::{Duration, Instant};

/// The longest the core waits for a lock before Python's signal handlers
/// get a chance to run.
pub(crate) const SLICE: Duration = Duration::from_millis(100);

/// The core timeout for the first attempt of an operation whose caller
/// allows `user` in all (`None` = forever).
pub(crate) fn first_slice(user: Option<Duration>) -> Duration {
    user.map_or(SLICE, |t| t.min(SLICE))
}

/// What to do after an attempt timed out, `elapsed` after the start.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Next {
    /// Try again with the same slice.
    Retry,
    /// Try once more with this shorter, final slice.
    Last(Duration),
    /// The caller's timeout has passed.
    GiveUp,
}

/// Decides the next step after a timed-out slice.
pub(crate) fn after_timeout(user: Option<Duration>, elapsed: Duration) -> Next {
    match user {
        None => Next::Retry,
        Some(total) if elapsed >= total => Next::GiveUp,
        Some(total) if total - elapsed < SLICE => Next::Last(total - elapsed),
        Some(_) => Next::Retry,
    }
}

/// Runs `attempt` with a slice length until it succeeds, fails otherwise,
/// or the caller's timeout passes; `between` runs after each timed-out
/// slice (signal checks) and may end the wait with its own error.
pub(crate) fn sliced<T, E>(
    user: Option<Duration>,
    mut attempt: impl FnMut(Duration) -> Result<T, E>,
    is_timeout: impl Fn(&E) -> bool,
    mut between: impl FnMut() -> Result<(), E>,
) -> Result<T, E> {
    let start = Instant::now();
    let mut slice = first_slice(user);
    loop {
        match attempt(slice) {
            Err(e) if is_timeout(&e) => {
                between()?;
                match after_timeout(user, start.elapsed()) {
                    Next::Retry => {}
                    Next::Last(rest) => slice = rest,
                    Next::GiveUp => return Err(e),
                }
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_never_exceed_the_callers_timeout() {
        assert_eq!(first_slice(None), SLICE);
        assert_eq!(first_slice(Some(Duration::ZERO)), Duration::ZERO);
        assert_eq!(first_slice(Some(Duration::from_secs(5))), SLICE);
        assert_eq!(after_timeout(None, Duration::from_secs(999)), Next::Retry);
        let total = Some(Duration::from_millis(250));
        assert_eq!(
            after_timeout(total, Duration::from_millis(100)),
            Next::Retry
        );
        assert_eq!(
            after_timeout(total, Duration::from_millis(200)),
            Next::Last(Duration::from_millis(50))
        );
        assert_eq!(
            after_timeout(total, Duration::from_millis(250)),
            Next::GiveUp
        );
    }

    #[test]
    fn sliced_retries_until_success_and_stops_on_other_errors() {
        let mut calls = 0;
        let result: Result<u32, &str> = sliced(
            None,
            |_| {
                calls += 1;
                if calls < 3 {
                    Err("timeout")
                } else {
                    Ok(7)
                }
            },
            |e| *e == "timeout",
            || Ok(()),
        );
        assert_eq!(result, Ok(7));
        assert_eq!(calls, 3);

        let interrupted: Result<u32, &str> = sliced(
            None,
            |_| Err("timeout"),
            |e| *e == "timeout",
            || Err("interrupt"),
        );
        assert_eq!(interrupted, Err("interrupt"));

        let other: Result<u32, &str> = sliced(None, |_| Err("io"), |e| *e == "timeout", || Ok(()));
        assert_eq!(other, Err("io"));
    }

    #[test]
    fn sliced_gives_up_with_a_zero_timeout_after_one_attempt() {
        let mut calls = 0;
        let result: Result<(), &str> = sliced(
            Some(Duration::ZERO),
            |slice| {
                calls += 1;
                assert_eq!(slice, Duration::ZERO);
                Err("timeout")
            },
            |e| *e == "timeout",
            || Ok(()),
        );
        assert_eq!(result, Err("timeout"));
        assert_eq!(calls, 1);
    }
}
