//! The fsck's findings, severities and repairs on images built byte by byte.

use super::*;
use crate::store::{MemoryStore, Options};
use crate::{Unit, KEY_SIZE, VALUE_SIZE};

fn pool(bytes: Vec<u8>) -> MemoryStore {
    MemoryStore::from_bytes(bytes, Options::new())
}

fn findings(bytes: Vec<u8>) -> Vec<Finding> {
    inspect(&pool(bytes)).expect("inspect").findings
}

#[test]
fn clean_pool_and_empty_pool_have_no_findings() {
    let mut image = record::encode(b"a", b"1").to_vec();
    image.extend_from_slice(&record::encode(b"b", "é".repeat(1022).as_bytes()));
    let report = inspect(&pool(image)).expect("inspect");
    assert_eq!((report.records, report.size), (2, 2 * SLOT));
    assert!(report.is_clean(), "{:?}", report.findings);
    assert!(inspect(&MemoryStore::new()).expect("inspect").is_clean());
}

#[test]
fn reports_each_kind_with_its_record() {
    let mut image = Vec::new();
    image.extend_from_slice(&record::encode(b"dup", b"1"));
    let mut garbage = record::encode(b"dup", b"2");
    garbage[KEY_SIZE + 2..KEY_SIZE + 5].copy_from_slice(b"xyz");
    image.extend_from_slice(&garbage);
    image.extend_from_slice(&record::encode(b"", b"v"));
    image.extend_from_slice(&record::encode(b"bad", &[b'a', 0xff]));
    let mut no_nul = record::encode(b"full", b"");
    no_nul[KEY_SIZE..].fill(b'v');
    image.extend_from_slice(&no_nul);
    image.extend_from_slice(&record::encode(b"long", &[b'v'; 1023]));
    image.extend_from_slice(&[1, 2, 3]);

    let found = findings(image);
    assert_eq!(
        found,
        vec![
            Finding::PartialTail { bytes: 3 },
            Finding::GarbageAfterNul {
                record: 1,
                field: Field::Value,
                bytes: 3
            },
            Finding::DuplicateKey {
                record: 1,
                first: 0,
                key: b"dup".to_vec()
            },
            Finding::EmptyKey { record: 2 },
            Finding::InvalidUtf8 {
                record: 3,
                field: Field::Value
            },
            Finding::NoNul {
                record: 4,
                field: Field::Value
            },
            Finding::OverSafeLimit {
                record: 5,
                field: Field::Value,
                limit: 1022,
                actual: 1023,
                unit: Unit::Utf16CodeUnits,
                to_host: true
            },
        ]
    );
    let codes: Vec<_> = found.iter().map(Finding::code).collect();
    assert_eq!(codes[0], "partial-tail");
    assert_eq!(found[0].record(), None);
    assert_eq!(found[2].record(), Some(1));
    assert_eq!(found.iter().filter(|f| f.is_repairable()).count(), 2);
    let severities: Vec<_> = found.iter().map(Finding::severity).collect();
    use Severity::{Error as E, Note as N};
    assert_eq!(severities, [E, N, N, E, E, E, E]);
}

#[test]
fn severities_of_the_file_and_key_findings() {
    let file = [
        Finding::UnsafeFile {
            reason: UnsafeReason::HardLinked { links: 2 },
        },
        Finding::ReadableByOthers { mode: 0o644 },
        Finding::UnsafeCharInKey {
            record: 0,
            code_point: 0x202e,
        },
    ];
    let severities: Vec<_> = file.iter().map(Finding::severity).collect();
    assert_eq!(
        severities,
        [Severity::Error, Severity::Note, Severity::Note]
    );
    assert!(file[0].is_error() && !file[1].is_error());
    assert_eq!(
        (Severity::Error.as_str(), Severity::Note.to_string()),
        ("error", "note".to_owned())
    );
    assert!(Severity::Error < Severity::Note, "errors sort first");
}

#[test]
fn over_safe_limit_is_an_error_only_in_the_guest_pool() {
    let store = pool(record::encode(b"VirtualMachineName", &[b'v'; 1023]).to_vec());
    for p in Pool::ALL {
        let report = inspect_as(&store, p).expect("inspect");
        let [finding] = report.findings.as_slice() else {
            panic!("one finding: {:?}", report.findings);
        };
        let to_host = p == Pool::Guest;
        assert!(
            matches!(finding, Finding::OverSafeLimit { to_host: t, .. } if *t == to_host),
            "{finding:?}"
        );
        assert_eq!(report.has_errors(), to_host, "{p}");
        assert_eq!(
            (report.errors(), report.notes()),
            if to_host { (1, 0) } else { (0, 1) }
        );
        let message = finding.to_string();
        assert_eq!(
            message.contains("the host receives it truncated"),
            to_host,
            "{message}"
        );
    }
    assert_eq!(
        inspect(&store).expect("inspect").errors(),
        1,
        "inspect checks as pool 1"
    );
}

#[test]
fn counts_and_verdicts() {
    let mut image = record::encode(b"dup", b"1").to_vec();
    image.extend_from_slice(&record::encode(b"dup", b"2"));
    let report = inspect(&pool(image.clone())).expect("inspect");
    assert_eq!((report.errors(), report.notes()), (0, 1));
    assert_eq!(report.count(Severity::Note), 1);
    assert!(!report.has_errors() && !report.is_clean());
    assert!(report.passes(false) && !report.passes(true));

    image.extend_from_slice(&[0; 10]);
    let report = inspect(&pool(image)).expect("inspect");
    assert_eq!((report.errors(), report.notes()), (1, 1));
    assert!(!report.passes(false) && !report.passes(true));

    let clean = inspect(&MemoryStore::new()).expect("inspect");
    assert!(clean.passes(true) && !clean.has_errors());
}

#[test]
fn key_over_safe_limit_counts_utf16_units() {
    let key = "k".repeat(255);
    assert_eq!(
        findings(record::encode(key.as_bytes(), b"").to_vec()),
        vec![Finding::OverSafeLimit {
            record: 0,
            field: Field::Key,
            limit: 254,
            actual: 255,
            unit: Unit::Utf16CodeUnits,
            to_host: true
        }]
    );
}

#[test]
fn repair_cuts_tail_zeroes_garbage_and_keeps_what_readers_see() {
    let mut first = record::encode(b"VirtualMachineName", b"short");
    first[KEY_SIZE + 6..KEY_SIZE + 20].copy_from_slice(b"er-long-origin");
    first[19..25].copy_from_slice(b"######");
    let mut image = first.to_vec();
    let mut second = record::encode(b"id", b"42");
    second[KEY_SIZE + 3..KEY_SIZE + 6].copy_from_slice(&[0xb1, 0xda, 0x01]);
    image.extend_from_slice(&second);
    image.extend_from_slice(&[9; 10]);
    let store = pool(image);
    let before = store.records().expect("records");

    let done = repair(&store).expect("repair");
    assert_eq!(
        done,
        RepairReport {
            tail_bytes_cut: 10,
            fields_zeroed: 3
        }
    );
    assert!(done.changed());
    assert_eq!(store.records().expect("records"), before);
    let report = inspect(&store).expect("inspect");
    assert!(report.is_clean(), "{:?}", report.findings);
    assert_eq!(report.size, 2 * SLOT);
    assert!(!repair(&store).expect("second repair").changed());
}

#[test]
fn repair_leaves_unrepairable_findings() {
    let mut slot = record::encode(b"k", b"");
    slot[KEY_SIZE..KEY_SIZE + VALUE_SIZE].fill(b'v');
    let store = pool(slot.to_vec());
    assert!(!repair(&store).expect("repair").changed());
    assert_eq!(
        inspect(&store).expect("inspect").findings,
        vec![Finding::NoNul {
            record: 0,
            field: Field::Value
        }]
    );
}

#[test]
fn many_records_span_chunks() {
    let mut image = Vec::new();
    for i in 0..150u32 {
        image.extend_from_slice(&record::encode(b"same", i.to_string().as_bytes()));
    }
    let found = findings(image);
    assert_eq!(found.len(), 149);
    assert_eq!(
        found.last(),
        Some(&Finding::DuplicateKey {
            record: 149,
            first: 0,
            key: b"same".to_vec()
        })
    );
}
