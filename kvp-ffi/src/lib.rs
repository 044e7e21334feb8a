//! # kvp-ffi: the C ABI of kvp-core
//!
//! Builds `libkvp.so` (SONAME `libkvp.so.0`) and `libkvp.a`, declared by
//! the generated `include/kvp.h`. Every entry point is a thin wrapper: it
//! checks its pointers, validates keys and values as UTF-8, calls the core
//! inside a panic guard and maps the core's error kind to a `kvp_status`.
//! The contract for C callers (threads, ownership, the read protocol) is
//! in the header and in docs/c-api.md.
//!
//! The module layout: `boundary` (the guard and argument checks, written
//! once), `status` (codes and the one kind-to-code table), `error` (the
//! per-thread last error), `options`, `store` (open, write, read, close),
//! `records` (foreach and JSON), `constants` (version and sizes), and the
//! report API over kvp-report: `report` (provisioning report, VM id) and
//! `events` (write and walk diagnostic events).
#![deny(missing_docs)]

// Declared in the order the header lists them, since cbindgen follows it
// (the blank lines keep rustfmt from sorting them).
mod constants;

mod status;

mod error;

mod options;

mod store;

mod records;

mod report;

mod events;

mod event_walk;

mod boundary;

// The ELF symbol version (KVP_0) of every exported function: see build.rs.
include!(concat!(env!("OUT_DIR"), "/symver.rs"));

pub use constants::*;
pub use error::{kvp_last_error_message, kvp_last_os_error};
pub use event_walk::*;
pub use events::*;
pub use options::{
    kvp_options, kvp_options_init, KVP_DEFAULT_CREATE_MODE, KVP_DEFAULT_LOCK_TIMEOUT_MS,
    KVP_LOCK_WAIT_FOREVER, KVP_MODE_FULL, KVP_MODE_SAFE,
};
pub use records::{
    kvp_dump_json, kvp_foreach, kvp_foreach_fn, kvp_string_free, KVP_FOREACH_CONTINUE,
    KVP_FOREACH_STOP,
};
pub use report::*;
pub use status::{kvp_status, kvp_status_str};
pub use store::{
    kvp_append, kvp_append_many, kvp_clear, kvp_clear_if_stale, kvp_close, kvp_delete, kvp_entry,
    kvp_insert, kvp_is_stale, kvp_len, kvp_open, kvp_open_pool, kvp_read, kvp_store,
};
