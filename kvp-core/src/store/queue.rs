//! A first-come, first-served queue for the threads of one process that
//! share a store.
//!
//! Across processes, waiting for the pool's file locks means polling (the
//! kernel offers no timed wait for `flock` or `F_OFD_SETLKW`), and polling
//! threads of one process race each other: under load some lose every
//! round until they time out. So the threads of one process first take a
//! ticket here, in arrival order, and only the thread whose turn it is
//! touches the file locks. A thread that gives up leaves its ticket behind
//! and the queue skips it.
//!
//! After `fork` the child has none of the parent's other threads, so a
//! queue that notices it is in a new process starts afresh rather than
//! waiting for tickets nobody will ever release. It notices by a fork
//! generation, a counter that a `pthread_atfork` handler bumps in every
//! child, read with one atomic load instead of a `getpid` syscall on each
//! turn. Should the handler fail to register, the pid serves instead.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, Once, PoisonError};
use std::time::{Duration, Instant};

use crate::store::options::WaitCheck;

/// How often a waiter runs the caller's [`WaitCheck`].
pub(crate) const CHECK_EVERY: Duration = Duration::from_millis(100);

/// Why a wait for a turn ended without one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// The deadline passed with this many turns still ahead.
    TimedOut { ahead: usize },
    /// The caller's check asked to stop.
    Interrupted,
}

/// Forks this process has gone through, counted in each child.
static FORKS: AtomicU64 = AtomicU64::new(0);
/// Whether the handler that counts them is registered.
static COUNTING: AtomicBool = AtomicBool::new(false);
static REGISTER: Once = Once::new();

extern "C" fn count_fork_in_child() {
    // Only an atomic add: async-signal-safe, as a handler that runs in the
    // child of a multithreaded process must be.
    FORKS.fetch_add(1, Ordering::Relaxed);
}

/// Which process this is, as far as the queue cares: the same value in one
/// process, another one after every fork.
fn generation() -> u64 {
    REGISTER.call_once(|| {
        // SAFETY: registers a plain function that touches only an atomic;
        // no pointer to anything that could go away is handed over.
        let rc = unsafe { libc::pthread_atfork(None, None, Some(count_fork_in_child)) };
        COUNTING.store(rc == 0, Ordering::Release);
    });
    if COUNTING.load(Ordering::Acquire) {
        FORKS.load(Ordering::Relaxed)
    } else {
        // The pid, kept apart from any count by the high bit.
        (1 << 63) | u64::from(std::process::id())
    }
}

#[derive(Debug, Default)]
struct State {
    /// The fork generation the state belongs to.
    generation: u64,
    next_ticket: u64,
    serving: u64,
    abandoned: BTreeSet<u64>,
    waiting: usize,
}

impl State {
    /// Moves the turn on, past tickets whose holders gave up.
    fn advance(&mut self) {
        self.serving += 1;
        while self.abandoned.remove(&self.serving) {
            self.serving += 1;
        }
    }
}

/// The queue; one per store, shared by its clones.
#[derive(Debug, Default)]
pub(crate) struct FairQueue {
    state: Mutex<State>,
    turn_changed: Condvar,
}

/// A turn: the holder may take the file locks. Dropping it passes the turn.
#[derive(Debug)]
pub(crate) struct Turn<'q> {
    queue: &'q FairQueue,
    ticket: u64,
    generation: u64,
}

impl FairQueue {
    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is consistent after every statement, so a panic in
        // another thread leaves nothing half-done.
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let generation = generation();
        if state.generation != generation {
            *state = State {
                generation,
                ..State::default()
            };
        }
        state
    }

    /// Waits for this thread's turn until `deadline` (`None`: no deadline),
    /// running `check` every [`CHECK_EVERY`].
    pub(crate) fn enter(
        &self,
        deadline: Option<Instant>,
        check: Option<&WaitCheck>,
    ) -> Result<Turn<'_>, Refused> {
        let mut state = self.lock();
        let ticket = state.next_ticket;
        state.next_ticket += 1;
        let generation = state.generation;
        let turn = Turn {
            queue: self,
            ticket,
            generation,
        };
        if state.serving == ticket {
            return Ok(turn);
        }
        state.waiting += 1;
        let outcome = loop {
            let now = Instant::now();
            let slice = match deadline {
                Some(deadline) if now >= deadline => {
                    let ahead = usize::try_from(ticket - state.serving).unwrap_or(usize::MAX);
                    break Err(Refused::TimedOut { ahead });
                }
                Some(deadline) => (deadline - now).min(CHECK_EVERY),
                None => CHECK_EVERY,
            };
            state = self
                .turn_changed
                .wait_timeout(state, slice)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
            if state.serving == ticket || state.generation != generation {
                break Ok(());
            }
            if let Some(check) = check {
                // Run the caller's code without holding the queue.
                drop(state);
                let keep = check.keep_waiting();
                state = self.lock();
                if state.serving == ticket || state.generation != generation {
                    break Ok(());
                }
                if !keep {
                    break Err(Refused::Interrupted);
                }
            }
        };
        state.waiting -= 1;
        match outcome {
            Ok(()) => Ok(turn),
            Err(refused) => {
                state.abandoned.insert(ticket);
                // The turn must not stop at a ticket nobody holds.
                std::mem::forget(turn);
                Err(refused)
            }
        }
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        let mut state = self.queue.lock();
        if state.generation != self.generation || state.serving != self.ticket {
            return;
        }
        state.advance();
        if state.waiting > 0 {
            drop(state);
            self.queue.turn_changed.notify_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn turns_are_served_in_arrival_order() {
        let queue = Arc::new(FairQueue::default());
        let first = queue.enter(None, None).expect("first");
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut handles = Vec::new();
        for i in 0..8 {
            let (shared, order) = (Arc::clone(&queue), Arc::clone(&order));
            handles.push(std::thread::spawn(move || {
                let _turn = shared.enter(None, None).expect("turn");
                order.lock().expect("order").push(i);
            }));
            // Each thread takes its ticket before the next one starts.
            while queue.lock().next_ticket < i + 2 {
                std::thread::yield_now();
            }
        }
        drop(first);
        for handle in handles {
            handle.join().expect("join");
        }
        assert_eq!(*order.lock().expect("order"), (0..8).collect::<Vec<_>>());
    }

    #[test]
    fn a_waiter_that_gives_up_is_skipped() {
        let queue = FairQueue::default();
        let first = queue.enter(None, None).expect("first");
        let refused = queue.enter(Some(Instant::now()), None).expect_err("busy");
        assert_eq!(refused, Refused::TimedOut { ahead: 1 });
        drop(first);
        // Ticket 1 was abandoned, so ticket 2 is served at once.
        let next = queue.enter(Some(Instant::now()), None).expect("served");
        assert_eq!(next.ticket, 2);
    }

    #[test]
    fn a_forked_child_starts_its_own_queue() {
        let queue = FairQueue::default();
        // The parent holds the turn; no thread of the child ever will.
        let _held = queue.enter(None, None).expect("parent's turn");
        // SAFETY: fork; the child only takes a turn (a mutex and an atomic,
        // both free at the fork) and leaves with _exit.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork");
        if pid == 0 {
            let deadline = Instant::now() + Duration::from_secs(2);
            let served = queue
                .enter(Some(deadline), None)
                .is_ok_and(|turn| turn.ticket == 0);
            // SAFETY: leaves the child without running the parent's
            // destructors or the test harness.
            unsafe { libc::_exit(if served { 0 } else { 1 }) };
        }
        let mut status = 0;
        // SAFETY: waits for the child just forked; `status` is writable.
        assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
        assert!(
            libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
            "the child waited for the parent's turn (status {status})"
        );
        // The parent's queue is untouched by the child's.
        assert_eq!(queue.lock().next_ticket, 1);
    }

    #[test]
    fn a_check_that_says_stop_interrupts_the_wait() {
        let queue = FairQueue::default();
        let _first = queue.enter(None, None).expect("first");
        let stop = WaitCheck::new(|| false);
        let refused = queue.enter(None, Some(&stop)).expect_err("interrupted");
        assert_eq!(refused, Refused::Interrupted);
    }
}
