//! The layer's cost on the caller's thread per event and per span, against
//! the same `tracing` calls with no layer. `cargo bench -p kvp-tracing`.
//!
//! Only the caller's work is timed: the events are queued in runs no
//! longer than the queue, and between runs (untimed) the writer drains the
//! queue and the pool is emptied, so every timed event is accepted. A
//! last case times events dropped because the queue is full (the writer
//! waiting on a pool lock held here).

use std::fs::File;
use std::hint::black_box;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use kvp_core::{FileStore, KvpStore, Pool};
use kvp_tracing::{KvpGuard, KvpLayer};
use tracing::{info, info_span};
use tracing_subscriber::layer::SubscriberExt;

const VM: &str = "3f2504e0-4f89-41d3-9a0c-0305e82c3301";
const QUEUE: usize = 4096;
const WAIT: Duration = Duration::from_secs(60);

fn layer(dir: &std::path::Path, lock_timeout: Duration) -> (tracing::Dispatch, KvpGuard) {
    let (layer, guard) = KvpLayer::builder("bench-agent")
        .pool_dir(dir)
        .vm_id(VM)
        .queue_capacity(QUEUE)
        .lock_timeout(lock_timeout)
        .shutdown_timeout(WAIT)
        .build()
        .expect("build");
    let dispatch = tracing::Dispatch::new(tracing_subscriber::registry().with(layer));
    (dispatch, guard)
}

/// Times `iters` calls of `body` in runs of at most `run` calls, calling
/// `between` (untimed) after each run.
fn timed_runs(
    iters: u64,
    run: u64,
    dispatch: &tracing::Dispatch,
    body: impl Fn(u64),
    mut between: impl FnMut(),
) -> Duration {
    let mut total = Duration::ZERO;
    let mut done = 0;
    while done < iters {
        let n = run.min(iters - done);
        let start = Instant::now();
        tracing::dispatcher::with_default(dispatch, || {
            for i in done..done + n {
                body(black_box(i));
            }
        });
        total += start.elapsed();
        done += n;
        between();
    }
    total
}

fn event(i: u64) {
    info!(attempt = i, host = "169.254.169.254", "fetched metadata");
}

fn span(i: u64) {
    info_span!("provision", attempt = i).in_scope(|| black_box(i));
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let pool = FileStore::open_pool(Pool::Guest, dir.path()).expect("open");
    let mut group = c.benchmark_group("caller");
    group.sample_size(20);

    let bare = tracing::Dispatch::new(tracing_subscriber::registry());
    let nothing = || {};
    group.bench_function("event-no-layer", |b| {
        b.iter_custom(|iters| timed_runs(iters, iters, &bare, event, nothing))
    });
    group.bench_function("span-no-layer", |b| {
        b.iter_custom(|iters| timed_runs(iters, iters, &bare, span, nothing))
    });

    // Runs that fit the queue; between them the writer drains it and the
    // pool is emptied.
    let (dispatch, guard) = layer(dir.path(), Duration::from_millis(100));
    let drain = || {
        guard.flush(WAIT).expect("flush");
        pool.clear().expect("clear");
    };
    let run = QUEUE as u64;
    group.bench_function("event", |b| {
        b.iter_custom(|iters| timed_runs(iters, run, &dispatch, event, drain))
    });
    group.bench_function("span", |b| {
        b.iter_custom(|iters| timed_runs(iters, run / 2, &dispatch, span, drain))
    });
    let stats = guard.shutdown(WAIT).expect("shutdown");
    assert_eq!(
        stats.dropped(),
        0,
        "every timed event was accepted: {stats:?}"
    );

    // The writer waits on a lock held here, so the queue stays full.
    let held = File::create(Pool::Guest.path_in(dir.path())).expect("create");
    // SAFETY: flock on a descriptor `held` owns.
    assert_eq!(unsafe { libc::flock(held.as_raw_fd(), libc::LOCK_EX) }, 0);
    let (dispatch, guard) = layer(dir.path(), WAIT);
    tracing::dispatcher::with_default(&dispatch, || (0..QUEUE as u64 * 2).for_each(event));
    group.bench_function("event-queue-full", |b| {
        b.iter_custom(|iters| timed_runs(iters, iters, &dispatch, event, nothing))
    });
    group.finish();
    assert!(guard.stats().dropped_queue_full > 0);
    drop(held);
    drop(guard);
}

criterion_group!(benches, bench);
criterion_main!(benches);
