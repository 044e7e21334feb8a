//! # kvp-tracing
//!
//! A [`tracing_subscriber::Layer`] that reports an agent's spans and
//! events to the Hyper-V host through KVP pool 1, as `DIAG_V1` records
//! (azure-init's diagnostics format) or, optionally, as cloud-init's
//! event records, encoded by [`kvp_report`].
//!
//! - A span writes a `start` record when it is created and a `finish`
//!   record when it closes, with its duration (the span's lifetime) and
//!   its result; both share one event id.
//! - An event writes an `event` record named after the span it is in.
//! - A span's result is `fail` when the thread is panicking as it closes,
//!   or when it records `diagnostic.result = "fail"`; otherwise when it
//!   records an `error` field or an `ERROR` event happens directly in it
//!   (or in a span below it that this layer does not follow); otherwise
//!   `success`. `diagnostic.result = "success"` overrides the last two.
//!   An event's result is its own `diagnostic.result`, if any.
//! - Payloads are JSON: `{"target":…,"level":…,"fields":{…}}`.
//!
//! The caller's thread never waits for the pool and never sees a panic
//! from the layer: it formats the fields and tries to push a record onto a
//! bounded queue. One writer thread owns the pool and appends in batches
//! with a short lock timeout. What could not be written (queue full, pool
//! locked too long, write errors) is counted in [`Stats`], read through a
//! [`KvpHandle`]; [`KvpGuard`] drains the queue with a bounded wait when it
//! is dropped or shut down.
//!
//! ```
//! use std::time::Duration;
//! use kvp_report::{read_entries, Entry, Kind, ReadOptions};
//! use kvp_tracing::KvpLayer;
//! use tracing_subscriber::layer::SubscriberExt;
//!
//! let dir = tempfile::tempdir()?;
//! let (layer, guard) = KvpLayer::builder("my-agent-1.0")
//!     .pool_dir(dir.path()) // pool 1 in /var/lib/hyperv by default
//!     .vm_id("3f2504e0-4f89-41d3-9a0c-0305e82c3301") // read from DMI by default
//!     .build()?;
//! let subscriber = tracing_subscriber::registry().with(layer);
//!
//! tracing::subscriber::with_default(subscriber, || {
//!     let span = tracing::info_span!("provision").entered();
//!     tracing::info!(attempt = 1, "fetched metadata");
//!     tracing::error!(error = "no lease", "dhcp failed"); // the span fails
//!     drop(span);
//! });
//!
//! let stats = guard.shutdown(Duration::from_secs(5))?; // drains the queue
//! assert_eq!((stats.written, stats.dropped()), (4, 0));
//!
//! let pool = kvp_core::FileStore::open_pool(kvp_core::Pool::Guest, dir.path())?;
//! let events: Vec<_> = read_entries(&pool, &ReadOptions::default())?
//!     .into_iter()
//!     .filter_map(|entry| match entry {
//!         Entry::Event(event) => Some(event),
//!         _ => None,
//!     })
//!     .collect();
//! let kinds: Vec<_> = events.iter().map(|e| (e.kind, e.name.as_str())).collect();
//! assert_eq!(
//!     kinds,
//!     [
//!         (Kind::Start, "provision"),
//!         (Kind::Event, "provision"),
//!         (Kind::Event, "provision"),
//!         (Kind::Finish, "provision"),
//!     ]
//! );
//! assert_eq!(events[3].result, Some(kvp_report::Outcome::Fail));
//! assert!(events[3].duration.is_some());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! In a program, install the subscriber once and keep the guard in `main`:
//!
//! ```no_run
//! use tracing_subscriber::layer::SubscriberExt;
//! use tracing_subscriber::util::SubscriberInitExt;
//!
//! # fn main() -> Result<(), kvp_tracing::Error> {
//! let (layer, _guard) = kvp_tracing::KvpLayer::builder("my-agent-1.0").build()?;
//! tracing_subscriber::registry().with(layer).init();
//! # Ok(())
//! # }
//! ```
#![deny(missing_docs)]

mod builder;
mod error;
mod fields;
mod handle;
mod ids;
mod json;
mod layer;
mod record;
mod stats;
mod worker;

pub use builder::{
    Builder, DEFAULT_LOCK_TIMEOUT, DEFAULT_MAX_FIELD_BYTES, DEFAULT_QUEUE_CAPACITY,
    DEFAULT_SHUTDOWN_TIMEOUT,
};
pub use error::{Error, Result};
pub use fields::{ERROR_FIELD, RESULT_FIELD};
pub use handle::{KvpGuard, KvpHandle};
pub use layer::KvpLayer;
pub use stats::Stats;
pub use tracing_core::LevelFilter;

/// The README's example, compiled by the doc tests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

/// The workspace README's Rust examples, compiled and run by the doc tests
/// here: this crate depends on every Rust crate they use.
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct WorkspaceReadmeDoctests;
