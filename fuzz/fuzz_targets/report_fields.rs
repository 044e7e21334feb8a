//! kvp-report's field codecs. The first byte of an input picks one:
//!
//! - `0`: `ProvisioningReport::decode` of the rest as text. A report that
//!   decodes and passes `check` encodes back, in azure-init's dialect, to
//!   a value that decodes to the same report (its `pps_type` made
//!   explicit, as that dialect writes it); in cloud-init's, to a value
//!   that decodes and encodes to itself (cloud-init strips trailing
//!   whitespace). `encode_safe` gives what the host receives whole, which
//!   decodes with the same standard fields, and says when it shortened.
//! - `1`: `Timestamp::parse` of the rest. What parses prints in each
//!   spelling, and the RFC 3339 spellings parse back to the same instant.
//! - `2`: an event built from the rest, written by `DiagWriter` or a
//!   `CloudInitWriter` (22.4, 24.4, 26.1), then read back with
//!   `reader::decode`: one event with the same kind, name, payload,
//!   encoding and result, its timestamp and duration as exact as the
//!   format keeps them.
//! - `3`: a report built from fields in the rest (see [`built_report`]),
//!   which round-trips as in `0` when it passes `check`, and which
//!   `write_report` writes so that `read_report` reads it.
//! - anything else: `0`, `1` and `2` on the rest.
#![no_main]

use std::time::Duration;

use kvp_core::limits::PoolMode;
use kvp_core::RawRecord;
use kvp_fuzz::Script;
use kvp_report::cloud_init::CloudInitWriter;
use kvp_report::time::{Offset, Precision};
use kvp_report::{
    decode, CloudInitVariant, DiagWriter, Dialect, Entry, Event, Kind, Outcome, Payload, PpsType,
    ProvisioningReport, ReadOptions, Timestamp,
};
use libfuzzer_sys::fuzz_target;

const VM_ID: &str = "3f2504e0-4f89-41d3-9a0c-0305e82c3301";
const EVENT_ID: &str = "9c1d2e3f-4a5b-6c7d-8e9f-0a1b2c3d4e5f";

fn report(text: &str) {
    let Ok(report) = ProvisioningReport::decode(text) else {
        return;
    };
    if report.check().is_err() {
        return;
    }
    round_trip(&report);
    for dialect in [Dialect::AzureInit, Dialect::CloudInit] {
        let Ok(safe) = report.encode_safe(dialect) else {
            continue;
        };
        assert!(PoolMode::Safe.check_value(&safe).is_ok(), "{safe:?}");
        let back = ProvisioningReport::decode(&safe)
            .unwrap_or_else(|e| panic!("encode_safe wrote what does not decode: {e}: {safe:?}"));
        // As the unshortened value reads: cloud-init's dialect strips
        // trailing whitespace, which a last standard field may end with.
        let plain = ProvisioningReport::decode(&report.encode(dialect)).expect("round trip");
        assert_eq!(
            (back.result, &back.agent, &back.vm_id, &back.timestamp),
            (plain.result, &plain.agent, &plain.vm_id, &plain.timestamp)
        );
        if safe != report.encode(dialect) {
            assert!(
                back.shortened().is_some(),
                "shortened without saying so: {safe:?}"
            );
        }
    }
}

/// The round trips of a report that passes `check`: azure-init's dialect
/// decodes to the same report (`pps_type` made explicit, as it writes
/// it); cloud-init's to one that encodes to the same value (it strips
/// trailing whitespace).
fn round_trip(report: &ProvisioningReport) {
    let azure = report.encode(Dialect::AzureInit);
    let explicit = ProvisioningReport {
        pps_type: Some(report.pps_type.unwrap_or(PpsType::None)),
        ..report.clone()
    };
    assert_eq!(
        ProvisioningReport::decode(&azure).as_ref(),
        Ok(&explicit),
        "azure-init dialect: {azure:?}"
    );
    let cloud = report.encode(Dialect::CloudInit);
    let again = ProvisioningReport::decode(&cloud)
        .unwrap_or_else(|e| panic!("cloud-init dialect: {e}: {cloud:?}"));
    assert_eq!(again.encode(Dialect::CloudInit), cloud);
}

/// A report built from fields (separated by 0x1f: agent, vm_id,
/// timestamp, reason, then `name=value` supporting data): one that passes
/// `check` round-trips, and `write_report` then `read_report` on a store
/// gives back what `encode_safe` wrote.
fn built_report(data: &[u8]) {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let mut fields = text.split('\x1f');
    let (agent, vm_id) = (fields.next().unwrap_or(""), fields.next().unwrap_or(""));
    let mut report = match fields.next() {
        Some(reason) if flags & 1 != 0 => ProvisioningReport::error(agent, vm_id, reason),
        _ => ProvisioningReport::success(agent, vm_id),
    };
    if flags & 2 != 0 {
        report = report.with_timestamp(fields.next().unwrap_or(""));
    }
    if flags & 4 != 0 {
        report = report.with_pps_type(PpsType::Savable);
    }
    for field in fields {
        let (name, value) = field.split_once('=').unwrap_or((field, ""));
        report = report.with_supporting(name, value);
    }
    if report.check().is_err() {
        return;
    }
    let fixed = report.clone().with_timestamp(
        report
            .timestamp
            .clone()
            .unwrap_or_else(|| "2026-06-17T00:00:00+00:00".to_owned()),
    );
    round_trip(&fixed);
    let dialect = if flags & 8 != 0 {
        Dialect::CloudInit
    } else {
        Dialect::AzureInit
    };
    let store = kvp_core::MemoryStore::new();
    let Ok(written) = kvp_report::write_report(&store, &fixed, dialect) else {
        return;
    };
    let read = kvp_report::read_report(&store).unwrap_or_else(|e| {
        panic!("write_report wrote what read_report refuses: {e}: {written:?}")
    });
    assert_eq!(read, ProvisioningReport::decode(&written).ok());
}

fn timestamp(text: &str) {
    let Some(t) = Timestamp::parse(text) else {
        return;
    };
    for precision in [
        Precision::Seconds,
        Precision::Millis,
        Precision::Micros,
        Precision::Nanos,
    ] {
        for offset in [Offset::Z, Offset::Colon, Offset::Naive] {
            let shown = t.to_rfc3339(precision, offset);
            let back = Timestamp::parse(&shown).unwrap_or_else(|| panic!("{shown:?}"));
            if precision == Precision::Nanos {
                assert_eq!(back, t, "{text:?} -> {shown:?}");
            } else {
                assert!(back <= t && t.duration_since(back) < Some(Duration::from_secs(1)));
            }
        }
    }
    assert_eq!(Timestamp::parse(&t.to_string()), Some(t));
    let python = t.to_python_isoformat(Offset::Colon);
    let rounded = Timestamp::parse(&python).unwrap_or_else(|| panic!("{python:?}"));
    let gap = rounded
        .duration_since(t)
        .or_else(|| t.duration_since(rounded));
    assert!(
        gap <= Some(Duration::from_nanos(500)),
        "{text:?} -> {python:?}"
    );
}

fn event(data: &[u8]) {
    let mut s = Script::new(data);
    let kind = [Kind::Start, Kind::Finish, Kind::Event][usize::from(s.byte() % 3)];
    let name_len = usize::from(s.byte() % 64);
    let name = String::from_utf8_lossy(s.bytes(name_len)).into_owned();
    let flags = s.byte();
    let secs = i64::from(u32::from_le_bytes([s.byte(), s.byte(), s.byte(), s.byte()])) * 64;
    let nanos = u32::from_le_bytes([s.byte(), s.byte(), s.byte(), s.byte()]) % 1_000_000_000;
    let Some(time) = Timestamp::from_unix(secs, nanos) else {
        return;
    };
    let micros = u64::from(u32::from_le_bytes([s.byte(), s.byte(), s.byte(), s.byte()]));
    let len = usize::from(s.byte()) * 16;
    let payload: Payload = if flags & 1 == 0 {
        String::from_utf8_lossy(s.bytes(len)).into_owned().into()
    } else {
        s.bytes(len).to_vec().into()
    };
    let mut event = Event::new(kind, name, payload)
        .with_timestamp(time)
        .with_event_id(EVENT_ID);
    if flags & 2 != 0 {
        event = event.compressed();
    }
    if flags & 4 != 0 || kind == Kind::Finish {
        event = event.with_result(if flags & 0x80 == 0 {
            Outcome::Success
        } else {
            Outcome::Fail
        });
    }
    if flags & 8 != 0 || kind == Kind::Finish {
        event = event.with_duration(Duration::from_nanos(micros * 1001));
    }
    let (records, exact_time, exact_duration) = match (flags >> 4) & 3 {
        0 => {
            let writer = DiagWriter::new("fuzz-agent", VM_ID)
                .expect("writer")
                .with_precision(Precision::Nanos);
            (writer.encode(&event), true, true)
        }
        v => {
            let variant = [
                CloudInitVariant::V22_4,
                CloudInitVariant::V24_4,
                CloudInitVariant::V26_1,
            ][usize::from(v - 1)];
            let writer = CloudInitWriter::new(variant, 1_781_654_000).with_vm_id(VM_ID);
            (
                writer.encode(&event),
                false,
                variant == CloudInitVariant::V26_1,
            )
        }
    };
    let Ok(records) = records else {
        return;
    };
    let raw: Vec<RawRecord> = records
        .iter()
        .map(|(k, v)| {
            assert!(
                PoolMode::Safe.check(k, v).is_ok(),
                "written over the Safe limit: {k}"
            );
            RawRecord {
                key: k.clone().into_bytes(),
                value: v.clone().into_bytes(),
            }
        })
        .collect();
    let entries = decode(&raw, &ReadOptions::new());
    let [Entry::Event(back)] = entries.as_slice() else {
        panic!("{} records of one event read as {entries:?}", raw.len());
    };
    assert_eq!(back.name, event.name);
    assert_eq!(back.encoding, event.encoding);
    assert_eq!(back.payload.as_bytes(), event.payload.as_bytes());
    assert_eq!(back.result, event.result);
    assert_eq!(back.chunks.count, raw.len());
    // cloud-init writes a compressed event as type `compressed`, a plain
    // event whatever its kind.
    let cloud_compressed = !exact_time && event.encoding != kvp_report::Encoding::None;
    if !cloud_compressed {
        assert_eq!(back.kind, kind);
    }
    let time_gap = back
        .timestamp
        .and_then(|b| b.duration_since(time).or_else(|| time.duration_since(b)));
    let time_tolerance = if exact_time { 0 } else { 500 };
    assert!(
        time_gap <= Some(Duration::from_nanos(time_tolerance)),
        "{time_gap:?}"
    );
    if let (Some(sent), true) = (event.duration, exact_duration) {
        let got = back.duration.expect("a duration");
        let gap = got.abs_diff(sent);
        // DIAG_V1 keeps whole microseconds; cloud-init a float of seconds.
        assert!(
            gap < Duration::from_micros(1) + sent / 1_000_000_000,
            "{sent:?} -> {got:?}"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let text = std::str::from_utf8(rest).ok();
    match (which, text) {
        (0, Some(text)) => report(text),
        (1, Some(text)) => timestamp(text),
        (2, _) => event(rest),
        (3, _) => built_report(rest),
        (_, text) => {
            if let Some(text) = text {
                report(text);
                timestamp(text);
            }
            event(rest);
        }
    }
});
