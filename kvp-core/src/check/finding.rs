//! What [`super::inspect`] reports: each [`Finding`] and its [`Severity`].

use std::fmt;

use crate::error::{Field, Unit, UnsafeReason};

/// How much a [`Finding`] matters.
///
/// An **error** breaks a reader or the host: a C reader runs past a field,
/// the host's enumeration fails or receives text cut, a strict reader
/// refuses the file, or every write refuses it. A **note** is what working
/// pools hold in normal use (the daemon's leftovers, appended duplicates,
/// the daemon's 0644 mode) or a risk to people rather than to programs;
/// [`Finding::severity`] gives the reason for each kind.
///
/// Errors sort before notes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    /// Breaks a reader, the host, or the writers.
    Error,
    /// Normal in a working pool, or a risk only to people looking at it.
    Note,
}

impl Severity {
    /// `error` or `note`, for scripts.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Note => "note",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One thing wrong with a pool file. `record` is the 0-based index of the
/// record in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Finding {
    /// The file size is not a multiple of [`crate::RECORD_SIZE`]: `bytes`
    /// trail the last whole record (a torn or foreign write). Repairable.
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
    /// Text over what [`crate::PoolMode::Safe`] writes: the host would
    /// receive it truncated, if the record went to the host.
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
        /// Whether the pool was checked as the guest pool (pool 1), the one
        /// the host enumerates, so that the host does receive the text
        /// truncated. False for the pools the host writes (0, 3) and those
        /// nobody reads (2, 4); see [`super::inspect_as`].
        to_host: bool,
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

    /// Whether the finding breaks a reader, the host or the writers
    /// ([`Severity::Error`]) or is normal ([`Severity::Note`]):
    ///
    /// | finding | severity | why |
    /// |---|---|---|
    /// | `partial-tail` | error | a torn write lost a record; strict readers (libazureinit-kvp) refuse a file whose size is not a multiple of 2560 |
    /// | `no-nul` (key or value) | error | C readers (`strcmp`, `strlen`) run past the field into whatever follows it |
    /// | `invalid-utf8` | error | the kernel's UTF-8 to UTF-16 conversion fails, and with it the host's whole enumeration step; text readers (cloud-init, libazureinit-kvp) fail too |
    /// | `empty-key` | error | a key must be 1 to 254 UTF-16 code units to reach the host intact, and no agent writes one (this library refuses it; cloud-init and azure-init always name their keys), so it is a foreign write or a zero-filled hole where a record was lost |
    /// | `unsafe-file` | error | every write of this library refuses the file |
    /// | `over-safe-limit` in pool 1 | error | the host receives the text truncated |
    /// | `over-safe-limit` elsewhere | note | pools 0 and 3 hold what the host wrote within its own limits, and pools 2 and 4 never reach the host: nothing is cut |
    /// | `garbage-after-nul` | note | the daemon leaves it in every pool it writes; correct readers stop at the NUL |
    /// | `duplicate-key` | note | the documented result of append; the host's enumeration shows every record |
    /// | `unsafe-char-in-key` | note | valid text that the host receives intact; it misleads only people who look at the key unescaped (this crate's CLI shows it escaped) |
    /// | `readable-by-others` | note | the daemon creates every pool 0644, so every pool it made has it; lock timeouts bound the stall it allows |
    pub fn severity(&self) -> Severity {
        match self {
            Finding::PartialTail { .. }
            | Finding::NoNul { .. }
            | Finding::InvalidUtf8 { .. }
            | Finding::EmptyKey { .. }
            | Finding::UnsafeFile { .. }
            | Finding::OverSafeLimit { to_host: true, .. } => Severity::Error,
            Finding::OverSafeLimit { to_host: false, .. }
            | Finding::GarbageAfterNul { .. }
            | Finding::DuplicateKey { .. }
            | Finding::UnsafeCharInKey { .. }
            | Finding::ReadableByOthers { .. } => Severity::Note,
        }
    }

    /// Whether [`Finding::severity`] is [`Severity::Error`].
    pub fn is_error(&self) -> bool {
        self.severity() == Severity::Error
    }

    /// The index of the record concerned; `None` for findings about the
    /// whole file.
    pub fn record(&self) -> Option<u64> {
        match self {
            Finding::PartialTail { .. }
            | Finding::UnsafeFile { .. }
            | Finding::ReadableByOthers { .. } => None,
            Finding::UnsafeCharInKey { record, .. }
            | Finding::EmptyKey { record }
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

    /// Whether [`super::repair`] fixes it.
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
                to_host,
                ..
            } => {
                write!(
                    f,
                    "the {field} is {actual} {unit}, over the Safe limit of {limit}"
                )?;
                f.write_str(if *to_host {
                    " (the host receives it truncated)"
                } else {
                    " (this pool does not go to the host; a copy into pool 1 would arrive truncated)"
                })
            }
        }
    }
}
