//! A provisioning report for people (field rows) and for scripts (JSON).
//! The fields come from kvp-report's model; only their presentation is
//! decided here.

use kvp_report::{PpsType, ProvisioningReport};
use serde_json::{json, Value};

/// The report as a JSON object (schema in docs/cli.md).
pub fn json(report: &ProvisioningReport) -> Value {
    let supporting: Vec<Value> = report
        .supporting_data
        .iter()
        .map(|(key, value)| json!({ "key": key, "value": value }))
        .collect();
    json!({
        "result": report.result.as_str(),
        "agent": report.agent,
        "vm_id": report.vm_id,
        "timestamp": report.timestamp,
        "pps_type": report.pps_type.map(PpsType::as_str),
        "reason": report.reason,
        "documentation_url": report.documentation_url,
        "supporting_data": supporting,
        "shortened": report.shortened(),
    })
}

/// `(field, value)` rows: the standard fields a report has, then its
/// supporting data in order. Cells are raw text, escaped by the table.
pub fn rows(report: &ProvisioningReport) -> Vec<Vec<String>> {
    let standard = [
        ("result", Some(report.result.as_str().to_owned())),
        ("reason", report.reason.clone()),
        ("agent", Some(report.agent.clone())),
        ("vm_id", Some(report.vm_id.clone())),
        ("timestamp", report.timestamp.clone()),
        ("pps_type", report.pps_type.map(|p| p.as_str().to_owned())),
        ("documentation_url", report.documentation_url.clone()),
    ];
    standard
        .into_iter()
        .filter_map(|(name, value)| value.map(|v| vec![name.to_owned(), v]))
        .chain(
            report
                .supporting_data
                .iter()
                .map(|(k, v)| vec![k.clone(), v.clone()]),
        )
        .collect()
}

/// The sentence that says a report was shortened, and by how much.
pub fn shortened_note(original: usize) -> String {
    format!(
        "shortened: the full report was {original} UTF-16 code units, more than the {} the host \
         receives whole; the reason and supporting data were cut, each ending in \"...\", and \
         shortened={original} marks it",
        kvp_core::limits::SAFE_VALUE_UTF16_UNITS
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_and_json_hold_every_field() {
        let report = ProvisioningReport::error("A/1", "id", "boom")
            .with_timestamp("T")
            .with_supporting("interface", "eth0")
            .with_supporting("interface", "eth1");
        let rows = rows(&report);
        let names: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
        assert_eq!(
            names,
            [
                "result",
                "reason",
                "agent",
                "vm_id",
                "timestamp",
                "documentation_url",
                "interface",
                "interface"
            ]
        );
        let value = json(&report);
        assert_eq!(value["supporting_data"][1]["value"], "eth1");
        assert_eq!(value["pps_type"], Value::Null);
        assert_eq!(value["shortened"], Value::Null);
    }
}
