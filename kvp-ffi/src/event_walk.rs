//! Walking a pool's decoded events with `kvp_foreach_event`: each event,
//! report and raw record laid out for C as a `kvp_event_entry`. kvp-report
//! decodes; this module only converts.

use std::ffi::{c_void, CString};
use std::time::Duration;

use ::kvp_report as reporting;
use reporting::{
    CloudInitVariant, Encoding, Entry, Event, Format, Outcome, Payload, ProvisioningReport,
    RawEntry, ReadOptions, Reason, ReportResult, Timestamp,
};

use crate::boundary::{flags, guard};
use crate::error::Failure;
use crate::events::*;
use crate::records::KVP_FOREACH_CONTINUE;
use crate::status::kvp_status;
use crate::store::{handle, kvp_store};

/// `kvp_foreach_event` flag: return a text event whose chunks are partly
/// missing, with what is there and `missing_chunks` set, instead of its
/// records raw with `KVP_REASON_INCOMPLETE_GROUP`.
pub const KVP_EVENTS_PARTIAL: u32 = 1;

/// `kvp_event_entry.entry`: a decoded event.
pub const KVP_ENTRY_EVENT: u32 = 0;
/// `kvp_event_entry.entry`: a `PROVISIONING_REPORT` record that decodes.
pub const KVP_ENTRY_REPORT: u32 = 1;
/// `kvp_event_entry.entry`: a record left as it is, with its reason.
pub const KVP_ENTRY_RAW: u32 = 2;

/// A raw record of no known format (not an error: any program may write
/// pool 1).
pub const KVP_REASON_NONE: u32 = 0;
/// A `DIAG_V*` schema this version does not read.
pub const KVP_REASON_UNSUPPORTED_VERSION: u32 = 1;
/// Chunks of the record's event are missing.
pub const KVP_REASON_INCOMPLETE_GROUP: u32 = 2;
/// A chunk index appears more than once.
pub const KVP_REASON_DUPLICATE_CHUNK: u32 = 3;
/// The payload's encoding is unknown or its data bad (base64, zlib, gzip,
/// UTF-8, or over the 64 MiB decompression cap).
pub const KVP_REASON_UNDECODABLE: u32 = 4;
/// The key or value lacks the format's shape.
pub const KVP_REASON_MALFORMED: u32 = 5;
/// A reason this version has no constant for; its name is in
/// `reason_name`.
pub const KVP_REASON_OTHER: u32 = 6;

/// The memory behind one `kvp_event_entry`, alive during its callback.
#[derive(Default)]
struct Owned {
    format_name: CString,
    agent: CString,
    event_type: CString,
    name: CString,
    timestamp: CString,
    result_text: CString,
    payload: Vec<u8>,
    vm_id: CString,
    event_id: CString,
    missing: Vec<u64>,
    key: Vec<u8>,
    value: Vec<u8>,
    reason_name: CString,
    detail: CString,
}

/// `text` up to its first NUL, as a C string.
fn c_text(text: &str) -> CString {
    let end = text.find('\0').unwrap_or(text.len());
    CString::new(&text[..end]).unwrap_or_default()
}

/// `bytes` with a NUL after them.
fn with_nul(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + 1);
    out.extend_from_slice(bytes);
    out.push(0);
    out
}

fn format_number(format: Format) -> u32 {
    match format {
        Format::DiagV1 => KVP_EVENT_FORMAT_DIAG_V1,
        Format::CloudInit(CloudInitVariant::V22_4) => KVP_EVENT_FORMAT_CLOUD_INIT_22_4,
        Format::CloudInit(CloudInitVariant::V24_4) => KVP_EVENT_FORMAT_CLOUD_INIT_24_4,
        Format::CloudInit(CloudInitVariant::V26_1) => KVP_EVENT_FORMAT_CLOUD_INIT_26_1,
        Format::AzureInitTracing => KVP_EVENT_FORMAT_AZURE_INIT_TRACING,
        _ => KVP_EVENT_FORMAT_NONE,
    }
}

fn result_number(result: Option<&Outcome>) -> u32 {
    match result {
        None => KVP_EVENT_RESULT_NONE,
        Some(Outcome::Success) => KVP_EVENT_RESULT_SUCCESS,
        Some(Outcome::Warn) => KVP_EVENT_RESULT_WARN,
        Some(Outcome::Fail) => KVP_EVENT_RESULT_FAIL,
        Some(_) => KVP_EVENT_RESULT_OTHER,
    }
}

fn reason_number(reason: Reason) -> u32 {
    match reason {
        Reason::UnsupportedVersion => KVP_REASON_UNSUPPORTED_VERSION,
        Reason::IncompleteGroup => KVP_REASON_INCOMPLETE_GROUP,
        Reason::DuplicateChunk => KVP_REASON_DUPLICATE_CHUNK,
        Reason::Undecodable => KVP_REASON_UNDECODABLE,
        Reason::Malformed => KVP_REASON_MALFORMED,
        _ => KVP_REASON_OTHER,
    }
}

fn unix_time(timestamp: Option<Timestamp>) -> (i64, u32) {
    timestamp.map_or((0, 0), |t| (t.unix_seconds(), t.subsec_nanos()))
}

fn nanos(duration: Option<Duration>) -> i64 {
    duration.map_or(KVP_DURATION_NONE, |d| {
        i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
    })
}

/// An entry whose pointers all point to `""` or nothing, for `owned` to
/// fill in.
fn blank(entry: u32, position: usize, owned: &mut Owned) -> kvp_event_entry {
    owned.payload = with_nul(&owned.payload);
    owned.key = with_nul(&owned.key);
    owned.value = with_nul(&owned.value);
    kvp_event_entry {
        entry,
        position,
        format: KVP_EVENT_FORMAT_NONE,
        format_name: owned.format_name.as_ptr(),
        agent: owned.agent.as_ptr(),
        kind: KVP_EVENT_KIND_EVENT,
        event_type: owned.event_type.as_ptr(),
        name: owned.name.as_ptr(),
        timestamp: owned.timestamp.as_ptr(),
        unix_seconds: 0,
        nanoseconds: 0,
        result: KVP_EVENT_RESULT_NONE,
        result_text: owned.result_text.as_ptr(),
        duration_ns: KVP_DURATION_NONE,
        payload: owned.payload.as_ptr().cast(),
        payload_len: owned.payload.len() - 1,
        payload_is_text: true,
        compressed: false,
        vm_id: owned.vm_id.as_ptr(),
        event_id: owned.event_id.as_ptr(),
        incarnation: 0,
        chunks: 0,
        missing_chunks: if owned.missing.is_empty() {
            std::ptr::null()
        } else {
            owned.missing.as_ptr()
        },
        missing_count: owned.missing.len(),
        key: owned.key.as_ptr().cast(),
        key_len: owned.key.len() - 1,
        value: owned.value.as_ptr().cast(),
        value_len: owned.value.len() - 1,
        reason: KVP_REASON_NONE,
        reason_name: owned.reason_name.as_ptr(),
        detail: owned.detail.as_ptr(),
    }
}

fn event_entry(event: &Event, owned: &mut Owned) -> kvp_event_entry {
    *owned = Owned {
        format_name: c_text(event.format.as_str()),
        agent: c_text(&event.agent),
        event_type: c_text(&event.event_type),
        name: c_text(&event.name),
        timestamp: c_text(&event.ts),
        result_text: c_text(event.result.as_ref().map_or("", Outcome::cloud_init_token)),
        payload: event.payload.as_bytes().to_vec(),
        vm_id: c_text(event.vm_id.as_deref().unwrap_or("")),
        event_id: c_text(event.event_id.as_deref().unwrap_or("")),
        missing: event.chunks.missing.clone(),
        ..Owned::default()
    };
    let (unix_seconds, nanoseconds) = unix_time(event.timestamp);
    kvp_event_entry {
        format: format_number(event.format),
        kind: KINDS
            .iter()
            .find(|(_, kind)| *kind == event.kind)
            .map_or(KVP_EVENT_KIND_EVENT, |(number, _)| *number),
        unix_seconds,
        nanoseconds,
        result: result_number(event.result.as_ref()),
        duration_ns: nanos(event.duration),
        payload_is_text: matches!(event.payload, Payload::Text(_)),
        compressed: event.encoding == Encoding::GzB64,
        incarnation: event.incarnation.unwrap_or(0),
        chunks: event.chunks.count,
        ..blank(KVP_ENTRY_EVENT, 0, owned)
    }
}

fn report_entry(
    report: &ProvisioningReport,
    record: &kvp_core::RawRecord,
    owned: &mut Owned,
) -> kvp_event_entry {
    let stamp = report.timestamp.as_deref().unwrap_or("");
    *owned = Owned {
        agent: c_text(&report.agent),
        name: c_text(reporting::PROVISIONING_REPORT_KEY),
        timestamp: c_text(stamp),
        result_text: c_text(report.result.as_str()),
        payload: report.reason.as_deref().unwrap_or("").as_bytes().to_vec(),
        vm_id: c_text(&report.vm_id),
        key: record.key.clone(),
        value: record.value.clone(),
        ..Owned::default()
    };
    let (unix_seconds, nanoseconds) = unix_time(Timestamp::parse(stamp));
    kvp_event_entry {
        unix_seconds,
        nanoseconds,
        result: match report.result {
            ReportResult::Success => KVP_EVENT_RESULT_SUCCESS,
            ReportResult::Error => KVP_EVENT_RESULT_FAIL,
        },
        ..blank(KVP_ENTRY_REPORT, 0, owned)
    }
}

fn raw_entry(raw: &RawEntry, owned: &mut Owned) -> kvp_event_entry {
    *owned = Owned {
        key: raw.record.key.clone(),
        value: raw.record.value.clone(),
        reason_name: c_text(raw.error.as_ref().map_or("", |e| e.reason.as_str())),
        detail: c_text(raw.error.as_ref().map_or("", |e| e.detail.as_str())),
        ..Owned::default()
    };
    kvp_event_entry {
        reason: raw
            .error
            .as_ref()
            .map_or(KVP_REASON_NONE, |e| reason_number(e.reason)),
        ..blank(KVP_ENTRY_RAW, raw.position, owned)
    }
}

/// Calls `callback(ctx, entry)` for every item of the pool decoded, in pool
/// order, until it returns something other than `KVP_FOREACH_CONTINUE`:
/// each event of every format (cloud-init 22.4, 24.4 and 26.1, azure-init's
/// tracing records, `DIAG_V1`), at the position of its first record, with
/// its chunks joined and a compressed payload decompressed; each
/// `PROVISIONING_REPORT` that decodes; and every other record raw, with the
/// reason it was not decoded (`KVP_REASON_NONE` for a record of no known
/// format). One bad record never fails the walk.
///
/// `flags` is 0 or `KVP_EVENTS_PARTIAL`; other bits fail with
/// `KVP_ERR_INVALID_ARGUMENT`. As for `kvp_foreach`, the records are read
/// under the pool's lock into a snapshot, the lock is released, and only
/// then are they decoded and the callbacks run, so a callback may read and
/// write the pool itself; a pool over 64 MiB fails with
/// `KVP_ERR_POOL_TOO_LARGE` before anything is read. `ctx` is passed
/// through untouched and may be NULL. After `KVP_OK`,
/// `kvp_last_error_message()` is `""` even when a callback's own calls
/// failed.
///
/// # Safety
/// `store` must be NULL or an open handle; `callback`, when not NULL, must
/// be safe to call with `ctx` and an entry as described above.
#[no_mangle]
pub unsafe extern "C" fn kvp_foreach_event(
    store: *const kvp_store,
    flags: u32,
    callback: kvp_event_fn,
    ctx: *mut c_void,
) -> kvp_status {
    guard(|| {
        // SAFETY: the contract above.
        let store = unsafe { handle(store) }?;
        let partial = self::flags(flags, KVP_EVENTS_PARTIAL, "flags")? & KVP_EVENTS_PARTIAL != 0;
        let callback = callback.ok_or_else(|| Failure::null("callback"))?;
        let snapshot = kvp_core::KvpStore::raw_records(store)?;
        let entries =
            reporting::reader::decode_indexed(&snapshot, &ReadOptions::new().partial(partial));
        let mut owned = Owned::default();
        for (position, item) in &entries {
            let entry = match item {
                Entry::Event(event) => event_entry(event, &mut owned),
                Entry::Report { report, .. } => {
                    report_entry(report, &snapshot[*position], &mut owned)
                }
                Entry::Raw(raw) => raw_entry(raw, &mut owned),
                // A kind of entry added to kvp-report later gets its own
                // KVP_ENTRY_* constant before it is passed on.
                _ => continue,
            };
            let entry = kvp_event_entry {
                position: *position,
                ..entry
            };
            // SAFETY: the caller vouches for the callback; `entry` and the
            // memory in `owned` it points to live until it returns.
            let verdict = unsafe { callback(ctx, &entry) };
            if verdict != KVP_FOREACH_CONTINUE {
                break;
            }
        }
        Ok(())
    })
}
