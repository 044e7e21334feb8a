//! The steps of a kvp-report [`Timeline`](kvp_report::Timeline) and its raw records, as lines for
//! people and as JSON objects for scripts. Every text from the pool goes
//! through the escaped form (a line) or `output::json` (JSON).
//!
//! A line stands alone, so that `--follow` can print it the moment it is
//! known: the time is fixed-width and the agent and type columns padded,
//! but nothing depends on the lines around it.

use std::time::Duration;

use kvp_report::event::Payload;
use kvp_report::time::{Offset, Precision};
use kvp_report::{Event, Outcome, RawEntry, Step};
use serde_json::{json, Value};

use crate::escape;
use crate::output::shown;
use crate::report_view;

/// How much of a message a line shows unless `--full`.
pub const MESSAGE_COLUMN: usize = 80;
const AGENT_WIDTH: usize = 10;
/// Wide enough for cloud-init's `system-info`.
const TYPE_WIDTH: usize = 11;
const NAME_MAX: usize = 48;
/// The width of a time in the Micros precision, and of its stand-in.
const TIME_WIDTH: usize = 27;

/// How lines are drawn.
#[derive(Clone, Copy, Debug)]
pub struct Style {
    /// Messages whole instead of cut at [`MESSAGE_COLUMN`].
    pub full: bool,
    /// Whether more records may come (`--follow`): then a start without a
    /// finish is not marked, since its finish may be next.
    pub open_ended: bool,
}

impl Style {
    fn message_max(self) -> usize {
        if self.full {
            usize::MAX
        } else {
            MESSAGE_COLUMN
        }
    }
}

/// One step as a line: time, agent, type, name, then result, duration,
/// `UNFINISHED`, and the message, each only when there is one.
pub fn step_line(step: &Step<'_>, style: Style) -> String {
    let time = step.time.map_or_else(
        || format!("{:<TIME_WIDTH$}", "(no time)"),
        |t| t.to_rfc3339(Precision::Micros, Offset::Z),
    );
    let mut parts = vec![time];
    if let Some(event) = step.event() {
        parts.push(padded(&event.agent, AGENT_WIDTH));
        parts.push(padded(&event.event_type, TYPE_WIDTH));
        parts.push(shown(event.name.as_bytes(), NAME_MAX));
        parts.extend(
            event
                .result
                .as_ref()
                .map(|r| shown(r.cloud_init_token().as_bytes(), 16)),
        );
        parts.extend(step.duration.map(human_duration));
        if step.is_unfinished() && !style.open_ended {
            parts.push("UNFINISHED".to_owned());
        }
        parts.push(message(&event.payload, style.message_max()));
    } else if let Some(report) = step.report() {
        parts.push(padded(&report.agent, AGENT_WIDTH));
        parts.push(format!("{:<TYPE_WIDTH$}", "report"));
        parts.push(kvp_report::PROVISIONING_REPORT_KEY.to_owned());
        parts.push(report.result.as_str().to_owned());
        if let Some(reason) = &report.reason {
            parts.push(shown(reason.as_bytes(), style.message_max()));
        }
    }
    while parts.last().is_some_and(String::is_empty) {
        parts.pop();
    }
    parts.join("  ")
}

/// A record that did not decode, as a line that says so on its own.
pub fn raw_line(raw: &RawEntry) -> String {
    let why = match &raw.error {
        Some(e) => format!(
            "not decoded ({}: {})",
            e.reason,
            escape::for_message(&e.detail)
        ),
        None => "not an event or report".to_owned(),
    };
    format!(
        "record {}  {why}  key {}",
        raw.position,
        shown(&raw.record.key, NAME_MAX + 32)
    )
}

/// One step as a JSON object (schema in docs/cli.md).
pub fn step_json(step: &Step<'_>, style: Style) -> Value {
    let time = step.time.map(|t| t.to_string());
    if let Some(event) = step.event() {
        let mut value = event_json(event);
        if let Value::Object(map) = &mut value {
            map.insert("entry".into(), "event".into());
            map.insert("time".into(), json!(time));
            map.insert(
                "duration".into(),
                json!(step.duration.map(|d| d.as_secs_f64())),
            );
            map.insert(
                "unfinished".into(),
                json!(step.is_unfinished() && !style.open_ended),
            );
        }
        return value;
    }
    let (position, report) = match step.entry {
        kvp_report::Entry::Report { position, report } => (Some(*position), Some(report)),
        _ => (None, None),
    };
    json!({
        "entry": "report",
        "position": position,
        "time": time,
        "report": report.map(report_view::json),
    })
}

fn event_json(event: &Event) -> Value {
    let (kind, text) = match &event.payload {
        Payload::Text(text) => ("text", text.clone()),
        Payload::Bytes(bytes) => ("bytes", String::from_utf8_lossy(bytes).into_owned()),
    };
    json!({
        "format": event.format.as_str(),
        "agent": event.agent,
        "kind": event.kind.as_str(),
        "type": event.event_type,
        "name": event.name,
        "ts": event.ts,
        "result": event.result.as_ref().map(outcome),
        "vm_id": event.vm_id,
        "event_id": event.event_id,
        "incarnation": event.incarnation,
        "encoding": event.encoding.as_str(),
        "payload": kind,
        "bytes": event.payload.as_bytes().len(),
        "message": text,
        "chunks": { "count": event.chunks.count, "missing": event.chunks.missing },
    })
}

/// A raw record as a JSON object.
pub fn raw_json(raw: &RawEntry) -> Value {
    json!({
        "entry": "raw",
        "position": raw.position,
        "key": String::from_utf8_lossy(&raw.record.key),
        "value": String::from_utf8_lossy(&raw.record.value),
        "reason": raw.error.as_ref().map(|e| e.reason.as_str()),
        "detail": raw.error.as_ref().map(|e| e.detail.as_str()),
    })
}

/// `success`, `warn`, `fail`, or another token as written.
fn outcome(result: &Outcome) -> String {
    match result {
        Outcome::Success => "success".to_owned(),
        Outcome::Warn => "warn".to_owned(),
        Outcome::Fail => "fail".to_owned(),
        other => other.cloud_init_token().to_owned(),
    }
}

/// The escaped text, cut at `max` and padded to `width` characters.
fn padded(text: &str, width: usize) -> String {
    let cell = shown(text.as_bytes(), 32);
    let pad = width.saturating_sub(cell.chars().count());
    format!("{cell}{}", " ".repeat(pad))
}

/// Text as it is; bytes (a decompressed artifact) with their size first.
fn message(payload: &Payload, max: usize) -> String {
    match payload {
        Payload::Text(text) => shown(text.as_bytes(), max),
        Payload::Bytes(bytes) => format!("[{} bytes] {}", bytes.len(), shown(bytes, max)),
    }
}

/// `645µs`, `12.3ms`, `2.38s`, `1m02.5s`: short, and precise enough to
/// compare steps by eye.
pub fn human_duration(d: Duration) -> String {
    let micros = d.as_micros();
    if micros < 1_000 {
        format!("{micros}µs")
    } else if micros < 1_000_000 {
        format!("{:.1}ms", d.as_secs_f64() * 1e3)
    } else if d.as_secs() < 60 {
        format!("{:.2}s", d.as_secs_f64())
    } else {
        let secs = d.as_secs_f64();
        format!("{}m{:04.1}s", d.as_secs() / 60, secs % 60.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_at_a_glance() {
        let cases = [
            (Duration::from_nanos(644_859), "644µs"),
            (Duration::from_micros(12_345), "12.3ms"),
            (Duration::from_millis(2_377), "2.38s"),
            (Duration::from_millis(62_500), "1m02.5s"),
            (Duration::ZERO, "0µs"),
        ];
        for (d, text) in cases {
            assert_eq!(human_duration(d), text);
        }
    }

    #[test]
    fn padding_counts_characters_after_escaping() {
        assert_eq!(padded("é", 3), "é  ");
        assert_eq!(padded("\u{1b}", 5), r"\x1b ");
        assert_eq!(padded("toolong", 3), "toolong");
    }
}
