//! Decoding a snapshot of pool records into events, reports and raw
//! records, every format at once.
//!
//! Nothing is dropped and one bad record never fails the read: a record
//! of no known format comes back as a [`RawEntry`] without error, and a
//! recognised record (or every record of a group) that cannot be decoded
//! comes back raw with a [`DecodeError`]. Entries keep first-seen order: an
//! event sits at the position of its first record, raw records at theirs.

use std::collections::HashMap;

use kvp_core::{KvpStore, RawRecord};

use crate::cloud_init;
use crate::diag_v1;
use crate::error::{DecodeError, Reason, Result};
use crate::event::{Entry, Event, RawEntry};
use crate::report::{ProvisioningReport, PROVISIONING_REPORT_KEY};
use crate::{azure_tracing, Error};

/// How to decode.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReadOptions {
    /// Return text events whose chunks are partly missing, with what is
    /// present and [`crate::Chunks::missing`] set, instead of raw records
    /// with [`Reason::IncompleteGroup`]. Compressed payloads are never
    /// decoded partly (without [`ReadOptions::decompress`], the text that
    /// carries them comes back partly, as other text does).
    pub partial: bool,
    /// The most bytes one compressed payload may decompress to; more is
    /// [`Reason::Undecodable`] (a guard against decompression bombs).
    pub max_payload: usize,
    /// Decode compressed payloads (the default). When false, a compressed
    /// event comes back with the text that carried its payload, still
    /// [`crate::Encoding::GzB64`]: cloud-init's envelope
    /// (`{"encoding": "gz+b64", "data": ...}`, as cloud-init's own reader
    /// returns it), `DIAG_V1`'s base64.
    pub decompress: bool,
}

impl Default for ReadOptions {
    fn default() -> ReadOptions {
        ReadOptions {
            partial: false,
            max_payload: 64 << 20,
            decompress: true,
        }
    }
}

impl ReadOptions {
    /// The defaults: complete groups only, payloads decompressed, 64 MiB
    /// each.
    pub fn new() -> ReadOptions {
        ReadOptions::default()
    }

    /// Sets [`ReadOptions::partial`].
    pub fn partial(mut self, partial: bool) -> ReadOptions {
        self.partial = partial;
        self
    }

    /// Sets [`ReadOptions::max_payload`].
    pub fn max_payload(mut self, bytes: usize) -> ReadOptions {
        self.max_payload = bytes;
        self
    }

    /// Sets [`ReadOptions::decompress`].
    pub fn decompress(mut self, decompress: bool) -> ReadOptions {
        self.decompress = decompress;
        self
    }
}

/// Sorts chunks by index and checks them: a repeated index is
/// [`Reason::DuplicateChunk`]; indices that are not a run from 0 are
/// [`Reason::IncompleteGroup`] unless `partial`, when the missing indices
/// are returned.
pub(crate) fn chunk_order<T>(
    chunks: &mut [(u64, T)],
    partial: bool,
) -> std::result::Result<Vec<u64>, DecodeError> {
    chunks.sort_by_key(|(i, _)| *i);
    if let Some(w) = chunks.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(DecodeError::new(
            Reason::DuplicateChunk,
            format!("chunk {} appears more than once", w[0].0),
        ));
    }
    let mut missing = Vec::new();
    let mut expected = 0u64;
    for (i, _) in chunks.iter() {
        if *i > expected && *i - expected > 1 << 20 {
            return Err(DecodeError::new(
                Reason::IncompleteGroup,
                format!("chunk {i} is far past the others"),
            ));
        }
        missing.extend(expected..*i);
        expected = i + 1;
    }
    if !missing.is_empty() && !partial {
        return Err(DecodeError::new(
            Reason::IncompleteGroup,
            format!("chunks {missing:?} are missing"),
        ));
    }
    Ok(missing)
}

#[derive(Clone, Copy, Hash, PartialEq, Eq)]
enum GroupKey<'a> {
    CloudInit(&'a str),
    Diag(&'a str),
    Tracing(&'a str),
}

struct Group<'a> {
    first: usize,
    cloud_key: Option<cloud_init::Key<'a>>,
    members: Vec<(usize, u64)>,
}

/// Decodes a snapshot of records (from [`KvpStore::raw_records`] or any
/// other source) into entries in first-seen order.
pub fn decode(records: &[RawRecord], options: &ReadOptions) -> Vec<Entry> {
    decode_indexed(records, options)
        .into_iter()
        .map(|(_, entry)| entry)
        .collect()
}

/// As [`decode`], each entry with its position in the snapshot: that of
/// its record, or of an event's first record.
pub fn decode_indexed(records: &[RawRecord], options: &ReadOptions) -> Vec<(usize, Entry)> {
    let mut out: Vec<(usize, Entry)> = Vec::new();
    let mut groups: HashMap<GroupKey<'_>, Group<'_>> = HashMap::new();
    let mut order: Vec<GroupKey<'_>> = Vec::new();
    let raw = |position: usize, error: Option<DecodeError>| {
        Entry::Raw(RawEntry {
            position,
            record: records[position].clone(),
            error,
        })
    };
    for (position, record) in records.iter().enumerate() {
        let Ok(key) = std::str::from_utf8(&record.key) else {
            let ours = record.key.starts_with(b"CLOUD_INIT|")
                || record.key.starts_with(diag_v1::FAMILY_PREFIX.as_bytes());
            out.push((
                position,
                raw(
                    position,
                    ours.then(|| DecodeError::malformed("key is not UTF-8")),
                ),
            ));
            continue;
        };
        let first = key.split('|').next().unwrap_or_default();
        let grouped = if key == PROVISIONING_REPORT_KEY {
            let decoded = std::str::from_utf8(&record.value)
                .map_err(|_| DecodeError::malformed("report is not UTF-8"))
                .and_then(ProvisioningReport::decode);
            out.push((
                position,
                match decoded {
                    Ok(report) => Entry::Report { position, report },
                    Err(e) => raw(position, Some(e)),
                },
            ));
            continue;
        } else if first == diag_v1::VERSION_ID {
            match diag_v1::split_key(key) {
                Ok((base, index)) => (GroupKey::Diag(base), index, None),
                Err(e) => {
                    out.push((position, raw(position, Some(e))));
                    continue;
                }
            }
        } else if first.starts_with(diag_v1::FAMILY_PREFIX) {
            let e = DecodeError::new(
                Reason::UnsupportedVersion,
                format!("{first} is not a schema this reader knows"),
            );
            out.push((position, raw(position, Some(e))));
            continue;
        } else if first == cloud_init::PREFIX {
            match cloud_init::parse_key(key) {
                Ok(k) => match k.index {
                    Some(index) => (GroupKey::CloudInit(k.base), index, Some(k)),
                    None => {
                        let entry = match cloud_init::decode_single(&k, &record.value, options) {
                            Ok(event) => Entry::Event(event),
                            Err(e) => raw(position, Some(e)),
                        };
                        out.push((position, entry));
                        continue;
                    }
                },
                Err(e) => {
                    out.push((position, raw(position, Some(e))));
                    continue;
                }
            }
        } else if azure_tracing::matches(key) {
            (GroupKey::Tracing(key), position as u64, None)
        } else {
            out.push((position, raw(position, None)));
            continue;
        };
        let (gk, index, cloud_key) = grouped;
        let group = groups.entry(gk).or_insert_with(|| {
            order.push(gk);
            Group {
                first: position,
                cloud_key,
                members: Vec::new(),
            }
        });
        group.members.push((position, index));
    }
    for gk in order {
        let Some(group) = groups.remove(&gk) else {
            continue;
        };
        let decoded = decode_group(&gk, &group, records, options);
        match decoded {
            Ok(event) => out.push((group.first, Entry::Event(event))),
            Err(e) => out.extend(
                group
                    .members
                    .iter()
                    .map(|&(p, _)| (p, raw(p, Some(e.clone())))),
            ),
        }
    }
    out.sort_by_key(|(position, _)| *position);
    out
}

fn decode_group(
    gk: &GroupKey<'_>,
    group: &Group<'_>,
    records: &[RawRecord],
    options: &ReadOptions,
) -> std::result::Result<Event, DecodeError> {
    let mut chunks: Vec<(u64, &[u8])> = group
        .members
        .iter()
        .map(|&(p, i)| (i, records[p].value.as_slice()))
        .collect();
    match gk {
        GroupKey::CloudInit(_) => match &group.cloud_key {
            Some(k) => cloud_init::decode_group(k, &mut chunks, options),
            None => Err(DecodeError::malformed("cloud-init group without a key")),
        },
        GroupKey::Diag(base) => diag_v1::decode_group(base, &mut chunks, options),
        GroupKey::Tracing(key) => {
            let values: Vec<&[u8]> = chunks.iter().map(|(_, v)| *v).collect();
            azure_tracing::decode_group(key, &values)
        }
    }
}

/// Reads `store` once ([`KvpStore::raw_records`], under its lock) and
/// decodes the snapshot.
pub fn read_entries<S: KvpStore + ?Sized>(store: &S, options: &ReadOptions) -> Result<Vec<Entry>> {
    Ok(decode(&store.raw_records().map_err(Error::Store)?, options))
}

/// The events among `entries`, in order.
pub fn events(entries: &[Entry]) -> impl Iterator<Item = &Event> {
    entries.iter().filter_map(|e| match e {
        Entry::Event(event) => Some(event),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(key: &str, value: &str) -> RawRecord {
        RawRecord {
            key: key.as_bytes().to_vec(),
            value: value.as_bytes().to_vec(),
        }
    }

    #[test]
    fn an_event_sits_at_its_first_record() {
        let vm = "3f2504e0-4f89-41d3-9a0c-0305e82c3301";
        let base = format!("DIAG_V1|a|{vm}|event|x|{vm}|2026-08-31T12:34:56Z|none||");
        let records = [
            raw("other", "1"),
            raw(&format!("{base}|1"), "lo"),
            raw("PROVISIONING_REPORT", "junk"),
            raw(&format!("{base}|0"), "hel"),
        ];
        let entries = decode_indexed(&records, &ReadOptions::default());
        let positions: Vec<usize> = entries.iter().map(|(p, _)| *p).collect();
        assert_eq!(positions, [0, 1, 2]);
        assert!(matches!(&entries[1].1, Entry::Event(e) if e.payload.as_text() == Some("hello")));
        assert_eq!(
            decode(&records, &ReadOptions::default()),
            entries.into_iter().map(|(_, e)| e).collect::<Vec<_>>()
        );
    }
}
