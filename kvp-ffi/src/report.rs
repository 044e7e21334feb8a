//! The provisioning report (`kvp_report`, `kvp_write_report`) and the VM
//! id (`kvp_vm_id`, `kvp_is_azure`): argument checks around kvp-report,
//! which holds every format rule.

use std::ffi::c_char;

// The C struct below is called `kvp_report` too; the crate goes by another
// name here.
use ::kvp_report as reporting;
use reporting::report::DOCUMENTATION_URL;
use reporting::{Dialect, Machine, PpsType, ProvisioningReport, ReportResult, Timestamp};

use crate::boundary::{
    arg, array, choice, guard, optional_path, optional_text, set_optional, text, Out, SizedBuf,
};
use crate::error::Failure;
use crate::status::kvp_status;
use crate::store::{handle, kvp_entry, kvp_store};

/// `kvp_report.result`: `result=success`. The default.
pub const KVP_REPORT_SUCCESS: u32 = 0;
/// `kvp_report.result`: `result=error`; the report then needs a reason.
pub const KVP_REPORT_ERROR: u32 = 1;

/// `kvp_write_report` dialect: as cloud-init's `errors.encode_report`
/// writes it (quote `'`, its field order, no `pps_type` unless set).
pub const KVP_DIALECT_CLOUD_INIT: u32 = 0;
/// `kvp_write_report` dialect: as azure-init's libazureinit-kvp writes it
/// (quote `"`, its field order, `pps_type=None` when unset).
pub const KVP_DIALECT_AZURE_INIT: u32 = 1;

/// `kvp_report.pps_type`: no `pps_type` field (the cloud-init dialect
/// writes none; the azure-init dialect writes `None`). The default.
pub const KVP_PPS_TYPE_UNSET: u32 = 0;
/// `kvp_report.pps_type`: `None`, not pre-provisioned.
pub const KVP_PPS_TYPE_NONE: u32 = 1;
/// `kvp_report.pps_type`: `PreprovisionedOSDisk`.
pub const KVP_PPS_TYPE_PREPROVISIONED_OS_DISK: u32 = 2;
/// `kvp_report.pps_type`: `Running`.
pub const KVP_PPS_TYPE_RUNNING: u32 = 3;
/// `kvp_report.pps_type`: `Savable`.
pub const KVP_PPS_TYPE_SAVABLE: u32 = 4;
/// `kvp_report.pps_type`: `Unknown`.
pub const KVP_PPS_TYPE_UNKNOWN: u32 = 5;

/// Bytes of a buffer that always holds a UUID (a VM id, an event id) and
/// its NUL: 36 characters and one.
pub const KVP_UUID_SIZE: usize = 37;

/// A provisioning report to write with `kvp_write_report`: the fields of
/// the one `PROVISIONING_REPORT` record the Azure host parses.
///
/// Fill it with `kvp_report_init`, then set the fields you need. Every
/// string is NUL-terminated UTF-8, borrowed for the call only. The library
/// only reads the struct. Its layout is fixed for ABI version 0 (the SONAME
/// libkvp.so.0).
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct kvp_report {
    /// `KVP_REPORT_SUCCESS` (default) or `KVP_REPORT_ERROR`; anything else
    /// fails with `KVP_ERR_UNKNOWN_NAME`.
    pub result: u32,
    /// The agent, such as `"Azure-Init/0.1.1"` or `"Cloud-Init/25.1"`.
    /// Required.
    pub agent: *const c_char,
    /// The VM id as it is to be written; NULL reads it from the machine as
    /// `kvp_vm_id(NULL, ...)` does, and fails as it does.
    pub vm_id: *const c_char,
    /// `KVP_PPS_TYPE_*`; default `KVP_PPS_TYPE_UNSET`. Anything else fails
    /// with `KVP_ERR_UNKNOWN_NAME`.
    pub pps_type: u32,
    /// Why provisioning failed: required for `KVP_REPORT_ERROR`; on a
    /// success report, optional (NULL for none) and written last.
    pub reason: *const c_char,
    /// NULL for the default: `https://aka.ms/linuxprovisioningerror` on an
    /// error report, none on a success report, as both peers do. `""` for
    /// none; any other text is written as given.
    pub documentation_url: *const c_char,
    /// The timestamp text as it is to be written; NULL for now, in the
    /// dialect's spelling (cloud-init `2026-06-17T00:00:00.123456+00:00`,
    /// azure-init chrono's RFC 3339 with 0, 3, 6 or 9 fraction digits).
    pub timestamp: *const c_char,
    /// Supporting data: `supporting_count` `name=value` fields, written in order
    /// (duplicates kept); NULL when `supporting_count` is 0.
    pub supporting_data: *const kvp_entry,
    /// How many entries `supporting_data` holds.
    pub supporting_count: usize,
}

impl Default for kvp_report {
    fn default() -> kvp_report {
        kvp_report {
            result: KVP_REPORT_SUCCESS,
            agent: std::ptr::null(),
            vm_id: std::ptr::null(),
            pps_type: KVP_PPS_TYPE_UNSET,
            reason: std::ptr::null(),
            documentation_url: std::ptr::null(),
            timestamp: std::ptr::null(),
            supporting_data: std::ptr::null(),
            supporting_count: 0,
        }
    }
}

impl kvp_report {
    /// The report these fields describe, with its timestamp fixed, after
    /// checking every field; the VM id is read from the machine last, when
    /// it is not given.
    ///
    /// # Safety
    /// Every pointer field must be NULL or valid as its documentation says.
    unsafe fn checked(&self, dialect: Dialect) -> Result<ProvisioningReport, Failure> {
        let result = choice(
            self.result,
            "report result",
            &[
                (KVP_REPORT_SUCCESS, ReportResult::Success),
                (KVP_REPORT_ERROR, ReportResult::Error),
            ],
            "KVP_REPORT_SUCCESS (0) or KVP_REPORT_ERROR (1)",
        )?;
        let pps_type = choice(
            self.pps_type,
            "pps_type",
            &[
                (KVP_PPS_TYPE_UNSET, None),
                (KVP_PPS_TYPE_NONE, Some(PpsType::None)),
                (
                    KVP_PPS_TYPE_PREPROVISIONED_OS_DISK,
                    Some(PpsType::PreprovisionedOsDisk),
                ),
                (KVP_PPS_TYPE_RUNNING, Some(PpsType::Running)),
                (KVP_PPS_TYPE_SAVABLE, Some(PpsType::Savable)),
                (KVP_PPS_TYPE_UNKNOWN, Some(PpsType::Unknown)),
            ],
            "KVP_PPS_TYPE_UNSET (0) to KVP_PPS_TYPE_UNKNOWN (5)",
        )?;
        // SAFETY (this block): the contract above.
        let (agent, vm_id, reason, url, timestamp, entries) = unsafe {
            (
                text(self.agent, "agent")?,
                optional_text(self.vm_id, "vm_id")?,
                optional_text(self.reason, "reason")?,
                optional_text(self.documentation_url, "documentation_url")?,
                optional_text(self.timestamp, "timestamp")?,
                array(
                    self.supporting_data,
                    self.supporting_count,
                    "supporting_data",
                )?,
            )
        };
        if result == ReportResult::Error && reason.is_none() {
            return Err(Failure::null("reason (an error report needs one)"));
        }
        let supporting_data = entries
            .iter()
            .enumerate()
            .map(|(index, entry)| {
                // SAFETY: the entry's strings are NULL or NUL-terminated.
                unsafe { entry.pair() }
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .map_err(|failure| failure.context(format_args!("supporting_data[{index}]")))
            })
            .collect::<Result<Vec<_>, Failure>>()?;
        let documentation_url = match (url, result) {
            (None, ReportResult::Error) => Some(DOCUMENTATION_URL.to_owned()),
            (None, ReportResult::Success) | (Some(""), _) => None,
            (Some(url), _) => Some(url.to_owned()),
        };
        let vm_id = match vm_id {
            Some(vm_id) => vm_id.to_owned(),
            None => Machine::new().vm_id()?,
        };
        Ok(ProvisioningReport {
            result,
            agent: agent.to_owned(),
            vm_id,
            timestamp: Some(
                timestamp.map_or_else(|| dialect.timestamp(Timestamp::now()), str::to_owned),
            ),
            pps_type,
            reason: reason.map(str::to_owned),
            documentation_url,
            supporting_data,
        })
    }
}

/// Fills `*report` with the defaults: a success report, no pps_type, every
/// string NULL (agent must then be set), no supporting data. Does nothing
/// when `report` is NULL.
///
/// # Safety
/// `report` must be NULL or point to writable memory for a `kvp_report`.
#[no_mangle]
pub unsafe extern "C" fn kvp_report_init(report: *mut kvp_report) {
    guard(|| {
        // SAFETY: the caller's contract above.
        set_optional(unsafe { Out::optional(report) }, kvp_report::default());
        Ok(())
    });
}

/// The dialect a `uint32_t` names.
pub(crate) fn dialect(value: u32) -> Result<Dialect, Failure> {
    choice(
        value,
        "dialect",
        &[
            (KVP_DIALECT_CLOUD_INIT, Dialect::CloudInit),
            (KVP_DIALECT_AZURE_INIT, Dialect::AzureInit),
        ],
        "KVP_DIALECT_CLOUD_INIT (0) or KVP_DIALECT_AZURE_INIT (1)",
    )
}

/// Writes `*report` as the pool's one `PROVISIONING_REPORT` record, in
/// `dialect` (`KVP_DIALECT_CLOUD_INIT` or `KVP_DIALECT_AZURE_INIT`, byte for
/// byte what that agent writes for the same fields), with insert: exactly
/// one such record remains, even where cloud-init had appended several.
///
/// A report the host would receive cut (over 1022 UTF-16 code units) is
/// shortened first, in its reason and supporting-data values only, each cut
/// whole at a character boundary and ending with `...`, never inside a
/// field or a quote; supporting fields are dropped from the last if even
/// that is not enough. A shortened report ends its supporting data with
/// `shortened=<length of the full report>`, and `*shortened` (when not
/// NULL) says whether that happened. If the fixed fields alone are too
/// long, nothing is written (`KVP_ERR_FIELD_TOO_LARGE`).
///
/// Every field is checked before the pool is locked, and the VM id is read
/// from the machine (when `vm_id` is NULL) before anything is written; on
/// failure the pool and `*shortened` are unchanged.
///
/// # Safety
/// `store` must be NULL or an open handle; `report` NULL or a readable
/// `kvp_report` whose strings are NULL or NUL-terminated and whose
/// `supporting_data` holds `supporting_count` entries; `shortened` NULL or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn kvp_write_report(
    store: *const kvp_store,
    report: *const kvp_report,
    dialect: u32,
    shortened: *mut bool,
) -> kvp_status {
    guard(|| {
        // SAFETY (this block): the contract above.
        let (store, fields, shortened) = unsafe {
            (
                handle(store)?,
                arg(report, "report")?,
                Out::optional(shortened),
            )
        };
        let dialect = self::dialect(dialect)?;
        // SAFETY: the struct's fields are valid by the contract above.
        let report = unsafe { fields.checked(dialect) }?;
        let written = reporting::write_report(store, &report, dialect)?;
        set_optional(shortened, written != report.encode(dialect));
        Ok(())
    })
}

/// The machine whose files a `root` argument names.
///
/// # Safety
/// `root` must be NULL or a NUL-terminated string.
unsafe fn machine(root: *const c_char) -> Machine {
    // SAFETY: forwarded contract.
    unsafe { optional_path(root) }.map_or_else(Machine::new, Machine::with_root)
}

/// Reads the VM id, as Azure's IMDS calls it (`compute.vmId`): the DMI
/// product UUID, lowercased, in canonical form, with the first three fields
/// byte-swapped on a Gen1 VM (neither /sys/firmware/efi nor /dev/efi
/// exists), as cloud-init and azure-init compute it.
///
/// `root` is NULL for the running machine, or a directory that stands for
/// `/` (the files are then `root/sys/class/dmi/id/product_uuid`,
/// `root/sys/firmware/efi` and `root/dev/efi`), for tests.
///
/// The buffer follows `kvp_read`'s two-call size protocol: on success the
/// id and a NUL are copied into `buf` and `*vm_id_len` is the id's length;
/// when `buf_len` is too small, only `*vm_id_len` is set and the call
/// returns `KVP_ERR_BUFFER_TOO_SMALL` (`buf = NULL, buf_len = 0` asks just
/// the size). A buffer of `KVP_UUID_SIZE` bytes always suffices.
///
/// An unreadable file is `KVP_ERR_IO` (with `kvp_last_os_error()`); an
/// empty, all-zero, all-ones or malformed UUID is `KVP_ERR_NO_VM_ID`: no
/// zero GUID is ever made up.
///
/// # Safety
/// `root` must be NULL or a NUL-terminated string; `buf` NULL or writable
/// for `buf_len` bytes; `vm_id_len` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn kvp_vm_id(
    root: *const c_char,
    buf: *mut c_char,
    buf_len: usize,
    vm_id_len: *mut usize,
) -> kvp_status {
    guard(|| {
        // SAFETY: the contract above.
        let (machine, out) = unsafe {
            (
                machine(root),
                SizedBuf::new(buf, buf_len, vm_id_len, "vm_id_len")?,
            )
        };
        out.fill(machine.vm_id()?.as_bytes())
    })
}

/// Sets `*azure` to whether the machine is an Azure VM: its DMI chassis
/// asset tag (/sys/class/dmi/id/chassis_asset_tag) is Azure's,
/// `7783-7084-3265-9085-8269-3286-77`. A missing or unreadable tag is not
/// Azure's. `root` is as for `kvp_vm_id`.
///
/// # Safety
/// `root` must be NULL or a NUL-terminated string; `azure` NULL or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn kvp_is_azure(root: *const c_char, azure: *mut bool) -> kvp_status {
    guard(|| {
        // SAFETY: the contract above.
        let (machine, out) = unsafe { (machine(root), Out::required(azure, "azure")?) };
        out.set(machine.is_azure());
        Ok(())
    })
}
