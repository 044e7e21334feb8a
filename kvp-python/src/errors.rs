//! The one table from kvp-core errors to Python exceptions.
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
    let strerror: String = py
        .import("os")?
        .getattr("strerror")?
        .call1((errno,))?
        .extract()?;
    let exception = py.get_type::<PyOSError>().call1((
        errno,
        format!("{strerror} ({operation})"),
        path_of(err),
    ))?;
    Ok(PyErr::from_value(exception))
}
