//! `kvp_store` and the entry points that open, write, read and close it.

use std::ffi::c_char;

use kvp_core::{FileStore, KvpStore, Pool};

use crate::boundary::{arg, array, guard, optional_path, set_optional, text, Out, SizedBuf};
use crate::error::Failure;
use crate::options::kvp_options;
use crate::status::kvp_status;

/// An open pool: an opaque handle from `kvp_open` or `kvp_open_pool`,
/// released with `kvp_close`.
///
/// It holds no file descriptor: each call opens the pool file, takes
/// `flock` and an OFD lock, does its work and closes it. So one handle may
/// be used by many threads at once, with no locking of your own; only
/// `kvp_close` must not overlap another call on the same handle.
#[allow(non_camel_case_types)]
pub struct kvp_store {
    pub(crate) inner: FileStore,
}

/// One record for `kvp_append_many`.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct kvp_entry {
    /// NUL-terminated UTF-8 key; borrowed for the call.
    pub key: *const c_char,
    /// NUL-terminated UTF-8 value; borrowed for the call.
    pub value: *const c_char,
}

impl kvp_entry {
    /// The key and value, as UTF-8 text.
    ///
    /// # Safety
    /// Both strings must be NULL or NUL-terminated, and stay unchanged for
    /// the whole call.
    pub(crate) unsafe fn pair<'a>(&self) -> Result<(&'a str, &'a str), Failure> {
        // SAFETY: forwarded contract.
        unsafe { Ok((text(self.key, "key")?, text(self.value, "value")?)) }
    }
}

/// The store behind a handle, shared: entry points never take it mutably.
///
/// # Safety
/// `store` must be NULL or a handle from `kvp_open*` not yet closed.
pub(crate) unsafe fn handle<'a>(store: *const kvp_store) -> Result<&'a FileStore, Failure> {
    // SAFETY: forwarded contract.
    Ok(&unsafe { arg(store, "store") }?.inner)
}

/// The options behind an optional pointer, checked.
///
/// # Safety
/// `options` must be NULL or point to a readable `kvp_options`.
unsafe fn options(options: *const kvp_options) -> Result<kvp_core::Options, Failure> {
    // SAFETY: forwarded contract; NULL means the defaults.
    match unsafe { options.as_ref() } {
        Some(options) => options.to_core(),
        None => kvp_options::default().to_core(),
    }
}

fn publish(store: FileStore, out: Out<*mut kvp_store>) {
    out.set(Box::into_raw(Box::new(kvp_store { inner: store })));
}

/// Opens the pool file at `path`, which may be anywhere. A symlink on the
/// way is followed when root or the caller owns it, and refused
/// (`KVP_ERR_IO`, `ELOOP`) otherwise. Nothing is created until the first
/// write, and reading a pool that does not exist yet finds it empty. The
/// file found is pinned: when another file later takes its place at the
/// path, calls fail with `KVP_ERR_POOL_REPLACED`.
///
/// Writes refuse a pool file with more than one link, owned by another user
/// than the caller and root, or writable by group or others
/// (`KVP_ERR_UNSAFE_POOL`, nothing written); reads are allowed.
///
/// `path` is any bytes, as for open(2). `options` may be NULL for the
/// defaults. On success `*store` receives a new handle, which you release
/// with `kvp_close`; on failure `*store` is left unchanged.
///
/// # Safety
/// `path` must be NULL or a NUL-terminated string; `options` NULL or a
/// readable `kvp_options`; `store` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn kvp_open(
    path: *const c_char,
    options: *const kvp_options,
    store: *mut *mut kvp_store,
) -> kvp_status {
    guard(|| {
        // SAFETY (this block): the contract above.
        let (path, options, out) = unsafe {
            (
                optional_path(path).ok_or_else(|| Failure::null("path"))?,
                self::options(options)?,
                Out::required(store, "store")?,
            )
        };
        publish(options.open(path)?, out);
        Ok(())
    })
}

/// Opens pool number `pool` (0-4, `KVP_POOL_ID_*`) in directory `dir`, or
/// in /var/lib/hyperv when `dir` is NULL. A symlink in place of the pool
/// file is refused, not followed. The directory and file are created on
/// the first write. An unknown pool number fails with
/// `KVP_ERR_UNKNOWN_NAME`.
///
/// `options` may be NULL for the defaults. On success `*store` receives a
/// new handle for `kvp_close`; on failure it is left unchanged.
///
/// # Safety
/// `dir` must be NULL or a NUL-terminated string; `options` NULL or a
/// readable `kvp_options`; `store` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn kvp_open_pool(
    pool: u32,
    dir: *const c_char,
    options: *const kvp_options,
    store: *mut *mut kvp_store,
) -> kvp_status {
    guard(|| {
        // SAFETY (this block): the contract above.
        let (dir, options, out) = unsafe {
            (
                optional_path(dir),
                self::options(options)?,
                Out::required(store, "store")?,
            )
        };
        let pool = Pool::from_number(pool).ok_or_else(|| kvp_core::Error::UnknownName {
            what: "pool",
            name: pool.to_string(),
            expected: "0 to 4 (KVP_POOL_ID_*)",
        })?;
        publish(options.open_pool(pool, dir)?, out);
        Ok(())
    })
}

/// Releases a handle. NULL is fine. The handle must not be used again, and
/// no other call on it may still be running.
///
/// # Safety
/// `store` must be NULL or a handle from `kvp_open*` not yet closed.
#[no_mangle]
pub unsafe extern "C" fn kvp_close(store: *mut kvp_store) {
    guard(|| {
        if !store.is_null() {
            // SAFETY: a live handle made by Box::into_raw in `publish`,
            // which the caller gives back exactly once.
            drop(unsafe { Box::from_raw(store) });
        }
        Ok(())
    });
}

/// The body of the one-record writes.
///
/// # Safety
/// As for `kvp_insert`.
unsafe fn write_pair(
    store: *const kvp_store,
    key: *const c_char,
    value: *const c_char,
    write: fn(&FileStore, &str, &str) -> kvp_core::Result<()>,
) -> kvp_status {
    guard(|| {
        // SAFETY: forwarded contract.
        let (store, key, value) =
            unsafe { (handle(store)?, text(key, "key")?, text(value, "value")?) };
        Ok(write(store, key, value)?)
    })
}

/// Sets `key` to `value` (upsert). Afterwards exactly one record holds the
/// key: the first former one, rewritten in place; later duplicates are
/// removed. A new key when the pool holds `KVP_MAX_UNIQUE_KEYS` unique keys
/// fails with `KVP_ERR_UNIQUE_KEY_LIMIT`. Keys and values are checked
/// against the store's mode before anything is locked or written.
///
/// # Safety
/// `store` must be NULL or an open handle; `key` and `value` NULL or
/// NUL-terminated strings.
#[no_mangle]
pub unsafe extern "C" fn kvp_insert(
    store: *const kvp_store,
    key: *const c_char,
    value: *const c_char,
) -> kvp_status {
    // SAFETY: the contract above.
    unsafe { write_pair(store, key, value, FileStore::insert) }
}

/// Adds one record at the end of the pool, keeping any with the same key
/// (the last one is what `kvp_read` returns). There is no unique-key cap.
///
/// # Safety
/// As for `kvp_insert`.
#[no_mangle]
pub unsafe extern "C" fn kvp_append(
    store: *const kvp_store,
    key: *const c_char,
    value: *const c_char,
) -> kvp_status {
    // SAFETY: the contract above.
    unsafe { write_pair(store, key, value, FileStore::append) }
}

/// Adds `count` records at the end of the pool under one lock, so they
/// stay adjacent. Every entry is checked first: if one is invalid, none is
/// written, and the message names the entry. `entries` may be NULL when
/// `count` is 0.
///
/// # Safety
/// `store` must be NULL or an open handle; `entries` NULL or an array of
/// `count` entries whose strings are NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn kvp_append_many(
    store: *const kvp_store,
    entries: *const kvp_entry,
    count: usize,
) -> kvp_status {
    guard(|| {
        // SAFETY: the contract above.
        let store = unsafe { handle(store) }?;
        // SAFETY: an array of `count` entries, by the contract above.
        let entries = unsafe { array(entries, count, "entries") }?;
        let pairs = entries
            .iter()
            .enumerate()
            .map(|(index, entry)| {
                // SAFETY: the entry's strings are NULL or NUL-terminated.
                let pair = unsafe { entry.pair() };
                // Checked here too, only so that the message names the entry.
                let pair = pair.and_then(|(k, v)| Ok(store.mode().check(k, v).map(|()| (k, v))?));
                pair.map_err(|failure| failure.context(format_args!("entry {index}")))
            })
            .collect::<Result<Vec<_>, Failure>>()?;
        Ok(store.append_many(&pairs)?)
    })
}

/// Reads the value of the last record holding `key`, with the two-call
/// size protocol:
///
/// - found, and `buf_len > *value_len`: copies the value and a NUL into
///   `buf`, sets `*value_len` to the value's length (without the NUL) and
///   returns `KVP_OK`;
/// - found, but `buf` cannot hold the value and its NUL: sets
///   `*value_len` to the value's length, leaves `buf` untouched and returns
///   `KVP_ERR_BUFFER_TOO_SMALL`; call again with a buffer of at least
///   `*value_len + 1` bytes. `buf = NULL, buf_len = 0` asks just the size
///   this way;
/// - not found: returns `KVP_ERR_NOT_FOUND` and writes nothing.
///
/// A buffer of `KVP_VALUE_SIZE + 1` bytes always suffices (a field that a
/// foreign writer filled without a NUL holds 2048 bytes). The value is the
/// exact bytes stored before the field's first NUL: a foreign writer may
/// have stored bytes that are not UTF-8.
///
/// # Safety
/// `store` must be NULL or an open handle; `key` NULL or a NUL-terminated
/// string; `buf` NULL or writable for `buf_len` bytes; `value_len` NULL or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn kvp_read(
    store: *const kvp_store,
    key: *const c_char,
    buf: *mut c_char,
    buf_len: usize,
    value_len: *mut usize,
) -> kvp_status {
    guard(|| {
        // SAFETY (this block): the contract above.
        let (store, key, out) = unsafe {
            (
                handle(store)?,
                text(key, "key")?,
                SizedBuf::new(buf, buf_len, value_len, "value_len")?,
            )
        };
        let Some(value) = store.read_raw(key.as_bytes())? else {
            return Err(Failure::new(
                kvp_status::KVP_ERR_NOT_FOUND,
                format!("no record holds the key {key:?}"),
            ));
        };
        out.fill(&value)
    })
}

/// Removes every record holding `key`; the others keep their order. When
/// `removed` is not NULL it receives how many records went (0 when none
/// held the key, which is not an error, and then the file is not changed
/// at all).
///
/// # Safety
/// `store` must be NULL or an open handle; `key` NULL or a NUL-terminated
/// string; `removed` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn kvp_delete(
    store: *const kvp_store,
    key: *const c_char,
    removed: *mut usize,
) -> kvp_status {
    guard(|| {
        // SAFETY: the contract above.
        let (store, key, removed) =
            unsafe { (handle(store)?, text(key, "key")?, Out::optional(removed)) };
        set_optional(removed, store.delete(key)?);
        Ok(())
    })
}

/// Removes every record, keeping the (now empty) file.
///
/// # Safety
/// `store` must be NULL or an open handle.
#[no_mangle]
pub unsafe extern "C" fn kvp_clear(store: *const kvp_store) -> kvp_status {
    // SAFETY: the contract above.
    guard(|| Ok(unsafe { handle(store) }?.clear()?))
}

/// The body of the entry points that answer one value.
///
/// # Safety
/// `store` must be NULL or an open handle; `out` NULL or writable.
unsafe fn query<T>(
    store: *const kvp_store,
    out: *mut T,
    name: &str,
    ask: fn(&FileStore) -> kvp_core::Result<T>,
) -> kvp_status {
    guard(|| {
        // SAFETY: forwarded contract.
        let (store, out) = unsafe { (handle(store)?, Out::required(out, name)?) };
        out.set(ask(store)?);
        Ok(())
    })
}

/// Sets `*len` to the number of whole records in the pool, duplicates
/// included (0 when the file does not exist yet).
///
/// # Safety
/// `store` must be NULL or an open handle; `len` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn kvp_len(store: *const kvp_store, len: *mut usize) -> kvp_status {
    // SAFETY: the contract above.
    unsafe { query(store, len, "len", FileStore::len) }
}

/// Sets `*stale` to whether the pool was last written no later than this
/// boot began, so that it holds a former boot's records. A pool that does
/// not exist is not stale.
///
/// # Safety
/// `store` must be NULL or an open handle; `stale` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn kvp_is_stale(store: *const kvp_store, stale: *mut bool) -> kvp_status {
    // SAFETY: the contract above.
    unsafe { query(store, stale, "stale", FileStore::is_stale) }
}

/// Empties the pool if it is stale (see `kvp_is_stale`), checking and
/// truncating under one exclusive lock. When `cleared` is not NULL it
/// receives whether the pool was emptied.
///
/// # Safety
/// `store` must be NULL or an open handle; `cleared` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn kvp_clear_if_stale(
    store: *const kvp_store,
    cleared: *mut bool,
) -> kvp_status {
    guard(|| {
        // SAFETY: the contract above.
        let (store, cleared) = unsafe { (handle(store)?, Out::optional(cleared)) };
        set_optional(cleared, store.clear_if_stale()?);
        Ok(())
    })
}
