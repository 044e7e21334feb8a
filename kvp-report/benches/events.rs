//! Writing a one-record event against a plain append of the same record,
//! and decoding a pool of 1023 event records.
//! `cargo bench -p kvp-report --bench events`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use kvp_core::{FileStore, KvpStore};
use kvp_report::{
    decode, write_event, CloudInitVariant, CloudInitWriter, DiagWriter, Event, Kind, ReadOptions,
};

const VM: &str = "3f2504e0-4f89-41d3-9a0c-0305e82c3301";

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let writer = DiagWriter::new("azure-init-0.1.1", VM).expect("writer");
    let event = Event::new(Kind::Event, "imds", "Retrieved 1 key from IMDS");
    let (key, value) = writer.encode(&event).expect("encode").remove(0);

    // Each pool is emptied when it reaches 1000 records so every write
    // appends to a pool of the same size range.
    let mut group = c.benchmark_group("write-one-record");
    let plain = FileStore::open(dir.path().join("plain")).expect("open");
    let mut n = 0;
    group.bench_function("append", |b| {
        b.iter(|| {
            n += 1;
            if n % 1000 == 0 {
                plain.clear().expect("clear");
            }
            plain.append(&key, &value).expect("append")
        })
    });
    let events = FileStore::open(dir.path().join("events")).expect("open");
    let mut n = 0;
    group.bench_function("write_event-diag_v1", |b| {
        b.iter(|| {
            n += 1;
            if n % 1000 == 0 {
                events.clear().expect("clear");
            }
            write_event(&events, &writer, &event).expect("write")
        })
    });
    group.finish();

    let cloud = CloudInitWriter::new(CloudInitVariant::V26_1, 1_781_654_000).with_vm_id(VM);
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
            writer.encode(&e)
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
