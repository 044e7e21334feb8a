//! kvp-report's reader on any pool snapshot: `reader::decode` over every
//! format at once (cloud-init single records and chunk groups with their
//! JSON and escapes, compressed artifacts, azure-init tracing, `DIAG_V1`,
//! `PROVISIONING_REPORT`), then the timeline.
//!
//! Inputs are pool images (see the crate docs). In a compact body, values
//! may hold compression macros that the target expands, so that the
//! decompressors see valid streams and not only base64 noise: a byte
//! `0x01`..`0x04`, a length byte n, then n bytes, become
//! - `0x01`: gzip in base64 (a `DIAG_V1` `gz+b64` value);
//! - `0x02`: zlib in base64 lines, the newlines written `\\n` as they sit
//!   inside a cloud-init `msg` string;
//! - `0x03`: zlib in base64, one line;
//! - `0x04`: gzip in base64 of the n bytes repeated to n KiB (payloads
//!   past the cap).
//!
//! The script's first byte picks the reader's `max_payload` (below 0x80:
//! that many 64-byte units, else the default); flag 0x10 reads partial
//! groups.
//!
//! - Nothing is dropped: every record is one raw entry, one report, or one
//!   of an event's chunks (the chunk counts add up to the records).
//! - A compressed payload never exceeds `max_payload`; only a partial read
//!   returns an event with missing chunks.
//! - Decoding is deterministic and `read_entries` on a store agrees.
//! - The timeline holds every event and report once, raw records apart,
//!   in time order, and its start/finish pairs point at each other.
#![no_main]

use kvp_core::{MemoryStore, Options};
use kvp_fuzz::{records_of, Input};
use kvp_report::compress::{gzip_b64, zlib_b64_lines};
use kvp_report::{decode, read_entries, Encoding, Entry, Payload, ReadOptions, Timeline};
use libfuzzer_sys::fuzz_target;

/// Flag: read partial groups.
const PARTIAL: u8 = 0x10;

fn expand(value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len());
    let mut rest = value;
    while let Some((&b, tail)) = rest.split_first() {
        match (b, tail.split_first()) {
            (0x01..=0x04, Some((&n, tail))) => {
                let (data, tail) = tail.split_at(usize::from(n).min(tail.len()));
                let text = match b {
                    0x01 => gzip_b64(data),
                    0x02 => zlib_b64_lines(data).replace('\n', "\\n"),
                    0x03 => zlib_b64_lines(data).replace('\n', ""),
                    _ => gzip_b64(&data.repeat(1024)),
                };
                out.extend_from_slice(text.as_bytes());
                rest = tail;
            }
            _ => {
                out.push(b);
                rest = tail;
            }
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input::parse(data, expand);
    let mut options = ReadOptions::new().partial(input.flags & PARTIAL != 0);
    if !input.ops.is_empty() {
        let units = input.ops.byte();
        if units < 0x80 {
            options = options.max_payload(usize::from(units) * 64);
        }
    }
    let records = records_of(&input.image);
    let entries = decode(&records, &options);

    let mut seen = vec![false; records.len()];
    let mut counted = 0;
    for entry in &entries {
        match entry {
            Entry::Raw(raw) => {
                assert!(!std::mem::replace(&mut seen[raw.position], true));
                assert_eq!(raw.record, records[raw.position]);
                counted += 1;
                if let Some(e) = &raw.error {
                    assert!(!e.to_string().is_empty());
                }
            }
            Entry::Report { position, .. } => {
                assert!(!std::mem::replace(&mut seen[*position], true));
                counted += 1;
            }
            Entry::Event(event) => {
                assert!(event.chunks.count > 0, "{event:?}");
                counted += event.chunks.count;
                if !options.partial {
                    assert!(event.chunks.missing.is_empty(), "{event:?}");
                }
                if event.encoding == Encoding::GzB64 {
                    let Payload::Bytes(bytes) = &event.payload else {
                        panic!("a compressed payload that is not bytes: {event:?}");
                    };
                    assert!(
                        bytes.len() <= options.max_payload,
                        "{} bytes decompressed past the cap of {}",
                        bytes.len(),
                        options.max_payload
                    );
                }
            }
            other => panic!("an entry of a new kind: {other:?}"),
        }
    }
    assert_eq!(counted, records.len(), "records dropped or counted twice");
    assert_eq!(
        decode(&records, &options),
        entries,
        "decoding is not deterministic"
    );

    let store = MemoryStore::from_bytes(std::mem::take(&mut input.image), Options::new());
    assert_eq!(
        read_entries(&store, &options).expect("read_entries"),
        entries
    );

    let timeline = Timeline::new(&entries);
    let raw = entries
        .iter()
        .filter(|e| matches!(e, Entry::Raw(_)))
        .count();
    assert_eq!(timeline.raw.len(), raw);
    assert_eq!(timeline.steps.len(), entries.len() - raw);
    for (i, step) in timeline.steps.iter().enumerate() {
        if let Some(partner) = step.partner {
            assert_eq!(timeline.steps[partner].partner, Some(i), "pairs are mutual");
        }
    }
    let times: Vec<_> = timeline
        .steps
        .iter()
        .map(|s| (s.time.is_none(), s.time))
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "timeline out of order"
    );
    let _ = timeline.unfinished().count();
});
