//! `report success`, `report failure` and `report show`: the CLI face of
//! kvp-report's `PROVISIONING_REPORT` model. Encoding, shortening and
//! decoding are kvp-report's; this module only gathers fields and prints.

use kvp_core::KvpStore;
use kvp_report::{
    write_report, Entry, ProvisioningReport, ReadOptions, ReportResult, PROVISIONING_REPORT_KEY,
};
use serde_json::json;

use super::machine::vm_id_for_report;
use super::{require_dir, Context};
use crate::escape;
use crate::failure::{Failure, Status};
use crate::output::{self, Width, FIELD, WHOLE_VALUE};
use crate::report_args::{dialect_name, ReportFields};
use crate::report_view;

/// Writes a report with `insert`, so exactly one `PROVISIONING_REPORT`
/// remains, and says when it had to be shortened.
pub fn write(
    cx: &mut Context<'_>,
    result: ReportResult,
    reason: Option<&str>,
    fields: &ReportFields,
) -> Result<Status, Failure> {
    let vm_id = match &fields.vm_id {
        Some(id) => id.clone(),
        None => vm_id_for_report(&fields.sys_root)?,
    };
    let mut report = match result {
        ReportResult::Error => {
            ProvisioningReport::error(&fields.agent, vm_id, reason.unwrap_or_default())
        }
        _ => ProvisioningReport::success(&fields.agent, vm_id),
    };
    if result == ReportResult::Success {
        report.reason = reason.map(str::to_owned);
    }
    if let Some(pps) = fields.pps_type {
        report = report.with_pps_type(pps);
    }
    if let Some(url) = &fields.documentation_url {
        report = report.with_documentation_url(Some(url.clone()).filter(|u| !u.is_empty()));
    }
    for (name, value) in &fields.extra {
        report = report.with_supporting(name, value);
    }
    let value = write_report(&cx.store, &report, fields.dialect)?;
    // The value written says itself whether it was shortened.
    let shortened = ProvisioningReport::decode(&value)
        .ok()
        .and_then(|r| r.shortened());
    let dialect = dialect_name(fields.dialect);
    let path = cx.store.path();
    if cx.json {
        let out = json!({
            "path": path,
            "key": PROVISIONING_REPORT_KEY,
            "dialect": dialect,
            "value": value,
            "shortened": shortened,
        });
        output::json(cx.out, &out)?;
        return Ok(Status::Success);
    }
    writeln!(
        cx.out,
        "wrote {PROVISIONING_REPORT_KEY} ({dialect} dialect) to {}:",
        path.display()
    )?;
    writeln!(cx.out, "{}", escape::escape(value.as_bytes()))?;
    if let Some(original) = shortened {
        writeln!(cx.out, "{}", report_view::shortened_note(original))?;
    }
    Ok(Status::Success)
}

/// Decodes the pool's current report (its last record, as
/// [`kvp_report::read_report`] reads it) and shows every field.
pub fn show(cx: &mut Context<'_>) -> Result<Status, Failure> {
    require_dir(&cx.store)?;
    let mut reports: Vec<_> = cx
        .store
        .raw_records()?
        .into_iter()
        .filter(|r| r.key == PROVISIONING_REPORT_KEY.as_bytes())
        .collect();
    let count = reports.len();
    let path = cx.store.path().to_path_buf();
    let Some(last) = reports.pop() else {
        if cx.json {
            let out = json!({
                "path": path, "records": 0, "report": null, "value": null, "error": null,
            });
            output::json(cx.out, &out)?;
        }
        return Ok(Status::Negative(Some(format!(
            "no {PROVISIONING_REPORT_KEY} in {}",
            path.display()
        ))));
    };
    let value = String::from_utf8_lossy(&last.value).into_owned();
    let raw_value = last.value.clone();
    // The one decoder, so that a value that is not UTF-8 or not a report
    // is judged exactly as `kvp events` and the other faces judge it.
    let decoded = kvp_report::decode(&[last], &ReadOptions::default());
    let (report, error) = match decoded.into_iter().next() {
        Some(Entry::Report { report, .. }) => (Some(report), None),
        Some(Entry::Raw(raw)) => (None, raw.error),
        _ => (None, None),
    };
    if cx.json {
        let out = json!({
            "path": path,
            "records": count,
            "report": report.as_ref().map(report_view::json),
            "value": value,
            "error": error.as_ref().map(|e| json!({"reason": e.reason.as_str(), "detail": e.detail})),
        });
        output::json(cx.out, &out)?;
    }
    let Some(report) = report else {
        if !cx.json {
            writeln!(cx.out, "value  {}", escape::escape(&raw_value))?;
        }
        let why = error.map_or_else(|| "it is not a report".to_owned(), |e| e.to_string());
        return Ok(Status::Negative(Some(format!(
            "{PROVISIONING_REPORT_KEY} in {} does not decode: {}",
            path.display(),
            escape::for_message(&why)
        ))));
    };
    if !cx.json {
        output::table(
            cx.out,
            &[FIELD, WHOLE_VALUE],
            &report_view::rows(&report),
            Width::Whole,
        )?;
        if let Some(original) = report.shortened() {
            writeln!(cx.out, "{}", report_view::shortened_note(original))?;
        }
        if count > 1 {
            writeln!(
                cx.out,
                "{count} {PROVISIONING_REPORT_KEY} records: the last is shown (cloud-init appends \
                 one per report; kvp report writes exactly one)"
            )?;
        }
    }
    Ok(Status::Success)
}
