//! Diagnostic events: `kvp_event` and `kvp_write_event`, and the format,
//! kind and result constants that `kvp_foreach_event` (event_walk.rs) also
//! reports. kvp-report encodes; this module checks arguments.

use std::ffi::{c_char, c_void};
use std::os::raw::c_int;
use std::time::Duration;

use ::kvp_report as reporting;
use reporting::cloud_init::boot_incarnation;
use reporting::{
    CloudInitVariant, CloudInitWriter, DiagWriter, Event, EventEncoder, Kind, Machine, Outcome,
    Payload, Timestamp,
};

use crate::boundary::{arg, array, choice, flags, guard, optional_text, text, Out};
use crate::error::Failure;
use crate::report::KVP_UUID_SIZE;
use crate::status::kvp_status;
use crate::store::{handle, kvp_store};

/// `kvp_event_entry.format` of a report or a raw record: no event format.
/// Also of an event in a format this version has no constant for (its
/// name is then in `format_name`). Never valid in a `kvp_event`.
pub const KVP_EVENT_FORMAT_NONE: u32 = 0;
/// `DIAG_V1`, azure-init's versioned diagnostics format. The default.
pub const KVP_EVENT_FORMAT_DIAG_V1: u32 = 1;
/// cloud-init 22.4 to 24.3 records (`ts` ending in `Z`, no VM id).
pub const KVP_EVENT_FORMAT_CLOUD_INIT_22_4: u32 = 2;
/// cloud-init 24.4 to 25.x records (`ts` ending in `+00:00`, no VM id).
pub const KVP_EVENT_FORMAT_CLOUD_INIT_24_4: u32 = 3;
/// cloud-init 26.1 and later (the VM id in the key, `duration` on
/// finishes).
pub const KVP_EVENT_FORMAT_CLOUD_INIT_26_1: u32 = 4;
/// azure-init's tracing records of today; read only.
pub const KVP_EVENT_FORMAT_AZURE_INIT_TRACING: u32 = 5;

/// An event that opens an operation.
pub const KVP_EVENT_KIND_START: u32 = 0;
/// An event that closes an operation (with its result and duration).
pub const KVP_EVENT_KIND_FINISH: u32 = 1;
/// A point event. The default.
pub const KVP_EVENT_KIND_EVENT: u32 = 2;

/// No result. The default.
pub const KVP_EVENT_RESULT_NONE: u32 = 0;
/// cloud-init `SUCCESS`, `DIAG_V1` `success`.
pub const KVP_EVENT_RESULT_SUCCESS: u32 = 1;
/// cloud-init `WARN` (`DIAG_V1` has none: `KVP_ERR_UNSUPPORTED`).
pub const KVP_EVENT_RESULT_WARN: u32 = 2;
/// cloud-init `FAIL`, `DIAG_V1` `fail`.
pub const KVP_EVENT_RESULT_FAIL: u32 = 3;
/// Read only: another token, spelled in `kvp_event_entry.result_text`.
pub const KVP_EVENT_RESULT_OTHER: u32 = 4;

/// `duration_ns` of an event without a duration. The default.
pub const KVP_DURATION_NONE: i64 = -1;

/// `kvp_event.flags`: send the payload compressed (`gz+b64`: gzip in
/// `DIAG_V1`, zlib in cloud-init's `compressed` events, whose type it
/// becomes unless `event_type` says otherwise).
pub const KVP_EVENT_COMPRESSED: u32 = 1;

/// An event to write with `kvp_write_event`.
///
/// Fill it with `kvp_event_init`, then set the fields you need. Strings
/// are NUL-terminated UTF-8, borrowed for the call only; the library only
/// reads the struct. Its layout is fixed for ABI version 0.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct kvp_event {
    /// `KVP_EVENT_FORMAT_DIAG_V1` (default) or one of the
    /// `KVP_EVENT_FORMAT_CLOUD_INIT_*` variants; anything else fails with
    /// `KVP_ERR_UNKNOWN_NAME`.
    pub format: u32,
    /// `DIAG_V1`: the producer, at most 32 bytes (`"azure-init-0.1.1"`);
    /// required there. Ignored by cloud-init's formats, whose producer is
    /// always `CLOUD_INIT`.
    pub agent: *const c_char,
    /// `DIAG_V1` and cloud-init 26.1: the VM id (a UUID); NULL reads it
    /// from the machine as `kvp_vm_id(NULL, ...)` does. Ignored by the
    /// older cloud-init variants.
    pub vm_id: *const c_char,
    /// cloud-init: the incarnation in the key, the boot time in whole
    /// seconds; 0 computes this boot's, as cloud-init does. Ignored by
    /// `DIAG_V1`.
    pub incarnation: u64,
    /// `KVP_EVENT_KIND_START`, `_FINISH` or `_EVENT` (default).
    pub kind: u32,
    /// The subject (`"provision"`, `"dmesg"`). Required; no `|`.
    pub name: *const c_char,
    /// cloud-init: the type as it spells it (`"diagnostic"`, ...); NULL for
    /// the kind's name (`"compressed"` for a compressed event). `DIAG_V1`
    /// always writes the kind.
    pub event_type: *const c_char,
    /// `KVP_EVENT_RESULT_NONE` (default), `_SUCCESS`, `_WARN` or `_FAIL`.
    /// A `DIAG_V1` finish needs one and a start has none.
    pub result: u32,
    /// Elapsed time in nanoseconds, or `KVP_DURATION_NONE` (-1, default).
    /// `DIAG_V1` writes whole microseconds and needs one on a finish;
    /// cloud-init writes seconds, from 26.1 on. Other negative values fail
    /// with `KVP_ERR_INVALID_ARGUMENT`.
    pub duration_ns: i64,
    /// A text payload (UTF-8). Give this or `bytes`, not both; with
    /// neither, the payload is empty.
    pub text: *const c_char,
    /// A payload of `bytes_len` bytes, which need not be text when
    /// compressed (sent uncompressed, they must be UTF-8).
    pub bytes: *const u8,
    /// Bytes in `bytes`; `bytes` may be NULL when it is 0.
    pub bytes_len: usize,
    /// `KVP_EVENT_COMPRESSED` or 0 (default); other bits fail with
    /// `KVP_ERR_INVALID_ARGUMENT`.
    pub flags: u32,
    /// The event id (a UUID), to pair a finish with its start; NULL for a
    /// new one (`kvp_write_event` can return it).
    pub event_id: *const c_char,
    /// When it happened: RFC 3339 (`"2026-06-17T00:00:00.123Z"`, an offset
    /// or none meaning UTC); NULL for now.
    pub timestamp: *const c_char,
}

impl Default for kvp_event {
    fn default() -> kvp_event {
        kvp_event {
            format: KVP_EVENT_FORMAT_DIAG_V1,
            agent: std::ptr::null(),
            vm_id: std::ptr::null(),
            incarnation: 0,
            kind: KVP_EVENT_KIND_EVENT,
            name: std::ptr::null(),
            event_type: std::ptr::null(),
            result: KVP_EVENT_RESULT_NONE,
            duration_ns: KVP_DURATION_NONE,
            text: std::ptr::null(),
            bytes: std::ptr::null(),
            bytes_len: 0,
            flags: 0,
            event_id: std::ptr::null(),
            timestamp: std::ptr::null(),
        }
    }
}

const WRITABLE_FORMATS: [(u32, Option<CloudInitVariant>); 4] = [
    (KVP_EVENT_FORMAT_DIAG_V1, None),
    (
        KVP_EVENT_FORMAT_CLOUD_INIT_22_4,
        Some(CloudInitVariant::V22_4),
    ),
    (
        KVP_EVENT_FORMAT_CLOUD_INIT_24_4,
        Some(CloudInitVariant::V24_4),
    ),
    (
        KVP_EVENT_FORMAT_CLOUD_INIT_26_1,
        Some(CloudInitVariant::V26_1),
    ),
];

pub(crate) const KINDS: [(u32, Kind); 3] = [
    (KVP_EVENT_KIND_START, Kind::Start),
    (KVP_EVENT_KIND_FINISH, Kind::Finish),
    (KVP_EVENT_KIND_EVENT, Kind::Event),
];

impl kvp_event {
    /// The encoder and the event these fields describe, after checking
    /// every field; the VM id and incarnation are looked up last, when
    /// needed and not given.
    ///
    /// # Safety
    /// Every pointer field must be NULL or valid as its documentation says.
    unsafe fn checked(&self) -> Result<(Box<dyn EventEncoder>, Event), Failure> {
        let variant = choice(
            self.format,
            "event format",
            &WRITABLE_FORMATS,
            "KVP_EVENT_FORMAT_DIAG_V1 (1) or KVP_EVENT_FORMAT_CLOUD_INIT_* (2 to 4)",
        )?;
        let kind = choice(
            self.kind,
            "event kind",
            &KINDS,
            "KVP_EVENT_KIND_START (0), _FINISH (1) or _EVENT (2)",
        )?;
        let result = choice(
            self.result,
            "event result",
            &[
                (KVP_EVENT_RESULT_NONE, None),
                (KVP_EVENT_RESULT_SUCCESS, Some(Outcome::Success)),
                (KVP_EVENT_RESULT_WARN, Some(Outcome::Warn)),
                (KVP_EVENT_RESULT_FAIL, Some(Outcome::Fail)),
            ],
            "KVP_EVENT_RESULT_NONE (0) to KVP_EVENT_RESULT_FAIL (3)",
        )?;
        let duration = match self.duration_ns {
            KVP_DURATION_NONE => None,
            ns => Some(Duration::from_nanos(u64::try_from(ns).map_err(|_| {
                Failure::new(
                    kvp_status::KVP_ERR_INVALID_ARGUMENT,
                    format!(
                        "duration_ns is {ns}: give nanoseconds >= 0, or KVP_DURATION_NONE (-1)"
                    ),
                )
            })?)),
        };
        let compressed =
            flags(self.flags, KVP_EVENT_COMPRESSED, "flags")? & KVP_EVENT_COMPRESSED != 0;
        // SAFETY (this block): the contract above.
        let (name, event_type, event_id, timestamp, payload) = unsafe {
            (
                text(self.name, "name")?,
                optional_text(self.event_type, "event_type")?,
                optional_text(self.event_id, "event_id")?,
                optional_text(self.timestamp, "timestamp")?,
                self.payload()?,
            )
        };
        let mut event = Event::new(kind, name, payload).with_new_event_id();
        if let Some(id) = event_id {
            event = event.with_event_id(id);
        }
        if let Some(event_type) = event_type {
            event = event.with_type(event_type);
        }
        if let Some(text) = timestamp {
            event = event.with_timestamp(Timestamp::parse(text).ok_or_else(|| {
                Failure::new(
                    kvp_status::KVP_ERR_INVALID_FIELD,
                    format!("timestamp {text:?} is not RFC 3339 (2026-06-17T00:00:00.123Z)"),
                )
            })?);
        }
        event.result = result;
        event.duration = duration;
        if compressed {
            event = event.compressed();
        }
        // SAFETY: as above.
        let (agent, vm_id) = unsafe {
            (
                optional_text(self.agent, "agent")?,
                optional_text(self.vm_id, "vm_id")?,
            )
        };
        let vm_id = || vm_id.map_or_else(|| Machine::new().vm_id(), |id| Ok(id.to_owned()));
        let encoder: Box<dyn EventEncoder> = match variant {
            None => {
                let agent = agent.ok_or_else(|| Failure::null("agent (DIAG_V1 needs one)"))?;
                Box::new(DiagWriter::new(agent, vm_id()?)?)
            }
            Some(variant) => {
                let incarnation = match self.incarnation {
                    0 => boot_incarnation()?,
                    given => given,
                };
                let mut writer = CloudInitWriter::new(variant, incarnation);
                if variant == CloudInitVariant::V26_1 {
                    writer = writer.with_vm_id(vm_id()?);
                }
                Box::new(writer)
            }
        };
        Ok((encoder, event))
    }

    /// The payload: the text, the bytes, or empty text.
    ///
    /// # Safety
    /// As for [`kvp_event::checked`].
    unsafe fn payload(&self) -> Result<Payload, Failure> {
        // SAFETY (this block): the contract above.
        let (text, bytes) = unsafe {
            (
                optional_text(self.text, "text")?,
                array(self.bytes, self.bytes_len, "bytes (with bytes_len > 0)")?,
            )
        };
        match (text, self.bytes.is_null()) {
            (Some(_), false) => Err(Failure::new(
                kvp_status::KVP_ERR_INVALID_ARGUMENT,
                "both text and bytes are set: give one payload",
            )),
            (Some(text), true) => Ok(Payload::from(text)),
            (None, false) => Ok(Payload::from(bytes)),
            (None, true) => Ok(Payload::from("")),
        }
    }
}

/// Fills `*event` with the defaults: a `DIAG_V1` point event
/// (`KVP_EVENT_KIND_EVENT`) without result or duration, empty payload, not
/// compressed, every string NULL (name must then be set, and agent for
/// `DIAG_V1`). Does nothing when `event` is NULL.
///
/// # Safety
/// `event` must be NULL or point to writable memory for a `kvp_event`.
#[no_mangle]
pub unsafe extern "C" fn kvp_event_init(event: *mut kvp_event) {
    guard(|| {
        // SAFETY: the caller's contract above.
        crate::boundary::set_optional(unsafe { Out::optional(event) }, kvp_event::default());
        Ok(())
    });
}

/// Appends `*event` to the pool in its format, with one append under one
/// lock, so that the records of a long (chunked) event stay adjacent. An
/// invalid event writes nothing: every field is checked, and the records
/// encoded, before the pool is locked.
///
/// When `event_id` is not NULL it must hold `KVP_UUID_SIZE` (37) bytes, and
/// on success receives the event's id and a NUL: the one given, or the new
/// one made up, so that a finish can name its start's. On failure it is
/// left unchanged. A given id spelled longer than 36 characters (braces, a
/// URN) cannot be returned there and fails with `KVP_ERR_INVALID_FIELD`
/// before anything is written; with `event_id` NULL it is written as given.
///
/// # Safety
/// `store` must be NULL or an open handle; `event` NULL or a readable
/// `kvp_event` whose strings are NULL or NUL-terminated and whose `bytes`
/// holds `bytes_len` bytes; `event_id` NULL or writable for
/// `KVP_UUID_SIZE` bytes.
#[no_mangle]
pub unsafe extern "C" fn kvp_write_event(
    store: *const kvp_store,
    event: *const kvp_event,
    event_id: *mut c_char,
) -> kvp_status {
    guard(|| {
        // SAFETY: the contract above.
        let (store, fields) = unsafe { (handle(store)?, arg(event, "event")?) };
        // SAFETY: the struct's fields are valid by the contract above.
        let (encoder, event) = unsafe { fields.checked() }?;
        // The id goes back whole or not at all, so it is checked before
        // anything is written.
        let id = event.event_id.as_deref().unwrap_or_default();
        if !event_id.is_null() && id.len() >= KVP_UUID_SIZE {
            return Err(Failure::new(
                kvp_status::KVP_ERR_INVALID_FIELD,
                format!(
                    "event id {id:?} does not fit the KVP_UUID_SIZE bytes of event_id: \
                     give it hyphenated (36 characters)"
                ),
            ));
        }
        reporting::write_event(store, encoder.as_ref(), &event)?;
        if !event_id.is_null() {
            // SAFETY: writable for KVP_UUID_SIZE bytes by the contract
            // above, more than the id and its NUL; the id is the library's
            // own memory.
            unsafe {
                std::ptr::copy_nonoverlapping(id.as_ptr(), event_id.cast::<u8>(), id.len());
                event_id.add(id.len()).write(0);
            }
        }
        Ok(())
    })
}

/// One item of a decoded pool, as `kvp_foreach_event` passes it: an event,
/// a provisioning report or a raw record.
///
/// Every pointer belongs to the library and is valid only during the
/// callback; strings are NUL-terminated and never NULL (`""` when absent),
/// and end at their first NUL (`payload`, `key` and `value` have lengths
/// and may hold more). A later version may append fields; programs only
/// read the struct through the pointer they are given.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct kvp_event_entry {
    /// `KVP_ENTRY_EVENT`, `KVP_ENTRY_REPORT` or `KVP_ENTRY_RAW`.
    pub entry: u32,
    /// Index in the snapshot (file order) of its record, or of an event's
    /// first record.
    pub position: usize,
    /// Events: `KVP_EVENT_FORMAT_*`; otherwise `KVP_EVENT_FORMAT_NONE`.
    pub format: u32,
    /// Events: the format's name (`"diag-v1"`, `"cloud-init-22.4"`,
    /// `"cloud-init-24.4"`, `"cloud-init-26.1"`, `"azure-init-tracing"`).
    pub format_name: *const c_char,
    /// The producer: `"CLOUD_INIT"`, a tracing prefix such as
    /// `"azure-init-0.1.1"`, the `DIAG_V1` agent, or a report's agent.
    pub agent: *const c_char,
    /// Events: `KVP_EVENT_KIND_*` (a cloud-init type other than start and
    /// finish is `KVP_EVENT_KIND_EVENT`).
    pub kind: u32,
    /// Events: the type as the source spelled it (cloud-init `"start"`,
    /// `"diagnostic"`, `"compressed"`..., a tracing level such as
    /// `"INFO"`, the `DIAG_V1` kind).
    pub event_type: *const c_char,
    /// Events: the subject; reports: `"PROVISIONING_REPORT"`.
    pub name: *const c_char,
    /// The timestamp text as written (events and reports).
    pub timestamp: *const c_char,
    /// The timestamp in seconds since the Unix epoch (UTC), with
    /// `nanoseconds`; both 0 when there is none or it does not parse.
    pub unix_seconds: i64,
    /// Nanoseconds within `unix_seconds`' second.
    pub nanoseconds: u32,
    /// `KVP_EVENT_RESULT_*`; a report's `result=success` is
    /// `KVP_EVENT_RESULT_SUCCESS` and `result=error` `KVP_EVENT_RESULT_FAIL`.
    pub result: u32,
    /// The result in cloud-init's spelling (`"SUCCESS"`, `"WARN"`,
    /// `"FAIL"` or the unknown token as read); a report's `"success"` or
    /// `"error"`; `""` when none.
    pub result_text: *const c_char,
    /// Elapsed time in nanoseconds (up to `INT64_MAX`), or
    /// `KVP_DURATION_NONE`.
    pub duration_ns: i64,
    /// Events: the message or artifact (decompressed when it came
    /// compressed), followed by a NUL; reports: the reason (`""` for none).
    pub payload: *const c_char,
    /// Bytes in `payload`, without the added NUL.
    pub payload_len: usize,
    /// Whether `payload` is UTF-8 text (false for a decompressed artifact,
    /// which may be any bytes).
    pub payload_is_text: bool,
    /// Whether the payload travelled compressed (`gz+b64`).
    pub compressed: bool,
    /// The VM id where the format or report carries one, else `""`.
    pub vm_id: *const c_char,
    /// The event id (a UUID), else `""`.
    pub event_id: *const c_char,
    /// cloud-init's incarnation (boot time in seconds), else 0.
    pub incarnation: u64,
    /// Events: how many records it took.
    pub chunks: usize,
    /// Events read with `KVP_EVENTS_PARTIAL`: the indices of missing
    /// chunks, `missing_count` of them (NULL when none).
    pub missing_chunks: *const u64,
    /// How many indices `missing_chunks` holds.
    pub missing_count: usize,
    /// Reports and raw records: the record's key, exact bytes (a foreign
    /// writer may have stored bytes that are not UTF-8); events: `""`.
    pub key: *const c_char,
    /// Bytes in `key`.
    pub key_len: usize,
    /// Reports and raw records: the record's value, exact bytes.
    pub value: *const c_char,
    /// Bytes in `value`.
    pub value_len: usize,
    /// Raw records: why they were not decoded, `KVP_REASON_*`
    /// (`KVP_REASON_NONE` for a record of no known format).
    pub reason: u32,
    /// Raw records: the reason's name (`"incomplete_group"`, ...), `""` for
    /// `KVP_REASON_NONE`.
    pub reason_name: *const c_char,
    /// Raw records: what exactly was wrong, for people; `""` for none.
    pub detail: *const c_char,
}

/// Called by `kvp_foreach_event` once per entry, in pool order. `ctx` is
/// the pointer given to `kvp_foreach_event`; `entry` and everything it
/// points to are valid only during the call. Return
/// `KVP_FOREACH_CONTINUE` for the next entry, anything else to stop. The
/// callback may call any kvp_ function, except `kvp_close` on the store
/// being walked, and must not unwind (C++ exception, longjmp) out of the
/// call.
#[allow(non_camel_case_types)]
pub type kvp_event_fn =
    Option<unsafe extern "C" fn(ctx: *mut c_void, entry: *const kvp_event_entry) -> c_int>;
