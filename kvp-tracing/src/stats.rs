//! What the layer handed to its writer, what was written, and what it had
//! to drop and why: counted in atomics, read as a [`Stats`] snapshot.

use std::sync::atomic::{AtomicU64, Ordering};

/// A snapshot of the counters, from [`crate::KvpHandle::stats`].
///
/// Every span start, span finish and event that passed the level filter
/// ends up in exactly one of `written` and the `dropped_*` counters, once
/// the writer has handled it (after a successful
/// [`crate::KvpHandle::flush`]):
/// `accepted == written + dropped_lock_timeout + dropped_write_error +
/// dropped_invalid` plus those discarded at shutdown.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Stats {
    /// Events the caller's thread queued for the writer.
    pub accepted: u64,
    /// Events written to the pool.
    pub written: u64,
    /// Records written to the pool (an event takes one or more).
    pub records: u64,
    /// Events dropped on the caller's thread because the queue was full.
    pub dropped_queue_full: u64,
    /// Events dropped because the pool stayed locked longer than the lock
    /// timeout.
    pub dropped_lock_timeout: u64,
    /// Events dropped because the pool refused the write for another
    /// reason (I/O error, unsafe or replaced file, ...).
    pub dropped_write_error: u64,
    /// Events the format could not encode (should not happen: the layer
    /// shapes names and payloads to fit).
    pub dropped_invalid: u64,
    /// Events emitted after shutdown began, or still queued when a
    /// shutdown gave up waiting.
    pub dropped_closed: u64,
    /// Events lost because formatting them panicked inside the layer
    /// (a panicking `Debug` of a field is caught and written as text, so
    /// this stays 0 unless the layer itself fails).
    pub dropped_panicked: u64,
}

impl Stats {
    /// Every event dropped, whatever the reason.
    pub fn dropped(&self) -> u64 {
        self.dropped_queue_full
            + self.dropped_lock_timeout
            + self.dropped_write_error
            + self.dropped_invalid
            + self.dropped_closed
            + self.dropped_panicked
    }
}

/// The live counters behind [`Stats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) accepted: AtomicU64,
    pub(crate) written: AtomicU64,
    pub(crate) records: AtomicU64,
    pub(crate) dropped_queue_full: AtomicU64,
    pub(crate) dropped_lock_timeout: AtomicU64,
    pub(crate) dropped_write_error: AtomicU64,
    pub(crate) dropped_invalid: AtomicU64,
    pub(crate) dropped_closed: AtomicU64,
    pub(crate) dropped_panicked: AtomicU64,
}

/// Adds `n` to a counter. Relaxed: each counter is a tally, and a flush
/// orders the writer's updates before its acknowledgement.
pub(crate) fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

impl Counters {
    pub(crate) fn snapshot(&self) -> Stats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Stats {
            accepted: get(&self.accepted),
            written: get(&self.written),
            records: get(&self.records),
            dropped_queue_full: get(&self.dropped_queue_full),
            dropped_lock_timeout: get(&self.dropped_lock_timeout),
            dropped_write_error: get(&self.dropped_write_error),
            dropped_invalid: get(&self.dropped_invalid),
            dropped_closed: get(&self.dropped_closed),
            dropped_panicked: get(&self.dropped_panicked),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropped_sums_every_reason() {
        let counters = Counters::default();
        add(&counters.accepted, 10);
        add(&counters.written, 4);
        for c in [
            &counters.dropped_queue_full,
            &counters.dropped_lock_timeout,
            &counters.dropped_write_error,
            &counters.dropped_invalid,
            &counters.dropped_closed,
            &counters.dropped_panicked,
        ] {
            add(c, 1);
        }
        let stats = counters.snapshot();
        assert_eq!(stats.dropped(), 6);
        assert_eq!(stats.accepted, 10);
        assert_eq!(stats.written, 4);
    }
}
