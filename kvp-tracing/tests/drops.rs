//! The caller never waits: a locked pool, a full queue and a shutdown make
//! the layer drop records and count them, and the queue drains on flush
//! and shutdown. Nothing here asserts on timing: only on counts, on what
//! the pool holds, and on callers finishing while the writer is stuck.

mod support;

use std::process::{Command, Stdio};
use std::time::Duration;

use kvp_tracing::{Error, KvpGuard, KvpLayer};
use support::{builder, events, flock_is_held, record_count, temp_pool, HeldLock, WAIT};
use tracing::{info, info_span};
use tracing_subscriber::layer::SubscriberExt;

/// The writer's batch cap (worker::MAX_BATCH_EVENTS).
const MAX_BATCH: u64 = 64;
/// A lock wait the writer will not see the end of during a test.
const FOREVER: Duration = Duration::from_secs(3600);

fn dispatch(layer: KvpLayer) -> tracing::Dispatch {
    tracing::Dispatch::new(tracing_subscriber::registry().with(layer))
}

/// Emits `n` events on a thread of its own and waits for it to finish.
fn emit_on_thread(dispatch: &tracing::Dispatch, n: u64) {
    let dispatch = dispatch.clone();
    std::thread::spawn(move || {
        tracing::dispatcher::with_default(&dispatch, || {
            for i in 0..n {
                info!(i, "event");
            }
        })
    })
    .join()
    .expect("the caller finished");
}

#[test]
fn a_locked_pool_drops_and_counts_while_callers_go_on() {
    let (dir, path) = temp_pool();
    let (layer, guard) = builder(dir.path())
        .lock_timeout(Duration::from_millis(10))
        .build()
        .expect("build");
    let dispatch = dispatch(layer);

    let held = HeldLock::hold(&path);
    emit_on_thread(&dispatch, 20);
    guard.flush(WAIT).expect("every queued event handled");
    let stats = guard.stats();
    assert_eq!(stats.accepted, 20);
    assert_eq!(stats.dropped_lock_timeout, 20);
    assert_eq!((stats.written, stats.dropped()), (0, 20));
    let error = guard.handle().last_error().expect("an error is kept");
    assert!(error.contains("timed out"), "{error}");
    // Read the size, not the records: a read would wait for the lock too.
    assert_eq!(std::fs::metadata(&path).expect("stat").len(), 0);

    drop(held);
    emit_on_thread(&dispatch, 3);
    guard.flush(WAIT).expect("flush");
    let stats = guard.stats();
    assert_eq!((stats.written, stats.dropped_lock_timeout), (3, 20));
    assert_eq!(events(dir.path()).len(), 3);
}

#[test]
fn a_lock_held_by_another_process_is_counted_too() {
    let (dir, path) = temp_pool();
    std::fs::File::create(&path).expect("create the pool");
    // flock(1) holds the lock until its `cat` sees the end of its input.
    let mut holder = Command::new("flock")
        .arg("--exclusive")
        .arg(&path)
        .arg("cat")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("run flock(1)");
    while !flock_is_held(&path) {
        assert!(holder.try_wait().expect("wait").is_none(), "flock(1) ended");
        std::thread::yield_now();
    }
    let (layer, guard) = builder(dir.path())
        .lock_timeout(Duration::from_millis(10))
        .build()
        .expect("build");
    let dispatch = dispatch(layer);
    emit_on_thread(&dispatch, 5);
    guard.flush(WAIT).expect("flush");
    assert_eq!(guard.stats().dropped_lock_timeout, 5);

    drop(holder.stdin.take());
    assert!(holder.wait().expect("wait").success());
    emit_on_thread(&dispatch, 2);
    guard.flush(WAIT).expect("flush");
    assert_eq!(guard.stats().written, 2);
    assert_eq!(record_count(dir.path()), 2);
}

#[test]
fn a_full_queue_drops_and_counts_without_blocking_the_caller() {
    let (dir, path) = temp_pool();
    let (layer, guard) = builder(dir.path())
        .queue_capacity(4)
        .lock_timeout(FOREVER)
        .build()
        .expect("build");
    let dispatch = dispatch(layer);
    let held = HeldLock::hold(&path);

    // The writer waits for the lock for an hour; the caller still ends.
    emit_on_thread(&dispatch, 1000);
    let stats = guard.stats();
    assert_eq!(stats.accepted + stats.dropped_queue_full, 1000);
    assert!(stats.accepted <= 4 + MAX_BATCH, "{stats:?}");
    assert_eq!(stats.written, 0);

    drop(held);
    guard.flush(WAIT).expect("flush");
    let stats = guard.stats();
    assert_eq!(stats.written, stats.accepted);
    assert_eq!(stats.dropped(), stats.dropped_queue_full);
    assert_eq!(events(dir.path()).len() as u64, stats.written);
}

#[test]
fn shutdown_drains_the_queue_and_later_events_are_counted() {
    let (dir, _) = temp_pool();
    let (layer, guard) = builder(dir.path())
        .queue_capacity(4096)
        .build()
        .expect("build");
    let handle = guard.handle();
    let dispatch = dispatch(layer);
    tracing::dispatcher::with_default(&dispatch, || {
        for i in 0..500 {
            info_span!("step", i).in_scope(|| info!(i, "event"));
        }
    });
    let stats = guard.shutdown(WAIT).expect("shutdown");
    assert_eq!(
        (stats.accepted, stats.written, stats.dropped()),
        (1500, 1500, 0)
    );
    assert_eq!(events(dir.path()).len(), 1500);

    emit_on_thread(&dispatch, 7);
    assert_eq!(handle.stats().dropped_closed, 7);
    assert!(matches!(handle.flush(WAIT), Err(Error::Closed)));
    assert_eq!(record_count(dir.path()), 1500);
}

#[test]
fn dropping_the_guard_drains_the_queue() {
    let (dir, _) = temp_pool();
    let (layer, guard) = builder(dir.path())
        .shutdown_timeout(WAIT)
        .build()
        .expect("build");
    let handle = guard.handle();
    let dispatch = dispatch(layer);
    emit_on_thread(&dispatch, 50);
    drop(guard);
    assert_eq!(handle.stats().written, 50);
    assert_eq!(events(dir.path()).len(), 50);
}

#[test]
fn a_shutdown_that_runs_out_of_time_leaves_nothing_uncounted() {
    let (dir, path) = temp_pool();
    let (layer, guard): (KvpLayer, KvpGuard) = builder(dir.path())
        .queue_capacity(16)
        .lock_timeout(FOREVER)
        .build()
        .expect("build");
    let handle = guard.handle();
    let dispatch = dispatch(layer);
    let held = HeldLock::hold(&path);
    emit_on_thread(&dispatch, 40);

    // The writer is stuck on the lock, so the shutdown cannot finish.
    assert!(matches!(
        guard.shutdown(Duration::from_millis(20)),
        Err(Error::Timeout { .. })
    ));
    emit_on_thread(&dispatch, 3);
    drop(held);
    // The writer ends its write, discards the rest and stops: then the
    // queue is gone (Closed), or it acknowledges this flush as it goes.
    match handle.flush(WAIT) {
        Ok(()) | Err(Error::Closed) => {}
        Err(other) => panic!("{other}"),
    }
    while !matches!(handle.flush(WAIT), Err(Error::Closed)) {}
    let stats = handle.stats();
    assert_eq!(stats.accepted + stats.dropped_queue_full + 3, 43);
    assert_eq!(
        stats.accepted,
        stats.written + stats.dropped_closed - 3,
        "{stats:?}"
    );
    assert_eq!(record_count(dir.path()) as u64, stats.written);
}
