//! An fsck for pool files: what is wrong with a pool, and the repairs that
//! lose nothing a reader could see.
//!
//! [`inspect`] walks every record under the shared lock and reports typed
//! [`Finding`]s. [`repair`] fixes only what is invisible to a correct
//! reader, under the exclusive lock: it cuts a partial trailing record (the
//! daemon drops it on its next rewrite anyway) and zeroes the garbage after
//! each field's NUL (which C readers that copy whole fields would otherwise
//! carry along). Everything else, such as duplicates or oversize text, is a
//! decision about data and is left to the operator.
//!
//! ```
//! use kvp_core::check::{self, Finding};
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
//!
//! let done = check::repair(&pool)?;
//! assert_eq!((done.tail_bytes_cut, done.fields_zeroed), (100, 1));
//! assert!(check::inspect(&pool)?.findings.is_empty());
//! assert_eq!(pool.read("k")?.as_deref(), Some("short"));
//! # Ok::<(), kvp_core::Error>(())
//! ```

use std::collections::HashMap;
use std::fmt;
use std::ops::ControlFlow;

use crate::error::{Error, Field, Result, Unit, UnsafeReason};
use crate::limits::PoolMode;
use crate::record::{self, KEY_SIZE, RECORD_SIZE};
use crate::store::ops::{self, for_each_record, SLOT};
use crate::store::{read_medium, refuse_unsafe, write_medium, KvpStore};
use crate::sys::Stat;
use crate::text;

/// One thing wrong with a pool file. `record` is the 0-based index of the
/// record in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Finding {
    /// The file size is not a multiple of [`RECORD_SIZE`]: `bytes` trail
    /// the last whole record (a torn or foreign write). Repairable.
    PartialTail {
        /// Bytes after the last whole record.
        bytes: u64,
    },
    /// A record whose key is empty (its key field starts with a NUL).
    EmptyKey {
        /// The record's index.
        record: u64,
    },
    /// A field with no NUL at all, which runs C readers (strcmp, strlen)
    /// past its end.
    NoNul {
        /// The record's index.
        record: u64,
        /// Which field.
        field: Field,
    },
    /// The text before the NUL is not UTF-8; the kernel's conversion for the
    /// host fails on it, and the host's whole enumeration with it.
    InvalidUtf8 {
        /// The record's index.
        record: u64,
        /// Which field.
        field: Field,
    },
    /// Non-zero bytes after the field's first NUL, as the daemon leaves
    /// them. Invisible to a correct reader. Repairable.
    GarbageAfterNul {
        /// The record's index.
        record: u64,
        /// Which field.
        field: Field,
        /// How many non-zero bytes follow the NUL.
        bytes: usize,
    },
    /// A key already held by an earlier record; readers disagree on which
    /// one counts (the daemon takes the first, this library the last).
    DuplicateKey {
        /// The index of the later record.
        record: u64,
        /// The index of the first record with this key.
        first: u64,
        /// The key's exact bytes.
        key: Vec<u8>,
    },
    /// A key holding a control or Unicode format character (bidi override,
    /// zero-width space, ...), which drives a terminal or lets the key pass
    /// for another on screen.
    UnsafeCharInKey {
        /// The record's index.
        record: u64,
        /// The first such character, as a code point.
        code_point: u32,
    },
    /// The file is not safe to write, so every write refuses it: more than
    /// one link, a foreign owner, or writable by group or others.
    UnsafeFile {
        /// Why.
        reason: UnsafeReason,
    },
    /// Users other than the owner may read the pool (the daemon creates its
    /// pools 0644). Reading also lets them take its locks and stall every
    /// writer, the daemon included, until the writers' lock timeouts.
    ReadableByOthers {
        /// The permission bits.
        mode: u32,
    },
    /// Text the host would receive truncated ([`PoolMode::Safe`] refuses
    /// to write it).
    OverSafeLimit {
        /// The record's index.
        record: u64,
        /// Which field.
        field: Field,
        /// The Safe limit.
        limit: usize,
        /// The text's size.
        actual: usize,
        /// What the sizes count.
        unit: Unit,
    },
}

impl Finding {
    /// A stable kebab-case name for the kind of finding, for scripts:
    /// `partial-tail`, `empty-key`, `no-nul`, `invalid-utf8`,
    /// `garbage-after-nul`, `duplicate-key`, `unsafe-char-in-key`,
    /// `unsafe-file`, `readable-by-others` or `over-safe-limit`.
    pub fn code(&self) -> &'static str {
        match self {
            Finding::UnsafeCharInKey { .. } => "unsafe-char-in-key",
            Finding::UnsafeFile { .. } => "unsafe-file",
            Finding::ReadableByOthers { .. } => "readable-by-others",
            Finding::PartialTail { .. } => "partial-tail",
            Finding::EmptyKey { .. } => "empty-key",
            Finding::NoNul { .. } => "no-nul",
            Finding::InvalidUtf8 { .. } => "invalid-utf8",
            Finding::GarbageAfterNul { .. } => "garbage-after-nul",
            Finding::DuplicateKey { .. } => "duplicate-key",
            Finding::OverSafeLimit { .. } => "over-safe-limit",
        }
    }

    /// The index of the record concerned; `None` for findings about the
    /// whole file.
    pub fn record(&self) -> Option<u64> {
        match self {
            Finding::PartialTail { .. }
            | Finding::UnsafeFile { .. }
            | Finding::ReadableByOthers { .. } => None,
            Finding::UnsafeCharInKey { record, .. } => Some(*record),
            Finding::EmptyKey { record }
            | Finding::NoNul { record, .. }
            | Finding::InvalidUtf8 { record, .. }
            | Finding::GarbageAfterNul { record, .. }
            | Finding::DuplicateKey { record, .. }
            | Finding::OverSafeLimit { record, .. } => Some(*record),
        }
    }

    /// The field concerned, when the finding is about one field.
    pub fn field(&self) -> Option<Field> {
        match self {
            Finding::NoNul { field, .. }
            | Finding::InvalidUtf8 { field, .. }
            | Finding::GarbageAfterNul { field, .. }
            | Finding::OverSafeLimit { field, .. } => Some(*field),
            Finding::EmptyKey { .. } | Finding::UnsafeCharInKey { .. } => Some(Field::Key),
            Finding::PartialTail { .. }
            | Finding::DuplicateKey { .. }
            | Finding::UnsafeFile { .. }
            | Finding::ReadableByOthers { .. } => None,
        }
    }

    /// Whether [`repair`] fixes it.
    pub fn is_repairable(&self) -> bool {
        matches!(
            self,
            Finding::PartialTail { .. } | Finding::GarbageAfterNul { .. }
        )
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Finding::PartialTail { bytes } => write!(
                f,
                "{bytes} bytes after the last whole record (a torn write; readers ignore them)"
            ),
            Finding::EmptyKey { .. } => f.write_str("the key is empty"),
            Finding::NoNul { field, .. } => {
                write!(f, "the {field} field has no NUL terminator")
            }
            Finding::InvalidUtf8 { field, .. } => write!(
                f,
                "the {field} is not valid UTF-8 (the host's enumeration fails on it)"
            ),
            Finding::GarbageAfterNul { field, bytes, .. } => {
                write!(f, "{bytes} non-zero bytes after the NUL of the {field}")
            }
            // The key is not part of the message: it may hold anything, and
            // each front shows it in its own safe form.
            Finding::DuplicateKey { first, .. } => {
                write!(f, "duplicate key, first held by record {first}")
            }
            Finding::UnsafeCharInKey { code_point, .. } => write!(
                f,
                "the key holds U+{code_point:04X}, a control or format character that can fake another key on screen"
            ),
            Finding::UnsafeFile { reason } => write!(f, "writes refuse this file: {reason}"),
            Finding::ReadableByOthers { mode } => write!(
                f,
                "mode {mode:04o}: other users can read it, and so hold its lock and stall every writer until their lock timeout"
            ),
            Finding::OverSafeLimit {
                field,
                limit,
                actual,
                unit,
                ..
            } => write!(
                f,
                "the {field} is {actual} {unit}, over the Safe limit of {limit} (the host receives it truncated)"
            ),
        }
    }
}

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

/// Checks every record of `store` under its shared lock. A pool that does
/// not exist has no findings.
pub fn inspect<S: KvpStore + ?Sized>(store: &S) -> Result<CheckReport> {
    let pool = read_medium(store)?;
    ops::check_cap(
        &*pool,
        store.options().get_max_pool_bytes(),
        store.error_path(),
    )?;
    let size = pool.size()?;
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
    if let Some(stat) = pool.stat() {
        report.findings.extend(file_findings(&stat));
    }
    let mut first_index: HashMap<Vec<u8>, u64> = HashMap::new();
    for_each_record(&*pool, |index, slot| {
        inspect_slot(index, slot, &mut first_index, &mut report.findings);
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

fn inspect_slot(
    index: u64,
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
            Ok(text) if has_nul => findings.extend(over_safe_limit(index, field, text)),
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
fn over_safe_limit(record: u64, field: Field, text: &str) -> Option<Finding> {
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
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{MemoryStore, Options};
    use crate::{KEY_SIZE, VALUE_SIZE};

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
                    unit: Unit::Utf16CodeUnits
                },
            ]
        );
        let codes: Vec<_> = found.iter().map(Finding::code).collect();
        assert_eq!(codes[0], "partial-tail");
        assert_eq!(found[0].record(), None);
        assert_eq!(found[2].record(), Some(1));
        assert_eq!(found.iter().filter(|f| f.is_repairable()).count(), 2);
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
                unit: Unit::Utf16CodeUnits
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
}
