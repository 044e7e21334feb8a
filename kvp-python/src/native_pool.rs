//! `hyperv_kvp._native.NativePool`: a frozen handle on one pool file.
//!
//! It holds no descriptor: kvp-core opens one per operation, so the handle
//! is shared freely between threads and keeps working in a child after
//! `fork`. Every core call runs with the GIL released.
//!
//! Keys cross into Python as `bytes` (`read_raw`, `delete_raw`,
//! `raw_entries`, `raw_records`): the Python layer decodes them with
//! surrogateescape, so a key that is not UTF-8 keeps its exact bytes and
//! never merges with another one. Values are text, invalid UTF-8 replaced
//! with U+FFFD. Writes take `str` and refuse what UTF-8 cannot encode.

use std::cell::RefCell;
use std::path::PathBuf;
use std::time::Duration;

use kvp_core::{record, FileStore, KvpStore, Options, Pool, PoolMode, WaitCheck};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString};

use crate::errors::to_py;

thread_local! {
    /// The exception a Python signal handler raised (KeyboardInterrupt,
    /// usually) while this thread waited for a pool's lock.
    static INTERRUPT: RefCell<Option<PyErr>> = const { RefCell::new(None) };
}

/// The check the core runs about every 100 ms while an operation waits, in
/// the store's queue or for the file locks, on the waiting thread with the
/// GIL released. It takes the GIL and runs Python's signal handlers
/// (`PyErr_CheckSignals`, which does nothing outside the main thread). A
/// handler that raises ends the wait: its exception is kept for
/// [`NativePool::run`] to raise, and the core stops with
/// `Error::Interrupted`, having touched nothing. The operation keeps its
/// place in the queue for as long as it waits, so the threads of one
/// process are served in arrival order.
fn signal_check() -> WaitCheck {
    WaitCheck::new(|| {
        // While the interpreter shuts down nothing can be raised: wait on.
        Python::try_attach(|py| match py.check_signals() {
            Ok(()) => true,
            Err(raised) => {
                INTERRUPT.with(|slot| *slot.borrow_mut() = Some(raised));
                false
            }
        })
        .unwrap_or(true)
    })
}

/// The exception a signal handler raised during this thread's last wait,
/// if any; taking it clears it.
fn take_interrupt() -> Option<PyErr> {
    INTERRUPT.with(|slot| slot.borrow_mut().take())
}

/// An invalid option of the constructor, reported through the core's
/// error (and so as `InvalidOptionError`).
fn invalid_option(py: Python<'_>, option: &'static str, reason: String) -> PyErr {
    to_py(py, kvp_core::Error::InvalidOption { option, reason })
}

/// A pool file opened with fixed options; the Python class `KvpPool` wraps it.
#[pyclass(frozen, module = "hyperv_kvp._native")]
pub(crate) struct NativePool {
    /// What the caller asked for (`None`: wait as long as it takes).
    lock_timeout: Option<Duration>,
    /// The options the store was opened with.
    options: Options,
    /// The one store every operation goes through, so that the threads
    /// sharing this handle queue in its fair FIFO.
    store: FileStore,
}

impl NativePool {
    /// Runs `op` on the store with the GIL released. A Python exception
    /// raised by a signal handler while `op` waited is raised instead of
    /// the result: the core gives up such a wait before it touches the
    /// file, and in the rare case that the turn came in the same instant
    /// the operation is complete, as with a Ctrl-C just after any call.
    fn run<T: Send>(
        &self,
        py: Python<'_>,
        op: impl FnOnce(&FileStore) -> kvp_core::Result<T> + Send,
    ) -> PyResult<T> {
        self.run_with(py, op, to_py)
    }

    /// [`NativePool::run`] for operations whose errors are not the core's
    /// (kvp-report's, which wrap them): `to_err` maps them.
    pub(crate) fn run_with<T: Send, E: Send>(
        &self,
        py: Python<'_>,
        op: impl FnOnce(&FileStore) -> Result<T, E> + Send,
        to_err: impl FnOnce(Python<'_>, E) -> PyErr,
    ) -> PyResult<T> {
        let result = py.detach(|| op(&self.store));
        if let Some(raised) = take_interrupt() {
            return Err(raised);
        }
        result.map_err(|err| to_err(py, err))
    }
}

fn borrowed(entries: &[(String, String)]) -> Vec<(&str, &str)> {
    entries
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

/// A key as the mapping yields it: UTF-8, undecodable bytes as surrogate
/// escapes (Python's own codec), so that distinct keys stay distinct and
/// each can be read and deleted through the str it yields.
fn key_text<'py>(py: Python<'py>, key: &[u8]) -> PyResult<Bound<'py, PyString>> {
    match std::str::from_utf8(key) {
        Ok(key) => Ok(PyString::new(py, key)),
        Err(_) => PyString::from_encoded_object(
            &PyBytes::new(py, key),
            Some(c"utf-8"),
            Some(c"surrogateescape"),
        ),
    }
}

#[pymethods]
impl NativePool {
    /// Opens `path`, or pool number `pool` in `directory` (None means
    /// /var/lib/hyperv). Nothing is created until the first write.
    /// `lock_timeout` is in seconds, None waiting as long as it takes.
    #[new]
    #[pyo3(signature = (*, pool, directory, path, mode, lock_timeout, sync, create_mode, max_pool_bytes))]
    #[allow(clippy::too_many_arguments)] // the keyword arguments of one constructor
    fn new(
        py: Python<'_>,
        pool: u32,
        directory: Option<PathBuf>,
        path: Option<PathBuf>,
        mode: String,
        lock_timeout: Option<f64>,
        sync: bool,
        create_mode: u32,
        max_pool_bytes: u64,
    ) -> PyResult<NativePool> {
        let mode: PoolMode = mode.parse().map_err(|e| to_py(py, e))?;
        let lock_timeout = lock_timeout
            .map(|secs| {
                if secs.is_nan() || secs.is_infinite() || secs < 0.0 {
                    return Err(invalid_option(
                        py,
                        "lock_timeout",
                        format!("{secs}: give a finite number of seconds >= 0, or None to wait as long as it takes"),
                    ));
                }
                // Longer than a Duration holds: the core waits without a
                // deadline, which is no different in practice.
                Ok(Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX))
            })
            .transpose()?;
        let options = Options::new()
            .mode(mode)
            .lock_timeout(lock_timeout)
            .sync_on_write(sync)
            .create_mode(create_mode)
            .max_pool_bytes(max_pool_bytes)
            .wait_check(Some(signal_check()));
        let opening = options.clone();
        let store = match (path, directory) {
            (Some(_), Some(_)) => {
                return Err(PyTypeError::new_err(
                    "give either path or pool and directory, not both",
                ))
            }
            (Some(path), None) => py.detach(|| opening.open(path)),
            (None, directory) => {
                let pool = Pool::from_number(pool).ok_or_else(|| {
                    PyValueError::new_err(format!("pool number must be 0-4, not {pool}"))
                })?;
                py.detach(|| opening.open_pool(pool, directory.as_deref()))
            }
        }
        .map_err(|e| to_py(py, e))?;
        Ok(NativePool {
            lock_timeout,
            options,
            store,
        })
    }

    /// The pool file's path.
    #[getter]
    fn path(&self) -> &std::ffi::OsStr {
        self.store.path().as_os_str()
    }

    /// "safe" or "full".
    #[getter]
    fn mode(&self) -> &'static str {
        self.options.get_mode().as_str()
    }

    /// The lock timeout in seconds, or None to wait as long as it takes.
    #[getter]
    fn lock_timeout(&self) -> Option<f64> {
        self.lock_timeout.map(|t| t.as_secs_f64())
    }

    /// Whether writes are synced to disk before the lock is released.
    #[getter]
    fn sync(&self) -> bool {
        self.options.get_sync_on_write()
    }

    /// Permission bits of a pool file this handle creates.
    #[getter]
    fn create_mode(&self) -> u32 {
        self.options.get_create_mode()
    }

    /// The largest pool, in bytes, that a whole-pool read accepts.
    #[getter]
    fn max_pool_bytes(&self) -> u64 {
        self.options.get_max_pool_bytes()
    }

    /// Upsert `key`, validated against the pool mode before the lock.
    fn insert(&self, py: Python<'_>, key: String, value: String) -> PyResult<()> {
        self.run(py, |s| s.insert(&key, &value))
    }

    /// One record at the end.
    fn append(&self, py: Python<'_>, key: String, value: String) -> PyResult<()> {
        self.run(py, |s| s.append(&key, &value))
    }

    /// Records at the end under one lock; all or nothing.
    fn append_many(&self, py: Python<'_>, entries: Vec<(String, String)>) -> PyResult<()> {
        let entries = borrowed(&entries);
        self.run(py, |s| s.append_many(&entries))
    }

    /// Replaces the whole pool; all or nothing.
    fn load(&self, py: Python<'_>, entries: Vec<(String, String)>) -> PyResult<()> {
        let entries = borrowed(&entries);
        self.run(py, |s| s.load(&entries))
    }

    /// The value of the last record whose key is exactly `key`, as text.
    fn read_raw(&self, py: Python<'_>, key: &[u8]) -> PyResult<Option<String>> {
        Ok(self.run(py, |s| s.read_raw(key))?.map(record::into_text))
    }

    /// Removes every record whose key is exactly `key`; returns how many.
    fn delete_raw(&self, py: Python<'_>, key: &[u8]) -> PyResult<usize> {
        self.run(py, |s| s.delete_raw(&[key]))
    }

    /// Removes every record, keeping the file.
    fn clear(&self, py: Python<'_>) -> PyResult<()> {
        self.run(py, |s| s.clear())
    }

    /// Every distinct key with its last value, in the keys' byte order, as
    /// a dict (built here: a dict built in Python cost 2-3x the read).
    fn entries<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let entries = self.run(py, |s| s.raw_entries())?;
        let dict = PyDict::new(py);
        for (key, value) in &entries {
            dict.set_item(key_text(py, key)?, record::decode_lossy(value))?;
        }
        Ok(dict)
    }

    /// Every record in file order as (key, value) text.
    fn records<'py>(&self, py: Python<'py>) -> PyResult<Vec<(Bound<'py, PyString>, String)>> {
        let records = self.run(py, |s| s.raw_records())?;
        records
            .into_iter()
            .map(|r| Ok((key_text(py, &r.key)?, record::into_text(r.value))))
            .collect()
    }

    /// Whole records in the file.
    fn record_count(&self, py: Python<'_>) -> PyResult<usize> {
        self.run(py, |s| s.len())
    }

    /// Distinct raw keys (capped as `entries` is).
    fn unique_keys(&self, py: Python<'_>) -> PyResult<usize> {
        self.run(py, |s| s.unique_keys())
    }

    /// Whether the pool was last written no later than boot.
    fn is_stale(&self, py: Python<'_>) -> PyResult<bool> {
        self.run(py, |s| s.is_stale())
    }

    /// Empties a stale pool under one lock; whether it did.
    fn clear_if_stale(&self, py: Python<'_>) -> PyResult<bool> {
        self.run(py, |s| s.clear_if_stale())
    }

    /// The records as a JSON array, keys and values as text.
    fn dump_json(&self, py: Python<'_>) -> PyResult<String> {
        self.run(py, |s| s.dump_json())
    }
}
