//! `check`, the fsck: errors one by one, repeated notes grouped, exit 1 on
//! errors (with `--strict`, on any finding).

use std::collections::HashSet;
use std::path::Path;

use kvp_core::check::{self, CheckReport, Finding, RepairReport, Severity};
use kvp_core::Pool;
use serde_json::{json, Value};

use super::{require_dir, Context};
use crate::cli::{CheckArgs, Target};
use crate::escape;
use crate::failure::{Failure, Status};
use crate::output;

/// Inspects the pool as the pool it is, repairs on request, prints the
/// findings and exits 1 while errors remain (any finding with `--strict`).
pub fn check(cx: &mut Context<'_>, args: &CheckArgs) -> Result<Status, Failure> {
    require_dir(&cx.store)?;
    let pool = checked_pool(cx.target);
    let mut report = check::inspect_as(&cx.store, pool)?;
    let mut repaired = None;
    if args.repair && report.repairable() > 0 {
        repaired = Some(check::repair(&cx.store)?);
        report = check::inspect_as(&cx.store, pool)?;
    }
    if cx.json {
        let value = check_json(cx.store.path(), pool, &report, repaired.as_ref());
        output::json(cx.out, &value)?;
    } else {
        print_check(cx, &report, repaired.as_ref(), args.verbose)?;
    }
    Ok(if report.passes(args.strict) {
        Status::Success
    } else {
        Status::Negative(None)
    })
}

/// Which pool the file is, for the one verdict that depends on it (a
/// record over the Safe limit is an error only in pool 1): `--pool`, or
/// for `--file` the pool its name says (`.kvp_pool_N`). Any other file is
/// checked as pool 1, where agents write and the host reads, which is the
/// strictest verdict.
fn checked_pool(target: &Target) -> Pool {
    match &target.file {
        None => target.pool,
        Some(path) => path
            .file_name()
            .and_then(Pool::from_file_name)
            .unwrap_or(Pool::Guest),
    }
}

fn print_check(
    cx: &mut Context<'_>,
    report: &CheckReport,
    repaired: Option<&RepairReport>,
    verbose: bool,
) -> Result<(), Failure> {
    let path = cx.store.path().display();
    writeln!(
        cx.out,
        "{path}: {}, {} bytes",
        counted(report.records, "record"),
        report.size
    )?;
    if let Some(done) = repaired {
        writeln!(
            cx.out,
            "repaired: cut {} bytes of partial tail, zeroed {} fields after their NUL",
            done.tail_bytes_cut, done.fields_zeroed
        )?;
    }
    let (errors, notes): (Vec<&Finding>, Vec<&Finding>) =
        report.findings.iter().partition(|f| f.is_error());
    for finding in errors {
        writeln!(cx.out, "{}", finding_line(finding))?;
    }
    let mut grouped = false;
    for group in by_code(&notes) {
        match group.as_slice() {
            [one] => writeln!(cx.out, "{}", finding_line(one))?,
            many if verbose => {
                for finding in many {
                    writeln!(cx.out, "{}", finding_line(finding))?;
                }
            }
            many => {
                grouped = true;
                writeln!(cx.out, "{}", group_line(many))?;
            }
        }
    }
    if report.is_clean() {
        writeln!(cx.out, "no findings")?;
        return Ok(());
    }
    let hint = if grouped {
        "; --verbose lists every note"
    } else {
        ""
    };
    writeln!(
        cx.out,
        "{}, {}, {} repairable with --repair{hint}",
        counted(report.errors() as u64, "error"),
        counted(report.notes() as u64, "note"),
        report.repairable()
    )?;
    Ok(())
}

/// `1 record`, `2 records`.
fn counted(n: u64, noun: &str) -> String {
    let plural = if n == 1 { "" } else { "s" };
    format!("{n} {noun}{plural}")
}

/// `error: record 3: no-nul: the value field has no NUL terminator`.
fn finding_line(finding: &Finding) -> String {
    let place = finding
        .record()
        .map_or_else(|| "file".to_owned(), |r| format!("record {r}"));
    let key = match finding {
        Finding::DuplicateKey { key, .. } => format!(" \"{}\"", escape::escape(key)),
        _ => String::new(),
    };
    format!(
        "{}: {place}: {}: {finding}{key}{}",
        finding.severity(),
        finding.code(),
        repair_tag(finding)
    )
}

/// `note: 354 duplicate-key notes on 12 keys`, for findings of one code.
fn group_line(findings: &[&Finding]) -> String {
    let Some(first) = findings.first() else {
        return String::new();
    };
    let keys: HashSet<&[u8]> = findings
        .iter()
        .filter_map(|f| match f {
            Finding::DuplicateKey { key, .. } => Some(key.as_slice()),
            _ => None,
        })
        .collect();
    let records: HashSet<u64> = findings.iter().filter_map(|f| f.record()).collect();
    let on = if !keys.is_empty() {
        format!(" on {}", counted(keys.len() as u64, "key"))
    } else if !records.is_empty() {
        format!(" on {}", counted(records.len() as u64, "record"))
    } else {
        String::new()
    };
    format!(
        "{}: {} {} notes{on}{}",
        first.severity(),
        findings.len(),
        first.code(),
        repair_tag(first)
    )
}

fn repair_tag(finding: &Finding) -> &'static str {
    if finding.is_repairable() {
        " [--repair fixes]"
    } else {
        ""
    }
}

/// The findings split by code, each group in file order, the groups in the
/// order their first finding comes.
fn by_code<'a>(findings: &[&'a Finding]) -> Vec<Vec<&'a Finding>> {
    let mut groups: Vec<Vec<&'a Finding>> = Vec::new();
    for &finding in findings {
        match groups
            .iter_mut()
            .find(|g| g.first().is_some_and(|f| f.code() == finding.code()))
        {
            Some(group) => group.push(finding),
            None => groups.push(vec![finding]),
        }
    }
    groups
}

fn check_json(
    path: &Path,
    pool: Pool,
    report: &CheckReport,
    repaired: Option<&RepairReport>,
) -> Value {
    let findings: Vec<Value> = report.findings.iter().map(finding_json).collect();
    json!({
        "path": path,
        "pool": pool.name(),
        "size": report.size,
        "records": report.records,
        "errors": report.count(Severity::Error),
        "notes": report.count(Severity::Note),
        "findings": findings,
        "repaired": repaired.map(|r| json!({
            "tail_bytes_cut": r.tail_bytes_cut,
            "fields_zeroed": r.fields_zeroed,
        })),
    })
}

fn finding_json(finding: &Finding) -> Value {
    let mut value = json!({
        "code": finding.code(),
        "severity": finding.severity().as_str(),
        "record": finding.record(),
        "field": finding.field().map(|f| f.to_string()),
        "repairable": finding.is_repairable(),
        "message": finding.to_string(),
    });
    let details = match finding {
        Finding::PartialTail { bytes } => json!({ "bytes": bytes }),
        Finding::GarbageAfterNul { bytes, .. } => json!({ "bytes": bytes }),
        Finding::DuplicateKey { first, key, .. } => {
            json!({ "first": first, "key": escape::escape(key) })
        }
        Finding::UnsafeCharInKey { code_point, .. } => json!({ "code_point": code_point }),
        Finding::UnsafeFile { reason } => json!({ "reason": reason.to_string() }),
        Finding::ReadableByOthers { mode } => json!({ "mode": format!("{mode:04o}") }),
        Finding::OverSafeLimit {
            limit,
            actual,
            unit,
            ..
        } => json!({ "limit": limit, "actual": actual, "unit": unit.as_str() }),
        _ => json!({}),
    };
    if let (Some(value), Value::Object(details)) = (value.as_object_mut(), details) {
        value.extend(details);
    }
    value
}
