//! Runs one kvp-core (or kvp-report) operation on a pool file and prints
//! the result as one JSON line, so that the Python interop tests can drive
//! the Rust crates without the bindings. Usage:
//!
//! `kvp-interop-driver <pool-file> <safe|full> <timeout-ms|none> <op> [args]`
//!
//! Ops: `insert K V`, `append K V`, `delete K`, `read K`, `records`,
//! `load` (JSON `[[k, v], ...]` on stdin), `append-loop PREFIX N`,
//! `insert-loop PREFIX N`, `is-stale BOOT`, `clear-if-stale BOOT`, where
//! BOOT is `system` (the running system's boot time) or seconds since the
//! epoch; `entries` (kvp-report's decoded pool: events, reports and raw
//! records, every field, each with its position; a report with its record), `report` (kvp-report's
//! `read_report`) and `write-event` (kvp-report's `write_event` of the
//! JSON event on stdin, in `DIAG_V1` or a cloud-init variant; prints its
//! event id and the keys written; see [`write_event`]).
//! Errors print `{"error": kind, "message": text}` and exit 2.
#![deny(missing_docs)]

use std::io::Read;
use std::process::ExitCode;
use std::time::{Duration, UNIX_EPOCH};

use kvp_core::{BootTime, FileStore, KvpStore, Options, PoolMode};
use kvp_report::{
    CloudInitVariant, CloudInitWriter, DiagWriter, Entry, Event, Kind, Outcome, Payload,
    ProvisioningReport, ReadOptions, Timestamp,
};
use serde_json::{json, Value};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(out) => {
            println!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!("{}", json!({"error": e.0, "message": e.1}));
            ExitCode::from(2)
        }
    }
}

/// An error kind (kvp-core's `ErrorKind` as text, or `usage`) and a message.
struct Failure(String, String);

impl From<kvp_core::Error> for Failure {
    fn from(e: kvp_core::Error) -> Failure {
        Failure(format!("{:?}", e.kind()), e.to_string())
    }
}

impl From<kvp_report::Error> for Failure {
    fn from(e: kvp_report::Error) -> Failure {
        Failure(format!("{:?}", e.kind()), e.to_string())
    }
}

fn usage(message: &str) -> Failure {
    Failure("usage".into(), message.into())
}

fn arg(args: &[String], index: usize) -> Result<&str, Failure> {
    args.get(index)
        .map(String::as_str)
        .ok_or_else(|| usage("missing argument"))
}

fn number<T: std::str::FromStr>(text: &str) -> Result<T, Failure> {
    text.parse().map_err(|_| usage("not a number"))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn open(args: &[String], boot: Option<BootTime>) -> Result<FileStore, Failure> {
    let mode: PoolMode = arg(args, 1)?.parse().map_err(|_| usage("bad mode"))?;
    let timeout = match arg(args, 2)? {
        "none" => None,
        ms => Some(Duration::from_millis(number(ms)?)),
    };
    let mut options = Options::new().mode(mode).lock_timeout(timeout);
    if let Some(boot) = boot {
        options = options.boot_time(boot);
    }
    Ok(options.open(arg(args, 0)?)?)
}

fn run(args: &[String]) -> Result<Value, Failure> {
    let op = arg(args, 3)?;
    let boot = match op {
        "is-stale" | "clear-if-stale" => Some(match arg(args, 4)? {
            "system" => BootTime::System,
            secs => BootTime::At(UNIX_EPOCH + Duration::from_secs(number(secs)?)),
        }),
        _ => None,
    };
    let pool = open(args, boot)?;
    let a = |i: usize| arg(args, 4 + i);
    Ok(match op {
        "insert" => json!(pool.insert(a(0)?, a(1)?)?),
        "append" => json!(pool.append(a(0)?, a(1)?)?),
        "delete" => json!(pool.delete(a(0)?)?),
        "read" => json!(pool.read(a(0)?)?),
        "records" => Value::Array(
            pool.raw_records()?
                .iter()
                .map(|r| json!({"key": hex(&r.key), "value": hex(&r.value)}))
                .collect(),
        ),
        "load" => {
            let pairs: Vec<(String, String)> =
                serde_json::from_value(stdin_json()?).map_err(|e| usage(&e.to_string()))?;
            let borrowed: Vec<(&str, &str)> = pairs
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            json!(pool.load(&borrowed)?)
        }
        "append-loop" | "insert-loop" => {
            let prefix = a(0)?;
            let count: usize = number(a(1)?)?;
            for i in 0..count {
                let key = format!("{prefix}-{i}");
                let value = format!("value-{i}");
                if op == "append-loop" {
                    pool.append(&key, &value)?;
                } else {
                    pool.insert(&key, &value)?;
                }
            }
            json!(count)
        }
        "entries" => {
            let records = pool.raw_records()?;
            Value::Array(
                kvp_report::reader::decode_indexed(&records, &ReadOptions::default())
                    .iter()
                    .map(|(position, e)| {
                        let mut out = entry(e);
                        out["position"] = json!(position);
                        if let Entry::Report { .. } = e {
                            out["key"] = json!(hex(&records[*position].key));
                            out["value"] = json!(hex(&records[*position].value));
                        }
                        out
                    })
                    .collect(),
            )
        }
        "write-event" => write_event(&pool, &stdin_json()?)?,
        "report" => match kvp_report::read_report(&pool)? {
            Some(r) => report(&r),
            None => Value::Null,
        },
        "is-stale" => json!(pool.is_stale()?),
        "clear-if-stale" => json!(pool.clear_if_stale()?),
        other => return Err(usage(&format!("unknown op {other}"))),
    })
}

fn stdin_json() -> Result<Value, Failure> {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .map_err(|e| usage(&e.to_string()))?;
    serde_json::from_str(&text).map_err(|e| usage(&e.to_string()))
}

/// Writes one event described by `spec`, with the fields of the C face's
/// `kvp_event` (absent or null ones take kvp-report's defaults):
/// `format` (`diag-v1`, `cloud-init-22.4`, `cloud-init-24.4`,
/// `cloud-init-26.1`), `agent`, `vm_id`, `incarnation`, `kind`, `name`,
/// `type`, `result` (cloud-init's token), `duration_ns`, `text` or `bytes`
/// (hex), `compressed`, `event_id`, `ts` (RFC 3339). Returns
/// `{"event_id": id, "keys": [...]}`.
fn write_event(pool: &FileStore, spec: &Value) -> Result<Value, Failure> {
    let text = |field: &str| spec.get(field).and_then(Value::as_str);
    let kind = match text("kind").unwrap_or("event") {
        "start" => Kind::Start,
        "finish" => Kind::Finish,
        "event" => Kind::Event,
        other => return Err(usage(&format!("unknown kind {other}"))),
    };
    let name = text("name").ok_or_else(|| usage("an event needs a name"))?;
    let payload = match (text("text"), text("bytes")) {
        (Some(t), None) => Payload::Text(t.to_owned()),
        (None, Some(h)) => Payload::Bytes(unhex(h)?),
        (None, None) => Payload::Text(String::new()),
        _ => return Err(usage("text or bytes, not both")),
    };
    let mut event = Event::new(kind, name, payload).with_new_event_id();
    if let Some(t) = text("type") {
        event = event.with_type(t);
    }
    if let Some(r) = text("result") {
        event = event.with_result(Outcome::from_cloud_init(r));
    }
    if let Some(ns) = spec.get("duration_ns").and_then(Value::as_u64) {
        event = event.with_duration(Duration::from_nanos(ns));
    }
    if spec.get("compressed").and_then(Value::as_bool) == Some(true) {
        event = event.compressed();
    }
    if let Some(id) = text("event_id") {
        event = event.with_event_id(id);
    }
    if let Some(ts) = text("ts") {
        event = event.with_timestamp(Timestamp::parse(ts).ok_or_else(|| usage("bad ts"))?);
    }
    let vm_id = text("vm_id");
    let incarnation = spec.get("incarnation").and_then(Value::as_u64);
    let variant = match text("format").unwrap_or("diag-v1") {
        "diag-v1" => None,
        "cloud-init-22.4" => Some(CloudInitVariant::V22_4),
        "cloud-init-24.4" => Some(CloudInitVariant::V24_4),
        "cloud-init-26.1" => Some(CloudInitVariant::V26_1),
        other => return Err(usage(&format!("unknown format {other}"))),
    };
    let keys = match variant {
        None => {
            let agent = text("agent").ok_or_else(|| usage("DIAG_V1 needs an agent"))?;
            let vm_id = vm_id.ok_or_else(|| usage("the driver needs a vm_id"))?;
            kvp_report::write_event(pool, &DiagWriter::new(agent, vm_id)?, &event)?
        }
        Some(variant) => {
            let incarnation = match incarnation {
                Some(i) => i,
                None => kvp_report::cloud_init::boot_incarnation()?,
            };
            let mut writer = CloudInitWriter::new(variant, incarnation);
            if let Some(vm_id) = vm_id {
                writer = writer.with_vm_id(vm_id);
            }
            kvp_report::write_event(pool, &writer, &event)?
        }
    };
    Ok(json!({"event_id": event.event_id, "keys": keys}))
}

fn unhex(text: &str) -> Result<Vec<u8>, Failure> {
    if !text.len().is_multiple_of(2) {
        return Err(usage("odd hex"));
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).map_err(|_| usage("bad hex")))
        .collect()
}

/// Every field of a decoded event; the payload as text, or as hex when it
/// is bytes (a decompressed artifact).
fn event(e: &Event) -> Value {
    let (text, bytes) = match &e.payload {
        Payload::Text(t) => (Some(t.as_str()), None),
        Payload::Bytes(b) => (None, Some(hex(b))),
    };
    json!({
        "entry": "event",
        "format": e.format.as_str(),
        "agent": e.agent,
        "kind": e.kind.as_str(),
        "type": e.event_type,
        "name": e.name,
        "ts": e.ts,
        "unix_ns": e.timestamp.map(|t| i128::from(t.unix_seconds()) * 1_000_000_000
            + i128::from(t.subsec_nanos())).map(|ns| ns.to_string()),
        "result": e.result.as_ref().map(|r| r.cloud_init_token().to_owned()),
        "duration_ns": e.duration.map(|d| d.as_nanos().to_string()),
        "text": text,
        "bytes": bytes,
        "encoding": e.encoding.as_str(),
        "vm_id": e.vm_id,
        "event_id": e.event_id,
        "incarnation": e.incarnation,
        "chunks": e.chunks.count,
        "missing": e.chunks.missing,
    })
}

fn report(r: &ProvisioningReport) -> Value {
    json!({
        "result": r.result.as_str(),
        "agent": r.agent,
        "vm_id": r.vm_id,
        "timestamp": r.timestamp,
        "pps_type": r.pps_type.map(|p| p.as_str()),
        "reason": r.reason,
        "documentation_url": r.documentation_url,
        "supporting_data": r.supporting_data,
    })
}

fn entry(e: &Entry) -> Value {
    match e {
        Entry::Event(e) => event(e),
        Entry::Report {
            position,
            report: r,
        } => {
            let mut out = report(r);
            out["entry"] = json!("report");
            out["position"] = json!(position);
            out
        }
        Entry::Raw(raw) => json!({
            "entry": "raw",
            "position": raw.position,
            "key": hex(&raw.record.key),
            "value": hex(&raw.record.value),
            "reason": raw.error.as_ref().map(|d| d.reason.as_str()),
            "detail": raw.error.as_ref().map(|d| d.detail.clone()),
        }),
        other => json!({"entry": format!("{other:?}")}),
    }
}
