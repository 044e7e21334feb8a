//! `DIAG_V1`, exactly as azure-init's diagnostics specification
//! (libazureinit-kvp/diagnostics-proposal.md) defines it.
//!
//! Key: `DIAG_V1|<agent>|<vm_id>|<kind>|<name>|<event_id>|<timestamp>|<encoding>|<result>|<duration>|<chunk_index>`
//!
//! - `kind` is `start`, `finish` or `event`; `encoding` `none` or
//!   `gz+b64` (one gzip stream, base64); `result` `success` or `fail`;
//!   `duration` whole microseconds; `chunk_index` from 0, even for a
//!   value of one record.
//! - A finish carries result and duration, a start neither, an event
//!   either when measured.
//! - `vm_id` and `event_id` are UUIDs; `timestamp` is RFC 3339 UTC with
//!   `Z` and 0, 3, 6 or 9 fraction digits.
//! - The writer caps `agent` at 32 bytes and `name` at 48, cuts values at
//!   UTF-8 boundaries into records of at most 1022 bytes, writes at most
//!   1023 records per value, and keeps keys within 254 bytes.
//! - Every chunk of a value shares the whole key but its index; readers
//!   join the chunks in index order, then decode.

use std::time::Duration;

use kvp_core::limits::PoolMode;
use uuid::Uuid;

use crate::compress::{decode_b64, gzip_b64, Accept};
use crate::error::{DecodeError, Error, Result};
use crate::event::{Chunks, Encoding, Event, Format, Kind, Outcome, Payload};
use crate::reader::{chunk_order, ReadOptions};
use crate::time::{Offset, Precision, Timestamp};

/// The schema id, the key's first field.
pub const VERSION_ID: &str = "DIAG_V1";
/// The prefix that marks any version of the diagnostics family.
pub const FAMILY_PREFIX: &str = "DIAG_V";
/// Cap on `agent`, in UTF-8 bytes.
pub const MAX_AGENT_BYTES: usize = 32;
/// Cap on `name`, in UTF-8 bytes.
pub const MAX_NAME_BYTES: usize = 48;
/// Cap on one record's value, in UTF-8 bytes.
pub const MAX_CHUNK_BYTES: usize = 1022;
/// Cap on the records of one value.
pub const MAX_CHUNKS: usize = 1023;
/// Cap on a key, in UTF-8 bytes.
pub const MAX_KEY_BYTES: usize = 254;
/// Cap on `duration`, in microseconds (13 digits).
pub const MAX_DURATION_US: u64 = 9_999_999_999_999;
const MAX_UUID_BYTES: usize = 36;

fn check_field(field: &'static str, value: &str, max: usize) -> Result<()> {
    if value.is_empty() || value.contains('|') || value.contains('\0') {
        return Err(Error::InvalidField {
            field,
            reason: "must be non-empty and hold no '|' or NUL",
        });
    }
    if value.len() > max {
        return Err(Error::FieldTooLong {
            field,
            limit: max,
            actual: value.len(),
        });
    }
    Ok(())
}

fn check_uuid(field: &'static str, value: &str) -> Result<()> {
    check_field(field, value, MAX_UUID_BYTES)?;
    Uuid::parse_str(value)
        .map(|_| ())
        .map_err(|_| Error::InvalidUuid {
            field,
            value: value.to_owned(),
        })
}

/// Writes `DIAG_V1` records for one producer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiagWriter {
    agent: String,
    vm_id: String,
    precision: Precision,
}

impl DiagWriter {
    /// A writer for `agent` (at most 32 bytes, such as `azure-init-0.1.1`)
    /// on the VM `vm_id` (a UUID), writing millisecond timestamps.
    pub fn new(agent: impl Into<String>, vm_id: impl Into<String>) -> Result<DiagWriter> {
        let (agent, vm_id) = (agent.into(), vm_id.into());
        check_field("agent", &agent, MAX_AGENT_BYTES)?;
        check_uuid("vm_id", &vm_id)?;
        Ok(DiagWriter {
            agent,
            vm_id,
            precision: Precision::Millis,
        })
    }

    /// Sets the timestamp precision.
    pub fn with_precision(mut self, precision: Precision) -> DiagWriter {
        self.precision = precision;
        self
    }

    /// The `(key, value)` records of `event`, in chunk order. Validates
    /// everything first: the name, the event id (a new one when unset),
    /// the kind's result and duration rules, the payload (bytes sent
    /// without compression must be UTF-8), the key length and the number
    /// of records.
    pub fn encode(&self, event: &Event) -> Result<Vec<(String, String)>> {
        check_field("name", &event.name, MAX_NAME_BYTES)?;
        let event_id = match &event.event_id {
            Some(id) => {
                check_uuid("event_id", id)?;
                id.clone()
            }
            None => Uuid::new_v4().to_string(),
        };
        let result = match (&event.result, event.kind) {
            (Some(_), Kind::Start) => {
                return Err(Error::InvalidField {
                    field: "result",
                    reason: "a start has none",
                })
            }
            (None, Kind::Finish) => {
                return Err(Error::InvalidField {
                    field: "result",
                    reason: "a finish needs one",
                })
            }
            (None, _) => "",
            (Some(Outcome::Success), _) => "success",
            (Some(Outcome::Fail), _) => "fail",
            (Some(_), _) => {
                return Err(Error::Unsupported {
                    format: "DIAG_V1",
                    field: "result",
                    reason: "only success and fail exist",
                })
            }
        };
        let duration = match (event.duration, event.kind) {
            (Some(_), Kind::Start) => {
                return Err(Error::InvalidField {
                    field: "duration",
                    reason: "a start has none",
                })
            }
            (None, Kind::Finish) => {
                return Err(Error::InvalidField {
                    field: "duration",
                    reason: "a finish needs one",
                })
            }
            (None, _) => String::new(),
            (Some(d), _) => {
                let us = d.as_micros();
                if us > u128::from(MAX_DURATION_US) {
                    return Err(Error::DurationTooLarge {
                        limit_us: MAX_DURATION_US,
                        actual_us: us,
                    });
                }
                us.to_string()
            }
        };
        let value = match (event.encoding, &event.payload) {
            (Encoding::None, Payload::Text(t)) => t.clone(),
            (Encoding::None, Payload::Bytes(b)) => {
                String::from_utf8(b.clone()).map_err(|_| Error::Unsupported {
                    format: "DIAG_V1",
                    field: "payload",
                    reason: "bytes that are not UTF-8 need encoding gz+b64",
                })?
            }
            (Encoding::GzB64, p) => gzip_b64(p.as_bytes()),
        };
        let ts = event
            .timestamp
            .unwrap_or_else(Timestamp::now)
            .to_rfc3339(self.precision, Offset::Z);
        let base = format!(
            "{VERSION_ID}|{}|{}|{}|{}|{event_id}|{ts}|{}|{result}|{duration}",
            self.agent,
            self.vm_id,
            event.kind.as_str(),
            event.name,
            event.encoding.as_str()
        );
        let pieces = split_utf8(&value, MAX_CHUNK_BYTES);
        if pieces.len() > MAX_CHUNKS {
            return Err(Error::TooManyChunks {
                limit: MAX_CHUNKS,
                actual: pieces.len(),
            });
        }
        let mut records = Vec::with_capacity(pieces.len());
        for (i, piece) in pieces.into_iter().enumerate() {
            let key = format!("{base}|{i}");
            if key.len() > MAX_KEY_BYTES {
                return Err(Error::FieldTooLong {
                    field: "key",
                    limit: MAX_KEY_BYTES,
                    actual: key.len(),
                });
            }
            PoolMode::Safe.check(&key, piece)?;
            records.push((key, piece.to_owned()));
        }
        Ok(records)
    }
}

/// `text` in pieces of at most `max` bytes, cut at character boundaries;
/// one empty piece for empty text.
fn split_utf8(mut text: &str, max: usize) -> Vec<&str> {
    let mut out = Vec::new();
    loop {
        let mut end = text.len().min(max);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let (piece, rest) = text.split_at(end);
        out.push(piece);
        if rest.is_empty() {
            return out;
        }
        text = rest;
    }
}

/// Splits a key whose first field is `DIAG_V1` into its base (everything
/// but the chunk index) and the index.
pub(crate) fn split_key(key: &str) -> std::result::Result<(&str, u64), DecodeError> {
    let (base, index) = key
        .rsplit_once('|')
        .ok_or_else(|| DecodeError::malformed("DIAG_V1 key without fields"))?;
    if index.is_empty() || !index.bytes().all(|b| b.is_ascii_digit()) {
        return Err(DecodeError::malformed(format!(
            "chunk index {index:?} is not a number"
        )));
    }
    let index = index
        .parse()
        .map_err(|_| DecodeError::malformed("chunk index too large"))?;
    Ok((base, index))
}

fn canonical_timestamp(text: &str) -> Option<Timestamp> {
    let t = Timestamp::parse(text)?;
    [
        Precision::Seconds,
        Precision::Millis,
        Precision::Micros,
        Precision::Nanos,
    ]
    .into_iter()
    .any(|p| t.to_rfc3339(p, Offset::Z) == text)
    .then_some(t)
}

/// Decodes one group: the base key and its `(index, value)` chunks.
pub(crate) fn decode_group(
    base: &str,
    chunks: &mut [(u64, &[u8])],
    options: &ReadOptions,
) -> std::result::Result<Event, DecodeError> {
    let bad = |what: &str| DecodeError::malformed(format!("DIAG_V1 key {what}"));
    let f: Vec<&str> = base.split('|').collect();
    let [version, agent, vm_id, kind, name, event_id, ts, encoding, result, duration] = f[..]
    else {
        return Err(bad("does not have 11 fields"));
    };
    if version != VERSION_ID
        || [agent, vm_id, name, event_id, ts, encoding]
            .iter()
            .any(|s| s.is_empty())
    {
        return Err(bad("has an empty field"));
    }
    if Uuid::parse_str(vm_id).is_err() || Uuid::parse_str(event_id).is_err() {
        return Err(bad("has a vm_id or event_id that is not a UUID"));
    }
    let timestamp = canonical_timestamp(ts)
        .ok_or_else(|| bad("has a timestamp that is not RFC 3339 UTC with Z"))?;
    let result = match result {
        "" => None,
        "success" => Some(Outcome::Success),
        "fail" => Some(Outcome::Fail),
        _ => return Err(bad("has an unknown result")),
    };
    let duration_text = (!duration.is_empty()).then(|| duration.to_owned());
    let duration = match duration {
        "" => None,
        d if d.bytes().all(|b| b.is_ascii_digit()) => Some(Duration::from_micros(
            d.parse().map_err(|_| bad("has a duration too large"))?,
        )),
        _ => return Err(bad("has a duration that is not a number")),
    };
    let kind = match (kind, &result, &duration) {
        ("start", None, None) => Kind::Start,
        ("finish", Some(_), Some(_)) => Kind::Finish,
        ("event", _, _) => Kind::Event,
        _ => return Err(bad("has a kind whose result or duration is wrong")),
    };
    let missing = chunk_order(chunks, options.partial)?;
    let joined: Vec<u8> = chunks.iter().flat_map(|(_, v)| v.iter().copied()).collect();
    let (payload, enc) = match encoding {
        "none" => match String::from_utf8(joined) {
            Ok(text) => (Payload::Text(text), Encoding::None),
            Err(_) if !missing.is_empty() => {
                return Err(DecodeError::undecodable("partial text is not UTF-8"))
            }
            Err(_) => return Err(DecodeError::undecodable("text is not UTF-8")),
        },
        "gz+b64" if !options.decompress => match String::from_utf8(joined) {
            Ok(base64) => (Payload::Text(base64), Encoding::GzB64),
            Err(_) => return Err(DecodeError::undecodable("base64 text is not UTF-8")),
        },
        "gz+b64" if missing.is_empty() => (
            Payload::Bytes(decode_b64(&joined, Accept::Gzip, options.max_payload)?),
            Encoding::GzB64,
        ),
        "gz+b64" => {
            return Err(DecodeError::new(
                crate::error::Reason::IncompleteGroup,
                format!("missing chunks {missing:?}"),
            ))
        }
        other => {
            return Err(DecodeError::undecodable(format!(
                "unknown encoding {other:?}"
            )))
        }
    };
    Ok(Event {
        format: Format::DiagV1,
        agent: agent.to_owned(),
        kind,
        event_type: kind.as_str().to_owned(),
        name: name.to_owned(),
        timestamp: Some(timestamp),
        ts: ts.to_owned(),
        result,
        duration,
        duration_text,
        payload,
        encoding: enc,
        vm_id: Some(vm_id.to_owned()),
        event_id: Some(event_id.to_owned()),
        incarnation: None,
        chunks: Chunks {
            count: chunks.len(),
            missing,
        },
    })
}
