//! `check::inspect` and `check::repair` on any pool image (see the crate
//! docs for how an input becomes one; the script is not used here).
//!
//! - inspect reports what an independent walk of the slots finds: the
//!   partial tail, fields without a NUL, garbage after a NUL (with its
//!   count), invalid UTF-8, empty and duplicate keys; every finding names
//!   a record that exists, and findings come in record order;
//! - repair keeps what readers see (the exact records), cuts the tail,
//!   zeroes exactly the fields with garbage, and leaves no repairable
//!   finding and every other finding as it was;
//! - a second repair changes nothing;
//! - a file with bytes but no whole record is refused and left unchanged.
#![no_main]

use std::collections::HashMap;

use kvp_core::check::{self, Finding};
use kvp_core::{record, ErrorKind, Field, KvpStore, MemoryStore, Options, RECORD_SIZE};
use kvp_fuzz::{records_of, Input};
use libfuzzer_sys::fuzz_target;

/// The findings an independent walk predicts, for the kinds it models.
fn predicted(image: &[u8]) -> Vec<Finding> {
    let mut out = Vec::new();
    let tail = image.len() % RECORD_SIZE;
    if tail != 0 {
        out.push(Finding::PartialTail { bytes: tail as u64 });
    }
    let mut first: HashMap<&[u8], u64> = HashMap::new();
    for (index, slot) in image.chunks_exact(RECORD_SIZE).enumerate() {
        let record = index as u64;
        let (key, value) = record::split_slot(slot);
        for (field, bytes) in [(Field::Key, key), (Field::Value, value)] {
            let nul = bytes.iter().position(|&b| b == 0);
            match nul {
                None => out.push(Finding::NoNul { record, field }),
                Some(at) => {
                    let garbage = bytes[at..].iter().filter(|&&b| b != 0).count();
                    if garbage > 0 {
                        out.push(Finding::GarbageAfterNul {
                            record,
                            field,
                            bytes: garbage,
                        });
                    }
                }
            }
            let text = &bytes[..nul.unwrap_or(bytes.len())];
            if std::str::from_utf8(text).is_err() {
                out.push(Finding::InvalidUtf8 { record, field });
            }
        }
        let key = record::field_text(key);
        if key.is_empty() {
            out.push(Finding::EmptyKey { record });
        } else if let Some(&first) = first.get(key) {
            out.push(Finding::DuplicateKey {
                record,
                first,
                key: key.to_vec(),
            });
        } else {
            first.insert(key, record);
        }
    }
    out
}

/// The findings of the kinds [`predicted`] models.
fn modelled(findings: &[Finding]) -> Vec<Finding> {
    findings
        .iter()
        .filter(|f| {
            matches!(
                f,
                Finding::PartialTail { .. }
                    | Finding::NoNul { .. }
                    | Finding::GarbageAfterNul { .. }
                    | Finding::InvalidUtf8 { .. }
                    | Finding::EmptyKey { .. }
                    | Finding::DuplicateKey { .. }
            )
        })
        .cloned()
        .collect()
}

fn sorted(mut findings: Vec<Finding>) -> Vec<Finding> {
    findings.sort_by_key(|f| (f.record(), f.code(), f.field().map(|f| f == Field::Value)));
    findings
}

fuzz_target!(|data: &[u8]| {
    let input = Input::parse(data, <[u8]>::to_vec);
    let image = input.image;
    let store = MemoryStore::from_bytes(image.clone(), Options::new());
    let records = image.len() / RECORD_SIZE;

    let report = check::inspect(&store).expect("inspect");
    assert_eq!(report.size, image.len() as u64);
    assert_eq!(report.records, records as u64);
    for finding in &report.findings {
        assert!(
            finding.record().is_none_or(|r| r < records as u64),
            "{finding:?}"
        );
        // Every finding has a code and a message.
        assert!(!finding.code().is_empty() && !finding.to_string().is_empty());
        if let Finding::OverSafeLimit { limit, actual, .. } = finding {
            assert!(actual > limit, "{finding:?}");
        }
    }
    let order: Vec<Option<u64>> = report.findings.iter().map(Finding::record).collect();
    assert!(
        order.windows(2).all(|w| match (w[0], w[1]) {
            (Some(a), Some(b)) => a <= b,
            (Some(_), None) => false,
            (None, _) => true,
        }),
        "findings out of order: {order:?}"
    );
    assert_eq!(
        sorted(modelled(&report.findings)),
        sorted(predicted(&image)),
        "inspect disagrees with an independent walk"
    );

    let before = store.raw_records().expect("raw_records");
    let repaired = check::repair(&store);
    if !image.is_empty() && image.len() < RECORD_SIZE {
        let e = repaired.expect_err("a file without a whole record is refused");
        assert_eq!(e.kind(), ErrorKind::UnsafePool);
        assert_eq!(store.to_bytes(), image, "a refused repair changes nothing");
        return;
    }
    let done = repaired.expect("repair");
    let garbage = report
        .findings
        .iter()
        .filter(|f| matches!(f, Finding::GarbageAfterNul { .. }))
        .count();
    assert_eq!(done.tail_bytes_cut, (image.len() % RECORD_SIZE) as u64);
    assert_eq!(done.fields_zeroed, garbage);
    assert_eq!(done.changed(), report.repairable() > 0);
    let after = store.to_bytes();
    assert_eq!(after.len(), records * RECORD_SIZE);
    assert_eq!(
        records_of(&after),
        before,
        "repair changed what readers see"
    );
    assert_eq!(store.raw_records().expect("raw_records"), before);

    let second = check::inspect(&store).expect("inspect after repair");
    assert_eq!(second.repairable(), 0, "{:?}", second.findings);
    let lasting: Vec<Finding> = report
        .findings
        .iter()
        .filter(|f| !f.is_repairable())
        .cloned()
        .collect();
    assert_eq!(second.findings, lasting, "repair changed other findings");

    let again = check::repair(&store).expect("second repair");
    assert!(!again.changed(), "a second repair changed {again:?}");
    assert_eq!(store.to_bytes(), after);
});
