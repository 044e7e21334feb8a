//! Each operation at pool sizes 1, 100 and 1023, for kvp-core and for the
//! naive baseline (one read per record, whole-file rewrite per change), on
//! the workload of support/workload.rs, which the C and Python timers share.
//! `cargo bench -p kvp-core --bench ops`; tests/bench/run.sh makes the table.

mod naive;
#[path = "support/workload.rs"]
mod workload;

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use kvp_core::{FileStore, KvpStore};
use workload::{DELETE_KEY, NEW_KEY, SIZES};

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    for n in SIZES {
        let path = dir.path().join(format!("pool-{n}"));
        let image = workload::image(n);
        workload::restore(&path, &image);
        let store = FileStore::open(&path).expect("open");
        let read_key = workload::read_key(n);
        let update_key = workload::update_key(n);

        workload::settle();
        let mut group = c.benchmark_group(format!("read/{n}"));
        group.bench_function("kvp-core", |b| {
            b.iter(|| black_box(store.read(&read_key).expect("read")))
        });
        group.bench_function("naive", |b| {
            b.iter(|| black_box(naive::read(&path, &read_key)))
        });
        group.finish();

        workload::settle();
        let mut group = c.benchmark_group(format!("update/{n}"));
        group.bench_function("kvp-core", |b| {
            b.iter(|| store.insert(&update_key, "updated").expect("insert"))
        });
        group.bench_function("naive", |b| {
            b.iter(|| naive::insert(&path, &update_key, "updated"))
        });
        group.finish();

        workload::settle();
        let mut group = c.benchmark_group(format!("entries/{n}"));
        group.bench_function("kvp-core", |b| {
            b.iter(|| black_box(store.entries().expect("entries")))
        });
        group.bench_function("naive", |b| b.iter(|| black_box(naive::entries(&path))));
        group.finish();

        workload::settle();
        let mut group = c.benchmark_group(format!("delete/{n}"));
        group.bench_function("kvp-core", |b| {
            b.iter_batched(
                || workload::restore(&path, &image),
                |()| store.delete(DELETE_KEY).expect("delete"),
                BatchSize::PerIteration,
            )
        });
        group.bench_function("naive", |b| {
            b.iter_batched(
                || workload::restore(&path, &image),
                |()| naive::delete(&path, DELETE_KEY),
                BatchSize::PerIteration,
            )
        });
        group.finish();
        workload::restore(&path, &image);

        workload::settle();
        let mut group = c.benchmark_group(format!("append/{n}"));
        group.bench_function("kvp-core", |b| {
            b.iter_batched(
                || workload::truncate_to(&path, n - 1),
                |()| store.append(&read_key, "value").expect("append"),
                BatchSize::PerIteration,
            )
        });
        group.bench_function("naive", |b| {
            b.iter_batched(
                || workload::truncate_to(&path, n - 1),
                |()| naive::append(&path, &read_key, "value"),
                BatchSize::PerIteration,
            )
        });
        group.finish();

        workload::settle();
        let mut group = c.benchmark_group(format!("insert-new/{n}"));
        group.bench_function("kvp-core", |b| {
            b.iter_batched(
                || workload::truncate_to(&path, n - 1),
                |()| store.insert(NEW_KEY, "value").expect("insert"),
                BatchSize::PerIteration,
            )
        });
        group.bench_function("naive", |b| {
            b.iter_batched(
                || workload::truncate_to(&path, n - 1),
                |()| naive::insert(&path, NEW_KEY, "value"),
                BatchSize::PerIteration,
            )
        });
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    targets = bench
}
criterion_main!(benches);
