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
//! With `KVP_BENCH_PAIRED_OUT=<file>`, the append and `write_event` are
//! also timed in alternating blocks, and their median ratio appended to
//! that file (see [`paired`]).

use std::hint::black_box;
use std::io::Write;
use std::path::Path;
use std::time::Instant;

use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion};
use kvp_core::{FileStore, KvpStore};
use kvp_report::{
    decode, write_event, CloudInitVariant, CloudInitWriter, DiagWriter, Event, EventEncoder, Kind,
    ReadOptions,
};

const VM: &str = "3f2504e0-4f89-41d3-9a0c-0305e82c3301";

/// Flushes the page cache's dirty pages (sync(1)), so that the writeback
/// of what one benchmark appended does not land on the next one.
fn settle() {
    let _ = std::process::Command::new("sync").status();
}

/// One event in one format, and the two ways to write it: `write_event`,
/// and a plain append of the record it encodes to. Each writes to a pool
/// of its own that is emptied every 1000 writes, so that every write
/// appends to a pool of the same size range.
struct Pair<'a, E: EventEncoder> {
    encoder: &'a E,
    event: &'a Event,
    key: String,
    value: String,
    plain: FileStore,
    events: FileStore,
    appended: u64,
    written: u64,
}

impl<'a, E: EventEncoder> Pair<'a, E> {
    fn new(dir: &Path, format: &str, encoder: &'a E, event: &'a Event) -> Self {
        let mut records = encoder.encode(event).expect("encode");
        assert_eq!(records.len(), 1, "a one-record event");
        let (key, value) = records.remove(0);
        Pair {
            encoder,
            event,
            key,
            value,
            plain: FileStore::open(dir.join(format!("append-{format}"))).expect("open"),
            events: FileStore::open(dir.join(format!("events-{format}"))).expect("open"),
            appended: 0,
            written: 0,
        }
    }

    fn append(&mut self) {
        self.appended += 1;
        if self.appended.is_multiple_of(1000) {
            self.plain.clear().expect("clear");
        }
        self.plain.append(&self.key, &self.value).expect("append")
    }

    fn write(&mut self) {
        self.written += 1;
        if self.written.is_multiple_of(1000) {
            self.events.clear().expect("clear");
        }
        write_event(&self.events, self.encoder, self.event).expect("write");
    }
}

/// Times the encoding alone, the append and `write_event` (`sync` before
/// each of the last two).
fn write_pair(
    group: &mut BenchmarkGroup<'_, WallTime>,
    dir: &Path,
    format: &str,
    encoder: &impl EventEncoder,
    event: &Event,
) {
    let mut pair = Pair::new(dir, format, encoder, event);
    group.bench_function(format!("encode/{format}"), |b| {
        b.iter(|| encoder.encode(black_box(event)).expect("encode"))
    });
    settle();
    group.bench_function(format!("append/{format}"), |b| b.iter(|| pair.append()));
    settle();
    group.bench_function(format!("write_event/{format}"), |b| b.iter(|| pair.write()));
}

/// Paired blocks, for a ratio that a shared machine's slow spells do not
/// skew: `BLOCKS` times, `PER_BLOCK` appends then `PER_BLOCK` writes (or
/// the other way round, every other block), each block timed. A slow
/// spell then hits both sides of a block alike. Appends to `out` the line
/// `<format> <median append ns> <median write_event ns> <median ratio>
/// <first quartile ratio> <third quartile ratio>`.
fn paired(dir: &Path, format: &str, encoder: &impl EventEncoder, event: &Event, out: &Path) {
    const BLOCKS: usize = 1000;
    const PER_BLOCK: u32 = 20;
    let mut pair = Pair::new(dir, format, encoder, event);
    for _ in 0..500 {
        pair.append();
        pair.write();
    }
    settle();
    let time = |pair: &mut Pair<'_, _>, write: bool| {
        let start = Instant::now();
        for _ in 0..PER_BLOCK {
            if write {
                pair.write()
            } else {
                pair.append()
            }
        }
        start.elapsed().as_nanos() as f64 / f64::from(PER_BLOCK)
    };
    let (mut appends, mut writes, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for block in 0..BLOCKS {
        let (a, w) = if block % 2 == 0 {
            let a = time(&mut pair, false);
            (a, time(&mut pair, true))
        } else {
            let w = time(&mut pair, true);
            (time(&mut pair, false), w)
        };
        appends.push(a);
        writes.push(w);
        ratios.push(w / a);
    }
    let at = |v: &mut Vec<f64>, q: f64| {
        v.sort_by(f64::total_cmp);
        v[((v.len() - 1) as f64 * q).round() as usize]
    };
    let line = format!(
        "{format} {:.1} {:.1} {:.3} {:.3} {:.3}\n",
        at(&mut appends, 0.5),
        at(&mut writes, 0.5),
        at(&mut ratios, 0.5),
        at(&mut ratios, 0.25),
        at(&mut ratios, 0.75)
    );
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(out)
        .expect("open the paired results");
    file.write_all(line.as_bytes())
        .expect("write the paired results");
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let diag = DiagWriter::new("azure-init-0.1.1", VM).expect("writer");
    let cloud = CloudInitWriter::new(CloudInitVariant::V26_1, 1_781_654_000).with_vm_id(VM);
    let event = Event::new(Kind::Event, "imds", "Retrieved 1 key from IMDS");

    let diagnostic = event.clone().with_type("diagnostic");
    // tests/bench/run.sh --reporting asks for the paired blocks too.
    if let Some(out) = std::env::var_os("KVP_BENCH_PAIRED_OUT") {
        paired(dir.path(), "diag-v1", &diag, &event, Path::new(&out));
        paired(
            dir.path(),
            "cloud-init-26.1",
            &cloud,
            &diagnostic,
            Path::new(&out),
        );
    }
    let mut group = c.benchmark_group("write-one-record");
    write_pair(&mut group, dir.path(), "diag-v1", &diag, &event);
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
