//! # kvp-report
//!
//! What agents write into Hyper-V KVP pool 1, in every format cloud-init
//! and azure-init use, on top of [`kvp_core`]:
//!
//! - [`report`]: `PROVISIONING_REPORT`, the record the Azure host parses,
//!   in cloud-init's and azure-init's dialects, shortened (never broken)
//!   to what the host receives;
//! - [`shorten`]: any value for that key (a report or not) shortened to
//!   what the host receives, never inside a quoted field;
//! - [`vm_id`]: the VM id from DMI with the Gen1 byte swap, and whether the
//!   machine is Azure;
//! - [`event`]: one model of a diagnostic event, read from and written to
//!   [`cloud_init`] records (22.4, 24.4 and 26.1 variants),
//!   [`azure_tracing`] records (read only) and [`diag_v1`] records;
//! - [`reader`]: a pool snapshot decoded into events, reports and raw
//!   records, never failing on a bad record;
//! - [`timeline`]: decoded entries in time order, each finish paired with
//!   its start.
//!
//! The encoders are pure functions returning `(key, value)` records;
//! [`write_event`] appends them with one `append_many`, so an event's
//! records stay adjacent and an invalid event writes nothing.
//!
//! ```
//! use std::time::Duration;
//! use kvp_core::MemoryStore;
//! use kvp_report::{
//!     read_entries, write_event, write_report, Dialect, DiagWriter, Entry, Event, Kind, Outcome,
//!     ProvisioningReport, ReadOptions,
//! };
//!
//! let pool = MemoryStore::new();
//! let vm_id = "3f2504e0-4f89-41d3-9a0c-0305e82c3301";
//!
//! let writer = DiagWriter::new("my-agent-1.0", vm_id)?;
//! write_event(&pool, &writer, &Event::new(Kind::Event, "imds", "fetched metadata"))?;
//! let finish = Event::new(Kind::Finish, "provision", "done")
//!     .with_result(Outcome::Success)
//!     .with_duration(Duration::from_millis(312));
//! write_event(&pool, &writer, &finish)?;
//!
//! let report = ProvisioningReport::error("My-Agent/1.0", vm_id, "no network");
//! write_report(&pool, &report, Dialect::AzureInit)?;
//!
//! let entries = read_entries(&pool, &ReadOptions::default())?;
//! assert!(matches!(&entries[1], Entry::Event(e) if e.duration == Some(Duration::from_millis(312))));
//! assert!(matches!(&entries[2], Entry::Report { report, .. } if report.reason.as_deref() == Some("no network")));
//! # Ok::<(), kvp_report::Error>(())
//! ```
#![deny(missing_docs)]

pub mod azure_tracing;
pub mod cloud_init;
pub mod compress;
mod csv;
pub mod diag_v1;
pub mod error;
pub mod event;
mod pyjson;
pub mod reader;
pub mod report;
pub mod shorten;
pub mod time;
pub mod timeline;
pub mod vm_id;
pub mod writer;

pub use cloud_init::CloudInitWriter;
pub use diag_v1::DiagWriter;
pub use error::{DecodeError, Error, ErrorKind, Reason, Result};
pub use event::{
    Chunks, CloudInitVariant, Encoding, Entry, Event, Format, Kind, Outcome, Payload, RawEntry,
};
pub use reader::{decode, events, read_entries, ReadOptions};
pub use report::{
    read_report, write_report, Dialect, PpsType, ProvisioningReport, ReportResult,
    PROVISIONING_REPORT_KEY,
};
pub use shorten::shorten_for_host;
pub use time::Timestamp;
pub use timeline::{Step, Timeline};
pub use vm_id::{Generation, Machine};
pub use writer::{write_event, EventEncoder};

/// The crate README's example (what crates.io shows), run as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct CrateReadmeDoctests;
