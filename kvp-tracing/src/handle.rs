//! Reading the counters, flushing, and shutting the writer down: the
//! [`KvpHandle`] anyone may hold, and the [`KvpGuard`] that stops the
//! writer when it is dropped (as tracing-appender's `WorkerGuard` does).

use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::stats::Stats;
use crate::worker::{Message, Shared};

/// The longest pause between two attempts to queue a flush marker while
/// the queue is full.
const RETRY_PAUSE: Duration = Duration::from_millis(1);

/// Reads the layer's counters and flushes its queue; cheap to clone and
/// safe to use from any thread.
#[derive(Clone, Debug)]
pub struct KvpHandle {
    pub(crate) queue: SyncSender<Message>,
    pub(crate) shared: Arc<Shared>,
}

impl KvpHandle {
    /// A snapshot of the counters.
    pub fn stats(&self) -> Stats {
        self.shared.counters.snapshot()
    }

    /// How many spans and events were dropped so far, for any reason
    /// ([`Stats::dropped`]).
    pub fn dropped(&self) -> u64 {
        self.stats().dropped()
    }

    /// The last error the writer met (a lock timeout, an I/O error, ...),
    /// as text for people; `None` when every write succeeded.
    pub fn last_error(&self) -> Option<String> {
        self.shared.last_error.lock().ok().and_then(|e| e.clone())
    }

    /// Waits at most `timeout` until everything queued before this call
    /// was written or counted as dropped. [`Error::Timeout`] when the
    /// writer did not get there in time (the pool is locked, or the queue
    /// is long); [`Error::Closed`] after shutdown.
    pub fn flush(&self, timeout: Duration) -> Result<()> {
        let deadline = Instant::now().checked_add(timeout);
        self.mark(Message::Flush, timeout, deadline)
    }

    /// Queues a marker (waiting for room until `deadline`), then waits for
    /// the writer to acknowledge it.
    fn mark(
        &self,
        marker: fn(SyncSender<()>) -> Message,
        timeout: Duration,
        deadline: Option<Instant>,
    ) -> Result<()> {
        let (ack, acked) = mpsc::sync_channel(1);
        let mut message = marker(ack);
        loop {
            match self.queue.try_send(message) {
                Ok(()) => break,
                Err(TrySendError::Disconnected(_)) => return Err(Error::Closed),
                Err(TrySendError::Full(back)) => {
                    let left = remaining(deadline).ok_or(Error::Timeout { timeout })?;
                    std::thread::sleep(left.min(RETRY_PAUSE));
                    message = back;
                }
            }
        }
        match remaining(deadline) {
            None => Err(Error::Timeout { timeout }),
            Some(left) if left == Duration::MAX => acked.recv().map_err(|_| Error::Closed),
            Some(left) => acked.recv_timeout(left).map_err(|e| match e {
                mpsc::RecvTimeoutError::Timeout => Error::Timeout { timeout },
                mpsc::RecvTimeoutError::Disconnected => Error::Closed,
            }),
        }
    }
}

/// The time left until `deadline` (`Duration::MAX` without one); `None`
/// once it has passed.
fn remaining(deadline: Option<Instant>) -> Option<Duration> {
    match deadline {
        None => Some(Duration::MAX),
        Some(deadline) => deadline
            .checked_duration_since(Instant::now())
            .filter(|left| !left.is_zero()),
    }
}

/// Owns the writer thread: [`KvpGuard::shutdown`], or dropping the guard,
/// writes what is queued (waiting at most the shutdown timeout) and stops
/// the writer. Keep it alive as long as the layer should write, typically
/// in `main`.
#[derive(Debug)]
#[must_use = "dropping the guard stops the writer at once"]
pub struct KvpGuard {
    handle: KvpHandle,
    thread: Option<JoinHandle<()>>,
    timeout: Duration,
}

impl KvpGuard {
    pub(crate) fn new(handle: KvpHandle, thread: JoinHandle<()>, timeout: Duration) -> KvpGuard {
        KvpGuard {
            handle,
            thread: Some(thread),
            timeout,
        }
    }

    /// A handle for reading the counters and flushing from elsewhere.
    pub fn handle(&self) -> KvpHandle {
        self.handle.clone()
    }

    /// A snapshot of the counters ([`KvpHandle::stats`]).
    pub fn stats(&self) -> Stats {
        self.handle.stats()
    }

    /// Waits at most `timeout` for the queue to drain
    /// ([`KvpHandle::flush`]).
    pub fn flush(&self, timeout: Duration) -> Result<()> {
        self.handle.flush(timeout)
    }

    /// Stops the writer: from now on spans and events are counted in
    /// [`Stats::dropped_closed`]; what was queued before is written,
    /// waiting at most `timeout`. When the wait runs out the writer
    /// finishes its current write, counts the rest as dropped and stops on
    /// its own, and this returns [`Error::Timeout`]. Returns the final
    /// counters.
    pub fn shutdown(mut self, timeout: Duration) -> Result<Stats> {
        self.stop(timeout)
    }

    fn stop(&mut self, timeout: Duration) -> Result<Stats> {
        let Some(thread) = self.thread.take() else {
            return Ok(self.stats());
        };
        let shared = &self.handle.shared;
        shared.closed.store(true, Ordering::Release);
        let deadline = Instant::now().checked_add(timeout);
        match self.handle.mark(Message::Stop, timeout, deadline) {
            Ok(()) | Err(Error::Closed) => {
                // The writer returns right after acknowledging.
                let _ = thread.join();
                Ok(self.stats())
            }
            Err(error) => {
                shared.abandon.store(true, Ordering::Release);
                Err(error)
            }
        }
    }
}

impl Drop for KvpGuard {
    fn drop(&mut self) {
        let _ = self.stop(self.timeout);
    }
}
