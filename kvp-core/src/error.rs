//! The one error type of the crate, and the kinds that bindings map from.

use std::path::PathBuf;
use std::time::Duration;

/// Which field of a record an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// The 512-byte key field.
    Key,
    /// The 2048-byte value field.
    Value,
}

impl std::fmt::Display for Field {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Field::Key => "key",
            Field::Value => "value",
        })
    }
}

/// The unit a size limit is counted in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Unit {
    /// UTF-8 bytes, as stored in the pool file.
    Bytes,
    /// UTF-16 code units, as the host receives the text.
    Utf16CodeUnits,
}

impl Unit {
    /// A short lower-case name: `bytes` or `utf16-code-units`.
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Bytes => "bytes",
            Unit::Utf16CodeUnits => "utf16-code-units",
        }
    }
}

impl std::fmt::Display for Unit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Unit::Bytes => "UTF-8 bytes",
            Unit::Utf16CodeUnits => "UTF-16 code units",
        })
    }
}

/// A flat, stable classification of [`Error`], so that the C ABI and the
/// Python binding each map errors through one table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// [`Error::EmptyKey`].
    EmptyKey,
    /// [`Error::Nul`].
    Nul,
    /// [`Error::KeyTooLarge`].
    KeyTooLarge,
    /// [`Error::ValueTooLarge`].
    ValueTooLarge,
    /// [`Error::UniqueKeyLimit`].
    UniqueKeyLimit,
    /// [`Error::LockTimeout`].
    LockTimeout,
    /// [`Error::NotARegularFile`].
    NotARegularFile,
    /// [`Error::UnknownName`].
    UnknownName,
    /// [`Error::Io`].
    Io,
}

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A key was empty; every record needs a key of at least one byte.
    #[error("the key is empty: give every record a non-empty key")]
    EmptyKey,

    /// A key or value held a NUL byte, which the format uses as terminator.
    #[error(
        "the {field} contains a NUL byte, which would end it early in the pool file: remove it"
    )]
    Nul {
        /// The field that held the NUL.
        field: Field,
    },

    /// A key exceeded the store's limit.
    #[error("the key is {actual} {unit}, over the limit of {limit}: shorten it{}", mode_hint(*.unit))]
    KeyTooLarge {
        /// The largest size accepted.
        limit: usize,
        /// The size that was given.
        actual: usize,
        /// What the sizes count.
        unit: Unit,
    },

    /// A value exceeded the store's limit.
    #[error("the value is {actual} {unit}, over the limit of {limit}: shorten or split it{}", mode_hint(*.unit))]
    ValueTooLarge {
        /// The largest size accepted.
        limit: usize,
        /// The size that was given.
        actual: usize,
        /// What the sizes count.
        unit: Unit,
    },

    /// A new key would take the pool past its unique-key cap.
    #[error("the pool already holds {limit} unique keys: delete keys or update an existing one")]
    UniqueKeyLimit {
        /// The cap, [`crate::MAX_UNIQUE_KEYS`].
        limit: usize,
    },

    /// Another process held the pool's lock for longer than the timeout.
    #[error("timed out after {timeout:?} waiting for the lock on {}: another process holds it; retry or raise the lock timeout", path.display())]
    LockTimeout {
        /// The pool file.
        path: PathBuf,
        /// The timeout that passed.
        timeout: Duration,
    },

    /// The path names a directory, FIFO, device or socket, not a pool file.
    #[error("{} is not a regular file: give the path of a pool file", path.display())]
    NotARegularFile {
        /// The path that was given.
        path: PathBuf,
    },

    /// A pool or mode name that is not known.
    #[error("unknown {what} {name:?}: expected {expected}")]
    UnknownName {
        /// What was being named ("pool", "pool mode").
        what: &'static str,
        /// The name given.
        name: String,
        /// The accepted names.
        expected: &'static str,
    },

    /// An operating-system call on the pool file failed.
    #[error("{operation} {}: {source}", path.display())]
    Io {
        /// What was being done ("open", "read", "lock", ...).
        operation: &'static str,
        /// The pool file or directory.
        path: PathBuf,
        /// The underlying error, with its errno.
        #[source]
        source: std::io::Error,
    },
}

fn mode_hint(unit: Unit) -> &'static str {
    match unit {
        Unit::Utf16CodeUnits => " (Safe mode keeps what the host receives whole; Full mode allows up to the field width)",
        Unit::Bytes => "",
    }
}

impl Error {
    pub(crate) fn too_large(field: Field, limit: usize, actual: usize, unit: Unit) -> Error {
        match field {
            Field::Key => Error::KeyTooLarge {
                limit,
                actual,
                unit,
            },
            Field::Value => Error::ValueTooLarge {
                limit,
                actual,
                unit,
            },
        }
    }

    pub(crate) fn io(
        operation: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io {
            operation,
            path,
            source,
        }
    }

    /// The kind of this error, for mapping to status codes or exceptions.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::EmptyKey => ErrorKind::EmptyKey,
            Error::Nul { .. } => ErrorKind::Nul,
            Error::KeyTooLarge { .. } => ErrorKind::KeyTooLarge,
            Error::ValueTooLarge { .. } => ErrorKind::ValueTooLarge,
            Error::UniqueKeyLimit { .. } => ErrorKind::UniqueKeyLimit,
            Error::LockTimeout { .. } => ErrorKind::LockTimeout,
            Error::NotARegularFile { .. } => ErrorKind::NotARegularFile,
            Error::UnknownName { .. } => ErrorKind::UnknownName,
            Error::Io { .. } => ErrorKind::Io,
        }
    }

    /// The limit, the actual size and their unit, for [`Error::KeyTooLarge`]
    /// and [`Error::ValueTooLarge`].
    pub fn size_excess(&self) -> Option<(usize, usize, Unit)> {
        match *self {
            Error::KeyTooLarge {
                limit,
                actual,
                unit,
            }
            | Error::ValueTooLarge {
                limit,
                actual,
                unit,
            } => Some((limit, actual, unit)),
            _ => None,
        }
    }

    /// The OS error number, for [`Error::Io`].
    pub fn raw_os_error(&self) -> Option<i32> {
        match self {
            Error::Io { source, .. } => source.raw_os_error(),
            _ => None,
        }
    }

    /// The path the error is about, when there is one.
    pub fn path(&self) -> Option<&std::path::Path> {
        match self {
            Error::Io { path, .. }
            | Error::LockTimeout { path, .. }
            | Error::NotARegularFile { path } => Some(path),
            _ => None,
        }
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
