//! Each operation at pool sizes 1, 100 and 1023, for kvp-core and for the
//! naive baseline (one read per record, whole-file rewrite per change).
//! `cargo bench -p kvp-core --bench ops`; tests/bench/run.sh makes the table.

mod naive;

use std::hint::black_box;
use std::path::Path;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use kvp_core::{FileStore, KvpStore, RECORD_SIZE};

const SIZES: [usize; 3] = [1, 100, 1023];

/// A pool of `n` records `key-0..key-(n-1)` with 100-byte values.
fn pool(dir: &Path, n: usize) -> (FileStore, std::path::PathBuf) {
    let path = dir.join(format!("pool-{n}"));
    let store = FileStore::open(&path).expect("open");
    let keys: Vec<String> = (0..n).map(|i| format!("key-{i}")).collect();
    let value = "v".repeat(100);
    let batch: Vec<(&str, &str)> = keys.iter().map(|k| (k.as_str(), value.as_str())).collect();
    store.load(&batch).expect("load");
    (store, path)
}

fn truncate_to(path: &Path, records: usize) {
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .expect("open");
    file.set_len((records * RECORD_SIZE) as u64)
        .expect("truncate");
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    for n in SIZES {
        let (store, path) = pool(dir.path(), n);
        let last = format!("key-{}", n - 1);
        let middle = format!("key-{}", n / 2);

        let mut group = c.benchmark_group(format!("read/{n}"));
        group.bench_function("kvp-core", |b| {
            b.iter(|| black_box(store.read(&last).expect("read")))
        });
        group.bench_function("naive", |b| b.iter(|| black_box(naive::read(&path, &last))));
        group.finish();

        let mut group = c.benchmark_group(format!("update/{n}"));
        group.bench_function("kvp-core", |b| {
            b.iter(|| store.insert(&middle, "updated").expect("insert"))
        });
        group.bench_function("naive", |b| {
            b.iter(|| naive::insert(&path, &middle, "updated"))
        });
        group.finish();

        let mut group = c.benchmark_group(format!("entries/{n}"));
        group.bench_function("kvp-core", |b| {
            b.iter(|| black_box(store.entries().expect("entries")))
        });
        group.bench_function("naive", |b| b.iter(|| black_box(naive::entries(&path))));
        group.finish();

        // Delete the first record (the worst case: every other one shifts),
        // then put it back outside the timing.
        let first = "key-0";
        let mut group = c.benchmark_group(format!("delete/{n}"));
        group.bench_function("kvp-core", |b| {
            b.iter_batched(
                || store.append(first, "back").expect("append"),
                |()| store.delete(first).expect("delete"),
                BatchSize::PerIteration,
            )
        });
        group.bench_function("naive", |b| {
            b.iter_batched(
                || store.append(first, "back").expect("append"),
                |()| naive::delete(&path, first),
                BatchSize::PerIteration,
            )
        });
        group.finish();

        // Appends a duplicate of the last key: it measures the append itself,
        // with the pool cut back to size outside the timing.
        let mut group = c.benchmark_group(format!("append/{n}"));
        group.bench_function("kvp-core", |b| {
            b.iter_batched(
                || truncate_to(&path, n - 1),
                |()| store.append(&last, "value").expect("append"),
                BatchSize::PerIteration,
            )
        });
        group.bench_function("naive", |b| {
            b.iter_batched(
                || truncate_to(&path, n - 1),
                |()| naive::append(&path, &last, "value"),
                BatchSize::PerIteration,
            )
        });
        group.finish();

        let mut group = c.benchmark_group(format!("insert-new/{n}"));
        group.bench_function("kvp-core", |b| {
            b.iter_batched(
                || truncate_to(&path, n - 1),
                |()| store.insert("brand-new-key", "value").expect("insert"),
                BatchSize::PerIteration,
            )
        });
        group.bench_function("naive", |b| {
            b.iter_batched(
                || truncate_to(&path, n - 1),
                |()| naive::insert(&path, "brand-new-key", "value"),
                BatchSize::PerIteration,
            )
        });
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).warm_up_time(std::time::Duration::from_millis(300)).measurement_time(std::time::Duration::from_secs(1));
    targets = bench
}
criterion_main!(benches);
