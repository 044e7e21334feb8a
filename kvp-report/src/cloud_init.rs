//! cloud-init's event records (`HyperVKvpReportingHandler`), read and
//! written in each release's variant.
//!
//! - Key: `CLOUD_INIT|<incarnation>|<type>|<name>|<uuid4>` (22.4 to 25.x)
//!   or `CLOUD_INIT|<incarnation>|<type>|<name>|<vm_id>|<uuid4>` (26.1+),
//!   `|<i>` appended for the i-th chunk of a long event.
//! - Value: compact `ensure_ascii` JSON with `name`, `type`, `ts`, then
//!   `result` and (26.1+) `duration` when the event has them, then `msg`;
//!   a chunk carries `msg_i` before `msg`, and its `msg` is a slice of the
//!   escaped description that cloud-init cuts anywhere, even inside an
//!   escape. Readers join the raw slices in `msg_i` order and unescape
//!   once.
//! - `compressed` events: `msg` is `{"encoding": "gz+b64", "data": ...}`,
//!   zlib data in line-wrapped base64.
//!
//! Writing follows the same layout with two differences on purpose: a
//! value is split only above 1022 characters (what the host receives
//! whole, where cloud-init splits above 1024) and slices end only between
//! escapes, so every chunk is valid JSON by itself.

use std::time::Duration;

use kvp_core::limits::{PoolMode, SAFE_VALUE_UTF16_UNITS};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::compress::{decode_b64, zlib_b64_lines, Accept};
use crate::error::{DecodeError, Error, Reason, Result};
use crate::event::{Chunks, CloudInitVariant, Encoding, Event, Format, Kind, Outcome, Payload};
use crate::pyjson::{escape_into, float_repr, quote, token_ends, unescape};
use crate::reader::{chunk_order, ReadOptions};
use crate::time::{Offset, Timestamp};

/// The first field of every cloud-init event key.
pub const PREFIX: &str = "CLOUD_INIT";

/// cloud-init's per-record budget, from which it computes chunk sizes.
const CLOUD_INIT_BUDGET: usize = 1024;
/// The longest escape token (a surrogate pair, `\ud83d\ude00`).
const LONGEST_TOKEN: usize = 12;

/// A parsed key: the base key (without the chunk index) and its fields.
#[derive(Debug)]
pub(crate) struct Key<'a> {
    pub(crate) base: &'a str,
    pub(crate) index: Option<u64>,
    incarnation: u64,
    event_type: &'a str,
    /// Fields between the type and the event id: the name, and maybe the
    /// VM id after it.
    middle: Vec<&'a str>,
    event_id: &'a str,
}

fn is_uuid(text: &str) -> bool {
    Uuid::parse_str(text).is_ok()
}

fn parse_digits(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Parses a key whose first field is `CLOUD_INIT`.
pub(crate) fn parse_key(key: &str) -> std::result::Result<Key<'_>, DecodeError> {
    let bad = |what: &str| DecodeError::malformed(format!("cloud-init key {what}"));
    let fields: Vec<&str> = key.split('|').collect();
    if fields.len() < 5 || fields[0] != PREFIX {
        return Err(bad("has fewer than five fields"));
    }
    let incarnation =
        parse_digits(fields[1]).ok_or_else(|| bad("has a non-numeric incarnation"))?;
    let event_type = fields[2];
    let mut tail = &fields[3..];
    let mut base = key;
    let mut index = None;
    if tail.len() >= 3 && is_uuid(tail[tail.len() - 2]) {
        if let Some(i) = parse_digits(tail[tail.len() - 1]) {
            index = Some(i);
            tail = &tail[..tail.len() - 1];
            base = &key[..key.len() - fields[fields.len() - 1].len() - 1];
        }
    }
    let (event_id, middle) = tail.split_last().ok_or_else(|| bad("has no event id"))?;
    if event_type.is_empty() || middle.is_empty() || !is_uuid(event_id) {
        return Err(bad("lacks a type, a name or a UUID event id"));
    }
    Ok(Key {
        base,
        index,
        incarnation,
        event_type,
        middle: middle.to_vec(),
        event_id,
    })
}

/// The JSON fields of a value, without `msg`, and the raw escaped `msg`
/// text when the value ends with it as cloud-init writes it.
fn split_value(value: &str) -> Option<(Map<String, Value>, &str)> {
    // Before msg, every quote inside a string is escaped, so the first
    // `,"msg":"` is the real one.
    let at = value.find(",\"msg\":\"")?;
    let raw = value.get(at + 8..)?.strip_suffix("\"}")?;
    let head: Map<String, Value> = serde_json::from_str(&format!("{}}}", value.get(..at)?)).ok()?;
    Some((head, raw))
}

/// One record's metadata and message.
fn parts_of(value: &[u8]) -> std::result::Result<(Map<String, Value>, Msg<'_>), DecodeError> {
    let text =
        std::str::from_utf8(value).map_err(|_| DecodeError::malformed("value is not UTF-8"))?;
    if let Some((head, raw)) = split_value(text) {
        return Ok((head, Msg::Escaped(raw)));
    }
    let mut all: Map<String, Value> = serde_json::from_str(text)
        .map_err(|e| DecodeError::malformed(format!("value is not a JSON object: {e}")))?;
    match all.remove("msg") {
        Some(Value::String(m)) => Ok((all, Msg::Text(m))),
        _ => Err(DecodeError::malformed("value has no msg text")),
    }
}

enum Msg<'a> {
    Escaped(&'a str),
    Text(String),
}

/// Decodes one record that has no chunk index.
pub(crate) fn decode_single(
    key: &Key<'_>,
    value: &[u8],
    options: &ReadOptions,
) -> std::result::Result<Event, DecodeError> {
    let (meta, msg) = parts_of(value)?;
    if meta.contains_key("msg_i") {
        return Err(DecodeError::malformed(
            "msg_i in a record without a chunk index",
        ));
    }
    let text = match msg {
        Msg::Text(t) => t,
        Msg::Escaped(raw) => {
            unescape(raw).ok_or_else(|| DecodeError::malformed("msg is not a JSON string"))?
        }
    };
    build(
        key,
        &meta,
        text,
        Chunks {
            count: 1,
            missing: Vec::new(),
        },
        options,
    )
}

/// Decodes the chunks of one event: `(index, value)` in any order.
pub(crate) fn decode_group(
    key: &Key<'_>,
    chunks: &mut [(u64, &[u8])],
    options: &ReadOptions,
) -> std::result::Result<Event, DecodeError> {
    let missing = chunk_order(chunks, options.partial)?;
    let mut first: Option<Map<String, Value>> = None;
    let mut joined = String::new();
    for (index, value) in chunks.iter() {
        let text =
            std::str::from_utf8(value).map_err(|_| DecodeError::malformed("chunk is not UTF-8"))?;
        let (mut meta, raw) = split_value(text).ok_or_else(|| {
            DecodeError::malformed(format!("chunk {index} is not a cloud-init chunk"))
        })?;
        if meta.remove("msg_i").and_then(|v| v.as_u64()) != Some(*index) {
            return Err(DecodeError::malformed(format!(
                "chunk {index} has another msg_i"
            )));
        }
        match &first {
            Some(f) if *f != meta => {
                return Err(DecodeError::malformed(format!(
                    "chunk {index} differs from chunk 0 outside msg"
                )))
            }
            Some(_) => {}
            None => first = Some(meta),
        }
        joined.push_str(raw);
    }
    let meta = first.ok_or_else(|| DecodeError::malformed("empty group"))?;
    let text = match unescape(&joined) {
        Some(t) => t,
        None if !missing.is_empty() => joined,
        None => {
            return Err(DecodeError::malformed(
                "the joined msg slices are not a JSON string",
            ))
        }
    };
    if !missing.is_empty() && key.event_type == "compressed" && options.decompress {
        return Err(DecodeError::new(
            Reason::IncompleteGroup,
            format!("compressed event misses chunks {missing:?}"),
        ));
    }
    build(
        key,
        &meta,
        text,
        Chunks {
            count: chunks.len(),
            missing,
        },
        options,
    )
}

fn build(
    key: &Key<'_>,
    meta: &Map<String, Value>,
    text: String,
    chunks: Chunks,
    options: &ReadOptions,
) -> std::result::Result<Event, DecodeError> {
    let field = |name: &str| meta.get(name).and_then(Value::as_str);
    let name = field("name").ok_or_else(|| DecodeError::malformed("no name text"))?;
    if field("type") != Some(key.event_type) {
        return Err(DecodeError::malformed("type in key and value differ"));
    }
    // The name may hold '|'; a trailing UUID field is the VM id only if
    // the name then matches the value's.
    let all = key.middle.join("|");
    let (vm_id, key_name) = match key.middle.split_last() {
        Some((vm, rest)) if !rest.is_empty() && is_uuid(vm) && rest.join("|") == name => {
            (Some(*vm), rest.join("|"))
        }
        _ => (None, all),
    };
    if key_name != name {
        return Err(DecodeError::malformed("name in key and value differ"));
    }
    let ts = field("ts").ok_or_else(|| DecodeError::malformed("no ts text"))?;
    let timestamp = Timestamp::parse(ts)
        .ok_or_else(|| DecodeError::malformed(format!("ts {ts:?} is not a timestamp")))?;
    let result = match meta.get("result") {
        None => None,
        Some(Value::String(r)) => Some(Outcome::from_cloud_init(r)),
        Some(_) => return Err(DecodeError::malformed("result is not text")),
    };
    let duration = match meta.get("duration") {
        None => None,
        Some(v) => Some(
            seconds(v)
                .ok_or_else(|| DecodeError::malformed("duration is not a number of seconds"))?,
        ),
    };
    let duration_text = meta.get("duration").and_then(Value::as_f64).map(float_repr);
    let (payload, encoding) = if key.event_type == "compressed" {
        let payload = if options.decompress {
            Payload::Bytes(envelope(&text, options.max_payload)?)
        } else {
            Payload::Text(text)
        };
        (payload, Encoding::GzB64)
    } else {
        (Payload::Text(text), Encoding::None)
    };
    let variant = match (vm_id, ts.ends_with('Z')) {
        (Some(_), _) => CloudInitVariant::V26_1,
        (None, true) => CloudInitVariant::V22_4,
        (None, false) => CloudInitVariant::V24_4,
    };
    Ok(Event {
        format: Format::CloudInit(variant),
        agent: PREFIX.to_owned(),
        kind: match key.event_type {
            "start" => Kind::Start,
            "finish" => Kind::Finish,
            _ => Kind::Event,
        },
        event_type: key.event_type.to_owned(),
        name: name.to_owned(),
        timestamp: Some(timestamp),
        ts: ts.to_owned(),
        result,
        duration,
        duration_text,
        payload,
        encoding,
        vm_id: vm_id.map(str::to_owned),
        event_id: Some(key.event_id.to_owned()),
        incarnation: Some(key.incarnation),
        chunks,
    })
}

fn seconds(v: &Value) -> Option<Duration> {
    let secs = v.as_f64()?;
    let nanos = (secs * 1e9).round();
    (secs.is_finite() && nanos >= 0.0 && nanos < u64::MAX as f64)
        .then(|| Duration::from_nanos(nanos as u64))
}

fn envelope(text: &str, limit: usize) -> std::result::Result<Vec<u8>, DecodeError> {
    let env: Map<String, Value> = serde_json::from_str(text)
        .map_err(|_| DecodeError::malformed("compressed msg is not a JSON object"))?;
    match (
        env.get("encoding").and_then(Value::as_str),
        env.get("data").and_then(Value::as_str),
    ) {
        (Some("gz+b64"), Some(data)) => decode_b64(data.as_bytes(), Accept::GzipOrZlib, limit),
        (Some(other), Some(_)) => Err(DecodeError::undecodable(format!(
            "unknown encoding {other:?}"
        ))),
        _ => Err(DecodeError::malformed(
            "compressed msg lacks encoding or data",
        )),
    }
}

/// Writes events in one cloud-init variant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CloudInitWriter {
    /// The release line to write as.
    pub variant: CloudInitVariant,
    /// The incarnation in every key (see [`boot_incarnation`]).
    pub incarnation: u64,
    /// The VM id that 26.1 keys carry (required for that variant).
    pub vm_id: Option<String>,
}

impl CloudInitWriter {
    /// A writer for `variant` with `incarnation`.
    pub fn new(variant: CloudInitVariant, incarnation: u64) -> CloudInitWriter {
        CloudInitWriter {
            variant,
            incarnation,
            vm_id: None,
        }
    }

    /// Sets the VM id for 26.1 keys.
    pub fn with_vm_id(mut self, vm_id: impl Into<String>) -> CloudInitWriter {
        self.vm_id = Some(vm_id.into());
        self
    }

    /// The `(key, value)` records of `event`, in order: one, or the chunks
    /// of a long one, each within the Safe limits. The type is
    /// `event.event_type` (`compressed` for a compressed event built with
    /// [`Event::new`]); `duration` is written by the 26.1 variant only,
    /// as the older ones have no such field.
    pub fn encode(&self, event: &Event) -> Result<Vec<(String, String)>> {
        let event_type = match (event.encoding, event.event_type.as_str()) {
            (Encoding::GzB64, t) if t == event.kind.as_str() => "compressed",
            (_, "") => event.kind.as_str(),
            (_, t) => t,
        };
        // The type is a key field of its own; the name may hold '|', as
        // cloud-init's names may: readers take the name from the value
        // (see `build`), so the key stays unambiguous.
        if event_type.is_empty() || event_type.contains('|') {
            return Err(Error::InvalidField {
                field: "type",
                reason: "must be non-empty and hold no '|'",
            });
        }
        if event.name.is_empty() {
            return Err(Error::InvalidField {
                field: "name",
                reason: "must be non-empty",
            });
        }
        let event_id = match &event.event_id {
            Some(id) if is_uuid(id) => id.clone(),
            Some(id) => {
                return Err(Error::InvalidUuid {
                    field: "event_id",
                    value: id.clone(),
                })
            }
            None => Uuid::new_v4().to_string(),
        };
        let mut key = format!("{PREFIX}|{}|{event_type}|{}|", self.incarnation, event.name);
        if self.variant == CloudInitVariant::V26_1 {
            match &self.vm_id {
                Some(vm) if is_uuid(vm) => key.push_str(&format!("{vm}|")),
                Some(vm) => {
                    return Err(Error::InvalidUuid {
                        field: "vm_id",
                        value: vm.clone(),
                    })
                }
                None => {
                    return Err(Error::InvalidField {
                        field: "vm_id",
                        reason: "the 26.1 format needs one",
                    })
                }
            }
        }
        key.push_str(&event_id);

        let time = event.timestamp.unwrap_or_else(Timestamp::now);
        let ts = time.to_python_isoformat(match self.variant {
            CloudInitVariant::V22_4 => Offset::Z,
            _ => Offset::Colon,
        });
        let mut head = format!(
            "{{\"name\":{},\"type\":{},\"ts\":{}",
            quote(&event.name),
            quote(event_type),
            quote(&ts)
        );
        if let Some(result) = &event.result {
            head.push_str(&format!(",\"result\":{}", quote(result.cloud_init_token())));
        }
        if let (CloudInitVariant::V26_1, Some(d)) = (self.variant, event.duration) {
            head.push_str(&format!(",\"duration\":{}", float_repr(d.as_secs_f64())));
        }
        let message = message_of(event)?;
        let single = format!("{head},\"msg\":{}}}", quote(&message));
        let records = if single.len() <= SAFE_VALUE_UTF16_UNITS {
            vec![(key, single)]
        } else {
            chunk(&key, &head, &message)?
        };
        for (k, v) in &records {
            PoolMode::Safe.check(k, v)?;
        }
        Ok(records)
    }
}

fn message_of(event: &Event) -> Result<String> {
    match (event.encoding, &event.payload) {
        (Encoding::None, Payload::Text(t)) => Ok(t.clone()),
        (Encoding::None, Payload::Bytes(b)) => {
            String::from_utf8(b.clone()).map_err(|_| Error::Unsupported {
                format: "cloud-init",
                field: "payload",
                reason: "bytes that are not UTF-8 must be compressed",
            })
        }
        (Encoding::GzB64, payload) => Ok(format!(
            "{{\"encoding\": \"gz+b64\", \"data\": {}}}",
            quote(&zlib_b64_lines(payload.as_bytes()))
        )),
    }
}

fn chunk(key: &str, head: &str, message: &str) -> Result<Vec<(String, String)>> {
    let mut escaped = String::new();
    escape_into(message, &mut escaped);
    let ends = token_ends(&escaped);
    let mut records = Vec::new();
    let (mut start, mut next) = (0usize, 0usize);
    loop {
        let i = records.len();
        let without = format!("{head},\"msg_i\":{i},\"msg\":\"\"}}");
        let room = CLOUD_INIT_BUDGET.saturating_sub(without.len() + 8);
        if room < LONGEST_TOKEN {
            return Err(Error::InvalidField {
                field: "name",
                reason:
                    "name, type and result leave no room for the message in a record: shorten them",
            });
        }
        let mut end = start;
        while next < ends.len() && ends[next] <= start + room {
            end = ends[next];
            next += 1;
        }
        let value = format!(
            "{head},\"msg_i\":{i},\"msg\":\"{}\"}}",
            &escaped[start..end]
        );
        records.push((format!("{key}|{i}"), value));
        start = end;
        if start >= escaped.len() {
            return Ok(records);
        }
    }
}

/// cloud-init's incarnation: the boot time in whole seconds,
/// `int(time.time() - uptime)`, with uptime from /proc/uptime.
pub fn boot_incarnation() -> Result<u64> {
    let path = "/proc/uptime";
    let text = std::fs::read_to_string(path).map_err(|source| Error::Unreadable {
        path: path.into(),
        source,
    })?;
    let uptime: f64 = text
        .split_whitespace()
        .next()
        .and_then(|t| t.parse().ok())
        .unwrap_or(0.0);
    let now = Timestamp::now();
    let now = now.unix_seconds() as f64 + f64::from(now.subsec_nanos()) / 1e9;
    Ok((now - uptime).max(0.0) as u64)
}
