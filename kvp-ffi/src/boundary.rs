//! The C boundary, written once: the panic guard every entry point runs
//! in, and the checks that turn raw arguments into Rust values.

use std::ffi::{c_char, CStr, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::panic::{self, AssertUnwindSafe};
use std::path::Path;
use std::ptr::NonNull;

use crate::error::{self, Failure};
use crate::status::kvp_status;

/// Runs the body of an entry point: clears this thread's last error, turns
/// a failure into its status code and a panic into `KVP_ERR_PANIC`, so that
/// nothing ever unwinds into C.
///
/// A success leaves the last error cleared as well, not only at the start:
/// a body may run C code that calls entry points itself (a `kvp_foreach`
/// callback), and a failure of theirs must not outlive the outer call's
/// success, since the header promises `""` after one.
pub(crate) fn guard(body: impl FnOnce() -> Result<(), Failure>) -> kvp_status {
    error::clear();
    // AssertUnwindSafe: the only state a body can leave behind is on disk,
    // and the core releases its locks as it unwinds; the handle itself
    // holds only a path and options, which no operation modifies.
    match panic::catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => {
            error::clear();
            kvp_status::KVP_OK
        }
        Ok(Err(failure)) => error::record(failure),
        Err(payload) => error::record(Failure::panic(payload.as_ref())),
    }
}

/// A required pointer argument, as a shared reference.
///
/// # Safety
/// `ptr` must be NULL or point to a live `T` for the whole call.
pub(crate) unsafe fn arg<'a, T>(ptr: *const T, name: &str) -> Result<&'a T, Failure> {
    // SAFETY: the caller's contract above; NULL is checked by `as_ref`.
    unsafe { ptr.as_ref() }.ok_or_else(|| Failure::null(name))
}

/// A required NUL-terminated C string, as its bytes.
///
/// # Safety
/// `ptr` must be NULL or point to a NUL-terminated string that stays
/// unchanged for the whole call.
pub(crate) unsafe fn bytes<'a>(ptr: *const c_char, name: &str) -> Result<&'a [u8], Failure> {
    if ptr.is_null() {
        return Err(Failure::null(name));
    }
    // SAFETY: not NULL, and NUL-terminated by the caller's contract.
    Ok(unsafe { CStr::from_ptr(ptr) }.to_bytes())
}

/// A required C string that must be UTF-8 text (a key or a value).
///
/// # Safety
/// As for [`bytes`].
pub(crate) unsafe fn text<'a>(ptr: *const c_char, name: &str) -> Result<&'a str, Failure> {
    // SAFETY: forwarded contract.
    let bytes = unsafe { bytes(ptr, name) }?;
    std::str::from_utf8(bytes).map_err(|e| {
        Failure::new(
            kvp_status::KVP_ERR_INVALID_UTF8,
            format!(
                "{name} is not valid UTF-8 (bad byte at offset {}): pool text must be UTF-8",
                e.valid_up_to()
            ),
        )
    })
}

/// An optional C string that must be UTF-8 text when given. NULL gives
/// `None`.
///
/// # Safety
/// As for [`bytes`].
pub(crate) unsafe fn optional_text<'a>(
    ptr: *const c_char,
    name: &str,
) -> Result<Option<&'a str>, Failure> {
    if ptr.is_null() {
        return Ok(None);
    }
    // SAFETY: forwarded contract.
    unsafe { text(ptr, name) }.map(Some)
}

/// A caller's array of `count` items. NULL is allowed when `count` is 0.
///
/// # Safety
/// `ptr` must be NULL or point to `count` readable, initialized items that
/// stay unchanged for the whole call.
pub(crate) unsafe fn array<'a, T>(
    ptr: *const T,
    count: usize,
    name: &str,
) -> Result<&'a [T], Failure> {
    match (ptr.is_null(), count) {
        (_, 0) => Ok(&[]),
        (true, _) => Err(Failure::null(name)),
        // SAFETY: `count` items, by the caller's contract.
        (false, _) => Ok(unsafe { std::slice::from_raw_parts(ptr, count) }),
    }
}

/// The value a `uint32_t` selector names, from `table`; another number is
/// `KVP_ERR_UNKNOWN_NAME`, as an unknown pool number or mode is. Such
/// arguments are checked this way, never cast into Rust enums.
pub(crate) fn choice<T: Clone>(
    value: u32,
    what: &'static str,
    table: &[(u32, T)],
    expected: &'static str,
) -> Result<T, Failure> {
    table
        .iter()
        .find(|(number, _)| *number == value)
        .map(|(_, chosen)| chosen.clone())
        .ok_or_else(|| {
            kvp_core::Error::UnknownName {
                what,
                name: value.to_string(),
                expected,
            }
            .into()
        })
}

/// Checks a `uint32_t` flags argument: a bit outside `known` is
/// `KVP_ERR_INVALID_ARGUMENT`, so that a flag of a later version is never
/// silently ignored.
pub(crate) fn flags(value: u32, known: u32, name: &str) -> Result<u32, Failure> {
    if value & !known != 0 {
        return Err(Failure::new(
            kvp_status::KVP_ERR_INVALID_ARGUMENT,
            format!(
                "{name} is {value:#x}: bits {:#x} are not flags this version knows",
                value & !known
            ),
        ));
    }
    Ok(value)
}

/// A caller's buffer with the two-call size protocol of `kvp_read`: `buf`
/// of `buf_len` bytes, and `*len` for the length. `buf = NULL,
/// buf_len = 0` is a size query.
pub(crate) struct SizedBuf {
    buf: *mut c_char,
    buf_len: usize,
    len: Out<usize>,
}

impl SizedBuf {
    /// Checks the pointers, before any work is done.
    ///
    /// # Safety
    /// `buf` must be NULL or writable for `buf_len` bytes, and `len` NULL or
    /// writable, for the whole call.
    pub(crate) unsafe fn new(
        buf: *mut c_char,
        buf_len: usize,
        len: *mut usize,
        len_name: &str,
    ) -> Result<SizedBuf, Failure> {
        // SAFETY: forwarded contract.
        let len = unsafe { Out::required(len, len_name) }?;
        if buf.is_null() && buf_len != 0 {
            return Err(Failure::null("buf (with buf_len > 0)"));
        }
        Ok(SizedBuf { buf, buf_len, len })
    }

    /// Copies `value` and a NUL into the buffer and sets the length; when
    /// the buffer cannot hold both, sets only the length, leaves the buffer
    /// untouched and fails with `KVP_ERR_BUFFER_TOO_SMALL`.
    pub(crate) fn fill(self, value: &[u8]) -> Result<(), Failure> {
        if value.len() >= self.buf_len {
            self.len.set(value.len());
            return Err(Failure::new(
                kvp_status::KVP_ERR_BUFFER_TOO_SMALL,
                format!(
                    "the value is {} bytes and needs a buffer of {}; buf_len is {}",
                    value.len(),
                    value.len() + 1,
                    self.buf_len
                ),
            ));
        }
        // SAFETY: `buf` is writable for `buf_len` > value.len() bytes by the
        // contract of `new`, and cannot overlap the value, which the library
        // owns.
        unsafe {
            std::ptr::copy_nonoverlapping(value.as_ptr(), self.buf.cast::<u8>(), value.len());
            self.buf.add(value.len()).write(0);
        }
        self.len.set(value.len());
        Ok(())
    }
}

/// An optional path: any bytes but NUL, as for open(2). NULL gives `None`.
///
/// # Safety
/// As for [`bytes`].
pub(crate) unsafe fn optional_path<'a>(ptr: *const c_char) -> Option<&'a Path> {
    if ptr.is_null() {
        return None;
    }
    // SAFETY: not NULL, and NUL-terminated by the caller's contract.
    let bytes = unsafe { CStr::from_ptr(ptr) }.to_bytes();
    Some(Path::new(OsStr::from_bytes(bytes)))
}

/// An out-parameter. It is written only through [`Out::set`], which entry
/// points call last, so a failed call leaves the caller's variable as it
/// was.
pub(crate) struct Out<T>(NonNull<T>);

impl<T> Out<T> {
    /// A required out-parameter.
    ///
    /// # Safety
    /// `ptr` must be NULL or valid and aligned for a write of `T` for the
    /// whole call. What it points to may be uninitialized.
    pub(crate) unsafe fn required(ptr: *mut T, name: &str) -> Result<Out<T>, Failure> {
        NonNull::new(ptr)
            .map(Out)
            .ok_or_else(|| Failure::null(name))
    }

    /// An out-parameter the caller may pass as NULL when it does not want
    /// the result.
    ///
    /// # Safety
    /// As for [`Out::required`].
    pub(crate) unsafe fn optional(ptr: *mut T) -> Option<Out<T>> {
        NonNull::new(ptr).map(Out)
    }

    /// Stores the result, without reading or dropping what was there.
    pub(crate) fn set(self, value: T) {
        // SAFETY: valid for writes by the contract of the constructors;
        // `write` does not read the (possibly uninitialized) old value.
        unsafe { self.0.as_ptr().write(value) }
    }
}

/// Writes `value` into an optional out-parameter.
pub(crate) fn set_optional<T>(out: Option<Out<T>>, value: T) {
    if let Some(out) = out {
        out.set(value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ptr;

    #[test]
    fn panics_become_a_status() {
        let status = guard(|| panic!("on purpose"));
        assert_eq!(status, kvp_status::KVP_ERR_PANIC);
        assert_eq!(guard(|| Ok(())), kvp_status::KVP_OK);
    }

    #[test]
    fn success_clears_what_nested_calls_left() {
        let status = guard(|| {
            // As a kvp_foreach callback that makes a failing call does.
            let nested = guard(|| Err(Failure::null("key")));
            assert_eq!(nested, kvp_status::KVP_ERR_NULL_ARGUMENT);
            Ok(())
        });
        assert_eq!(status, kvp_status::KVP_OK);
        // SAFETY: kvp_last_error_message never returns NULL, and the string
        // lives until this thread's next entry point.
        let message = unsafe { CStr::from_ptr(error::kvp_last_error_message()) };
        assert_eq!(message.to_bytes(), b"");
        assert_eq!(error::kvp_last_os_error(), 0);
    }

    fn status_of<T>(result: Result<T, Failure>) -> kvp_status {
        match result {
            Ok(_) => kvp_status::KVP_OK,
            Err(failure) => guard(|| Err(failure)),
        }
    }

    #[test]
    fn null_and_bad_text_are_refused() {
        let bad = c"a\xffb";
        // SAFETY: NULL and static C strings meet the contracts.
        unsafe {
            assert_eq!(
                status_of(text(ptr::null(), "key")),
                kvp_status::KVP_ERR_NULL_ARGUMENT
            );
            assert_eq!(
                status_of(text(bad.as_ptr(), "key")),
                kvp_status::KVP_ERR_INVALID_UTF8
            );
            assert_eq!(text(c"k\u{e9}y".as_ptr(), "key").ok(), Some("k\u{e9}y"));
            assert_eq!(
                optional_path(bad.as_ptr()).map(|p| p.as_os_str().len()),
                Some(3)
            );
            assert!(optional_path(ptr::null()).is_none());
        }
    }

    #[test]
    fn choices_flags_and_arrays_are_checked() {
        let table = [(0, 'a'), (7, 'b')];
        assert_eq!(choice(7, "thing", &table, "0 or 7").ok(), Some('b'));
        assert_eq!(
            status_of(choice(1, "thing", &table, "0 or 7")),
            kvp_status::KVP_ERR_UNKNOWN_NAME
        );
        assert_eq!(flags(0b101, 0b111, "flags").ok(), Some(0b101));
        assert_eq!(
            status_of(flags(0b1000, 0b111, "flags")),
            kvp_status::KVP_ERR_INVALID_ARGUMENT
        );
        let items = [1u32, 2, 3];
        // SAFETY: NULL with no items, and a live array of three.
        unsafe {
            assert_eq!(array(ptr::null::<u32>(), 0, "items").ok(), Some(&[][..]));
            assert_eq!(
                status_of(array(ptr::null::<u32>(), 2, "items")),
                kvp_status::KVP_ERR_NULL_ARGUMENT
            );
            assert_eq!(array(items.as_ptr(), 3, "items").ok(), Some(&items[..]));
            assert_eq!(optional_text(ptr::null(), "t").ok(), Some(None));
        }
    }

    #[test]
    fn sized_buffers_follow_the_read_protocol() {
        let mut buf = [b'Z' as c_char; 4];
        let mut len = 99usize;
        // SAFETY: `buf` and `len` are live and writable for the call.
        let query = unsafe { SizedBuf::new(ptr::null_mut(), 0, &mut len, "len") };
        assert_eq!(
            status_of(query.and_then(|b| b.fill(b"abc"))),
            kvp_status::KVP_ERR_BUFFER_TOO_SMALL
        );
        assert_eq!(len, 3);
        // SAFETY: `buf` and `len` are live and writable for the call.
        let short = unsafe { SizedBuf::new(buf.as_mut_ptr(), 3, &mut len, "len") };
        assert!(short.and_then(|b| b.fill(b"abcd")).is_err());
        assert_eq!((len, buf[0]), (4, b'Z' as c_char));
        // SAFETY: `buf` and `len` are live and writable for the call.
        let fits = unsafe { SizedBuf::new(buf.as_mut_ptr(), 4, &mut len, "len") };
        assert!(fits.and_then(|b| b.fill(b"abc")).is_ok());
        assert_eq!((len, buf.map(|c| c as u8)), (3, *b"abc\0"));
        // SAFETY: `buf` and `len` are live and writable for the call.
        let bad = unsafe { SizedBuf::new(ptr::null_mut(), 4, &mut len, "len") };
        assert_eq!(status_of(bad), kvp_status::KVP_ERR_NULL_ARGUMENT);
        // SAFETY: `buf` and `len` are live and writable for the call.
        let no_len = unsafe { SizedBuf::new(buf.as_mut_ptr(), 4, ptr::null_mut(), "len") };
        assert_eq!(status_of(no_len), kvp_status::KVP_ERR_NULL_ARGUMENT);
    }

    #[test]
    fn out_parameters_are_written_only_when_set() {
        let mut value = 7usize;
        // SAFETY: `value` is a live, aligned usize.
        assert!(unsafe { Out::required(&mut value, "len") }.is_ok());
        assert_eq!(value, 7);
        // SAFETY: as above.
        set_optional(unsafe { Out::optional(&mut value) }, 3);
        assert_eq!(value, 3);
        // SAFETY: NULL is allowed.
        assert!(unsafe { Out::<usize>::required(ptr::null_mut(), "len") }.is_err());
    }
}
