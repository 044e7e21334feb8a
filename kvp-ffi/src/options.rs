//! `kvp_options`: how a store is opened, as a plain C struct.

use std::time::Duration;

use kvp_core::{Options, PoolMode};

use crate::error::Failure;
use crate::status::kvp_status;

/// `kvp_options.mode`: refuse what the host would receive cut (keys over
/// 254 and values over 1022 UTF-16 code units). The default.
pub const KVP_MODE_SAFE: u32 = 0;
/// `kvp_options.mode`: accept anything that fits the field with its NUL
/// (keys up to 511, values up to 2047 UTF-8 bytes).
pub const KVP_MODE_FULL: u32 = 1;
/// `kvp_options.lock_timeout_ms`: wait for the pool's locks as long as it
/// takes, as hv_kvp_daemon and cloud-init do. Then any user who can read
/// the pool can stall the caller forever, so it is never the default.
pub const KVP_LOCK_WAIT_FOREVER: i64 = -1;
/// `kvp_options.lock_timeout_ms` default: 30 seconds. Any user who can read
/// a pool can hold its lock, so a call waits this long at most unless told
/// otherwise.
pub const KVP_DEFAULT_LOCK_TIMEOUT_MS: i64 = 30_000;
/// `kvp_options.create_mode` default: a pool file this library creates is
/// readable and writable by its owner only (before the umask).
pub const KVP_DEFAULT_CREATE_MODE: u32 = 0o600;

/// Options for `kvp_open` and `kvp_open_pool`.
///
/// Fill it with `kvp_options_init`, then change the fields you need; or pass
/// NULL to the open functions for the defaults. The library only reads it
/// during the open call. The layout is fixed for ABI version 0 (the
/// SONAME libkvp.so.0): fields are only added with a new major version.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct kvp_options {
    /// `KVP_MODE_SAFE` (default) or `KVP_MODE_FULL`; anything else fails
    /// with `KVP_ERR_UNKNOWN_NAME`.
    pub mode: u32,
    /// Milliseconds to wait for the pool's locks before a call fails with
    /// `KVP_ERR_LOCK_TIMEOUT`; default `KVP_DEFAULT_LOCK_TIMEOUT_MS` (30 s);
    /// 0 tries once; `KVP_LOCK_WAIT_FOREVER` (-1) never gives up. Other
    /// negative values fail with `KVP_ERR_INVALID_ARGUMENT`.
    pub lock_timeout_ms: i64,
    /// When true, each write is flushed to disk (fdatasync) before its lock
    /// is released. Default false.
    pub sync_on_write: bool,
    /// Permission bits of a pool file the store creates, masked by the
    /// umask as open(2) does. Default `KVP_DEFAULT_CREATE_MODE` (0600).
    /// Bits above 0777, and bits that let group or others write (writes
    /// refuse such a file), fail with `KVP_ERR_INVALID_ARGUMENT`.
    pub create_mode: u32,
}

impl Default for kvp_options {
    fn default() -> kvp_options {
        kvp_options {
            mode: KVP_MODE_SAFE,
            lock_timeout_ms: KVP_DEFAULT_LOCK_TIMEOUT_MS,
            sync_on_write: false,
            create_mode: KVP_DEFAULT_CREATE_MODE,
        }
    }
}

impl kvp_options {
    /// The core options these fields describe, after checking every field.
    pub(crate) fn to_core(self) -> Result<Options, Failure> {
        let mode = match self.mode {
            KVP_MODE_SAFE => PoolMode::Safe,
            KVP_MODE_FULL => PoolMode::Full,
            other => {
                return Err(kvp_core::Error::UnknownName {
                    what: "pool mode",
                    name: other.to_string(),
                    expected: "KVP_MODE_SAFE (0) or KVP_MODE_FULL (1)",
                }
                .into())
            }
        };
        let lock_timeout = match self.lock_timeout_ms {
            KVP_LOCK_WAIT_FOREVER => None,
            ms => Some(Duration::from_millis(u64::try_from(ms).map_err(|_| {
                Failure::new(
                    kvp_status::KVP_ERR_INVALID_ARGUMENT,
                    format!("lock_timeout_ms is {ms}: give milliseconds >= 0, or KVP_LOCK_WAIT_FOREVER (-1)"),
                )
            })?)),
        };
        if self.create_mode & !0o7777 != 0 {
            return Err(Failure::new(
                kvp_status::KVP_ERR_INVALID_ARGUMENT,
                format!(
                    "create_mode is {:#o}: give permission bits within 07777",
                    self.create_mode
                ),
            ));
        }
        Ok(Options::new()
            .mode(mode)
            .lock_timeout(lock_timeout)
            .sync_on_write(self.sync_on_write)
            .create_mode(self.create_mode))
    }
}

/// Fills `*options` with the defaults: Safe mode, a lock timeout of 30 s,
/// no sync, files created 0600. Does nothing when `options` is NULL.
///
/// # Safety
/// `options` must be NULL or point to writable memory for a `kvp_options`.
#[no_mangle]
pub unsafe extern "C" fn kvp_options_init(options: *mut kvp_options) {
    crate::boundary::guard(|| {
        // SAFETY: the caller's contract above.
        crate::boundary::set_optional(
            unsafe { crate::boundary::Out::optional(options) },
            kvp_options::default(),
        );
        Ok(())
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_core() {
        let options = kvp_options::default().to_core().expect("valid");
        assert_eq!(options, Options::new());
        assert_eq!(KVP_DEFAULT_CREATE_MODE, kvp_core::DEFAULT_CREATE_MODE);
        assert_eq!(
            Duration::from_millis(KVP_DEFAULT_LOCK_TIMEOUT_MS as u64),
            kvp_core::DEFAULT_LOCK_TIMEOUT
        );
    }

    #[test]
    fn fields_are_checked() {
        let base = kvp_options::default();
        let full = kvp_options {
            mode: KVP_MODE_FULL,
            lock_timeout_ms: 250,
            sync_on_write: true,
            create_mode: 0o644,
        }
        .to_core()
        .expect("valid");
        assert_eq!(full.get_mode(), PoolMode::Full);
        assert_eq!(full.get_lock_timeout(), Some(Duration::from_millis(250)));
        assert!(full.get_sync_on_write());
        assert_eq!(full.get_create_mode(), 0o644);
        let bad = [
            kvp_options { mode: 2, ..base },
            kvp_options {
                lock_timeout_ms: -2,
                ..base
            },
            kvp_options {
                create_mode: 0o10000,
                ..base
            },
        ];
        for options in bad {
            assert!(options.to_core().is_err(), "{options:?}");
        }
    }

    #[test]
    fn init_writes_defaults_and_accepts_null() {
        let mut options = kvp_options {
            mode: 9,
            lock_timeout_ms: 9,
            sync_on_write: true,
            create_mode: 9,
        };
        // SAFETY: a live struct, then NULL.
        unsafe {
            kvp_options_init(&mut options);
            kvp_options_init(std::ptr::null_mut());
        }
        assert_eq!(options, kvp_options::default());
    }
}
