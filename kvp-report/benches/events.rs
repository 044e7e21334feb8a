//! Writing a one-record event against a plain append of the same record,
//! in `DIAG_V1` and in cloud-init's 26.1 variant, and decoding a pool of
//! 1023 event records. `cargo bench -p kvp-report --bench events`;
//! tests/bench/run.sh --reporting puts the medians in docs/benchmarks.md.
//!
//! Group `write-one-record`, functions `append/<format>` (the record
//! `write_event` writes, appended with `KvpStore::append`),
//! `write_event/<format>` (encode, then `append_many` of its one record)
//! and `encode/<format>` (the encoding alone, no I/O);
//! `decode-1023-event-records` decodes a snapshot in memory (no file I/O).

use std::hint::black_box;
use std::path::Path;

use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion};
use kvp_core::{FileStore, KvpStore};
use kvp_report::{
    decode, write_event, CloudInitVariant, CloudInitWriter, DiagWriter, Event, EventEncoder, Kind,
    ReadOptions,
};

const VM: &str = "3f2504e0-4f89-41d3-9a0c-0305e82c3301";

/// Times `write_event` of `event` and a plain append of the record it
/// encodes to, each in a pool of its own that is emptied every 1000
/// writes, so that every write appends to a pool of the same size range.
fn write_pair(
    group: &mut BenchmarkGroup<'_, WallTime>,
    dir: &Path,
    format: &str,
    encoder: &impl EventEncoder,
    event: &Event,
) {
    let mut records = encoder.encode(event).expect("encode");
    assert_eq!(records.len(), 1, "a one-record event");
    let (key, value) = records.remove(0);
    group.bench_function(format!("encode/{format}"), |b| {
        b.iter(|| encoder.encode(black_box(event)).expect("encode"))
    });
    let plain = FileStore::open(dir.join(format!("append-{format}"))).expect("open");
    let mut n = 0;
    group.bench_function(format!("append/{format}"), |b| {
        b.iter(|| {
            n += 1;
            if n % 1000 == 0 {
                plain.clear().expect("clear");
            }
            plain.append(&key, &value).expect("append")
        })
    });
    let events = FileStore::open(dir.join(format!("events-{format}"))).expect("open");
    let mut n = 0;
    group.bench_function(format!("write_event/{format}"), |b| {
        b.iter(|| {
            n += 1;
            if n % 1000 == 0 {
                events.clear().expect("clear");
            }
            write_event(&events, encoder, event).expect("write")
        })
    });
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let diag = DiagWriter::new("azure-init-0.1.1", VM).expect("writer");
    let cloud = CloudInitWriter::new(CloudInitVariant::V26_1, 1_781_654_000).with_vm_id(VM);
    let event = Event::new(Kind::Event, "imds", "Retrieved 1 key from IMDS");

    let mut group = c.benchmark_group("write-one-record");
    write_pair(&mut group, dir.path(), "diag-v1", &diag, &event);
    let diagnostic = event.clone().with_type("diagnostic");
    write_pair(
        &mut group,
        dir.path(),
        "cloud-init-26.1",
        &cloud,
        &diagnostic,
    );
    group.finish();

    let mut records = Vec::new();
    for i in 0..1023 {
        let e = Event::new(
            if i % 2 == 0 {
                Kind::Start
            } else {
                Kind::Finish
            },
            format!("module-{i}"),
            "ran",
        )
        .with_result(kvp_report::Outcome::Success)
        .with_duration(std::time::Duration::from_millis(5));
        let e = if i % 2 == 0 {
            Event {
                result: None,
                duration: None,
                ..e
            }
        } else {
            e
        };
        let pairs = if i % 3 == 0 {
            diag.encode(&e)
        } else {
            cloud.encode(&e)
        }
        .expect("encode");
        records.extend(pairs.into_iter().map(|(k, v)| kvp_core::RawRecord {
            key: k.into_bytes(),
            value: v.into_bytes(),
        }));
    }
    records.truncate(1023);
    let options = ReadOptions::default();
    c.bench_function("decode-1023-event-records", |b| {
        b.iter(|| black_box(decode(black_box(&records), &options)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
