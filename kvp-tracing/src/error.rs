//! The crate's error type: what can fail while building the layer, and a
//! flush or shutdown that could not finish in time.

use std::time::Duration;

/// What went wrong.
///
/// Nothing on the caller's thread (a span or an event) ever returns or
/// raises this: those failures are counted in [`crate::Stats`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The agent or VM id is not valid for the format, or the VM id or the
    /// boot time could not be read from the machine.
    #[error(transparent)]
    Report(#[from] kvp_report::Error),
    /// The pool could not be opened.
    #[error(transparent)]
    Store(#[from] kvp_core::Error),
    /// An option's value cannot be used.
    #[error("invalid {option}: {reason}")]
    InvalidOption {
        /// The builder method.
        option: &'static str,
        /// What is wrong with the value.
        reason: &'static str,
    },
    /// The writer thread could not be started.
    #[error("cannot start the KVP writer thread: {0}")]
    Spawn(#[source] std::io::Error),
    /// A flush or shutdown did not finish within its timeout; what was not
    /// written yet still may be, or be counted as dropped.
    #[error("the KVP writer did not finish within {timeout:?}")]
    Timeout {
        /// The timeout that passed.
        timeout: Duration,
    },
    /// The writer has stopped (after a shutdown): nothing more is written.
    #[error("the KVP writer has stopped")]
    Closed,
}

/// Results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
