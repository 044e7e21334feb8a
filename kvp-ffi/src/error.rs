//! The per-thread detail of the last failure, for people; programs branch
//! on the returned [`kvp_status`] instead.

use std::any::Any;
use std::cell::RefCell;
use std::ffi::{c_char, CString};
use std::os::raw::c_int;

use crate::status::{self, kvp_status};

/// Why an entry point failed: the code it returns and the message and
/// errno it leaves behind for this thread.
#[derive(Debug)]
pub(crate) struct Failure {
    status: kvp_status,
    message: String,
    os_error: c_int,
}

impl Failure {
    pub(crate) fn new(status: kvp_status, message: impl Into<String>) -> Failure {
        Failure {
            status,
            message: message.into(),
            os_error: 0,
        }
    }

    /// A required pointer argument was NULL.
    pub(crate) fn null(name: &str) -> Failure {
        Failure::new(kvp_status::KVP_ERR_NULL_ARGUMENT, format!("{name} is NULL"))
    }

    /// Prefixes the message, to say which argument or batch entry failed.
    pub(crate) fn context(mut self, what: impl std::fmt::Display) -> Failure {
        self.message = format!("{what}: {}", self.message);
        self
    }

    pub(crate) fn panic(payload: &(dyn Any + Send)) -> Failure {
        let detail = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("no message");
        Failure::new(
            kvp_status::KVP_ERR_PANIC,
            format!("internal error (a bug in libkvp, please report it): {detail}"),
        )
    }
}

impl From<kvp_core::Error> for Failure {
    fn from(error: kvp_core::Error) -> Failure {
        Failure {
            status: status::from_kind(error.kind()),
            message: error.to_string(),
            os_error: error.raw_os_error().unwrap_or(0),
        }
    }
}

impl From<kvp_report::Error> for Failure {
    fn from(error: kvp_report::Error) -> Failure {
        match error {
            kvp_report::Error::Store(core) => Failure::from(core),
            other => {
                let os_error = match &other {
                    kvp_report::Error::Unreadable { source, .. } => {
                        source.raw_os_error().unwrap_or(0)
                    }
                    _ => 0,
                };
                Failure {
                    status: status::from_report_kind(other.kind()),
                    message: other.to_string(),
                    os_error,
                }
            }
        }
    }
}

struct LastError {
    message: CString,
    os_error: c_int,
}

thread_local! {
    static LAST: RefCell<LastError> = RefCell::new(LastError {
        message: CString::default(),
        os_error: 0,
    });
}

/// Forgets this thread's last failure; every entry point starts with it.
pub(crate) fn clear() {
    // `try_with` fails only while the thread is being torn down, when a
    // C destructor calls in; there is then nothing worth keeping.
    let _ = LAST.try_with(|last| {
        if let Ok(mut last) = last.try_borrow_mut() {
            last.message = CString::default();
            last.os_error = 0;
        }
    });
}

/// Keeps `failure` as this thread's last failure and returns its code.
pub(crate) fn record(failure: Failure) -> kvp_status {
    // A message is built from paths and keys, which C callers cannot give
    // a NUL; the replacement only guards the conversion.
    let message = CString::new(failure.message.replace('\0', "\\0")).unwrap_or_default();
    let _ = LAST.try_with(|last| {
        if let Ok(mut last) = last.try_borrow_mut() {
            last.message = message;
            last.os_error = failure.os_error;
        }
    });
    failure.status
}

/// The message of the last failure on this thread, or `""` when the last
/// call succeeded. Never NULL. The string belongs to the library and stays
/// valid until this thread's next call of a function that returns a
/// `kvp_status`, or of `kvp_close`, `kvp_string_free`, `kvp_options_init`,
/// `kvp_report_init` or `kvp_event_init`.
#[no_mangle]
pub extern "C" fn kvp_last_error_message() -> *const c_char {
    LAST.try_with(|last| match last.try_borrow() {
        Ok(last) => last.message.as_ptr(),
        Err(_) => c"".as_ptr(),
    })
    .unwrap_or(c"".as_ptr())
}

/// The `errno` of the last failure on this thread when it was
/// `KVP_ERR_IO` (for instance `ENOENT` or `EACCES`), else 0.
#[no_mangle]
pub extern "C" fn kvp_last_os_error() -> c_int {
    LAST.try_with(|last| last.try_borrow().map_or(0, |last| last.os_error))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    fn message() -> String {
        // SAFETY: kvp_last_error_message never returns NULL and the string
        // lives until the next entry point on this thread.
        unsafe { CStr::from_ptr(kvp_last_error_message()) }
            .to_string_lossy()
            .into_owned()
    }

    #[test]
    fn record_then_clear() {
        assert_eq!(message(), "");
        let status =
            record(Failure::new(kvp_status::KVP_ERR_INVALID_ARGUMENT, "bad\0x").context("mode"));
        assert_eq!(status, kvp_status::KVP_ERR_INVALID_ARGUMENT);
        assert_eq!(message(), "mode: bad\\0x");
        clear();
        assert_eq!(message(), "");
        assert_eq!(kvp_last_os_error(), 0);
    }

    #[test]
    fn io_errors_keep_their_errno() {
        let file = tempfile::NamedTempFile::new().expect("temp file");
        let below_a_file = file.path().join("pool");
        let error = kvp_core::FileStore::open(&below_a_file).expect_err("ENOTDIR");
        let status = record(Failure::from(error));
        assert_eq!(status, kvp_status::KVP_ERR_IO);
        assert_eq!(kvp_last_os_error(), libc::ENOTDIR);
        assert!(
            message().contains(&*below_a_file.to_string_lossy()),
            "{}",
            message()
        );
    }

    #[test]
    fn report_errors_keep_their_code_and_errno() {
        let missing = tempfile::tempdir().expect("temp dir");
        let error = kvp_report::Machine::with_root(missing.path())
            .vm_id()
            .expect_err("no DMI there");
        assert_eq!(record(Failure::from(error)), kvp_status::KVP_ERR_IO);
        assert_eq!(kvp_last_os_error(), libc::ENOENT);
        assert!(message().contains("product_uuid"), "{}", message());
        let store = kvp_report::Error::Store(kvp_core::Error::EmptyKey);
        assert_eq!(record(Failure::from(store)), kvp_status::KVP_ERR_EMPTY_KEY);
        assert_eq!(kvp_last_os_error(), 0);
    }

    #[test]
    fn panic_payloads_become_messages() {
        let payload: Box<dyn Any + Send> = Box::new(String::from("boom"));
        let failure = Failure::panic(payload.as_ref());
        assert_eq!(failure.status, kvp_status::KVP_ERR_PANIC);
        assert!(failure.message.ends_with("boom"));
    }
}
