//! azure-init's tracing records today (libazureinit/src/kvp.rs), read only.
//!
//! - Key: `<prefix>|<vm_id>|<LEVEL>|<span name>|<uuid4>`, the prefix being
//!   `azure-init-<version>` unless configured, the level a tracing level
//!   (`TRACE` to `ERROR`), the span name `module:function`.
//! - An event inside a span: `Time: <YYYY-MM-DDTHH:MM:SS.mmmZ> | Event: <fields>`.
//! - A closed span: `Start: <ts> | End: <ts>`.
//! - A value over 1022 bytes is cut into 1022-**byte** pieces, not at
//!   character boundaries, each its own record under the same key: the
//!   records of one key are joined in file order, bytes first, then read
//!   as UTF-8. Nothing numbers the pieces, so a lost piece shows only when
//!   a piece before the last is shorter than 1022 bytes.

use uuid::Uuid;

use crate::error::DecodeError;
use crate::event::{Chunks, Encoding, Event, Format, Kind, Payload};
use crate::time::Timestamp;

/// The size of every piece but the last.
pub const PIECE_BYTES: usize = 1022;

const LEVELS: [&str; 5] = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR"];

/// Whether `key` has the shape of a tracing record key.
pub(crate) fn matches(key: &str) -> bool {
    let f: Vec<&str> = key.split('|').collect();
    f.len() == 5
        && !f[0].is_empty()
        && !f[3].is_empty()
        && LEVELS.contains(&f[2])
        && f[4].len() == 36
        && Uuid::try_parse(f[4]).is_ok()
}

/// Decodes the records of one key, values in file order.
pub(crate) fn decode_group(key: &str, values: &[&[u8]]) -> Result<Event, DecodeError> {
    let f: Vec<&str> = key.split('|').collect();
    let [prefix, vm_id, level, name, event_id] = f[..] else {
        return Err(DecodeError::malformed(
            "tracing key does not have five fields",
        ));
    };
    if let Some(i) = values[..values.len().saturating_sub(1)]
        .iter()
        .position(|v| v.len() != PIECE_BYTES)
    {
        return Err(DecodeError::malformed(format!(
            "piece {i} of {} is {} bytes, not {PIECE_BYTES}: pieces are missing or cut",
            values.len(),
            values[i].len()
        )));
    }
    let joined: Vec<u8> = values.concat();
    let text =
        String::from_utf8(joined).map_err(|_| DecodeError::undecodable("value is not UTF-8"))?;
    let parse_ts = |t: &str| {
        Timestamp::parse(t)
            .ok_or_else(|| DecodeError::malformed(format!("{t:?} is not a timestamp")))
    };
    let (kind, ts, timestamp, duration, payload) = if let Some(rest) = text.strip_prefix("Time: ") {
        let (ts, message) = rest
            .split_once(" | Event: ")
            .ok_or_else(|| DecodeError::malformed("event value without ' | Event: '"))?;
        (Kind::Event, ts, parse_ts(ts)?, None, message.to_owned())
    } else if let Some(rest) = text.strip_prefix("Start: ") {
        let (start, end) = rest
            .split_once(" | End: ")
            .ok_or_else(|| DecodeError::malformed("span value without ' | End: '"))?;
        let (from, to) = (parse_ts(start)?, parse_ts(end)?);
        let elapsed = to
            .duration_since(from)
            .ok_or_else(|| DecodeError::malformed("span ends before it starts"))?;
        (Kind::Finish, end, to, Some(elapsed), String::new())
    } else {
        return Err(DecodeError::malformed(
            "value is neither 'Time: ...' nor 'Start: ...'",
        ));
    };
    Ok(Event {
        format: Format::AzureInitTracing,
        agent: prefix.to_owned(),
        kind,
        event_type: level.to_owned(),
        name: name.to_owned(),
        timestamp: Some(timestamp),
        ts: ts.to_owned(),
        result: None,
        duration,
        duration_text: None,
        payload: Payload::Text(payload),
        encoding: Encoding::None,
        vm_id: Some(vm_id.to_owned()),
        event_id: Some(event_id.to_owned()),
        incarnation: None,
        chunks: Chunks {
            count: values.len(),
            missing: Vec::new(),
        },
    })
}
