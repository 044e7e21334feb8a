//! The `hyperv_kvp._native` module object.

use pyo3::prelude::*;

use crate::errors::to_py;
use crate::native_pool::NativePool;

/// Parses a pool number or name with the core's rules, so that Python and
/// the other faces accept exactly the same names.
#[pyfunction]
fn parse_pool(py: Python<'_>, name: String) -> PyResult<u8> {
    name.parse::<kvp_core::Pool>()
        .map(kvp_core::Pool::number)
        .map_err(|e| to_py(py, e))
}

/// Parses a pool mode name ("safe" or "full", any case).
#[pyfunction]
fn parse_mode(py: Python<'_>, name: String) -> PyResult<&'static str> {
    name.parse::<kvp_core::PoolMode>()
        .map(kvp_core::PoolMode::as_str)
        .map_err(|e| to_py(py, e))
}

/// The limits the core enforces, as a dict, so the Python layer never
/// restates them.
#[pyfunction]
fn limits() -> Vec<(&'static str, usize)> {
    use kvp_core::limits;
    vec![
        ("KEY_SIZE", kvp_core::KEY_SIZE),
        ("VALUE_SIZE", kvp_core::VALUE_SIZE),
        ("RECORD_SIZE", kvp_core::RECORD_SIZE),
        ("MAX_UNIQUE_KEYS", kvp_core::MAX_UNIQUE_KEYS),
        ("SAFE_KEY_UTF16_UNITS", limits::SAFE_KEY_UTF16_UNITS),
        ("SAFE_VALUE_UTF16_UNITS", limits::SAFE_VALUE_UTF16_UNITS),
        ("MAX_KEY_BYTES", limits::MAX_KEY_BYTES),
        ("MAX_VALUE_BYTES", limits::MAX_VALUE_BYTES),
    ]
}

/// One packed record (a whole 2560-byte slot, as another writer packed
/// it) as its key and value text, each field up to its first NUL, with the
/// core's decoding. ValueError for a slot of another size or a field that
/// is not UTF-8.
#[pyfunction]
fn decode_slot(slot: &[u8]) -> PyResult<(String, String)> {
    if slot.len() != kvp_core::RECORD_SIZE {
        return Err(pyo3::exceptions::PyValueError::new_err(format!(
            "a record of {} bytes, not {}",
            slot.len(),
            kvp_core::RECORD_SIZE
        )));
    }
    let raw = kvp_core::RawRecord::decode(slot);
    let text = |field: Vec<u8>, name: &str| {
        String::from_utf8(field).map_err(|e| {
            pyo3::exceptions::PyValueError::new_err(format!(
                "the record's {name} is not UTF-8: {e}"
            ))
        })
    };
    Ok((text(raw.key, "key")?, text(raw.value, "value")?))
}

#[pymodule]
fn _native(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<NativePool>()?;
    module.add_function(wrap_pyfunction!(parse_pool, module)?)?;
    module.add_function(wrap_pyfunction!(parse_mode, module)?)?;
    module.add_function(wrap_pyfunction!(limits, module)?)?;
    module.add_function(wrap_pyfunction!(decode_slot, module)?)?;
    module.add("DEFAULT_DIR", kvp_core::DEFAULT_DIR)?;
    module.add(
        "DEFAULT_LOCK_TIMEOUT",
        kvp_core::DEFAULT_LOCK_TIMEOUT.as_secs_f64(),
    )?;
    module.add("DEFAULT_CREATE_MODE", kvp_core::DEFAULT_CREATE_MODE)?;
    module.add("DEFAULT_MAX_POOL_BYTES", kvp_core::DEFAULT_MAX_POOL_BYTES)?;
    module.add("__version__", env!("CARGO_PKG_VERSION"))?;
    crate::report::register(module)?;
    Ok(())
}
