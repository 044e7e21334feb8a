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

/// Who held a pool's lock when a wait for it timed out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LockHolder {
    /// Other threads of this process were ahead in the store's queue.
    ThisProcess {
        /// How many operations were ahead when the wait ended.
        ahead: usize,
    },
    /// A `flock` (as cloud-init and this library take) held by another
    /// open file description.
    Flock,
    /// A classic POSIX `fcntl` lock (as hv_kvp_daemon takes), with its
    /// owner's pid.
    Posix {
        /// The owning process.
        pid: i32,
    },
    /// An OFD `fcntl` lock (as this library and libazureinit-kvp take),
    /// which belongs to no one process.
    Ofd,
    /// The lock was released before the holder could be identified.
    Unknown,
}

impl std::fmt::Display for LockHolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LockHolder::ThisProcess { ahead } => write!(
                f,
                "{ahead} other operation(s) of this process were ahead in the queue"
            ),
            LockHolder::Flock => f.write_str(
                "another open file holds a flock on it (as cloud-init, kvp or any reader of the file can)",
            ),
            LockHolder::Posix { pid } => write!(
                f,
                "process {pid} holds a POSIX fcntl lock on it (as hv_kvp_daemon takes)"
            ),
            LockHolder::Ofd => f.write_str(
                "another open file holds an OFD fcntl lock on it (as kvp and libazureinit-kvp take)",
            ),
            LockHolder::Unknown => f.write_str("another process held it"),
        }
    }
}

/// Why a pool file is refused for writing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum UnsafeReason {
    /// The file has more than one hard link, so a write would also change
    /// a file elsewhere.
    HardLinked {
        /// Its link count.
        links: u64,
    },
    /// The file belongs to a user other than the caller and root.
    ForeignOwner {
        /// The owner's uid.
        uid: u32,
    },
    /// Group or others may write the file, so anyone could plant records
    /// or read what the caller writes next.
    WritableByOthers {
        /// Its permission bits.
        mode: u32,
    },
    /// The file is not empty but holds no whole 2560-byte record, so it may
    /// not be a pool at all.
    NoWholeRecord {
        /// Its size in bytes.
        size: u64,
    },
}

impl std::fmt::Display for UnsafeReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UnsafeReason::HardLinked { links } => write!(
                f,
                "it has {links} hard links, so writing would change another file too"
            ),
            UnsafeReason::ForeignOwner { uid } => {
                write!(f, "it is owned by uid {uid}, neither root nor the caller")
            }
            UnsafeReason::WritableByOthers { mode } => write!(
                f,
                "its mode {mode:04o} lets group or others write it (chmod go-w to use it)"
            ),
            UnsafeReason::NoWholeRecord { size } => write!(
                f,
                "it holds {size} bytes but no whole 2560-byte record, so it may not be a pool file"
            ),
        }
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
    /// [`Error::UnsafePool`].
    UnsafePool,
    /// [`Error::PoolReplaced`].
    PoolReplaced,
    /// [`Error::PoolTooLarge`].
    PoolTooLarge,
    /// [`Error::InvalidOption`].
    InvalidOption,
    /// [`Error::Interrupted`].
    Interrupted,
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

    /// The pool's lock was held for longer than the timeout.
    #[error("timed out after {timeout:?} waiting for the lock on {}: {holder}; retry or raise the lock timeout", path.display())]
    LockTimeout {
        /// The pool file.
        path: PathBuf,
        /// The timeout that passed.
        timeout: Duration,
        /// Who held the lock, as far as the library could tell.
        holder: LockHolder,
    },

    /// The pool file is not safe to write: it may belong to someone else, or
    /// someone else may change it. Nothing was written.
    #[error("refusing to write {}: {reason}", path.display())]
    UnsafePool {
        /// The pool file.
        path: PathBuf,
        /// What makes it unsafe.
        reason: UnsafeReason,
    },

    /// A store opened by path found another file at that path than the one
    /// it opened (the file was replaced, or renamed and re-created).
    #[error("{} is no longer the file this store opened (it was replaced): open the store again to use the new file", path.display())]
    PoolReplaced {
        /// The pool file's path.
        path: PathBuf,
    },

    /// A whole-pool read (records, entries, dump, check) met a pool larger
    /// than the store's cap, [`crate::Options::max_pool_bytes`].
    #[error("{} is {size} bytes, over the cap of {limit} bytes for reading a whole pool: raise max_pool_bytes if this pool is genuine", path.display())]
    PoolTooLarge {
        /// The pool file.
        path: PathBuf,
        /// Its size.
        size: u64,
        /// The cap.
        limit: u64,
    },

    /// An option's value cannot be used.
    #[error("invalid {option}: {reason}")]
    InvalidOption {
        /// The option's name.
        option: &'static str,
        /// What is wrong with it.
        reason: String,
    },

    /// A wait was ended by the caller's interrupt check
    /// ([`crate::Options::wait_check`]) before the lock was taken.
    #[error("the wait for the lock on {} was interrupted", path.display())]
    Interrupted {
        /// The pool file.
        path: PathBuf,
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
            Error::UnsafePool { .. } => ErrorKind::UnsafePool,
            Error::PoolReplaced { .. } => ErrorKind::PoolReplaced,
            Error::PoolTooLarge { .. } => ErrorKind::PoolTooLarge,
            Error::InvalidOption { .. } => ErrorKind::InvalidOption,
            Error::Interrupted { .. } => ErrorKind::Interrupted,
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
            | Error::NotARegularFile { path }
            | Error::UnsafePool { path, .. }
            | Error::PoolReplaced { path }
            | Error::PoolTooLarge { path, .. }
            | Error::Interrupted { path } => Some(path),
            _ => None,
        }
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
