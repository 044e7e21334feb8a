//! `hyperv_kvp._native.NativePool`: a frozen handle on one pool file.
//!
//! It holds no descriptor: kvp-core opens one per operation, so the handle
//! is shared freely between threads and keeps working in a child after
//! `fork`. Every core call runs with the GIL released.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use kvp_core::{ErrorKind, FileStore, KvpStore, Options, Pool, PoolMode};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;

use crate::errors::to_py;
use crate::wait;

/// Where the store's file comes from; kept so that a store with a shorter
/// lock timeout can be opened the same way (symlink rules included).
#[derive(Debug, Clone)]
enum Location {
    Path(PathBuf),
    Pool(Pool, Option<PathBuf>),
}

/// Why one attempt of an operation failed.
enum Failure {
    Core(kvp_core::Error),
    Python(PyErr),
}

/// A pool file opened with fixed options; the Python class `KvpPool` wraps it.
#[pyclass(frozen, module = "hyperv_kvp._native")]
pub(crate) struct NativePool {
    location: Location,
    options: Options,
    /// What the caller asked for; the core is only ever given slices of it.
    lock_timeout: Option<Duration>,
    /// Opened with the first slice of the timeout, the common case.
    store: FileStore,
}

impl NativePool {
    fn open(location: &Location, options: Options) -> kvp_core::Result<FileStore> {
        match location {
            Location::Path(path) => options.open(path.clone()),
            Location::Pool(pool, dir) => options.open_pool(*pool, dir.as_deref()),
        }
    }

    /// Runs `op` on the store with the GIL released, waiting for the lock in
    /// slices and running Python's signal handlers between them.
    fn run<T: Send>(
        &self,
        py: Python<'_>,
        op: impl Fn(&FileStore) -> kvp_core::Result<T> + Sync,
    ) -> PyResult<T> {
        let first = wait::first_slice(self.lock_timeout);
        let result = wait::sliced(
            self.lock_timeout,
            |slice| {
                py.detach(|| {
                    if slice == first {
                        op(&self.store)
                    } else {
                        let options = self.options.clone().lock_timeout(Some(slice));
                        op(&Self::open(&self.location, options)?)
                    }
                })
                .map_err(Failure::Core)
            },
            |failure| matches!(failure, Failure::Core(e) if e.kind() == ErrorKind::LockTimeout),
            || py.check_signals().map_err(Failure::Python),
        );
        match result {
            Ok(value) => Ok(value),
            Err(Failure::Python(err)) => Err(err),
            Err(Failure::Core(err)) if err.kind() == ErrorKind::LockTimeout => {
                // Report the caller's timeout, not the last slice's.
                let timed_out = kvp_core::Error::LockTimeout {
                    path: self.store.path().to_path_buf(),
                    timeout: self.lock_timeout.unwrap_or_default(),
                    holder: match err {
                        kvp_core::Error::LockTimeout { holder, .. } => holder,
                        _ => kvp_core::LockHolder::Unknown,
                    },
                };
                Err(to_py(py, timed_out))
            }
            Err(Failure::Core(err)) => Err(to_py(py, err)),
        }
    }
}

fn borrowed(entries: &[(String, String)]) -> Vec<(&str, &str)> {
    entries
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

#[pymethods]
impl NativePool {
    /// Opens `path`, or pool number `pool` in `directory` (None means
    /// /var/lib/hyperv). Nothing is created until the first write.
    #[new]
    #[pyo3(signature = (*, pool, directory, path, mode, lock_timeout, sync))]
    fn new(
        py: Python<'_>,
        pool: u32,
        directory: Option<PathBuf>,
        path: Option<PathBuf>,
        mode: String,
        lock_timeout: Option<f64>,
        sync: bool,
    ) -> PyResult<NativePool> {
        let mode: PoolMode = mode.parse().map_err(|e| to_py(py, e))?;
        let lock_timeout = lock_timeout
            .map(|secs| {
                Duration::try_from_secs_f64(secs).map_err(|_| {
                    PyValueError::new_err(format!(
                        "lock_timeout must be a finite number of seconds >= 0 or None, not {secs}"
                    ))
                })
            })
            .transpose()?;
        let location = match (path, directory) {
            (Some(_), Some(_)) => {
                return Err(PyTypeError::new_err(
                    "give either path or pool and directory, not both",
                ))
            }
            (Some(path), None) => Location::Path(path),
            (None, directory) => {
                let pool = Pool::from_number(pool).ok_or_else(|| {
                    PyValueError::new_err(format!("pool number must be 0-4, not {pool}"))
                })?;
                Location::Pool(pool, directory)
            }
        };
        let options = Options::new().mode(mode).sync_on_write(sync);
        let first = options
            .clone()
            .lock_timeout(Some(wait::first_slice(lock_timeout)));
        let store = py
            .detach(|| Self::open(&location, first))
            .map_err(|e| to_py(py, e))?;
        Ok(NativePool {
            location,
            options,
            lock_timeout,
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

    fn insert(&self, py: Python<'_>, key: String, value: String) -> PyResult<()> {
        self.run(py, |s| s.insert(&key, &value))
    }

    fn append(&self, py: Python<'_>, key: String, value: String) -> PyResult<()> {
        self.run(py, |s| s.append(&key, &value))
    }

    fn append_many(&self, py: Python<'_>, entries: Vec<(String, String)>) -> PyResult<()> {
        let entries = borrowed(&entries);
        self.run(py, |s| s.append_many(&entries))
    }

    fn load(&self, py: Python<'_>, entries: Vec<(String, String)>) -> PyResult<()> {
        let entries = borrowed(&entries);
        self.run(py, |s| s.load(&entries))
    }

    fn read(&self, py: Python<'_>, key: String) -> PyResult<Option<String>> {
        self.run(py, |s| s.read(&key))
    }

    fn delete(&self, py: Python<'_>, key: String) -> PyResult<usize> {
        self.run(py, |s| s.delete(&key))
    }

    fn clear(&self, py: Python<'_>) -> PyResult<()> {
        self.run(py, |s| s.clear())
    }

    fn entries(&self, py: Python<'_>) -> PyResult<BTreeMap<String, String>> {
        self.run(py, |s| s.entries())
    }

    fn records(&self, py: Python<'_>) -> PyResult<Vec<(String, String)>> {
        self.run(py, |s| {
            Ok(s.records()?.into_iter().map(|r| (r.key, r.value)).collect())
        })
    }

    fn record_count(&self, py: Python<'_>) -> PyResult<usize> {
        self.run(py, |s| s.len())
    }

    fn unique_keys(&self, py: Python<'_>) -> PyResult<usize> {
        self.run(py, |s| s.unique_keys())
    }

    fn is_stale(&self, py: Python<'_>) -> PyResult<bool> {
        self.run(py, |s| s.is_stale())
    }

    fn clear_if_stale(&self, py: Python<'_>) -> PyResult<bool> {
        self.run(py, |s| s.clear_if_stale())
    }

    fn dump_json(&self, py: Python<'_>) -> PyResult<String> {
        self.run(py, |s| s.dump_json())
    }
}
