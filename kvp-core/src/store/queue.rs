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
//! queue that notices a new pid starts afresh rather than waiting for
//! tickets nobody will ever release.

use std::collections::BTreeSet;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
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

#[derive(Debug, Default)]
struct State {
    pid: u32,
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
    pid: u32,
}

impl FairQueue {
    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is consistent after every statement, so a panic in
        // another thread leaves nothing half-done.
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let pid = std::process::id();
        if state.pid != pid {
            *state = State {
                pid,
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
        let pid = state.pid;
        let turn = Turn {
            queue: self,
            ticket,
            pid,
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
            if state.serving == ticket || state.pid != pid {
                break Ok(());
            }
            if let Some(check) = check {
                // Run the caller's code without holding the queue.
                drop(state);
                let keep = check.keep_waiting();
                state = self.lock();
                if state.serving == ticket || state.pid != pid {
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
        if state.pid != self.pid || state.serving != self.ticket {
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
    fn a_check_that_says_stop_interrupts_the_wait() {
        let queue = FairQueue::default();
        let _first = queue.enter(None, None).expect("first");
        let stop = WaitCheck::new(|| false);
        let refused = queue.enter(None, Some(&stop)).expect_err("interrupted");
        assert_eq!(refused, Refused::Interrupted);
    }
}
