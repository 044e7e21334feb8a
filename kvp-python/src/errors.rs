//! The tables from kvp-core and kvp-report errors to Python exceptions,
//! one per crate, each keyed on that crate's `ErrorKind`.
//!
//! The exception classes live in `hyperv_kvp.exceptions` (Python), because
//! under abi3 a class defined in Rust cannot also subclass ValueError or
//! TimeoutError. I/O errors become `OSError(errno, strerror, filename)`, so
//! that Python picks FileNotFoundError, PermissionError, ... by itself.

use kvp_core::{Error, ErrorKind, Field};
use pyo3::exceptions::{PyInterruptedError, PyOSError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

pyo3::import_exception!(hyperv_kvp.exceptions, KvpError);
pyo3::import_exception!(hyperv_kvp.exceptions, InvalidKeyError);
pyo3::import_exception!(hyperv_kvp.exceptions, InvalidValueError);
pyo3::import_exception!(hyperv_kvp.exceptions, KeyTooLargeError);
pyo3::import_exception!(hyperv_kvp.exceptions, ValueTooLargeError);
pyo3::import_exception!(hyperv_kvp.exceptions, UniqueKeyLimitError);
pyo3::import_exception!(hyperv_kvp.exceptions, LockTimeoutError);
pyo3::import_exception!(hyperv_kvp.exceptions, NotARegularFileError);
pyo3::import_exception!(hyperv_kvp.exceptions, UnknownNameError);
pyo3::import_exception!(hyperv_kvp.exceptions, UnsafePoolError);
pyo3::import_exception!(hyperv_kvp.exceptions, PoolReplacedError);
pyo3::import_exception!(hyperv_kvp.exceptions, PoolTooLargeError);
pyo3::import_exception!(hyperv_kvp.exceptions, InvalidOptionError);
pyo3::import_exception!(hyperv_kvp.exceptions, InvalidFieldError);
pyo3::import_exception!(hyperv_kvp.exceptions, ReportTooLargeError);
pyo3::import_exception!(hyperv_kvp.exceptions, EventTooLargeError);
pyo3::import_exception!(hyperv_kvp.exceptions, UnsupportedByFormatError);
pyo3::import_exception!(hyperv_kvp.exceptions, ReportFormatError);
pyo3::import_exception!(hyperv_kvp.exceptions, VmIdError);

/// Converts a core error into the matching Python exception.
pub(crate) fn to_py(py: Python<'_>, err: Error) -> PyErr {
    build(py, &err).unwrap_or_else(|construction_failed| construction_failed)
}

fn build(py: Python<'_>, err: &Error) -> PyResult<PyErr> {
    let message = err.to_string();
    let kwargs = PyDict::new(py);
    let (class, args): (Bound<'_, PyAny>, Bound<'_, pyo3::types::PyTuple>) = match err.kind() {
        ErrorKind::EmptyKey => (
            py.get_type::<InvalidKeyError>().into_any(),
            (message,).into_pyobject(py)?,
        ),
        ErrorKind::Nul => {
            let class = match err {
                Error::Nul {
                    field: Field::Value,
                } => py.get_type::<InvalidValueError>(),
                _ => py.get_type::<InvalidKeyError>(),
            };
            (class.into_any(), (message,).into_pyobject(py)?)
        }
        ErrorKind::KeyTooLarge | ErrorKind::ValueTooLarge => {
            if let Some((limit, actual, unit)) = err.size_excess() {
                kwargs.set_item("limit", limit)?;
                kwargs.set_item("actual", actual)?;
                kwargs.set_item("unit", unit.as_str())?;
            }
            let class = if err.kind() == ErrorKind::KeyTooLarge {
                py.get_type::<KeyTooLargeError>()
            } else {
                py.get_type::<ValueTooLargeError>()
            };
            (class.into_any(), (message,).into_pyobject(py)?)
        }
        ErrorKind::UniqueKeyLimit => {
            if let Error::UniqueKeyLimit { limit } = err {
                kwargs.set_item("limit", limit)?;
            }
            (
                py.get_type::<UniqueKeyLimitError>().into_any(),
                (message,).into_pyobject(py)?,
            )
        }
        ErrorKind::LockTimeout => {
            if let Error::LockTimeout {
                timeout, holder, ..
            } = err
            {
                kwargs.set_item("timeout", timeout.as_secs_f64())?;
                kwargs.set_item("holder", holder.to_string())?;
            }
            let args = (libc::ETIMEDOUT, message, path_of(err)).into_pyobject(py)?;
            (py.get_type::<LockTimeoutError>().into_any(), args)
        }
        ErrorKind::NotARegularFile => {
            // A directory is by far the usual mistake; give it the errno
            // open(2) would, so `e.errno == errno.EISDIR` works.
            let errno = match err.path() {
                Some(path) if path.is_dir() => libc::EISDIR,
                _ => libc::EINVAL,
            };
            let args = (errno, message, path_of(err)).into_pyobject(py)?;
            (py.get_type::<NotARegularFileError>().into_any(), args)
        }
        ErrorKind::UnknownName => (
            py.get_type::<UnknownNameError>().into_any(),
            (message,).into_pyobject(py)?,
        ),
        ErrorKind::UnsafePool => {
            if let Error::UnsafePool { reason, .. } = err {
                kwargs.set_item("reason", reason.to_string())?;
            }
            let args = (libc::EPERM, message, path_of(err)).into_pyobject(py)?;
            (py.get_type::<UnsafePoolError>().into_any(), args)
        }
        ErrorKind::PoolReplaced => {
            let args = (libc::ESTALE, message, path_of(err)).into_pyobject(py)?;
            (py.get_type::<PoolReplacedError>().into_any(), args)
        }
        ErrorKind::PoolTooLarge => {
            if let Error::PoolTooLarge { size, limit, .. } = err {
                kwargs.set_item("size", size)?;
                kwargs.set_item("limit", limit)?;
            }
            let args = (libc::EFBIG, message, path_of(err)).into_pyobject(py)?;
            (py.get_type::<PoolTooLargeError>().into_any(), args)
        }
        ErrorKind::InvalidOption => {
            if let Error::InvalidOption { option, .. } = err {
                kwargs.set_item("option", option)?;
            }
            (
                py.get_type::<InvalidOptionError>().into_any(),
                (message,).into_pyobject(py)?,
            )
        }
        // Normally the exception a signal handler raised is raised instead
        // (native_pool.rs); this is what is left when there is none.
        ErrorKind::Interrupted => {
            let args = (libc::EINTR, message, path_of(err)).into_pyobject(py)?;
            (py.get_type::<PyInterruptedError>().into_any(), args)
        }
        ErrorKind::Io => return os_error(py, err),
        // A kind added to the core later still reaches Python as a KvpError.
        _ => (
            py.get_type::<KvpError>().into_any(),
            (message,).into_pyobject(py)?,
        ),
    };
    let exception = class.call(args, Some(&kwargs))?;
    Ok(PyErr::from_value(exception))
}

/// The path as a `str`, as Python's `os` functions give it (undecodable
/// bytes as surrogate escapes), for `OSError.filename`.
fn path_of(err: &Error) -> Option<&std::ffi::OsStr> {
    err.path().map(std::path::Path::as_os_str)
}

/// `OSError(errno, strerror, filename)`: Python's OSError constructor picks
/// the subclass from the errno and sets the attributes.
fn os_error(py: Python<'_>, err: &Error) -> PyResult<PyErr> {
    let operation = match err {
        Error::Io { operation, .. } => *operation,
        _ => "I/O",
    };
    let Some(errno) = err.raw_os_error() else {
        return Ok(PyOSError::new_err((
            None::<i32>,
            err.to_string(),
            path_of(err).map(std::ffi::OsStr::to_os_string),
        )));
    };
    errno_error(py, errno, operation, path_of(err))
}

/// `OSError(errno, "<strerror> (<operation>)", filename)`, or an OSError
/// with the message alone when the error carries no errno.
fn io_error(
    py: Python<'_>,
    err: &std::io::Error,
    operation: &str,
    path: Option<&std::ffi::OsStr>,
) -> PyResult<PyErr> {
    match err.raw_os_error() {
        Some(errno) => errno_error(py, errno, operation, path),
        None => Ok(PyOSError::new_err((
            None::<i32>,
            format!("{err} ({operation})"),
            path.map(std::ffi::OsStr::to_os_string),
        ))),
    }
}

fn errno_error(
    py: Python<'_>,
    errno: i32,
    operation: &str,
    path: Option<&std::ffi::OsStr>,
) -> PyResult<PyErr> {
    let strerror: String = py
        .import("os")?
        .getattr("strerror")?
        .call1((errno,))?
        .extract()?;
    let exception =
        py.get_type::<PyOSError>()
            .call1((errno, format!("{strerror} ({operation})"), path))?;
    Ok(PyErr::from_value(exception))
}

/// Converts a kvp-report error into the matching Python exception: the
/// pool's own errors through [`to_py`], the rest through one table on
/// `kvp_report::ErrorKind`.
pub(crate) fn report_to_py(py: Python<'_>, err: kvp_report::Error) -> PyErr {
    if let kvp_report::Error::Store(core) = err {
        return to_py(py, core);
    }
    build_report(py, &err).unwrap_or_else(|construction_failed| construction_failed)
}

/// A `ReportFormatError` for a value that does not decode.
pub(crate) fn decode_to_py(py: Python<'_>, err: &kvp_report::DecodeError) -> PyErr {
    let raise = || -> PyResult<PyErr> {
        let kwargs = PyDict::new(py);
        kwargs.set_item("reason", err.reason.as_str())?;
        kwargs.set_item("detail", &err.detail)?;
        let message = format!("PROVISIONING_REPORT does not decode: {err}");
        let exception = py
            .get_type::<ReportFormatError>()
            .call((message,), Some(&kwargs))?;
        Ok(PyErr::from_value(exception))
    };
    raise().unwrap_or_else(|construction_failed| construction_failed)
}

fn build_report(py: Python<'_>, err: &kvp_report::Error) -> PyResult<PyErr> {
    use kvp_report::{Error as R, ErrorKind as K};
    let message = err.to_string();
    let kwargs = PyDict::new(py);
    let (class, args): (Bound<'_, PyAny>, Bound<'_, pyo3::types::PyTuple>) = match err.kind() {
        K::InvalidField => {
            let (field, reason) = match err {
                R::InvalidField { field, reason } => (*field, (*reason).to_owned()),
                R::InvalidUuid { field, value } => (*field, format!("{value:?} is not a UUID")),
                _ => ("", String::new()),
            };
            kwargs.set_item("field", field)?;
            kwargs.set_item("reason", reason)?;
            let class = py.get_type::<InvalidFieldError>().into_any();
            (class, (message,).into_pyobject(py)?)
        }
        K::TooLarge => {
            let (class, limit, actual, unit, field) = match err {
                R::ReportTooLarge { limit, actual } => (
                    py.get_type::<ReportTooLargeError>(),
                    *limit as u128,
                    *actual as u128,
                    "utf16-code-units",
                    None,
                ),
                R::FieldTooLong {
                    field,
                    limit,
                    actual,
                } => (
                    py.get_type::<EventTooLargeError>(),
                    *limit as u128,
                    *actual as u128,
                    "bytes",
                    Some(*field),
                ),
                R::DurationTooLarge {
                    limit_us,
                    actual_us,
                } => (
                    py.get_type::<EventTooLargeError>(),
                    u128::from(*limit_us),
                    *actual_us,
                    "microseconds",
                    Some("duration"),
                ),
                R::TooManyChunks { limit, actual } => (
                    py.get_type::<EventTooLargeError>(),
                    *limit as u128,
                    *actual as u128,
                    "records",
                    Some("payload"),
                ),
                _ => (py.get_type::<EventTooLargeError>(), 0, 0, "", None),
            };
            kwargs.set_item("limit", limit)?;
            kwargs.set_item("actual", actual)?;
            kwargs.set_item("unit", unit)?;
            if let Some(field) = field {
                kwargs.set_item("field", field)?;
            }
            (class.into_any(), (message,).into_pyobject(py)?)
        }
        K::Unsupported => {
            if let R::Unsupported {
                format,
                field,
                reason,
            } = err
            {
                kwargs.set_item("format", *format)?;
                kwargs.set_item("field", *field)?;
                kwargs.set_item("reason", *reason)?;
            }
            let class = py.get_type::<UnsupportedByFormatError>().into_any();
            (class, (message,).into_pyobject(py)?)
        }
        K::Decode => {
            if let R::Report(decode) = err {
                return Ok(decode_to_py(py, decode));
            }
            let class = py.get_type::<ReportFormatError>().into_any();
            (class, (message,).into_pyobject(py)?)
        }
        K::Io => {
            if let R::Unreadable { path, source } = err {
                return io_error(py, source, "read", Some(path.as_os_str()));
            }
            (
                py.get_type::<PyOSError>().into_any(),
                (message,).into_pyobject(py)?,
            )
        }
        K::NoVmId => {
            let (errno, path, value) = match err {
                R::NoVmId { path, value } => {
                    (libc::ENODATA, Some(path.as_os_str()), value.as_str())
                }
                R::MalformedVmId { path, value } => {
                    (libc::EINVAL, Some(path.as_os_str()), value.as_str())
                }
                _ => (libc::ENODATA, None, ""),
            };
            kwargs.set_item("value", value)?;
            let args = (errno, message, path).into_pyobject(py)?;
            (py.get_type::<VmIdError>().into_any(), args)
        }
        // A kind added to kvp-report later still reaches Python as a KvpError.
        _ => (
            py.get_type::<KvpError>().into_any(),
            (message,).into_pyobject(py)?,
        ),
    };
    let exception = class.call(args, Some(&kwargs))?;
    Ok(PyErr::from_value(exception))
}
