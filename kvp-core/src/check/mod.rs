//! An fsck for pool files: what is wrong with a pool, how much it matters,
//! and the repairs that lose nothing a reader could see.
//!
//! [`inspect`] walks every record under the shared lock and reports typed
//! [`Finding`]s, each with a [`Severity`]: an error breaks a reader, the
//! host or the writers; a note is what working pools hold in normal use
//! (the daemon's leftovers after a NUL, appended duplicates). Only one
//! verdict depends on which pool the file is, a record over the Safe limit,
//! so [`inspect_as`] takes the pool and [`inspect`] checks as pool 1.
//! [`repair`] fixes only what is invisible to a correct
//! reader, under the exclusive lock: it cuts a partial trailing record (the
//! daemon drops it on its next rewrite anyway) and zeroes the garbage after
//! each field's NUL (which C readers that copy whole fields would otherwise
//! carry along). Everything else, such as duplicates or oversize text, is a
//! decision about data and is left to the operator.
//!
//! ```
//! use kvp_core::check::{self, Finding, Severity};
//! use kvp_core::{KvpStore, MemoryStore, Options, RECORD_SIZE};
//!
//! let mut image = kvp_core::record::encode(b"k", b"short").to_vec();
//! image[kvp_core::KEY_SIZE + 6] = b'x'; // a byte left behind after the NUL
//! image.extend_from_slice(&[7; 100]); // a torn write at the end
//! let pool = MemoryStore::from_bytes(image, Options::new());
//!
//! let report = check::inspect(&pool)?;
//! assert_eq!(report.records, 1);
//! assert!(report.findings.contains(&Finding::PartialTail { bytes: 100 }));
//! assert!(report.findings.iter().all(Finding::is_repairable));
//! // The torn write is an error; the byte after the NUL is normal.
//! assert_eq!((report.errors(), report.notes()), (1, 1));
//! assert!(report.has_errors());
//!
//! let done = check::repair(&pool)?;
//! assert_eq!((done.tail_bytes_cut, done.fields_zeroed), (100, 1));
//! assert!(check::inspect(&pool)?.findings.is_empty());
//! assert_eq!(pool.read("k")?.as_deref(), Some("short"));
//!
//! // Duplicates are what append means: a note, which fails only a strict check.
//! pool.append("k", "again")?;
//! let report = check::inspect(&pool)?;
//! assert_eq!(report.findings[0].severity(), Severity::Note);
//! assert!(report.passes(false) && !report.passes(true));
//! # Ok::<(), kvp_core::Error>(())
//! ```

mod finding;

use std::collections::HashMap;
use std::ops::ControlFlow;

pub use finding::{Finding, Severity};

use crate::error::{Error, Field, Result, UnsafeReason};
use crate::limits::PoolMode;
use crate::pool::Pool;
use crate::record::{self, KEY_SIZE, RECORD_SIZE};
use crate::store::ops::{self, for_each_record, SLOT};
use crate::store::{read_medium, refuse_unsafe, write_medium, KvpStore};
use crate::sys::Stat;
use crate::text;

/// What [`inspect`] saw.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CheckReport {
    /// The file size in bytes (0 for a pool that does not exist).
    pub size: u64,
    /// Whole records.
    pub records: u64,
    /// Everything found, the partial tail first, then by record.
    pub findings: Vec<Finding>,
}

impl CheckReport {
    /// Whether nothing was found.
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty()
    }

    /// How many findings [`repair`] would fix.
    pub fn repairable(&self) -> usize {
        self.findings.iter().filter(|f| f.is_repairable()).count()
    }

    /// How many findings have this severity.
    pub fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity() == severity)
            .count()
    }

    /// How many findings are errors.
    pub fn errors(&self) -> usize {
        self.count(Severity::Error)
    }

    /// How many findings are notes.
    pub fn notes(&self) -> usize {
        self.count(Severity::Note)
    }

    /// Whether any finding is an error: something breaks a reader, the
    /// host or the writers.
    pub fn has_errors(&self) -> bool {
        self.findings.iter().any(Finding::is_error)
    }

    /// Whether the pool passes the check: it has no errors, or with
    /// `strict`, no findings at all (notes count as errors).
    pub fn passes(&self, strict: bool) -> bool {
        if strict {
            self.is_clean()
        } else {
            !self.has_errors()
        }
    }
}

/// What [`repair`] changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RepairReport {
    /// Bytes of a partial trailing record that were cut.
    pub tail_bytes_cut: u64,
    /// Fields whose bytes after the NUL were zeroed.
    pub fields_zeroed: usize,
}

impl RepairReport {
    /// Whether anything was written.
    pub fn changed(&self) -> bool {
        self.tail_bytes_cut > 0 || self.fields_zeroed > 0
    }
}

/// Checks every record of `store` under its shared lock, as the guest pool
/// (pool 1): [`inspect_as`] with [`Pool::Guest`]. That is the pool agents
/// write and the host reads, and the strictest verdict; use [`inspect_as`]
/// for a pool the host writes. A pool that does not exist has no findings.
pub fn inspect<S: KvpStore + ?Sized>(store: &S) -> Result<CheckReport> {
    inspect_as(store, Pool::Guest)
}

/// Checks every record of `store` under its shared lock, as `pool`. The
/// findings are the same whatever the pool; only the severity of
/// [`Finding::OverSafeLimit`] depends on it: an error in pool 1, which the
/// host enumerates and so receives cut, and a note in the pools the host
/// writes (0, 3) or that never reach it (2, 4). A pool that does not exist
/// has no findings.
pub fn inspect_as<S: KvpStore + ?Sized>(store: &S, pool: Pool) -> Result<CheckReport> {
    let to_host = pool == Pool::Guest;
    let medium = read_medium(store)?;
    ops::check_cap(
        &*medium,
        store.options().get_max_pool_bytes(),
        store.error_path(),
    )?;
    let size = medium.size()?;
    let mut report = CheckReport {
        size,
        records: size / SLOT,
        findings: Vec::new(),
    };
    if size % SLOT != 0 {
        report
            .findings
            .push(Finding::PartialTail { bytes: size % SLOT });
    }
    if let Some(stat) = medium.stat() {
        report.findings.extend(file_findings(&stat));
    }
    let mut first_index: HashMap<Vec<u8>, u64> = HashMap::new();
    for_each_record(&*medium, |index, slot| {
        inspect_slot(index, to_host, slot, &mut first_index, &mut report.findings);
        ControlFlow::Continue(())
    })?;
    Ok(report)
}

/// What the file's owner, links and mode mean for its safety.
fn file_findings(stat: &Stat) -> Vec<Finding> {
    let mut findings = Vec::new();
    if let Err(reason) = refuse_unsafe(stat) {
        findings.push(Finding::UnsafeFile { reason });
    }
    if stat.permissions() & 0o044 != 0 {
        findings.push(Finding::ReadableByOthers {
            mode: stat.permissions(),
        });
    }
    findings
}

/// Cuts a partial trailing record and zeroes the bytes after each field's
/// first NUL, under the exclusive lock, chunk by chunk (memory stays
/// bounded whatever the size). Readers see the same records before and
/// after. Like every write, it creates the pool file if it is missing, and
/// refuses a file that is not safe to write. A file that holds bytes but
/// no whole record may not be a pool at all: it is refused, unchanged.
pub fn repair<S: KvpStore + ?Sized>(store: &S) -> Result<RepairReport> {
    let mut pool = write_medium(store)?;
    let size = pool.size()?;
    if size > 0 && size < SLOT {
        return Err(Error::UnsafePool {
            path: store.error_path().to_path_buf(),
            reason: UnsafeReason::NoWholeRecord { size },
        });
    }
    let records = size / SLOT;
    let mut done = RepairReport {
        tail_bytes_cut: size % SLOT,
        fields_zeroed: 0,
    };
    if done.tail_bytes_cut > 0 {
        pool.set_len(records * SLOT)?;
    }
    ops::rewrite_chunks(&mut *pool, |_, chunk| {
        let mut changed = false;
        for slot in chunk.chunks_exact_mut(RECORD_SIZE) {
            let (key, value) = slot.split_at_mut(KEY_SIZE);
            let zeroed = usize::from(zero_after_nul(key)) + usize::from(zero_after_nul(value));
            done.fields_zeroed += zeroed;
            changed |= zeroed > 0;
        }
        changed
    })?;
    pool.commit()?;
    Ok(done)
}

/// Zeroes whatever follows the first NUL; returns whether anything changed.
fn zero_after_nul(field: &mut [u8]) -> bool {
    let Some(nul) = field.iter().position(|&b| b == 0) else {
        return false;
    };
    let tail = &mut field[nul..];
    let dirty = tail.iter().any(|&b| b != 0);
    tail.fill(0);
    dirty
}

/// The findings of record `index`; `to_host` as in
/// [`Finding::OverSafeLimit`].
fn inspect_slot(
    index: u64,
    to_host: bool,
    slot: &[u8],
    first_index: &mut HashMap<Vec<u8>, u64>,
    findings: &mut Vec<Finding>,
) {
    let (key_field, value_field) = record::split_slot(slot);
    for (field, bytes) in [(Field::Key, key_field), (Field::Value, value_field)] {
        let text = record::field_text(bytes);
        let has_nul = text.len() < bytes.len();
        if !has_nul {
            findings.push(Finding::NoNul {
                record: index,
                field,
            });
        }
        let garbage = bytes.iter().skip(text.len()).filter(|&&b| b != 0).count();
        if garbage > 0 {
            findings.push(Finding::GarbageAfterNul {
                record: index,
                field,
                bytes: garbage,
            });
        }
        match std::str::from_utf8(text) {
            Err(_) => findings.push(Finding::InvalidUtf8 {
                record: index,
                field,
            }),
            // A field without a NUL is already reported; its size adds nothing.
            Ok(text) if has_nul => {
                findings.extend(over_safe_limit(index, field, text, to_host));
            }
            Ok(_) => {}
        }
    }
    let key = record::field_text(key_field);
    if let Some(c) = std::str::from_utf8(key)
        .ok()
        .and_then(text::first_unsafe_char)
    {
        findings.push(Finding::UnsafeCharInKey {
            record: index,
            code_point: u32::from(c),
        });
    }
    if key.is_empty() {
        findings.push(Finding::EmptyKey { record: index });
    } else if let Some(&first) = first_index.get(key) {
        findings.push(Finding::DuplicateKey {
            record: index,
            first,
            key: key.to_vec(),
        });
    } else {
        first_index.insert(key.to_vec(), index);
    }
}

/// Asks the Safe mode's own write check, so the fsck and the writers agree.
fn over_safe_limit(record: u64, field: Field, text: &str, to_host: bool) -> Option<Finding> {
    let verdict = match field {
        Field::Key if text.is_empty() => return None,
        Field::Key => PoolMode::Safe.check_key(text),
        Field::Value => PoolMode::Safe.check_value(text),
    };
    let (limit, actual, unit) = verdict.err()?.size_excess()?;
    Some(Finding::OverSafeLimit {
        record,
        field,
        limit,
        actual,
        unit,
        to_host,
    })
}

#[cfg(test)]
mod tests;
