//! `PROVISIONING_REPORT`: the one record of pool 1 the Azure host parses.
//!
//! Its value is one `|`-delimited CSV row of `name=value` fields. Two
//! dialects exist, and [`ProvisioningReport::encode`] writes each byte for
//! byte as its peer writes the same fields:
//!
//! | | [`Dialect::CloudInit`] | [`Dialect::AzureInit`] |
//! |---|---|---|
//! | quote | `'` | `"` |
//! | success | result, agent, timestamp, vm_id | result, agent, pps_type, vm_id, timestamp, supporting data |
//! | error | result, reason, agent, supporting data, vm_id, timestamp, documentation_url | result, reason, agent, supporting data, pps_type, vm_id, timestamp, documentation_url |
//! | after the row | trailing whitespace stripped (`str.rstrip()`) | nothing stripped |
//!
//! Fields a peer never writes go where they disturb its layout least:
//! in the cloud-init dialect `pps_type` goes just before `vm_id`, and a
//! success report's supporting data, reason and documentation URL go last,
//! in that order (in both dialects). The azure-init dialect always writes
//! `pps_type`, `None` when unset, as azure-init does.
//!
//! [`ProvisioningReport::decode`] reads either dialect, with quotes of
//! either kind. [`write_report`] shortens a report that the host would
//! truncate (see [`ProvisioningReport::encode_safe`]) and writes it with
//! `insert`, so exactly one `PROVISIONING_REPORT` record remains.

use kvp_core::limits::{utf16_len, PoolMode};
use kvp_core::KvpStore;

use crate::csv::{decode_row, encode_row, python_rstrip};
use crate::error::{DecodeError, Error, Result};
use crate::time::{Offset, Timestamp};

/// The key the host reads.
pub const PROVISIONING_REPORT_KEY: &str = "PROVISIONING_REPORT";

/// The documentation URL both peers put in error reports.
pub const DOCUMENTATION_URL: &str = "https://aka.ms/linuxprovisioningerror";

/// The supporting-data field that marks a shortened report; its value is
/// the length, in UTF-16 code units, of the report before it was shortened.
pub const SHORTENED_FIELD: &str = "shortened";

/// What ends every reason or supporting-data value that was cut.
pub const SHORTENED_SUFFIX: &str = "...";

/// The fields a report has by name; supporting data may not reuse them,
/// since a decoder would then find the field twice.
pub const STANDARD_FIELDS: [&str; 7] = [
    "result",
    "reason",
    "agent",
    "vm_id",
    "timestamp",
    "pps_type",
    "documentation_url",
];

/// Refuses a supporting-data name that would not decode back as written:
/// an empty name, one holding `=` (decoders split at the first), one that
/// starts with a quote character (`'` or `"`: each dialect writes the
/// other's quote bare at the start of a field, where a decoder that reads
/// both dialects takes it for an opening quote), a [`STANDARD_FIELDS`]
/// name, or [`SHORTENED_FIELD`], which only
/// [`ProvisioningReport::encode_safe`] writes.
pub fn check_supporting_name(name: &str) -> Result<()> {
    let reason = if name.is_empty() {
        "it is empty"
    } else if name.contains('=') {
        "it holds '=', where decoders split the field"
    } else if name.starts_with(['\'', '"']) {
        "it starts with a quote character, which decoders take for a quoted field"
    } else if STANDARD_FIELDS.contains(&name) {
        "it is a standard report field"
    } else if name == SHORTENED_FIELD {
        "it is reserved for the mark of a shortened report"
    } else {
        return Ok(());
    };
    Err(Error::InvalidField {
        field: "supporting-data name",
        reason,
    })
}

/// The outcome a report states.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReportResult {
    /// `result=success`.
    Success,
    /// `result=error`.
    Error,
}

impl ReportResult {
    /// The wire token.
    pub fn as_str(self) -> &'static str {
        match self {
            ReportResult::Success => "success",
            ReportResult::Error => "error",
        }
    }
}

/// The pre-provisioning type (`pps_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PpsType {
    /// `None`: not pre-provisioned.
    None,
    /// `PreprovisionedOSDisk`.
    PreprovisionedOsDisk,
    /// `Running`.
    Running,
    /// `Savable`.
    Savable,
    /// `Unknown`.
    Unknown,
}

impl PpsType {
    /// The wire token.
    pub fn as_str(self) -> &'static str {
        match self {
            PpsType::None => "None",
            PpsType::PreprovisionedOsDisk => "PreprovisionedOSDisk",
            PpsType::Running => "Running",
            PpsType::Savable => "Savable",
            PpsType::Unknown => "Unknown",
        }
    }

    /// The type a wire token names, exactly as spelled.
    pub fn from_token(token: &str) -> Option<PpsType> {
        Some(match token {
            "None" => PpsType::None,
            "PreprovisionedOSDisk" => PpsType::PreprovisionedOsDisk,
            "Running" => PpsType::Running,
            "Savable" => PpsType::Savable,
            "Unknown" => PpsType::Unknown,
            _ => return None,
        })
    }
}

/// Whose spelling of the report to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Dialect {
    /// cloud-init's `errors.encode_report` (23.2 and later).
    CloudInit,
    /// azure-init's `ProvisioningReport::encode` (libazureinit-kvp).
    AzureInit,
}

impl Dialect {
    /// The quote character.
    pub fn quote(self) -> char {
        match self {
            Dialect::CloudInit => '\'',
            Dialect::AzureInit => '"',
        }
    }

    /// `time` as this dialect's writer spells a report timestamp:
    /// cloud-init 24.4+ `datetime.now(timezone.utc).isoformat()`
    /// (`...T00:00:00.123456+00:00`), azure-init chrono `to_rfc3339()`
    /// (`...T00:00:00.123456789+00:00`).
    pub fn timestamp(self, time: Timestamp) -> String {
        match self {
            Dialect::CloudInit => time.to_python_isoformat(Offset::Colon),
            Dialect::AzureInit => time.to_rfc3339_auto(Offset::Colon),
        }
    }
}

/// A provisioning report, in either dialect.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ProvisioningReport {
    /// `result`.
    pub result: ReportResult,
    /// `agent`, such as `Cloud-Init/25.1` or `Azure-Init/0.1.1`.
    pub agent: String,
    /// `vm_id`, as written (not normalised).
    pub vm_id: String,
    /// `timestamp` as written; `None` means "now" in the dialect's spelling
    /// when the report is encoded.
    pub timestamp: Option<String>,
    /// `pps_type`; cloud-init does not write it.
    pub pps_type: Option<PpsType>,
    /// `reason`, present on error reports.
    pub reason: Option<String>,
    /// `documentation_url`.
    pub documentation_url: Option<String>,
    /// Every other field, in order, duplicates kept.
    pub supporting_data: Vec<(String, String)>,
}

impl ProvisioningReport {
    /// A success report with no timestamp yet (now, when encoded).
    pub fn success(agent: impl Into<String>, vm_id: impl Into<String>) -> ProvisioningReport {
        ProvisioningReport {
            result: ReportResult::Success,
            agent: agent.into(),
            vm_id: vm_id.into(),
            timestamp: None,
            pps_type: None,
            reason: None,
            documentation_url: None,
            supporting_data: Vec::new(),
        }
    }

    /// An error report with its reason and [`DOCUMENTATION_URL`], as both
    /// peers' error paths write it.
    pub fn error(
        agent: impl Into<String>,
        vm_id: impl Into<String>,
        reason: impl Into<String>,
    ) -> ProvisioningReport {
        ProvisioningReport {
            result: ReportResult::Error,
            reason: Some(reason.into()),
            documentation_url: Some(DOCUMENTATION_URL.to_owned()),
            ..ProvisioningReport::success(agent, vm_id)
        }
    }

    /// Sets the timestamp text.
    pub fn with_timestamp(mut self, timestamp: impl Into<String>) -> ProvisioningReport {
        self.timestamp = Some(timestamp.into());
        self
    }

    /// Sets `pps_type`.
    pub fn with_pps_type(mut self, pps_type: PpsType) -> ProvisioningReport {
        self.pps_type = Some(pps_type);
        self
    }

    /// Sets or clears the documentation URL.
    pub fn with_documentation_url(mut self, url: Option<String>) -> ProvisioningReport {
        self.documentation_url = url;
        self
    }

    /// Appends one supporting-data field.
    pub fn with_supporting(
        mut self,
        key: impl Into<String>,
        value: impl Into<String>,
    ) -> ProvisioningReport {
        self.supporting_data.push((key.into(), value.into()));
        self
    }

    /// Refuses a report that would not decode back as written: an empty
    /// agent or VM id, or a supporting-data name that
    /// [`check_supporting_name`] refuses. [`write_report`] checks first.
    pub fn check(&self) -> Result<()> {
        if self.agent.is_empty() {
            return Err(Error::InvalidField {
                field: "agent",
                reason: "it is empty",
            });
        }
        if self.vm_id.is_empty() {
            return Err(Error::InvalidField {
                field: "vm_id",
                reason: "it is empty",
            });
        }
        self.supporting_data
            .iter()
            .try_for_each(|(name, _)| check_supporting_name(name))
    }

    /// The length of the original report, when this one was shortened.
    pub fn shortened(&self) -> Option<usize> {
        self.supporting_data
            .iter()
            .rev()
            .find(|(k, _)| k == SHORTENED_FIELD)
            .and_then(|(_, v)| v.parse().ok())
    }

    /// The `name=value` fields in the dialect's order.
    pub fn fields(&self, dialect: Dialect) -> Vec<String> {
        let mut out = vec![format!("result={}", self.result.as_str())];
        let timestamp = self
            .timestamp
            .clone()
            .unwrap_or_else(|| dialect.timestamp(Timestamp::now()));
        let pps = match (dialect, self.pps_type) {
            (Dialect::AzureInit, pps) => Some(pps.unwrap_or(PpsType::None)),
            (Dialect::CloudInit, pps) => pps,
        };
        let pps = pps.map(|p| format!("pps_type={}", p.as_str()));
        let supporting = self.supporting_data.iter().map(|(k, v)| format!("{k}={v}"));
        let reason = self.reason.as_ref().map(|r| format!("reason={r}"));
        let url = self
            .documentation_url
            .as_ref()
            .map(|u| format!("documentation_url={u}"));
        let agent = format!("agent={}", self.agent);
        let vm_id = format!("vm_id={}", self.vm_id);
        let timestamp = format!("timestamp={timestamp}");
        match (self.result, dialect) {
            (ReportResult::Success, Dialect::CloudInit) => {
                out.extend([agent, timestamp]);
                out.extend(pps);
                out.push(vm_id);
                out.extend(supporting);
                out.extend(reason);
            }
            (ReportResult::Success, Dialect::AzureInit) => {
                out.push(agent);
                out.extend(pps);
                out.extend([vm_id, timestamp]);
                out.extend(supporting);
                out.extend(reason);
            }
            (ReportResult::Error, _) => {
                out.extend(reason);
                out.push(agent);
                out.extend(supporting);
                out.extend(pps);
                out.extend([vm_id, timestamp]);
            }
        }
        out.extend(url);
        out
    }

    /// The value exactly as the dialect's peer writes these fields, with no
    /// limit applied.
    pub fn encode(&self, dialect: Dialect) -> String {
        let row = encode_row(&self.fields(dialect), dialect.quote());
        match dialect {
            Dialect::CloudInit => python_rstrip(&row).to_owned(),
            Dialect::AzureInit => row,
        }
    }

    /// The value, shortened when needed so that the host receives it whole
    /// (at most 1022 UTF-16 code units and 2047 UTF-8 bytes).
    ///
    /// Only the reason and the supporting-data values are cut, each at a
    /// character boundary and before quoting, so no field or quote is ever
    /// broken: every value longer than a common cap keeps its start and
    /// ends with [`SHORTENED_SUFFIX`], the cap being the largest that fits.
    /// If even the shortest values do not fit, supporting-data fields are
    /// dropped from the last. A shortened report ends its supporting data
    /// with [`SHORTENED_FIELD`]`=<original length in UTF-16 code units>`.
    /// The timestamp is fixed first, so the result does not depend on the
    /// clock twice.
    pub fn encode_safe(&self, dialect: Dialect) -> Result<String> {
        let mut fixed = self.clone();
        if fixed.timestamp.is_none() {
            fixed.timestamp = Some(dialect.timestamp(Timestamp::now()));
        }
        let full = fixed.encode(dialect);
        if fits(&full) {
            return Ok(full);
        }
        let original = utf16_len(&full);
        let longest = std::iter::once(fixed.reason.as_deref().unwrap_or(""))
            .chain(fixed.supporting_data.iter().map(|(_, v)| v.as_str()))
            .map(utf16_len)
            .max()
            .unwrap_or(0);
        for keep in (0..=fixed.supporting_data.len()).rev() {
            let mut candidate = fixed.clone();
            candidate.supporting_data.truncate(keep);
            let marked = |cap: usize| {
                let mut r = candidate.capped(cap);
                r.supporting_data
                    .push((SHORTENED_FIELD.to_owned(), original.to_string()));
                r.encode(dialect)
            };
            let floor = SHORTENED_SUFFIX.len();
            if !fits(&marked(floor)) {
                continue;
            }
            let (mut lo, mut hi) = (floor, longest.max(floor));
            while lo < hi {
                let mid = lo + (hi - lo).div_ceil(2);
                if fits(&marked(mid)) {
                    lo = mid;
                } else {
                    hi = mid - 1;
                }
            }
            return Ok(marked(lo));
        }
        let mut bare = fixed.capped(0);
        bare.supporting_data.clear();
        Err(Error::ReportTooLarge {
            limit: kvp_core::limits::SAFE_VALUE_UTF16_UNITS,
            actual: utf16_len(&bare.encode(dialect)),
        })
    }

    fn capped(&self, cap: usize) -> ProvisioningReport {
        let mut out = self.clone();
        out.reason = out.reason.map(|r| cut(&r, cap));
        for (_, v) in &mut out.supporting_data {
            *v = cut(v, cap);
        }
        out
    }

    /// Decodes a value of either dialect (quotes `'` or `"`).
    ///
    /// `result`, `agent`, `vm_id` and `timestamp` are required, and
    /// `reason` on errors; a standard field twice, an unknown `result` or
    /// `pps_type`, a field without `=` or broken quoting is
    /// [`Reason::Malformed`](crate::Reason::Malformed). Values are kept as
    /// written.
    pub fn decode(value: &str) -> Result<ProvisioningReport, DecodeError> {
        let fields = decode_row(value, &['\'', '"']).map_err(|e| {
            DecodeError::malformed(format!(
                "{e}{}",
                if utf16_len(value) >= 1023 {
                    " (cloud-init cuts reports at 1023 characters, even inside quotes)"
                } else {
                    ""
                }
            ))
        })?;
        let mut result = None;
        let mut report = ProvisioningReport::success("", "");
        let (mut agent, mut vm_id, mut timestamp) = (None, None, None);
        for field in fields {
            let (name, val) = field
                .split_once('=')
                .ok_or_else(|| DecodeError::malformed(format!("field {field:?} has no '='")))?;
            let val = val.to_owned();
            let duplicate = match name {
                "result" => result
                    .replace(match val.as_str() {
                        "success" => ReportResult::Success,
                        "error" => ReportResult::Error,
                        _ => return Err(DecodeError::malformed(format!("unknown result {val:?}"))),
                    })
                    .is_some(),
                "agent" => agent.replace(val).is_some(),
                "vm_id" => vm_id.replace(val).is_some(),
                "timestamp" => timestamp.replace(val).is_some(),
                "reason" => report.reason.replace(val).is_some(),
                "documentation_url" => report.documentation_url.replace(val).is_some(),
                "pps_type" => {
                    let pps = PpsType::from_token(&val).ok_or_else(|| {
                        DecodeError::malformed(format!("unknown pps_type {val:?}"))
                    })?;
                    report.pps_type.replace(pps).is_some()
                }
                _ => {
                    report.supporting_data.push((name.to_owned(), val));
                    false
                }
            };
            if duplicate {
                return Err(DecodeError::malformed(format!(
                    "field {name:?} appears twice"
                )));
            }
        }
        let missing = |what: &str| DecodeError::malformed(format!("no {what} field"));
        report.result = result.ok_or_else(|| missing("result"))?;
        report.agent = agent.ok_or_else(|| missing("agent"))?;
        report.vm_id = vm_id.ok_or_else(|| missing("vm_id"))?;
        report.timestamp = Some(timestamp.ok_or_else(|| missing("timestamp"))?);
        if report.result == ReportResult::Error && report.reason.is_none() {
            return Err(missing("reason"));
        }
        Ok(report)
    }
}

fn fits(value: &str) -> bool {
    PoolMode::Safe.check_value(value).is_ok()
}

/// `text` cut to at most `cap` UTF-16 code units, ending with
/// [`SHORTENED_SUFFIX`] when cut.
fn cut(text: &str, cap: usize) -> String {
    if utf16_len(text) <= cap {
        return text.to_owned();
    }
    let room = cap.saturating_sub(SHORTENED_SUFFIX.len());
    let mut used = 0;
    let mut out: String = text
        .chars()
        .take_while(|c| {
            used += c.len_utf16();
            used <= room
        })
        .collect();
    out.push_str(SHORTENED_SUFFIX);
    out
}

/// Writes `report` as the pool's only `PROVISIONING_REPORT` record
/// (`insert`), shortened as [`ProvisioningReport::encode_safe`] does,
/// after [`ProvisioningReport::check`]. Returns the value written.
pub fn write_report<S: KvpStore + ?Sized>(
    store: &S,
    report: &ProvisioningReport,
    dialect: Dialect,
) -> Result<String> {
    report.check()?;
    let value = report.encode_safe(dialect)?;
    store.insert(PROVISIONING_REPORT_KEY, &value)?;
    Ok(value)
}

/// The pool's report (its last `PROVISIONING_REPORT` record, where
/// cloud-init may have appended several), or `None` when there is none.
pub fn read_report<S: KvpStore + ?Sized>(store: &S) -> Result<Option<ProvisioningReport>> {
    match store.read(PROVISIONING_REPORT_KEY)? {
        None => Ok(None),
        Some(value) => ProvisioningReport::decode(&value)
            .map(Some)
            .map_err(Error::Report),
    }
}

#[cfg(test)]
#[path = "report_tests.rs"]
mod tests;
