//! Writing events to a pool: every encoder behind one trait, and one
//! function that appends an event's records under one lock.

use kvp_core::KvpStore;

use crate::error::Result;
use crate::event::Event;

/// A format's encoder: [`crate::DiagWriter`] or [`crate::CloudInitWriter`].
pub trait EventEncoder {
    /// The `(key, value)` records of `event`, in order, each within the
    /// Safe limits; an error when the event cannot be written.
    fn encode(&self, event: &Event) -> Result<Vec<(String, String)>>;
}

impl EventEncoder for crate::DiagWriter {
    fn encode(&self, event: &Event) -> Result<Vec<(String, String)>> {
        crate::DiagWriter::encode(self, event)
    }
}

impl EventEncoder for crate::CloudInitWriter {
    fn encode(&self, event: &Event) -> Result<Vec<(String, String)>> {
        crate::CloudInitWriter::encode(self, event)
    }
}

/// Encodes `event` and appends its records with one `append_many`, so they
/// stay adjacent; an invalid event writes nothing. Returns the keys written.
pub fn write_event<S, E>(store: &S, encoder: &E, event: &Event) -> Result<Vec<String>>
where
    S: KvpStore + ?Sized,
    E: EventEncoder + ?Sized,
{
    let records = encoder.encode(event)?;
    let pairs: Vec<(&str, &str)> = records
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    store.append_many(&pairs)?;
    Ok(records.into_iter().map(|(k, _)| k).collect())
}
