//! Property tests: every codec round-trips, and hostile or truncated
//! snapshots never panic and never lose a record.

use std::time::Duration;

use kvp_core::{KvpStore, MemoryStore, RawRecord};
use kvp_report::time::{Offset, Precision};
use kvp_report::{
    decode, write_event, CloudInitVariant, CloudInitWriter, DiagWriter, Dialect, Encoding, Entry,
    Event, Format, Kind, Outcome, Payload, PpsType, ProvisioningReport, ReadOptions, ReportResult,
    Timestamp,
};
use proptest::prelude::*;
use proptest::string::string_regex;

const VM: &str = "3f2504e0-4f89-41d3-9a0c-0305e82c3301";

fn records(pairs: &[(String, String)]) -> Vec<RawRecord> {
    pairs
        .iter()
        .map(|(k, v)| RawRecord {
            key: k.as_bytes().to_vec(),
            value: v.as_bytes().to_vec(),
        })
        .collect()
}

/// Every record is in exactly one entry: raw, a report, or a chunk of an
/// event.
fn accounted(entries: &[Entry]) -> usize {
    entries
        .iter()
        .map(|e| match e {
            Entry::Event(ev) => ev.chunks.count,
            _ => 1,
        })
        .sum()
}

fn timestamp() -> impl Strategy<Value = Timestamp> {
    (0i64..253_402_300_799, 0u32..1_000_000_000)
        .prop_map(|(s, n)| Timestamp::from_unix(s, n).unwrap())
}

fn payload() -> impl Strategy<Value = (Payload, Encoding)> {
    prop_oneof![
        "\\PC{0,1500}".prop_map(|t| (Payload::Text(t), Encoding::None)),
        "[\\x01-\\x7f]{0,3000}".prop_map(|t| (Payload::Text(t), Encoding::None)),
        proptest::collection::vec(any::<u8>(), 0..3000)
            .prop_map(|b| (Payload::Bytes(b), Encoding::GzB64)),
    ]
}

fn event(kind_outcomes: bool) -> impl Strategy<Value = Event> {
    (
        prop_oneof![Just(Kind::Start), Just(Kind::Finish), Just(Kind::Event)],
        string_regex("[a-zA-Z0-9:/_. -]{1,40}").unwrap(),
        payload(),
        timestamp(),
        any::<u128>(),
        0u64..100_000_000_000,
        any::<bool>(),
        prop_oneof![
            Just(Outcome::Success),
            Just(Outcome::Fail),
            Just(Outcome::Warn),
            Just(Outcome::Other("X".into()))
        ],
    )
        .prop_map(
            move |(kind, name, (payload, encoding), ts, id, us, flag, outcome)| {
                let mut e = Event::new(kind, name, payload)
                    .with_timestamp(ts)
                    .with_event_id(uuid_text(id));
                e.encoding = encoding;
                let outcome =
                    if kind_outcomes && matches!(outcome, Outcome::Warn | Outcome::Other(_)) {
                        Outcome::Fail
                    } else {
                        outcome
                    };
                match kind {
                    Kind::Start => e,
                    Kind::Finish => e
                        .with_result(outcome)
                        .with_duration(Duration::from_micros(us)),
                    Kind::Event if flag => e.with_result(outcome),
                    Kind::Event => e.with_duration(Duration::from_micros(us)),
                }
            },
        )
}

fn uuid_text(n: u128) -> String {
    let h = format!("{n:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

fn only_event(entries: Vec<Entry>) -> Event {
    match &entries[..] {
        [Entry::Event(e)] => e.clone(),
        other => panic!("{other:?}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn diag_v1_round_trip(e in event(true), precision in prop_oneof![Just(Precision::Seconds), Just(Precision::Millis), Just(Precision::Micros), Just(Precision::Nanos)]) {
        let writer = DiagWriter::new("agent-1.0", VM).unwrap().with_precision(precision);
        let written = writer.encode(&e).unwrap();
        for (k, v) in &written {
            prop_assert!(k.len() <= 254 && v.len() <= 1022);
        }
        let back = only_event(decode(&records(&written), &ReadOptions::default()));
        let ts = Timestamp::parse(&e.timestamp.unwrap().to_rfc3339(precision, Offset::Z));
        prop_assert_eq!(back.timestamp, ts);
        prop_assert_eq!(&back.payload, &e.payload);
        prop_assert_eq!((back.kind, &back.name, &back.result, back.encoding), (e.kind, &e.name, &e.result, e.encoding));
        prop_assert_eq!(back.duration, e.duration);
        prop_assert_eq!(back.event_id, e.event_id);
        prop_assert_eq!(back.chunks.count, written.len());
    }

    #[test]
    fn cloud_init_round_trip(e in event(false), v in prop_oneof![Just(CloudInitVariant::V22_4), Just(CloudInitVariant::V24_4), Just(CloudInitVariant::V26_1)]) {
        let writer = CloudInitWriter::new(v, 1_781_654_000).with_vm_id(VM);
        let written = writer.encode(&e).unwrap();
        for (_, value) in &written {
            prop_assert!(value.len() <= 1022 && value.is_ascii());
            prop_assert!(serde_json::from_str::<serde_json::Value>(value).is_ok(), "every chunk is JSON by itself");
        }
        let back = only_event(decode(&records(&written), &ReadOptions::default()));
        prop_assert_eq!(back.format, kvp_report::Format::CloudInit(v));
        prop_assert_eq!(&back.payload, &e.payload);
        prop_assert_eq!((&back.name, &back.result), (&e.name, &e.result));
        let micros = Timestamp::parse(&e.timestamp.unwrap().to_python_isoformat(Offset::Z));
        prop_assert_eq!(back.timestamp, micros);
        prop_assert_eq!(back.duration, if v == CloudInitVariant::V26_1 { e.duration } else { None });
    }

    #[test]
    fn report_round_trip(
        error in any::<bool>(),
        dialect in prop_oneof![Just(Dialect::CloudInit), Just(Dialect::AzureInit)],
        fields in proptest::collection::vec(string_regex("[a-z|'\"\n =,é]{0,20}[a-z]").unwrap(), 5),
        extra in proptest::collection::vec((string_regex("[a-z_]{1,8}x").unwrap(), string_regex("[a-z|'\" =\n]{0,30}[a-z]").unwrap()), 0..4),
        pps in proptest::option::of(prop_oneof![Just(PpsType::None), Just(PpsType::Running), Just(PpsType::PreprovisionedOsDisk)]),
    ) {
        let mut r = ProvisioningReport::success(fields[0].clone(), fields[1].clone()).with_timestamp(fields[2].clone());
        if error {
            r = ProvisioningReport { result: ReportResult::Error, reason: Some(fields[3].clone()), documentation_url: Some(fields[4].clone()), ..r };
        }
        r.pps_type = pps;
        r.supporting_data = extra;
        let value = r.encode(dialect);
        let mut expected = r.clone();
        if dialect == Dialect::AzureInit && expected.pps_type.is_none() {
            expected.pps_type = Some(PpsType::None);
        }
        prop_assert_eq!(ProvisioningReport::decode(&value).unwrap(), expected);
    }

    #[test]
    fn reports_are_shortened_never_broken(
        reason in "\\PC{0,900}",
        extra in proptest::collection::vec(("[a-z]{1,6}", "\\PC{0,600}"), 0..6),
        dialect in prop_oneof![Just(Dialect::CloudInit), Just(Dialect::AzureInit)],
    ) {
        let mut r = ProvisioningReport::error("Agent/1", VM, reason).with_timestamp("2026-06-17T00:00:00+00:00");
        for (k, v) in extra {
            r = r.with_supporting(format!("{k}x"), v);
        }
        let value = r.encode_safe(dialect).unwrap();
        prop_assert!(kvp_core::PoolMode::Safe.check_value(&value).is_ok());
        let back = ProvisioningReport::decode(&value).unwrap();
        prop_assert_eq!((&back.agent, &back.vm_id, &back.timestamp), (&r.agent, &r.vm_id, &r.timestamp));
        if value != r.encode(dialect) {
            prop_assert!(back.shortened().is_some());
        }
    }

    #[test]
    fn hostile_snapshots_never_panic_nor_lose_records(
        recs in proptest::collection::vec((
            prop_oneof![
                Just("CLOUD_INIT|1|".to_owned()), Just("DIAG_V1|".to_owned()), Just("DIAG_V2|".to_owned()),
                Just("PROVISIONING_REPORT".to_owned()), Just(format!("azure-init-0.1|{VM}|INFO|x|{VM}")), Just(String::new())
            ],
            proptest::collection::vec(prop_oneof![Just("|".to_owned()), Just(VM.to_owned()), "[0-9]{1,3}", "\\PC{0,8}", Just("start".to_owned()), Just("none".to_owned())], 0..12),
            prop_oneof![proptest::collection::vec(any::<u8>(), 0..80), "\\PC{0,80}".prop_map(String::into_bytes),
                Just(br#"{"name":"x","type":"start","ts":"2026-06-17T00:00:00Z","msg_i":0,"msg":"\u00"}"#.to_vec())],
        ), 0..30),
        partial in any::<bool>(),
    ) {
        let raw: Vec<RawRecord> = recs.into_iter().map(|(p, parts, value)| RawRecord { key: format!("{p}{}", parts.concat()).into_bytes(), value }).collect();
        let entries = decode(&raw, &ReadOptions::default().partial(partial));
        prop_assert_eq!(accounted(&entries), raw.len());
    }

    #[test]
    fn truncated_groups_never_panic_nor_lose_records(
        e in event(true),
        cut in any::<prop::sample::Index>(),
        at in any::<prop::sample::Index>(),
        drop in any::<bool>(),
        partial in any::<bool>(),
    ) {
        for written in [
            DiagWriter::new("a", VM).unwrap().encode(&e).unwrap(),
            CloudInitWriter::new(CloudInitVariant::V26_1, 1).with_vm_id(VM).encode(&e.clone().with_result(Outcome::Success)).unwrap(),
        ] {
            let mut raw = records(&written);
            let i = cut.index(raw.len());
            if drop && raw.len() > 1 {
                raw.remove(i);
            } else {
                let n = at.index(raw[i].value.len() + 1);
                raw[i].value.truncate(n);
            }
            let entries = decode(&raw, &ReadOptions::default().partial(partial));
            prop_assert_eq!(accounted(&entries), raw.len());
        }
    }
}

#[test]
fn writing_appends_one_batch_and_invalid_events_write_nothing() {
    let pool = MemoryStore::new();
    let writer = DiagWriter::new("agent", VM).unwrap();
    let big = Event::new(Kind::Event, "dmesg", "x".repeat(5000));
    assert_eq!(write_event(&pool, &writer, &big).unwrap().len(), 5);
    let bad = Event::new(Kind::Finish, "provision", "no result");
    assert!(write_event(&pool, &writer, &bad).is_err());
    let too_long = Event::new(Kind::Event, "n".repeat(49), "x");
    assert!(write_event(&pool, &writer, &too_long).is_err());
    let warn = Event::new(Kind::Event, "x", "y").with_result(Outcome::Warn);
    assert!(write_event(&pool, &writer, &warn).is_err());
    assert_eq!(pool.len().unwrap(), 5);
    let ci = CloudInitWriter::new(CloudInitVariant::V26_1, 1);
    assert!(write_event(&pool, &ci, &big).is_err(), "26.1 needs a VM id");
    assert_eq!(pool.len().unwrap(), 5);
}

#[test]
fn partial_reads_return_what_is_left() {
    let writer = CloudInitWriter::new(CloudInitVariant::V22_4, 1);
    let e = Event::new(Kind::Event, "diag", "abc".repeat(1000)).with_type("diagnostic");
    let mut raw = records(&writer.encode(&e).unwrap());
    raw.remove(1);
    let strict = decode(&raw, &ReadOptions::default());
    assert!(strict
        .iter()
        .all(|x| matches!(x, Entry::Raw(r) if r.error.is_some())));
    let got = only_event(decode(&raw, &ReadOptions::default().partial(true)));
    assert_eq!(got.chunks.missing, [1]);
    assert_eq!(got.chunks.count, raw.len());
}

#[test]
fn cloud_init_names_may_hold_pipes() {
    // cloud-init writes a name as it is, '|' included; the reader takes the
    // name from the value, so even a name that ends like a VM id or a chunk
    // index reads back whole, in every variant, single or chunked.
    let vm = uuid_text(0xabc);
    for variant in [
        CloudInitVariant::V22_4,
        CloudInitVariant::V24_4,
        CloudInitVariant::V26_1,
    ] {
        let writer = CloudInitWriter::new(variant, 7).with_vm_id(vm.clone());
        for name in ["with|pipe", "|", "a|", &format!("x|{vm}"), "x|3"] {
            for text in ["short".to_owned(), "é".repeat(800)] {
                let e = Event::new(Kind::Event, name, text.clone()).with_type("custom");
                let written = writer.encode(&e).unwrap();
                let got = only_event(decode(&records(&written), &ReadOptions::default()));
                assert_eq!(
                    (got.name.as_str(), got.payload.as_text()),
                    (name, Some(text.as_str()))
                );
                assert_eq!(got.format, Format::CloudInit(variant));
            }
        }
        let piped_type = Event::new(Kind::Event, "n", "m").with_type("a|b");
        assert!(matches!(
            writer.encode(&piped_type),
            Err(kvp_report::Error::InvalidField { field: "type", .. })
        ));
    }
}

#[test]
fn without_decompression_partial_reads_keep_the_carrying_text() {
    let writer = CloudInitWriter::new(CloudInitVariant::V22_4, 1);
    let mut state = 12345u32; // incompressible: several chunks
    let bytes: Vec<u8> = (0..4000)
        .map(|_| {
            state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
            (state >> 23) as u8
        })
        .collect();
    let e = Event::new(Kind::Event, "dmesg", bytes).compressed();
    let mut raw = records(&writer.encode(&e).unwrap());
    assert!(raw.len() > 2);
    raw.remove(1);
    let decompressing = ReadOptions::default().partial(true);
    let entries = decode(&raw, &decompressing);
    assert!(entries
        .iter()
        .all(|x| matches!(x, Entry::Raw(r) if r.error.is_some())));
    let got = only_event(decode(&raw, &decompressing.decompress(false)));
    assert_eq!(
        (got.encoding, got.chunks.missing.clone()),
        (Encoding::GzB64, vec![1])
    );
    assert!(got
        .payload
        .as_text()
        .is_some_and(|t| t.starts_with("{\"encoding\": \"gz+b64\"")));
}
