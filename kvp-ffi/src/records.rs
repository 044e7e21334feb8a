//! Walking every record: `kvp_foreach`, and `kvp_dump_json` with the
//! function that frees its string.

use std::ffi::{c_char, c_void, CString};
use std::os::raw::c_int;

use kvp_core::KvpStore;

use crate::boundary::{guard, Out};
use crate::error::Failure;
use crate::status::kvp_status;
use crate::store::{handle, kvp_store};

/// Return this from a `kvp_foreach_fn` to get the next record.
pub const KVP_FOREACH_CONTINUE: i32 = 0;
/// Return this (or any value other than `KVP_FOREACH_CONTINUE`) from a
/// `kvp_foreach_fn` to end the walk early; `kvp_foreach` still returns
/// `KVP_OK`.
pub const KVP_FOREACH_STOP: i32 = 1;

/// Called by `kvp_foreach` once per record, in file order.
///
/// `ctx` is the pointer given to `kvp_foreach`. `key` and `value` are the
/// exact bytes stored before each field's first NUL, NUL-terminated, with
/// their lengths; they belong to the library and are valid only during the
/// call. They are usually UTF-8, but a foreign writer may have stored other
/// bytes. The callback may call any kvp_ function, except `kvp_close` on
/// the store being walked, and must not unwind (C++ exception, longjmp)
/// out of the call.
#[allow(non_camel_case_types)]
pub type kvp_foreach_fn = Option<
    unsafe extern "C" fn(
        ctx: *mut c_void,
        key: *const c_char,
        key_len: usize,
        value: *const c_char,
        value_len: usize,
    ) -> c_int,
>;

/// Calls `callback(ctx, key, key_len, value, value_len)` for every record
/// in file order, duplicates included, until it returns something other
/// than `KVP_FOREACH_CONTINUE`.
///
/// The records are read under the pool's lock into a snapshot first, and
/// the lock is released before the first callback. So the callback may
/// read and write the pool itself, and it sees the records as they were
/// when the walk began. `ctx` is passed through untouched and may be NULL.
/// A pool over 64 MiB fails with `KVP_ERR_POOL_TOO_LARGE` before anything
/// is read, so the snapshot's memory stays bounded. After `KVP_OK`,
/// `kvp_last_error_message()` is `""` even when a callback's own calls
/// failed.
///
/// # Safety
/// `store` must be NULL or an open handle; `callback`, when not NULL, must
/// be safe to call with `ctx` and the arguments described above.
#[no_mangle]
pub unsafe extern "C" fn kvp_foreach(
    store: *const kvp_store,
    callback: kvp_foreach_fn,
    ctx: *mut c_void,
) -> kvp_status {
    guard(|| {
        // SAFETY: the contract above.
        let store = unsafe { handle(store) }?;
        let callback = callback.ok_or_else(|| Failure::null("callback"))?;
        let snapshot = store.record_snapshot()?;
        // One buffer reused for every record's NUL-terminated key and value,
        // from a snapshot in one buffer: no allocation per record.
        let mut fields = Vec::new();
        for (key, value) in snapshot.iter() {
            let (key_len, value_len) = (key.len(), value.len());
            fields.clear();
            fields.extend_from_slice(key);
            fields.push(0);
            fields.extend_from_slice(value);
            fields.push(0);
            let (key, value) = (fields.as_ptr(), fields[key_len + 1..].as_ptr());
            // SAFETY: the caller vouches for the callback; both fields end in
            // a NUL (they hold none before it) and live until after it
            // returns, since `fields` is not touched during the call.
            let verdict = unsafe { callback(ctx, key.cast(), key_len, value.cast(), value_len) };
            if verdict != KVP_FOREACH_CONTINUE {
                break;
            }
        }
        Ok(())
    })
}

/// Sets `*json` to the records in file order as a JSON array of
/// `{"key": ..., "value": ...}` objects (bytes that are not UTF-8 become
/// U+FFFD). The string is the caller's: release it with `kvp_string_free`.
/// On failure `*json` is left unchanged. A pool over 64 MiB fails with
/// `KVP_ERR_POOL_TOO_LARGE` before anything is read.
///
/// # Safety
/// `store` must be NULL or an open handle; `json` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn kvp_dump_json(
    store: *const kvp_store,
    json: *mut *mut c_char,
) -> kvp_status {
    guard(|| {
        // SAFETY: the contract above.
        let (store, out) = unsafe { (handle(store)?, Out::required(json, "json")?) };
        // serde_json escapes control characters, so the text has no NUL.
        let text = CString::new(store.dump_json()?).unwrap_or_default();
        out.set(text.into_raw());
        Ok(())
    })
}

/// Releases a string returned by `kvp_dump_json`. NULL is fine. Do not pass
/// any other pointer, and do not free such a string with free(3).
///
/// # Safety
/// `string` must be NULL or a string from `kvp_dump_json` not yet freed.
#[no_mangle]
pub unsafe extern "C" fn kvp_string_free(string: *mut c_char) {
    guard(|| {
        if !string.is_null() {
            // SAFETY: made by CString::into_raw in kvp_dump_json and given
            // back exactly once, by the contract above.
            drop(unsafe { CString::from_raw(string) });
        }
        Ok(())
    });
}
