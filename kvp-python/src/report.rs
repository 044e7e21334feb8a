//! The reporting half of `hyperv_kvp._native`: provisioning reports, the VM
//! id, event writers and the typed reader, each one call into kvp-report.
//!
//! Every format lives in kvp-report; this module only converts. Values
//! cross as plain tuples and dicts (`hyperv_kvp.reporting` builds its typed
//! objects from them and validates its arguments first), pool operations
//! go through [`NativePool::run_with`] with the GIL released, and errors
//! through the kvp-report table in `errors.rs`.

use std::path::PathBuf;
use std::time::Duration;

use kvp_core::{KvpStore, RawRecord};
use kvp_report::cloud_init::CloudInitWriter;
use kvp_report::diag_v1::{self, DiagWriter};
use kvp_report::report::{self, ProvisioningReport};
use kvp_report::time::Precision;
use kvp_report::vm_id::{self, Generation, Machine};
use kvp_report::{
    CloudInitVariant, Dialect, Entry, Event, EventEncoder, Format, Kind, Outcome, Payload, PpsType,
    ReadOptions, ReportResult, Timestamp,
};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use crate::errors::{decode_to_py, report_to_py};
use crate::native_pool::NativePool;

/// A report as it crosses: `(result, agent, vm_id, timestamp, pps_type,
/// reason, documentation_url, supporting_data)`, tokens as the wire spells
/// them (`"success"`, `"Savable"`).
type ReportFields = (
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Vec<(String, String)>,
);

fn unknown(what: &str, token: &str, expected: &str) -> PyErr {
    PyValueError::new_err(format!("unknown {what} {token:?}: expected {expected}"))
}

fn report_of(fields: ReportFields) -> PyResult<ProvisioningReport> {
    let (result, agent, vm_id, timestamp, pps_type, reason, documentation_url, supporting_data) =
        fields;
    let result = match result.as_str() {
        "success" => ReportResult::Success,
        "error" => ReportResult::Error,
        other => return Err(unknown("result", other, "success or error")),
    };
    let pps_type = pps_type
        .map(|token| {
            PpsType::from_token(&token).ok_or_else(|| {
                unknown(
                    "pps_type",
                    &token,
                    "None, PreprovisionedOSDisk, Running, Savable or Unknown",
                )
            })
        })
        .transpose()?;
    Ok(ProvisioningReport {
        result,
        agent,
        vm_id,
        timestamp,
        pps_type,
        reason,
        documentation_url,
        supporting_data,
    })
}

fn fields_of(report: ProvisioningReport) -> ReportFields {
    (
        report.result.as_str().to_owned(),
        report.agent,
        report.vm_id,
        report.timestamp,
        report.pps_type.map(|p| p.as_str().to_owned()),
        report.reason,
        report.documentation_url,
        report.supporting_data,
    )
}

fn dialect_of(name: &str) -> PyResult<Dialect> {
    match name {
        "cloud-init" => Ok(Dialect::CloudInit),
        "azure-init" => Ok(Dialect::AzureInit),
        other => Err(unknown("dialect", other, "cloud-init or azure-init")),
    }
}

/// The report's value in `dialect`: exactly as that peer writes it, or,
/// with `safe`, shortened to what the host receives whole.
#[pyfunction]
fn report_encode(
    py: Python<'_>,
    report: ReportFields,
    dialect: String,
    safe: bool,
) -> PyResult<String> {
    let report = report_of(report)?;
    let dialect = dialect_of(&dialect)?;
    if safe {
        report.encode_safe(dialect).map_err(|e| report_to_py(py, e))
    } else {
        Ok(report.encode(dialect))
    }
}

/// The length of the original report when this one was shortened (its
/// last `shortened` supporting field), or None.
#[pyfunction]
fn report_shortened(report: ReportFields) -> PyResult<Option<usize>> {
    Ok(report_of(report)?.shortened())
}

/// Any value meant for `PROVISIONING_REPORT`, shortened to what the host
/// receives whole and never inside a quoted field
/// (kvp_report::shorten_for_host).
#[pyfunction]
fn shorten_for_host(value: String) -> String {
    kvp_report::shorten_for_host(&value)
}

/// Decodes a `PROVISIONING_REPORT` value of either dialect.
#[pyfunction]
fn report_decode(py: Python<'_>, value: String) -> PyResult<ReportFields> {
    ProvisioningReport::decode(&value)
        .map(fields_of)
        .map_err(|e| decode_to_py(py, &e))
}

/// Writes the pool's only `PROVISIONING_REPORT` (insert), shortened when
/// needed; returns the value written.
#[pyfunction]
fn report_write(
    py: Python<'_>,
    pool: &Bound<'_, NativePool>,
    report: ReportFields,
    dialect: String,
) -> PyResult<String> {
    let report = report_of(report)?;
    let dialect = dialect_of(&dialect)?;
    pool.get().run_with(
        py,
        |store| report::write_report(store, &report, dialect),
        report_to_py,
    )
}

/// The pool's report (its last `PROVISIONING_REPORT` record), or None.
#[pyfunction]
fn report_read(py: Python<'_>, pool: &Bound<'_, NativePool>) -> PyResult<Option<ReportFields>> {
    let found = pool.get().run_with(py, report::read_report, report_to_py)?;
    Ok(found.map(fields_of))
}

fn generation_of(number: u8) -> PyResult<Generation> {
    match number {
        1 => Ok(Generation::Gen1),
        2 => Ok(Generation::Gen2),
        other => Err(unknown("generation", &other.to_string(), "1 or 2")),
    }
}

/// The VM id of the machine under `root` (DMI product UUID, Gen1 swap).
#[pyfunction]
fn machine_vm_id(py: Python<'_>, root: PathBuf) -> PyResult<String> {
    py.detach(|| Machine::with_root(root).vm_id())
        .map_err(|e| report_to_py(py, e))
}

/// The product UUID under `root`, trimmed and lowercased, not swapped.
#[pyfunction]
fn machine_system_uuid(py: Python<'_>, root: PathBuf) -> PyResult<String> {
    py.detach(|| Machine::with_root(root).system_uuid())
        .map_err(|e| report_to_py(py, e))
}

/// 1 or 2: Gen2 when `sys/firmware/efi` or `dev/efi` exists under `root`.
#[pyfunction]
fn machine_generation(py: Python<'_>, root: PathBuf) -> u8 {
    match py.detach(|| Machine::with_root(root).generation()) {
        Generation::Gen1 => 1,
        Generation::Gen2 => 2,
    }
}

/// The DMI chassis asset tag under `root`, or None when there is none.
#[pyfunction]
fn machine_chassis_asset_tag(py: Python<'_>, root: PathBuf) -> PyResult<Option<String>> {
    py.detach(|| Machine::with_root(root).chassis_asset_tag())
        .map_err(|e| report_to_py(py, e))
}

/// Whether the chassis asset tag under `root` is Azure's.
#[pyfunction]
fn machine_is_azure(py: Python<'_>, root: PathBuf) -> bool {
    py.detach(|| Machine::with_root(root).is_azure())
}

/// The VM id of a product UUID read elsewhere, on a machine of
/// `generation` (1 or 2).
#[pyfunction]
fn vm_id_of(py: Python<'_>, system_uuid: String, generation: u8) -> PyResult<String> {
    vm_id::vm_id_of(&system_uuid, generation_of(generation)?).map_err(|e| report_to_py(py, e))
}

/// One event to write, as it crosses: `(kind, name, text, data,
/// event_type, result, duration_ns, timestamp, event_id, compressed)`,
/// where exactly one of `text` and `data` is set and `timestamp` is
/// `(unix_seconds, nanoseconds)`. A plain tuple, so that a str UTF-8
/// cannot encode raises UnicodeEncodeError as everywhere else.
type EventArgs = (
    String,
    String,
    Option<String>,
    Option<Vec<u8>>,
    Option<String>,
    Option<String>,
    Option<u64>,
    Option<(i64, u32)>,
    Option<String>,
    bool,
);

fn kind_of(token: &str) -> PyResult<Kind> {
    match token {
        "start" => Ok(Kind::Start),
        "finish" => Ok(Kind::Finish),
        "event" => Ok(Kind::Event),
        other => Err(unknown("kind", other, "start, finish or event")),
    }
}

fn event_of(args: EventArgs) -> PyResult<Event> {
    let (kind, name, text, data, event_type, result, duration_ns, timestamp, event_id, compressed) =
        args;
    let payload = match (text, data) {
        (Some(text), None) => Payload::Text(text),
        (None, Some(data)) => Payload::Bytes(data),
        _ => return Err(PyValueError::new_err("give either text or bytes")),
    };
    let mut event = Event::new(kind_of(&kind)?, name, payload);
    if let Some(event_type) = event_type {
        event = event.with_type(event_type);
    }
    if let Some(result) = result {
        event = event.with_result(Outcome::from_cloud_init(&result));
    }
    if let Some(ns) = duration_ns {
        event = event.with_duration(Duration::from_nanos(ns));
    }
    if let Some((secs, nanos)) = timestamp {
        let at = Timestamp::from_unix(secs, nanos)
            .ok_or_else(|| PyValueError::new_err("timestamp is outside the years 0000 to 9999"))?;
        event = event.with_timestamp(at);
    }
    if let Some(id) = event_id {
        event = event.with_event_id(id);
    }
    Ok(if compressed {
        event.compressed()
    } else {
        event
    })
}

enum Writer {
    Diag(DiagWriter),
    CloudInit(CloudInitWriter),
}

/// An event encoder of one format: `DIAG_V1` or a cloud-init variant.
#[pyclass(frozen, module = "hyperv_kvp._native")]
pub(crate) struct NativeEventWriter {
    writer: Writer,
    format: Format,
}

impl NativeEventWriter {
    fn encoder(&self) -> &(dyn EventEncoder + Sync) {
        match &self.writer {
            Writer::Diag(w) => w,
            Writer::CloudInit(w) => w,
        }
    }
}

#[pymethods]
impl NativeEventWriter {
    /// A `DIAG_V1` writer for `agent` on the VM `vm_id`, with timestamps of
    /// `precision` ("seconds", "millis", "micros" or "nanos").
    #[staticmethod]
    fn diag_v1(py: Python<'_>, agent: String, vm_id: String, precision: String) -> PyResult<Self> {
        let precision = match precision.as_str() {
            "seconds" => Precision::Seconds,
            "millis" => Precision::Millis,
            "micros" => Precision::Micros,
            "nanos" => Precision::Nanos,
            other => {
                return Err(unknown(
                    "precision",
                    other,
                    "seconds, millis, micros or nanos",
                ))
            }
        };
        let writer = DiagWriter::new(agent, vm_id)
            .map_err(|e| report_to_py(py, e))?
            .with_precision(precision);
        Ok(NativeEventWriter {
            writer: Writer::Diag(writer),
            format: Format::DiagV1,
        })
    }

    /// A cloud-init writer of `variant` ("22.4", "24.4" or "26.1") with
    /// `incarnation` in its keys and, for 26.1, `vm_id`. Checked at once:
    /// a 26.1 writer without a valid VM id is refused here.
    #[staticmethod]
    #[pyo3(signature = (variant, incarnation, vm_id))]
    fn cloud_init(
        py: Python<'_>,
        variant: String,
        incarnation: u64,
        vm_id: Option<String>,
    ) -> PyResult<Self> {
        let variant = match variant.as_str() {
            "22.4" => CloudInitVariant::V22_4,
            "24.4" => CloudInitVariant::V24_4,
            "26.1" => CloudInitVariant::V26_1,
            other => return Err(unknown("cloud-init variant", other, "22.4, 24.4 or 26.1")),
        };
        let mut writer = CloudInitWriter::new(variant, incarnation);
        writer.vm_id = vm_id;
        writer
            .encode(&Event::new(Kind::Event, "check", ""))
            .map_err(|e| report_to_py(py, e))?;
        Ok(NativeEventWriter {
            writer: Writer::CloudInit(writer),
            format: Format::CloudInit(variant),
        })
    }

    /// The format written: "diag-v1", "cloud-init-22.4", ...
    #[getter]
    fn format(&self) -> &'static str {
        self.format.as_str()
    }

    /// The `(key, value)` records of one event, without writing them.
    fn encode(&self, py: Python<'_>, event: EventArgs) -> PyResult<Vec<(String, String)>> {
        let event = event_of(event)?;
        py.detach(|| self.encoder().encode(&event))
            .map_err(|e| report_to_py(py, e))
    }

    /// Encodes one event and appends its records with one `append_many`,
    /// so they stay adjacent; an invalid event writes nothing. Returns the
    /// keys written.
    fn write(
        &self,
        py: Python<'_>,
        pool: &Bound<'_, NativePool>,
        event: EventArgs,
    ) -> PyResult<Vec<String>> {
        let event = event_of(event)?;
        let encoder = self.encoder();
        pool.get().run_with(
            py,
            |store| kvp_report::write_event(store, encoder, &event),
            report_to_py,
        )
    }
}

fn options(partial: bool, max_payload: usize, decompress: bool) -> ReadOptions {
    ReadOptions::new()
        .partial(partial)
        .max_payload(max_payload)
        .decompress(decompress)
}

fn event_dict<'py>(py: Python<'py>, position: usize, e: Event) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("entry", "event")?;
    d.set_item("position", position)?;
    d.set_item("format", e.format.as_str())?;
    d.set_item("agent", e.agent)?;
    d.set_item("kind", e.kind.as_str())?;
    d.set_item("event_type", e.event_type)?;
    d.set_item("name", e.name)?;
    d.set_item("ts", e.ts)?;
    d.set_item(
        "timestamp",
        e.timestamp.map(|t| (t.unix_seconds(), t.subsec_nanos())),
    )?;
    d.set_item("result", e.result.as_ref().map(Outcome::cloud_init_token))?;
    d.set_item("duration_ns", e.duration.map(|t| t.as_nanos()))?;
    d.set_item("duration_text", e.duration_text)?;
    match e.payload {
        Payload::Text(text) => d.set_item("payload", text)?,
        Payload::Bytes(bytes) => d.set_item("payload", PyBytes::new(py, &bytes))?,
    }
    d.set_item("encoding", e.encoding.as_str())?;
    d.set_item("vm_id", e.vm_id)?;
    d.set_item("event_id", e.event_id)?;
    d.set_item("incarnation", e.incarnation)?;
    d.set_item("chunks", e.chunks.count)?;
    d.set_item("missing", e.chunks.missing)?;
    Ok(d)
}

fn entries_to_py(py: Python<'_>, entries: Vec<(usize, Entry)>) -> PyResult<Vec<Bound<'_, PyDict>>> {
    let mut out = Vec::with_capacity(entries.len());
    for (position, entry) in entries {
        let d = match entry {
            Entry::Event(e) => event_dict(py, position, e)?,
            Entry::Report { position, report } => {
                let d = PyDict::new(py);
                d.set_item("entry", "report")?;
                d.set_item("position", position)?;
                d.set_item("report", fields_of(report))?;
                d
            }
            Entry::Raw(raw) => {
                let d = PyDict::new(py);
                d.set_item("entry", "raw")?;
                d.set_item("position", raw.position)?;
                d.set_item("key", PyBytes::new(py, &raw.record.key))?;
                d.set_item("value", PyBytes::new(py, &raw.record.value))?;
                d.set_item("reason", raw.error.as_ref().map(|e| e.reason.as_str()))?;
                d.set_item("detail", raw.error.map(|e| e.detail))?;
                d
            }
            // An entry kind added to kvp-report later: the Python layer
            // skips what it does not know.
            _ => {
                let d = PyDict::new(py);
                d.set_item("entry", "unknown")?;
                d
            }
        };
        out.push(d);
    }
    Ok(out)
}

/// Decodes records (key and value bytes, in pool order) into entry dicts,
/// every format at once, each with its position (an event's: that of its
/// first record); a record that does not decode comes back raw.
#[pyfunction]
fn decode_records(
    py: Python<'_>,
    records: Vec<(Vec<u8>, Vec<u8>)>,
    partial: bool,
    max_payload: usize,
    decompress: bool,
) -> PyResult<Vec<Bound<'_, PyDict>>> {
    let records: Vec<RawRecord> = records
        .into_iter()
        .map(|(key, value)| RawRecord { key, value })
        .collect();
    let opts = options(partial, max_payload, decompress);
    let entries = py.detach(|| kvp_report::reader::decode_indexed(&records, &opts));
    entries_to_py(py, entries)
}

/// Reads the pool once, under its lock, and decodes the snapshot as
/// [`decode_records`] does.
#[pyfunction]
fn read_entries<'py>(
    py: Python<'py>,
    pool: &Bound<'py, NativePool>,
    partial: bool,
    max_payload: usize,
    decompress: bool,
) -> PyResult<Vec<Bound<'py, PyDict>>> {
    let records = pool
        .get()
        .run_with(py, |store| store.raw_records(), crate::errors::to_py)?;
    let opts = options(partial, max_payload, decompress);
    let entries = py.detach(|| kvp_report::reader::decode_indexed(&records, &opts));
    entries_to_py(py, entries)
}

/// Adds the reporting functions, class and constants to the module.
pub(crate) fn register(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<NativeEventWriter>()?;
    module.add_function(wrap_pyfunction!(report_encode, module)?)?;
    module.add_function(wrap_pyfunction!(report_decode, module)?)?;
    module.add_function(wrap_pyfunction!(report_shortened, module)?)?;
    module.add_function(wrap_pyfunction!(shorten_for_host, module)?)?;
    module.add_function(wrap_pyfunction!(report_write, module)?)?;
    module.add_function(wrap_pyfunction!(report_read, module)?)?;
    module.add_function(wrap_pyfunction!(machine_vm_id, module)?)?;
    module.add_function(wrap_pyfunction!(machine_system_uuid, module)?)?;
    module.add_function(wrap_pyfunction!(machine_generation, module)?)?;
    module.add_function(wrap_pyfunction!(machine_chassis_asset_tag, module)?)?;
    module.add_function(wrap_pyfunction!(machine_is_azure, module)?)?;
    module.add_function(wrap_pyfunction!(vm_id_of, module)?)?;
    module.add_function(wrap_pyfunction!(decode_records, module)?)?;
    module.add_function(wrap_pyfunction!(read_entries, module)?)?;
    module.add("PROVISIONING_REPORT_KEY", report::PROVISIONING_REPORT_KEY)?;
    module.add("DOCUMENTATION_URL", report::DOCUMENTATION_URL)?;
    module.add("SHORTENED_FIELD", report::SHORTENED_FIELD)?;
    module.add("SHORTENED_SUFFIX", report::SHORTENED_SUFFIX)?;
    module.add("AZURE_CHASSIS_ASSET_TAG", vm_id::AZURE_CHASSIS_ASSET_TAG)?;
    module.add("DIAG_MAX_AGENT_BYTES", diag_v1::MAX_AGENT_BYTES)?;
    module.add("DIAG_MAX_NAME_BYTES", diag_v1::MAX_NAME_BYTES)?;
    module.add("DEFAULT_MAX_PAYLOAD", ReadOptions::default().max_payload)?;
    Ok(())
}
