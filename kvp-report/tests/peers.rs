//! The peers' own output and examples, byte for byte (fixtures/README.md
//! says where each came from).

use std::time::Duration;

use kvp_core::{FileStore, KvpStore, RawRecord};
use kvp_report::vm_id::Generation;
use kvp_report::{
    decode, events, CloudInitVariant, CloudInitWriter, Dialect, Encoding, Entry, Event, Format,
    Kind, Machine, Outcome, Payload, PpsType, ProvisioningReport, ReadOptions, Reason,
    ReportResult, Timestamp,
};
use serde_json::Value;

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("json")
}

fn text(v: &Value) -> Option<String> {
    v.as_str().map(str::to_owned)
}

fn raw(key: &str, value: &str) -> RawRecord {
    RawRecord {
        key: key.as_bytes().to_vec(),
        value: value.as_bytes().to_vec(),
    }
}

fn report_of(case: &Value) -> ProvisioningReport {
    ProvisioningReport {
        result: if case["result"] == "success" {
            ReportResult::Success
        } else {
            ReportResult::Error
        },
        agent: text(&case["agent"]).unwrap(),
        vm_id: text(&case["vm_id"]).unwrap(),
        timestamp: text(&case["timestamp"]),
        pps_type: case["pps_type"].as_str().and_then(PpsType::from_token),
        reason: text(&case["reason"]),
        documentation_url: text(&case["documentation_url"]),
        supporting_data: case["supporting_data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|kv| (text(&kv[0]).unwrap(), text(&kv[1]).unwrap()))
            .collect(),
    }
}

#[test]
fn azure_init_reports_byte_for_byte() {
    let all = fixture("peer-examples.json");
    for case in all["reports_azure_init"].as_array().unwrap() {
        let report = report_of(case);
        let value = case["value"].as_str().unwrap();
        assert_eq!(report.encode(Dialect::AzureInit), value, "{}", case["from"]);
        assert_eq!(report.encode_safe(Dialect::AzureInit).unwrap(), value);
        assert_eq!(
            ProvisioningReport::decode(value).unwrap(),
            report,
            "{}",
            case["from"]
        );
    }
}

fn cloud_init_fixtures() -> Vec<Value> {
    [
        "cloud-init-22.4.2.json",
        "cloud-init-25.1.4.json",
        "cloud-init-26.2.json",
    ]
    .into_iter()
    .map(fixture)
    .collect()
}

fn records_of(fx: &Value) -> Vec<RawRecord> {
    fx["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| raw(r[0].as_str().unwrap(), r[1].as_str().unwrap()))
        .collect()
}

fn reports_written(fx: &Value) -> Vec<String> {
    fx["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r[0] == "PROVISIONING_REPORT")
        .map(|r| text(&r[1]).unwrap())
        .collect()
}

#[test]
fn cloud_init_reports_byte_for_byte() {
    for fx in cloud_init_fixtures() {
        let written = reports_written(&fx);
        let version = fx["cloud_init_version"].as_str().unwrap();
        if fx["reports"].as_array().unwrap().is_empty() {
            assert!(written.is_empty(), "22.4 writes no report");
            continue;
        }
        let agent = format!("Cloud-Init/{version}");
        let vm_id = "0e5e179d-5341-478b-8456-fbb90621bdf8";
        let ts = "2026-06-17T00:00:00.123456+00:00";
        let success = ProvisioningReport::success(&agent, vm_id).with_timestamp(ts);
        assert_eq!(success.encode(Dialect::CloudInit), written[0], "{version}");
        assert_eq!(ProvisioningReport::decode(&written[0]).unwrap(), success);

        for (case, value) in fx["reports"].as_array().unwrap()[1..]
            .iter()
            .zip(&written[1..])
        {
            let mut error =
                ProvisioningReport::error(&agent, vm_id, text(&case["reason"]).unwrap())
                    .with_timestamp(ts);
            for kv in case["supporting_data"].as_array().unwrap() {
                error = error.with_supporting(text(&kv[0]).unwrap(), text(&kv[1]).unwrap());
            }
            let ours = error.encode(Dialect::CloudInit);
            if value.chars().count() < 1023 {
                assert_eq!(&ours, value, "{version}");
                assert_eq!(ProvisioningReport::decode(value).unwrap(), error);
            } else {
                // cloud-init's write_key kept the first 1023 characters of
                // the same row, cutting inside a quoted field: the CSV is
                // broken, and the decoder says so.
                assert!(ours.starts_with(value.as_str()), "{version}");
                let e = ProvisioningReport::decode(value).unwrap_err();
                assert_eq!(e.reason, Reason::Malformed);
                assert!(e.detail.contains("1023"), "{e}");
                // Ours stays within what the host receives, and whole.
                let safe = error.encode_safe(Dialect::CloudInit).unwrap();
                let back = ProvisioningReport::decode(&safe).unwrap();
                assert_eq!(back.shortened(), Some(ours.chars().count()));
                assert!(back.supporting_data[0].1.ends_with("..."));
            }
        }
    }
}

#[test]
fn cloud_init_events_decode_exactly() {
    for fx in cloud_init_fixtures() {
        let version = fx["cloud_init_version"].as_str().unwrap().to_owned();
        let variant = match &version[..2] {
            "22" => CloudInitVariant::V22_4,
            "25" => CloudInitVariant::V24_4,
            _ => CloudInitVariant::V26_1,
        };
        let entries = decode(&records_of(&fx), &ReadOptions::default());
        let got: Vec<&Event> = events(&entries).collect();
        let inputs = fx["events"].as_array().unwrap();
        assert_eq!(got.len(), inputs.len(), "{version}");
        for (i, (event, input)) in got.iter().zip(inputs).enumerate() {
            let ctx = format!("{version} event {i}");
            assert_eq!(event.format, Format::CloudInit(variant), "{ctx}");
            assert_eq!(event.event_type, input["type"].as_str().unwrap(), "{ctx}");
            assert_eq!(event.name, input["name"].as_str().unwrap(), "{ctx}");
            assert_eq!(event.incarnation, Some(1_781_654_000));
            assert_eq!(
                event.event_id,
                Some(format!("00000000-0000-0000-0000-{:012x}", 0x1000 + i)),
                "{ctx}"
            );
            assert_eq!(event.vm_id.as_deref(), fx["vm_id"].as_str(), "{ctx}");
            assert_eq!(event.timestamp, Timestamp::parse(&event.ts));
            assert!(
                event.ts.ends_with(if variant == CloudInitVariant::V22_4 {
                    "Z"
                } else {
                    "+00:00"
                }),
                "{ctx}"
            );
            match input.get("bytes_hex").and_then(Value::as_str) {
                Some(hex) => {
                    let bytes: Vec<u8> = (0..hex.len())
                        .step_by(2)
                        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                        .collect();
                    assert_eq!(event.payload, Payload::Bytes(bytes), "{ctx}");
                    assert_eq!(event.encoding, Encoding::GzB64);
                }
                None => assert_eq!(
                    event.payload.as_text(),
                    input["description"].as_str(),
                    "{ctx}"
                ),
            }
            assert_eq!(
                event.result.as_ref().map(Outcome::cloud_init_token),
                input["result"].as_str(),
                "{ctx}"
            );
            let duration = input["duration"]
                .as_f64()
                .map(|s| Duration::from_nanos((s * 1e9).round() as u64));
            assert_eq!(event.duration, duration, "{ctx}");
            assert_eq!(
                event.kind,
                match event.event_type.as_str() {
                    "start" => Kind::Start,
                    "finish" => Kind::Finish,
                    _ => Kind::Event,
                }
            );
        }
        let reports = entries
            .iter()
            .filter(|e| matches!(e, Entry::Report { .. }))
            .count();
        let broken = entries
            .iter()
            .filter(|e| matches!(e, Entry::Raw(r) if r.error.is_some()))
            .count();
        assert_eq!(reports + broken, reports_written(&fx).len(), "{version}");
    }
}

#[test]
fn our_cloud_init_records_match_theirs() {
    for fx in cloud_init_fixtures() {
        let records = records_of(&fx);
        let entries = decode(&records, &ReadOptions::default());
        for event in events(&entries) {
            let Format::CloudInit(variant) = event.format else {
                unreachable!()
            };
            let mut writer = CloudInitWriter::new(variant, event.incarnation.unwrap());
            writer.vm_id = event.vm_id.clone();
            let mut ours = event.clone();
            if event.encoding == Encoding::GzB64 {
                // zlib output differs between zlib and miniz_oxide; the
                // envelope around it and what it decodes to do not.
                ours.encoding = Encoding::GzB64;
            }
            let written = writer.encode(&ours).unwrap();
            let back = decode(
                &written.iter().map(|(k, v)| raw(k, v)).collect::<Vec<_>>(),
                &ReadOptions::default(),
            );
            let [Entry::Event(again)] = &back[..] else {
                panic!("{back:?}")
            };
            assert_eq!(again.payload, event.payload);
            assert_eq!(
                (&again.name, &again.result, again.duration, again.timestamp),
                (&event.name, &event.result, event.duration, event.timestamp)
            );
            let theirs: Vec<&RawRecord> = records
                .iter()
                .filter(|r| {
                    r.key.starts_with(
                        format!("CLOUD_INIT|{}|{}|", 1_781_654_000, event.event_type).as_bytes(),
                    ) && String::from_utf8_lossy(&r.key)
                        .contains(event.event_id.as_deref().unwrap())
                })
                .collect();
            for (k, v) in &written {
                assert!(
                    v.len() <= 1022 && serde_json::from_str::<Value>(v).is_ok(),
                    "each chunk is valid JSON alone"
                );
                let _ = k;
            }
            if theirs.len() == 1 && event.encoding == Encoding::None {
                assert_eq!(written.len(), 1);
                assert_eq!(written[0].0.as_bytes(), theirs[0].key, "key byte for byte");
                if event.duration.is_none() {
                    assert_eq!(
                        written[0].1.as_bytes(),
                        theirs[0].value,
                        "value byte for byte"
                    );
                } else {
                    // Durations are kept to the nanosecond, so a float with
                    // more digits (0.0006448590000012189) comes back shorter.
                    let mut a: Value = serde_json::from_str(&written[0].1).unwrap();
                    let mut b: Value = serde_json::from_slice(&theirs[0].value).unwrap();
                    let (da, db) = (
                        a["duration"].as_f64().unwrap(),
                        b["duration"].as_f64().unwrap(),
                    );
                    assert!((da - db).abs() < 1e-9);
                    a["duration"] = Value::Null;
                    b["duration"] = Value::Null;
                    assert_eq!(a, b);
                }
            }
        }
    }
}

#[test]
fn shared_cloud_init_22_4_pool() {
    let path = format!(
        "{}/tests/fixtures/cloud-init-22.4-events.pool",
        env!("CARGO_MANIFEST_DIR")
    );
    let store = FileStore::open(&path).unwrap();
    let entries = kvp_report::read_entries(&store, &ReadOptions::default()).unwrap();
    let got: Vec<&Event> = events(&entries).collect();
    assert_eq!(entries.len(), 3);
    assert_eq!(got[0].payload.as_text(), Some("Datasource found: Azure ✓"));
    assert_eq!(got[1].payload.as_text(), Some("é".repeat(2500).as_str()));
    assert_eq!(got[1].chunks.count, 17);
    assert_eq!(
        (got[2].event_type.as_str(), got[2].result.clone()),
        ("finish", Some(Outcome::Success))
    );
    assert_eq!(got[2].payload.as_text(), Some("all done"));
    assert_eq!(store.len().unwrap(), 19);
}

#[test]
fn proposal_and_anchor_cloud_init_records() {
    let all = fixture("peer-examples.json");
    for case in all["cloud_init_records"].as_array().unwrap() {
        let entries = decode(
            &[raw(
                case["key"].as_str().unwrap(),
                case["value"].as_str().unwrap(),
            )],
            &ReadOptions::default(),
        );
        let [Entry::Event(e)] = &entries[..] else {
            panic!("{}: {entries:?}", case["from"])
        };
        let x = &case["expect"];
        assert_eq!(e.kind.as_str(), x["kind"].as_str().unwrap());
        assert_eq!(e.name, x["name"].as_str().unwrap());
        assert_eq!(e.vm_id.as_deref(), x["vm_id"].as_str());
        assert_eq!(e.event_id.as_deref(), x["event_id"].as_str());
        assert_eq!(
            e.result.as_ref().map(Outcome::cloud_init_token),
            x["result"].as_str()
        );
        assert_eq!(
            e.duration.map(|d| d.as_nanos() as u64),
            x["duration_ns"].as_u64()
        );
        assert_eq!(e.payload.as_text(), x["text"].as_str());
        let variant = match x["variant"].as_str().unwrap() {
            "26.1" => CloudInitVariant::V26_1,
            _ => CloudInitVariant::V24_4,
        };
        assert_eq!(e.format, Format::CloudInit(variant));
    }
}

#[test]
fn proposal_diag_v1_dump() {
    let all = fixture("peer-examples.json");
    let records: Vec<RawRecord> = all["diag_v1_records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| raw(r["key"].as_str().unwrap(), r["value"].as_str().unwrap()))
        .collect();
    let entries = decode(&records, &ReadOptions::default());
    let [Entry::Event(finish), Entry::Raw(lost), Entry::Report { report, .. }] = &entries[..]
    else {
        panic!("{entries:?}")
    };
    assert_eq!(
        (finish.kind, finish.name.as_str(), finish.result.clone()),
        (Kind::Finish, "provision:run", Some(Outcome::Success))
    );
    assert_eq!(finish.duration, Some(Duration::from_micros(312)));
    assert_eq!(finish.payload.as_text(), Some("provisioning succeeded"));
    assert_eq!(finish.ts, "2026-08-31T12:34:57.101Z");
    assert_eq!(
        lost.error.as_ref().map(|e| e.reason),
        Some(Reason::IncompleteGroup)
    );
    assert_eq!(report.pps_type, Some(PpsType::None));
}

#[test]
fn anchor_gz_b64_samples() {
    let all = fixture("peer-examples.json");
    let mut plain = Vec::new();
    for case in all["gz_b64"].as_array().unwrap() {
        let vm = "3f2504e0-4f89-41d3-9a0c-0305e82c3301";
        let key = format!("DIAG_V1|a|{vm}|event|x|{vm}|2026-08-31T12:34:56Z|gz+b64|||0");
        let cloud = format!(
            "{{\"name\":\"x\",\"type\":\"compressed\",\"ts\":\"2026-08-31T12:34:56Z\",\"msg\":{}}}",
            serde_json::to_string(&format!(
                "{{\"encoding\": \"gz+b64\", \"data\": \"{}\"}}",
                case["data"].as_str().unwrap()
            ))
            .unwrap()
        );
        let cloud_key = format!("CLOUD_INIT|1|compressed|x|{vm}");
        let entries = decode(
            &[
                raw(&key, case["data"].as_str().unwrap()),
                raw(&cloud_key, &cloud),
            ],
            &ReadOptions::default(),
        );
        let [diag, Entry::Event(ci)] = &entries[..] else {
            panic!("{entries:?}")
        };
        if case["gzip"] == true {
            let Entry::Event(d) = diag else {
                panic!("{diag:?}")
            };
            assert_eq!(d.payload, ci.payload);
        } else {
            assert!(
                matches!(diag, Entry::Raw(r) if r.error.as_ref().map(|e| e.reason) == Some(Reason::Undecodable)),
                "DIAG_V1 is gzip only"
            );
        }
        if let Some(p) = case["plain"].as_str() {
            assert_eq!(ci.payload.as_bytes(), p.as_bytes());
        }
        plain.push(ci.payload.as_bytes().to_vec());
    }
    assert_eq!(
        plain[1], plain[2],
        "the zlib and gzip samples hold the same text"
    );
}

#[test]
fn vm_ids_of_both_peers() {
    let all = fixture("peer-examples.json");
    for case in all["vm_ids"].as_array().unwrap() {
        let dir = tempfile::tempdir().unwrap();
        let machine = Machine::with_root(dir.path());
        let file = machine.product_uuid_path();
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, case["product_uuid"].as_str().unwrap()).unwrap();
        if case["gen"] == 2 {
            std::fs::create_dir_all(dir.path().join("sys/firmware/efi")).unwrap();
        }
        assert_eq!(
            machine.generation(),
            if case["gen"] == 2 {
                Generation::Gen2
            } else {
                Generation::Gen1
            }
        );
        let expected = case
            .get("azure_init")
            .and_then(Value::as_str)
            .or(case.get("cloud_init").and_then(Value::as_str));
        match (case.get("ours").and_then(Value::as_str), machine.vm_id()) {
            (None, Ok(id)) => assert_eq!(Some(id.as_str()), expected, "{}", case["from"]),
            (Some("malformed"), Err(kvp_report::Error::MalformedVmId { .. })) => {}
            (Some("no_vm_id"), Err(kvp_report::Error::NoVmId { .. })) => {}
            (want, got) => panic!("{}: want {want:?}, got {got:?}", case["from"]),
        }
    }
}

/// azure-init's tracing layer, emulated from libazureinit/src/kvp.rs: the
/// key, the value shapes, and 1022-byte pieces cut anywhere.
#[test]
fn azure_init_tracing_records() {
    let vm = "00000000-0000-0000-0000-000000000001";
    let key = format!("azure-init-0.1.1|{vm}|INFO|provision:user:create_user|8f3e9c4a-1b2c-4d5e-9f01-234567890abc");
    let long = format!(
        "Time: 2026-06-17T00:00:01.250Z | Event: msg=\"{}\"",
        "é".repeat(700)
    );
    let mut records: Vec<RawRecord> = long
        .as_bytes()
        .chunks(1022)
        .map(|piece| RawRecord {
            key: key.as_bytes().to_vec(),
            value: piece.to_vec(),
        })
        .collect();
    assert!(
        std::str::from_utf8(&records[0].value).is_err(),
        "the first piece ends inside a character"
    );
    let span = "azure-init-0.1.1|00000000-0000-0000-0000-000000000001|INFO|provision|9c1d2e3f-4a5b-6c7d-8e9f-0a1b2c3d4e5f";
    records.push(raw(
        span,
        "Start: 2026-06-17T00:00:00.000Z | End: 2026-06-17T00:00:02.500Z",
    ));
    let entries = decode(&records, &ReadOptions::default());
    let [Entry::Event(event), Entry::Event(closed)] = &entries[..] else {
        panic!("{entries:?}")
    };
    assert_eq!(event.format, Format::AzureInitTracing);
    assert_eq!(
        (event.agent.as_str(), event.event_type.as_str()),
        ("azure-init-0.1.1", "INFO")
    );
    assert_eq!(
        event.payload.as_text(),
        Some(format!("msg=\"{}\"", "é".repeat(700)).as_str())
    );
    assert_eq!(event.chunks.count, 2);
    assert_eq!(closed.kind, Kind::Finish);
    assert_eq!(closed.duration, Some(Duration::from_millis(2500)));
    // A lost middle piece shows as a short piece before the last.
    let mut cut = records[..2].to_vec();
    cut[0].value.truncate(1000);
    let entries = decode(&cut, &ReadOptions::default());
    assert!(entries.iter().all(|e| matches!(e, Entry::Raw(r) if r.error.as_ref().map(|e| e.reason) == Some(Reason::Malformed))));
}

#[test]
fn cloud_init_durations_and_envelopes_as_written() {
    // What cloud-init's own reader returns, kept on request: the duration
    // as it wrote the float, and (without decompression) the envelope of a
    // compressed event as its text.
    use base64::Engine as _;
    use std::io::Read as _;
    for fx in cloud_init_fixtures() {
        let records = records_of(&fx);
        let decoded = decode(&records, &ReadOptions::default());
        let enveloped = decode(&records, &ReadOptions::default().decompress(false));
        let pairs: Vec<(&Event, &Event)> = events(&decoded).zip(events(&enveloped)).collect();
        assert_eq!(pairs.len(), fx["events"].as_array().unwrap().len());
        for ((event, kept), input) in pairs.into_iter().zip(fx["events"].as_array().unwrap()) {
            let written = input["duration"].as_f64().filter(|_| event.vm_id.is_some());
            let text = event.duration_text.as_deref();
            assert_eq!(text.map(|t| t.parse::<f64>().unwrap()), written);
            if let Some(text) = text {
                let needle = format!("\"duration\":{text},");
                assert!(
                    records
                        .iter()
                        .any(|r| String::from_utf8_lossy(&r.value).contains(&needle)),
                    "{needle}"
                );
            }
            match &event.payload {
                Payload::Bytes(bytes) => {
                    assert_eq!(kept.encoding, Encoding::GzB64);
                    let envelope: Value =
                        serde_json::from_str(kept.payload.as_text().expect("envelope")).unwrap();
                    assert_eq!(envelope["encoding"], "gz+b64");
                    let data: String = envelope["data"]
                        .as_str()
                        .unwrap()
                        .split_whitespace()
                        .collect();
                    let zlib = base64::engine::general_purpose::STANDARD
                        .decode(data)
                        .unwrap();
                    let mut out = Vec::new();
                    flate2::read::ZlibDecoder::new(&zlib[..])
                        .read_to_end(&mut out)
                        .unwrap();
                    assert_eq!(&out, bytes);
                }
                Payload::Text(_) => assert_eq!(kept, event),
            }
        }
    }
}

#[test]
fn diag_v1_duration_and_base64_as_written() {
    let vm = "3f2504e0-4f89-41d3-9a0c-0305e82c3301";
    let writer = kvp_report::DiagWriter::new("agent", vm).unwrap();
    let finish = Event::new(Kind::Finish, "provision", "done")
        .with_result(Outcome::Success)
        .with_duration(Duration::from_micros(312));
    let artifact: Vec<u8> = (0..3000u32).map(|i| (i * 7 % 251) as u8).collect();
    let dmesg = Event::new(Kind::Event, "dmesg", artifact.clone()).compressed();
    let mut records = Vec::new();
    for e in [&finish, &dmesg] {
        for (k, v) in writer.encode(e).unwrap() {
            records.push(raw(&k, &v));
        }
    }
    let entries = decode(&records, &ReadOptions::default().decompress(false));
    let got: Vec<&Event> = events(&entries).collect();
    assert_eq!(got[0].duration_text.as_deref(), Some("312"));
    assert_eq!(got[1].duration_text, None);
    assert_eq!(
        got[1].payload.as_text(),
        Some(kvp_report::compress::gzip_b64(&artifact).as_str())
    );
    assert_eq!(got[1].encoding, Encoding::GzB64);
}
