//! The crate's error type for writes and lookups, and the typed reason a
//! record could not be decoded.

use std::path::PathBuf;

/// What went wrong while building, writing or looking something up.
///
/// Decoding a pool never fails with this type: a record that cannot be
/// decoded comes back as a [`crate::RawEntry`] with a [`DecodeError`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The pool refused the operation (limits, locks, I/O).
    #[error(transparent)]
    Store(#[from] kvp_core::Error),
    /// A field is empty, holds `|` or NUL, or is otherwise unusable where it
    /// goes.
    #[error("invalid {field}: {reason}")]
    InvalidField {
        /// The field, as the format names it.
        field: &'static str,
        /// Why it is refused.
        reason: &'static str,
    },
    /// A field is longer than the format allows.
    #[error("{field} is {actual} bytes, more than the {limit} the format allows")]
    FieldTooLong {
        /// The field.
        field: &'static str,
        /// The cap, in UTF-8 bytes.
        limit: usize,
        /// The field's length in UTF-8 bytes.
        actual: usize,
    },
    /// A field that must be a UUID is not one.
    #[error("{field} is not a UUID: {value:?}")]
    InvalidUuid {
        /// The field.
        field: &'static str,
        /// What it held.
        value: String,
    },
    /// A duration is longer than the format can carry.
    #[error("duration of {actual_us} µs exceeds the format's {limit_us} µs")]
    DurationTooLarge {
        /// The cap in microseconds.
        limit_us: u64,
        /// The duration in microseconds.
        actual_us: u128,
    },
    /// An event's payload needs more records than the format allows.
    #[error("payload needs {actual} records, more than the {limit} allowed")]
    TooManyChunks {
        /// The cap.
        limit: usize,
        /// Records the payload would need.
        actual: usize,
    },
    /// The format cannot carry this value (a `WARN` result in `DIAG_V1`,
    /// non-UTF-8 bytes sent without compression, ...).
    #[error("{format} cannot carry this {field}: {reason}")]
    Unsupported {
        /// The format.
        format: &'static str,
        /// The field.
        field: &'static str,
        /// Why.
        reason: &'static str,
    },
    /// Even with its reason and supporting data emptied, the report's fixed
    /// fields exceed the value limit.
    #[error("the report's fixed fields take {actual} UTF-16 code units, more than the {limit} a value may hold")]
    ReportTooLarge {
        /// The limit in UTF-16 code units.
        limit: usize,
        /// The length of the report without reason and supporting data.
        actual: usize,
    },
    /// The pool holds a `PROVISIONING_REPORT` that does not decode.
    #[error("PROVISIONING_REPORT does not decode: {0}")]
    Report(DecodeError),
    /// A file of the machine (DMI, EFI) could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The machine's product UUID is empty, all zeros or all ones.
    #[error("{} holds no VM id ({value:?})", path.display())]
    NoVmId {
        /// The file.
        path: PathBuf,
        /// What it held, trimmed.
        value: String,
    },
    /// The machine's product UUID is not a UUID.
    #[error("{} does not hold a UUID: {value:?}", path.display())]
    MalformedVmId {
        /// The file.
        path: PathBuf,
        /// What it held, trimmed.
        value: String,
    },
}

/// A flat classification of [`Error`], so that each binding maps errors
/// through one table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// [`Error::Store`]; see [`kvp_core::Error::kind`] for more.
    Store,
    /// [`Error::InvalidField`], [`Error::InvalidUuid`].
    InvalidField,
    /// [`Error::FieldTooLong`], [`Error::DurationTooLarge`],
    /// [`Error::TooManyChunks`], [`Error::ReportTooLarge`].
    TooLarge,
    /// [`Error::Unsupported`].
    Unsupported,
    /// [`Error::Report`].
    Decode,
    /// [`Error::Unreadable`].
    Io,
    /// [`Error::NoVmId`], [`Error::MalformedVmId`].
    NoVmId,
}

impl Error {
    /// The error's [`ErrorKind`].
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Store(_) => ErrorKind::Store,
            Error::InvalidField { .. } | Error::InvalidUuid { .. } => ErrorKind::InvalidField,
            Error::FieldTooLong { .. }
            | Error::DurationTooLarge { .. }
            | Error::TooManyChunks { .. }
            | Error::ReportTooLarge { .. } => ErrorKind::TooLarge,
            Error::Unsupported { .. } => ErrorKind::Unsupported,
            Error::Report(_) => ErrorKind::Decode,
            Error::Unreadable { .. } => ErrorKind::Io,
            Error::NoVmId { .. } | Error::MalformedVmId { .. } => ErrorKind::NoVmId,
        }
    }
}

/// Why a recognised record (or group of records) could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Reason {
    /// The key names a `DIAG_V*` schema this reader does not know.
    UnsupportedVersion,
    /// Chunks are missing: the indices are not a run from 0.
    IncompleteGroup,
    /// A chunk index appears more than once.
    DuplicateChunk,
    /// The payload's encoding is unknown or its data is bad (base64,
    /// zlib, gzip, UTF-8).
    Undecodable,
    /// The key or the value does not have the format's shape.
    Malformed,
}

impl Reason {
    /// The snake_case name (`incomplete_group`, ...), as the faces print it.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::UnsupportedVersion => "unsupported_version",
            Reason::IncompleteGroup => "incomplete_group",
            Reason::DuplicateChunk => "duplicate_chunk",
            Reason::Undecodable => "undecodable",
            Reason::Malformed => "malformed",
        }
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A typed [`Reason`] with a sentence for people.
#[derive(Debug, Clone, PartialEq, Eq, Hash, thiserror::Error)]
#[error("{reason}: {detail}")]
pub struct DecodeError {
    /// The reason, for programs.
    pub reason: Reason,
    /// What exactly was wrong, for people.
    pub detail: String,
}

impl DecodeError {
    /// A new error.
    pub fn new(reason: Reason, detail: impl Into<String>) -> DecodeError {
        DecodeError {
            reason,
            detail: detail.into(),
        }
    }

    pub(crate) fn malformed(detail: impl Into<String>) -> DecodeError {
        DecodeError::new(Reason::Malformed, detail)
    }

    pub(crate) fn undecodable(detail: impl Into<String>) -> DecodeError {
        DecodeError::new(Reason::Undecodable, detail)
    }
}

/// Results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
