//! # kvp-core
//!
//! Read and write Hyper-V KVP pool files (`/var/lib/hyperv/.kvp_pool_N`)
//! byte for byte and lock for lock with `hv_kvp_daemon` and cloud-init.
//!
//! A pool is a flat array of 2560-byte records (512-byte key, 2048-byte
//! value, NUL-terminated UTF-8). Every operation takes `flock` and an OFD
//! `fcntl` lock, so it excludes cloud-init (flock), the daemon (POSIX
//! locks), other threads and other processes. See docs/kvp.md for the
//! format, the limits and how this crate differs from its peers.
//!
//! ```
//! use kvp_core::{KvpStore, Options, Pool, PoolMode};
//!
//! let dir = tempfile::tempdir()?;
//! let pool = Options::new()
//!     .mode(PoolMode::Safe)
//!     .open_pool(Pool::Guest, Some(dir.path()))?;
//!
//! pool.insert("PROVISIONING_REPORT", "result=success|agent=demo")?;
//! pool.append("DIAGNOSTIC", "step 1")?;
//! pool.append("DIAGNOSTIC", "step 2")?;
//!
//! assert_eq!(pool.read("DIAGNOSTIC")?.as_deref(), Some("step 2"));
//! assert_eq!(pool.len()?, 3);
//! assert_eq!(pool.unique_keys()?, 2);
//! assert_eq!(pool.delete("DIAGNOSTIC")?, 2);
//!
//! // Writes are checked against what the host can receive intact.
//! let too_long = "x".repeat(1023);
//! assert!(matches!(
//!     pool.insert("k", &too_long),
//!     Err(kvp_core::Error::ValueTooLarge { limit: 1022, actual: 1023, .. })
//! ));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

pub mod check;
pub mod entries;
pub mod error;
pub mod limits;
pub mod lock;
pub mod pool;
pub mod record;
pub mod snapshot;
pub mod store;
mod sys;
pub mod text;

pub use check::{CheckReport, Finding, RepairReport, Severity};
pub use entries::{Entries, RawEntries};
pub use error::{Error, ErrorKind, Field, LockHolder, Result, Unit, UnsafeReason};
pub use limits::{PoolMode, MAX_UNIQUE_KEYS};
pub use pool::{Pool, DEFAULT_DIR};
pub use record::{RawRecord, Record, KEY_SIZE, RECORD_SIZE, VALUE_SIZE};
pub use snapshot::RecordSnapshot;
pub use store::{
    BootTime, FileFacts, FileStore, KvpStore, MemoryStore, Options, WaitCheck, DEFAULT_CREATE_MODE,
    DEFAULT_LOCK_TIMEOUT, DEFAULT_MAX_POOL_BYTES,
};

/// The crate README's example (what crates.io shows), run as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct CrateReadmeDoctests;
