//! The status codes every fallible entry point returns, and their names.

use std::ffi::c_char;
use std::os::raw::c_int;

use kvp_core::ErrorKind;

/// What a call did. `KVP_OK` is zero; every other value is a failure whose
/// detail is in `kvp_last_error_message()`.
///
/// The values are fixed: new codes are only ever appended, so a program may
/// store them or compare them with numbers.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum kvp_status {
    /// Success.
    KVP_OK = 0,
    /// A required pointer argument was NULL.
    KVP_ERR_NULL_ARGUMENT = 1,
    /// A key or value was not valid UTF-8.
    KVP_ERR_INVALID_UTF8 = 2,
    /// A number or flag argument was out of range (a negative lock timeout
    /// other than `KVP_LOCK_WAIT_FOREVER`, or a `create_mode` that lets
    /// group or others write, for instance).
    KVP_ERR_INVALID_ARGUMENT = 3,
    /// `kvp_read`: the buffer cannot hold the value and its NUL;
    /// `*value_len` holds the value's length.
    KVP_ERR_BUFFER_TOO_SMALL = 4,
    /// `kvp_read`: no record holds the key.
    KVP_ERR_NOT_FOUND = 5,
    /// The library panicked (a bug in it); the call was abandoned and the
    /// pool's locks released. The store may still be used.
    KVP_ERR_PANIC = 6,
    /// The key was empty.
    KVP_ERR_EMPTY_KEY = 7,
    /// A key or value held a NUL byte. C strings end at their first NUL, so
    /// the entry points of this library never produce it; it exists so
    /// that every core error kind has its own code.
    KVP_ERR_NUL_BYTE = 8,
    /// The key is over the store's limit (see `KVP_MODE_SAFE`).
    KVP_ERR_KEY_TOO_LARGE = 9,
    /// The value is over the store's limit (see `KVP_MODE_SAFE`).
    KVP_ERR_VALUE_TOO_LARGE = 10,
    /// `kvp_insert` of a new key into a pool that already holds
    /// `KVP_MAX_UNIQUE_KEYS` unique keys.
    KVP_ERR_UNIQUE_KEY_LIMIT = 11,
    /// The pool's lock was not free within `kvp_options.lock_timeout_ms`
    /// (30 s by default). The message names what held it when the library
    /// can tell: a flock, a POSIX lock with its pid, an OFD lock, or other
    /// threads of this process ahead in the store's queue.
    KVP_ERR_LOCK_TIMEOUT = 12,
    /// The path names a directory, FIFO, device or socket.
    KVP_ERR_NOT_A_REGULAR_FILE = 13,
    /// An unknown pool number or pool mode.
    KVP_ERR_UNKNOWN_NAME = 14,
    /// A system call on the pool file failed; see `kvp_last_os_error()`.
    KVP_ERR_IO = 15,
    /// A failure this version of the ABI has no code for.
    KVP_ERR_OTHER = 16,
    /// Writes refuse the pool file: it has more than one link, belongs to
    /// another user than the caller and root, or group or others may write
    /// it (or, for a repair, it holds no whole record). Nothing was written.
    KVP_ERR_UNSAFE_POOL = 17,
    /// A store opened by path found another file at the path than the one
    /// it opened: close it and open the path again.
    KVP_ERR_POOL_REPLACED = 18,
    /// A whole-pool read (`kvp_foreach`, `kvp_dump_json`) met a pool larger
    /// than the cap (64 MiB); nothing was read.
    KVP_ERR_POOL_TOO_LARGE = 19,
    /// A report or event field is refused by its format: empty, holding
    /// `|`, a malformed UUID (event id, VM id for the format) or timestamp,
    /// or not allowed for the event's kind (a `DIAG_V1` start with a
    /// result, a finish without one). Nothing was written.
    KVP_ERR_INVALID_FIELD = 20,
    /// A report or event is larger than its format allows: a `DIAG_V1`
    /// agent over 32 bytes or name over 48, a duration over the format's
    /// cap, a payload needing more than 1023 records, or a report whose
    /// fixed fields alone exceed the value limit. Nothing was written.
    KVP_ERR_FIELD_TOO_LARGE = 21,
    /// The event's format cannot carry what was asked: a `WARN` result in
    /// `DIAG_V1`, or bytes that are not UTF-8 sent without
    /// `KVP_EVENT_COMPRESSED`. Nothing was written.
    KVP_ERR_UNSUPPORTED = 22,
    /// The machine's product UUID (/sys/class/dmi/id/product_uuid) is
    /// empty, all zeros, all ones or not a UUID: there is no VM id, and
    /// none is made up. (A missing or unreadable file is `KVP_ERR_IO`.)
    KVP_ERR_NO_VM_ID = 23,
}

use kvp_status::*;

/// The one table from the core's error kinds to status codes.
pub(crate) fn from_kind(kind: ErrorKind) -> kvp_status {
    match kind {
        ErrorKind::EmptyKey => KVP_ERR_EMPTY_KEY,
        ErrorKind::Nul => KVP_ERR_NUL_BYTE,
        ErrorKind::KeyTooLarge => KVP_ERR_KEY_TOO_LARGE,
        ErrorKind::ValueTooLarge => KVP_ERR_VALUE_TOO_LARGE,
        ErrorKind::UniqueKeyLimit => KVP_ERR_UNIQUE_KEY_LIMIT,
        ErrorKind::LockTimeout => KVP_ERR_LOCK_TIMEOUT,
        ErrorKind::NotARegularFile => KVP_ERR_NOT_A_REGULAR_FILE,
        ErrorKind::UnknownName => KVP_ERR_UNKNOWN_NAME,
        ErrorKind::Io => KVP_ERR_IO,
        ErrorKind::UnsafePool => KVP_ERR_UNSAFE_POOL,
        ErrorKind::PoolReplaced => KVP_ERR_POOL_REPLACED,
        ErrorKind::PoolTooLarge => KVP_ERR_POOL_TOO_LARGE,
        ErrorKind::InvalidOption => KVP_ERR_INVALID_ARGUMENT,
        // A kind added to the core later gets its own code in a later ABI;
        // until then it must not pose as one of the codes above.
        _ => KVP_ERR_OTHER,
    }
}

/// The one table from kvp-report's error kinds to status codes. Store
/// errors are mapped by their core kind ([`from_kind`]) before this.
pub(crate) fn from_report_kind(kind: kvp_report::ErrorKind) -> kvp_status {
    use kvp_report::ErrorKind as K;
    match kind {
        K::InvalidField => KVP_ERR_INVALID_FIELD,
        K::TooLarge => KVP_ERR_FIELD_TOO_LARGE,
        K::Unsupported => KVP_ERR_UNSUPPORTED,
        K::Io => KVP_ERR_IO,
        K::NoVmId => KVP_ERR_NO_VM_ID,
        // `Store` never reaches here; `Decode` (a stored report that does
        // not decode) comes from no entry point yet, and a kind added later
        // gets its own code in a later ABI.
        _ => KVP_ERR_OTHER,
    }
}

/// Every code with its constant name, in value order.
const NAMES: [(kvp_status, &str); 24] = [
    (KVP_OK, "KVP_OK\0"),
    (KVP_ERR_NULL_ARGUMENT, "KVP_ERR_NULL_ARGUMENT\0"),
    (KVP_ERR_INVALID_UTF8, "KVP_ERR_INVALID_UTF8\0"),
    (KVP_ERR_INVALID_ARGUMENT, "KVP_ERR_INVALID_ARGUMENT\0"),
    (KVP_ERR_BUFFER_TOO_SMALL, "KVP_ERR_BUFFER_TOO_SMALL\0"),
    (KVP_ERR_NOT_FOUND, "KVP_ERR_NOT_FOUND\0"),
    (KVP_ERR_PANIC, "KVP_ERR_PANIC\0"),
    (KVP_ERR_EMPTY_KEY, "KVP_ERR_EMPTY_KEY\0"),
    (KVP_ERR_NUL_BYTE, "KVP_ERR_NUL_BYTE\0"),
    (KVP_ERR_KEY_TOO_LARGE, "KVP_ERR_KEY_TOO_LARGE\0"),
    (KVP_ERR_VALUE_TOO_LARGE, "KVP_ERR_VALUE_TOO_LARGE\0"),
    (KVP_ERR_UNIQUE_KEY_LIMIT, "KVP_ERR_UNIQUE_KEY_LIMIT\0"),
    (KVP_ERR_LOCK_TIMEOUT, "KVP_ERR_LOCK_TIMEOUT\0"),
    (KVP_ERR_NOT_A_REGULAR_FILE, "KVP_ERR_NOT_A_REGULAR_FILE\0"),
    (KVP_ERR_UNKNOWN_NAME, "KVP_ERR_UNKNOWN_NAME\0"),
    (KVP_ERR_IO, "KVP_ERR_IO\0"),
    (KVP_ERR_OTHER, "KVP_ERR_OTHER\0"),
    (KVP_ERR_UNSAFE_POOL, "KVP_ERR_UNSAFE_POOL\0"),
    (KVP_ERR_POOL_REPLACED, "KVP_ERR_POOL_REPLACED\0"),
    (KVP_ERR_POOL_TOO_LARGE, "KVP_ERR_POOL_TOO_LARGE\0"),
    (KVP_ERR_INVALID_FIELD, "KVP_ERR_INVALID_FIELD\0"),
    (KVP_ERR_FIELD_TOO_LARGE, "KVP_ERR_FIELD_TOO_LARGE\0"),
    (KVP_ERR_UNSUPPORTED, "KVP_ERR_UNSUPPORTED\0"),
    (KVP_ERR_NO_VM_ID, "KVP_ERR_NO_VM_ID\0"),
];

const UNKNOWN: &str = "KVP_ERR_UNKNOWN_STATUS\0";

/// The name of a status code, such as `"KVP_ERR_NOT_FOUND"`: a static
/// string, never NULL, never to be freed. A value that is no status code
/// gives `"KVP_ERR_UNKNOWN_STATUS"`.
///
/// It takes an `int` rather than a `kvp_status` so that any integer a
/// program holds is a valid argument. It does not touch the last error.
#[no_mangle]
pub extern "C" fn kvp_status_str(status: c_int) -> *const c_char {
    let name = usize::try_from(status)
        .ok()
        .and_then(|index| NAMES.get(index))
        .map_or(UNKNOWN, |(_, name)| name);
    name.as_ptr().cast()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    #[test]
    fn names_follow_values() {
        for (index, (status, name)) in NAMES.iter().enumerate() {
            assert_eq!(*status as usize, index, "{name}");
            assert!(name.ends_with('\0'));
            let ptr = kvp_status_str(index as c_int);
            // SAFETY: kvp_status_str returns a pointer into a static
            // NUL-terminated string.
            let text = unsafe { CStr::from_ptr(ptr) }.to_str().expect("ASCII");
            assert_eq!(format!("{status:?}"), text);
        }
    }

    #[test]
    fn out_of_range_codes_are_unknown() {
        for code in [-1, 24, c_int::MAX, c_int::MIN] {
            // SAFETY: as above.
            let text = unsafe { CStr::from_ptr(kvp_status_str(code)) };
            assert_eq!(text.to_bytes(), b"KVP_ERR_UNKNOWN_STATUS");
        }
    }

    #[test]
    fn kinds_map_to_distinct_codes() {
        let kinds = [
            ErrorKind::EmptyKey,
            ErrorKind::Nul,
            ErrorKind::KeyTooLarge,
            ErrorKind::ValueTooLarge,
            ErrorKind::UniqueKeyLimit,
            ErrorKind::LockTimeout,
            ErrorKind::NotARegularFile,
            ErrorKind::UnknownName,
            ErrorKind::Io,
            ErrorKind::UnsafePool,
            ErrorKind::PoolReplaced,
            ErrorKind::PoolTooLarge,
        ];
        let codes: std::collections::HashSet<_> =
            kinds.iter().map(|kind| from_kind(*kind) as i32).collect();
        assert_eq!(codes.len(), kinds.len());
        assert!(!codes.contains(&(KVP_OK as i32)));
        assert!(!codes.contains(&(KVP_ERR_OTHER as i32)));
    }

    #[test]
    fn report_kinds_map_to_their_codes() {
        use kvp_report::ErrorKind as K;
        let table = [
            (K::InvalidField, KVP_ERR_INVALID_FIELD),
            (K::TooLarge, KVP_ERR_FIELD_TOO_LARGE),
            (K::Unsupported, KVP_ERR_UNSUPPORTED),
            (K::Io, KVP_ERR_IO),
            (K::NoVmId, KVP_ERR_NO_VM_ID),
            (K::Decode, KVP_ERR_OTHER),
        ];
        for (kind, code) in table {
            assert_eq!(from_report_kind(kind), code, "{kind:?}");
        }
    }
}
