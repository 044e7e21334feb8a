//! The native half of the `hyperv_kvp` Python package: `hyperv_kvp._native`.
//!
//! The Python package (kvp-python/python/hyperv_kvp) holds the public API,
//! the exception classes and the stubs; this crate only converts arguments,
//! releases the GIL around every kvp-core and kvp-report call and maps their
//! errors to those exceptions through one table per crate (`errors`). The
//! reporting formats live in kvp-report; `report` only converts.
#![deny(missing_docs)]

mod errors;
mod module;
mod native_pool;
mod report;
