//! Unit tests of the report model: layouts, decoding, shortening, checks
//! and the store helpers.

use super::*;
use kvp_core::MemoryStore;

fn base(result: ReportResult) -> ProvisioningReport {
    let r = ProvisioningReport::success("Cloud-Init/25.1", "abc").with_timestamp("T");
    match result {
        ReportResult::Success => r,
        ReportResult::Error => ProvisioningReport {
            result,
            reason: Some("boom".into()),
            documentation_url: Some(DOCUMENTATION_URL.into()),
            ..r
        },
    }
}

#[test]
fn layouts_of_both_dialects() {
    let ok = base(ReportResult::Success).with_supporting("k", "v");
    assert_eq!(
        ok.encode(Dialect::CloudInit),
        "result=success|agent=Cloud-Init/25.1|timestamp=T|vm_id=abc|k=v"
    );
    assert_eq!(
        ok.encode(Dialect::AzureInit),
        "result=success|agent=Cloud-Init/25.1|pps_type=None|vm_id=abc|timestamp=T|k=v"
    );
    let err = base(ReportResult::Error)
        .with_supporting("k", "a|b")
        .with_pps_type(PpsType::Savable);
    assert_eq!(
        err.encode(Dialect::CloudInit),
        "result=error|reason=boom|agent=Cloud-Init/25.1|'k=a|b'|pps_type=Savable|vm_id=abc|timestamp=T|documentation_url=https://aka.ms/linuxprovisioningerror"
    );
    assert_eq!(
        err.encode(Dialect::AzureInit),
        "result=error|reason=boom|agent=Cloud-Init/25.1|\"k=a|b\"|pps_type=Savable|vm_id=abc|timestamp=T|documentation_url=https://aka.ms/linuxprovisioningerror"
    );
}

#[test]
fn decode_refuses_what_is_not_a_report() {
    for bad in [
        "",
        "result=success",
        "result=maybe|agent=a|vm_id=v|timestamp=t",
        "result=error|agent=a|vm_id=v|timestamp=t",
        "result=success|agent=a|agent=b|vm_id=v|timestamp=t",
        "result=success|agent=a|vm_id=v|timestamp=t|pps_type=Other",
        "result=success|agent=a|vm_id=v|timestamp=t|novalue",
        "result=success|agent=a|vm_id=v|timestamp=t|'open=",
    ] {
        assert!(ProvisioningReport::decode(bad).is_err(), "{bad}");
    }
}

#[test]
fn long_reports_are_shortened_whole_fields_and_marked() {
    let long = "x|'\"".repeat(400);
    let report = base(ReportResult::Error)
        .with_supporting("a", long.clone())
        .with_supporting("b", "short");
    let mut long_reason = report.clone();
    long_reason.reason = Some("é".repeat(3000));
    for r in [report, long_reason] {
        for dialect in [Dialect::CloudInit, Dialect::AzureInit] {
            let value = r.encode_safe(dialect).unwrap();
            assert!(
                fits(&value) && utf16_len(&value) > 1000,
                "{dialect:?}: {}",
                utf16_len(&value)
            );
            let back = ProvisioningReport::decode(&value).unwrap();
            assert_eq!(back.shortened(), Some(utf16_len(&r.encode(dialect))));
            assert_eq!(
                (back.vm_id.as_str(), back.agent.as_str()),
                ("abc", "Cloud-Init/25.1")
            );
            assert_eq!(
                back.supporting_data[1],
                ("b".to_owned(), "short".to_owned())
            );
        }
    }
}

#[test]
fn fixed_fields_too_long_is_an_error() {
    let r = ProvisioningReport::success("a".repeat(1100), "v").with_timestamp("t");
    assert!(matches!(
        r.encode_safe(Dialect::AzureInit),
        Err(Error::ReportTooLarge { limit: 1022, .. })
    ));
}

#[test]
fn write_leaves_one_record_and_reads_back() {
    let pool = MemoryStore::new();
    pool.append(PROVISIONING_REPORT_KEY, "result=error")
        .unwrap();
    pool.append(PROVISIONING_REPORT_KEY, "result=error")
        .unwrap();
    let r = base(ReportResult::Success);
    write_report(&pool, &r, Dialect::CloudInit).unwrap();
    assert_eq!(pool.len().unwrap(), 1);
    assert_eq!(read_report(&pool).unwrap(), Some(r));
    pool.insert(PROVISIONING_REPORT_KEY, "junk").unwrap();
    assert!(matches!(read_report(&pool), Err(Error::Report(_))));
}

#[test]
fn check_refuses_what_would_not_decode_back() {
    let ok = base(ReportResult::Error).with_supporting("interface", "eth0");
    assert!(ok.check().is_ok());
    for name in [
        "",
        "a=b",
        "vm_id",
        "reason",
        "documentation_url",
        SHORTENED_FIELD,
    ] {
        let r = base(ReportResult::Success).with_supporting(name, "x");
        assert!(
            matches!(
                r.check(),
                Err(Error::InvalidField {
                    field: "supporting-data name",
                    ..
                })
            ),
            "{name:?}"
        );
        // The refused field would come back otherwise, or not at all.
        let back = ProvisioningReport::decode(&r.encode(Dialect::AzureInit));
        assert_ne!(back.ok(), Some(r.clone()), "{name:?}");
        let pool = MemoryStore::new();
        assert!(write_report(&pool, &r, Dialect::AzureInit).is_err());
        assert!(pool.is_empty().unwrap(), "nothing written");
    }
    for (agent, vm_id, field) in [("", "v", "agent"), ("a", "", "vm_id")] {
        let r = ProvisioningReport::success(agent, vm_id);
        assert!(
            matches!(r.check(), Err(Error::InvalidField { field: f, .. }) if f == field),
            "{field}"
        );
    }
}

/// Found by the report_fields fuzz target (fuzz/): a supporting-data name
/// that starts with a quote character passed `check`, and the dialect
/// whose quote it is not wrote it bare (`|'note=x`), which the decoder,
/// taking either quote, read as an unclosed quoted field: `write_report`
/// wrote a report that `read_report` refused.
#[test]
fn check_refuses_names_a_decoder_takes_for_quoted() {
    for (name, dialect) in [
        ("'note", Dialect::AzureInit),
        ("\"note", Dialect::CloudInit),
    ] {
        let r = base(ReportResult::Success).with_supporting(name, "x");
        assert!(
            ProvisioningReport::decode(&r.encode(dialect)).is_err(),
            "{name}"
        );
        assert!(
            matches!(
                r.check(),
                Err(Error::InvalidField {
                    field: "supporting-data name",
                    ..
                })
            ),
            "{name}"
        );
        let pool = MemoryStore::new();
        assert!(write_report(&pool, &r, dialect).is_err());
        assert!(pool.is_empty().unwrap(), "nothing written");
    }
    // A quote elsewhere in a name is fine: the field is quoted if needed.
    for name in ["it's", "a\"b"] {
        let r = base(ReportResult::Success).with_supporting(name, "x");
        assert!(r.check().is_ok(), "{name}");
        for dialect in [Dialect::AzureInit, Dialect::CloudInit] {
            let pool = MemoryStore::new();
            write_report(&pool, &r, dialect).unwrap();
            let back = read_report(&pool).unwrap().unwrap();
            assert_eq!(back.supporting_data, r.supporting_data, "{name}");
        }
    }
}
