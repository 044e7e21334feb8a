//! The one typed model of a diagnostic event, whatever format carried it,
//! and what a decoded pool is made of.

use std::time::Duration;

use kvp_core::RawRecord;

use crate::error::DecodeError;
use crate::report::ProvisioningReport;
use crate::time::Timestamp;

/// Which release line of cloud-init's `HyperVKvpReportingHandler` a record
/// matches (docs/reporting.md has the table).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CloudInitVariant {
    /// 22.4 to 24.3: key without the VM id, `ts` ending in `Z`, no
    /// `duration`.
    V22_4,
    /// 24.4 to 25.x: as 22.4, but `ts` ends in `+00:00`.
    V24_4,
    /// 26.1 and later: the VM id in the key, `ts` ending in `+00:00`,
    /// `duration` (seconds) on finish events.
    V26_1,
}

/// The wire format an event was read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// cloud-init's `CLOUD_INIT|...` records with JSON values.
    CloudInit(CloudInitVariant),
    /// azure-init's tracing layer today:
    /// `azure-init-<ver>|<vm_id>|<LEVEL>|<span>|<uuid>`.
    AzureInitTracing,
    /// `DIAG_V1|...`, azure-init's versioned diagnostics format.
    DiagV1,
}

impl Format {
    /// A short name: `cloud-init-22.4`, `cloud-init-24.4`,
    /// `cloud-init-26.1`, `azure-init-tracing` or `diag-v1`.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::CloudInit(CloudInitVariant::V22_4) => "cloud-init-22.4",
            Format::CloudInit(CloudInitVariant::V24_4) => "cloud-init-24.4",
            Format::CloudInit(CloudInitVariant::V26_1) => "cloud-init-26.1",
            Format::AzureInitTracing => "azure-init-tracing",
            Format::DiagV1 => "diag-v1",
        }
    }
}

/// An event's position on a timeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Opens an operation.
    Start,
    /// Closes an operation (carries its result and duration when known).
    Finish,
    /// A point observation.
    Event,
}

impl Kind {
    /// `start`, `finish` or `event`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Start => "start",
            Kind::Finish => "finish",
            Kind::Event => "event",
        }
    }
}

/// An event's verdict.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Outcome {
    /// cloud-init `SUCCESS`, `DIAG_V1` `success`.
    Success,
    /// cloud-init `WARN` (`DIAG_V1` has no such result).
    Warn,
    /// cloud-init `FAIL`, `DIAG_V1` `fail`.
    Fail,
    /// Another token, as a cloud-init record spelled it.
    Other(String),
}

impl Outcome {
    /// cloud-init's spelling: `SUCCESS`, `WARN`, `FAIL` or the token.
    pub fn cloud_init_token(&self) -> &str {
        match self {
            Outcome::Success => "SUCCESS",
            Outcome::Warn => "WARN",
            Outcome::Fail => "FAIL",
            Outcome::Other(token) => token,
        }
    }

    /// The outcome a cloud-init token names.
    pub fn from_cloud_init(token: &str) -> Outcome {
        match token {
            "SUCCESS" => Outcome::Success,
            "WARN" => Outcome::Warn,
            "FAIL" => Outcome::Fail,
            other => Outcome::Other(other.to_owned()),
        }
    }
}

/// What an event carries.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Payload {
    /// Text.
    Text(String),
    /// Bytes, such as a decompressed artifact (never assumed to be text).
    Bytes(Vec<u8>),
}

impl Payload {
    /// The payload's bytes (UTF-8 for text).
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Payload::Text(t) => t.as_bytes(),
            Payload::Bytes(b) => b,
        }
    }

    /// The text, if this is text.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Payload::Text(t) => Some(t),
            Payload::Bytes(_) => None,
        }
    }
}

impl From<&str> for Payload {
    fn from(text: &str) -> Payload {
        Payload::Text(text.to_owned())
    }
}

impl From<String> for Payload {
    fn from(text: String) -> Payload {
        Payload::Text(text)
    }
}

impl From<&[u8]> for Payload {
    fn from(bytes: &[u8]) -> Payload {
        Payload::Bytes(bytes.to_vec())
    }
}

impl From<Vec<u8>> for Payload {
    fn from(bytes: Vec<u8>) -> Payload {
        Payload::Bytes(bytes)
    }
}

/// How the payload travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Encoding {
    /// As text.
    None,
    /// Compressed, then base64: gzip in `DIAG_V1`, zlib (under the same
    /// label) in cloud-init's `compressed` events.
    GzB64,
}

impl Encoding {
    /// `none` or `gz+b64`.
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::None => "none",
            Encoding::GzB64 => "gz+b64",
        }
    }
}

/// How many records an event took, and which were missing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Chunks {
    /// Records present.
    pub count: usize,
    /// Chunk indices below the highest present that are absent; only a
    /// partial read ([`crate::ReadOptions::partial`]) returns an event
    /// with any.
    pub missing: Vec<u64>,
}

/// One event in the common model.
///
/// Read events have every field their format carries; to write one, build
/// it with [`Event::new`] and the `with_` methods, then hand it to an
/// encoder ([`crate::diag_v1::DiagWriter`],
/// [`crate::cloud_init::CloudInitWriter`]), which takes the fields its
/// format has and ignores `format`, `agent`, `ts`, `incarnation` and
/// `chunks`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Event {
    /// The format it was read from.
    pub format: Format,
    /// The producer: `CLOUD_INIT`, the tracing prefix such as
    /// `azure-init-0.1.1`, or the `DIAG_V1` agent.
    pub agent: String,
    /// Timeline position.
    pub kind: Kind,
    /// The type as the source spelled it: cloud-init's event type
    /// (`start`, `finish`, `diagnostic`, `compressed`, ...), the tracing
    /// level (`INFO`, ...), or the `DIAG_V1` kind token.
    pub event_type: String,
    /// The subject (`modules-final`, `provision:run`, `dmesg`, ...).
    pub name: String,
    /// When it happened (for a closed tracing span, when it ended).
    pub timestamp: Option<Timestamp>,
    /// The timestamp text as written (empty on events built to be written).
    pub ts: String,
    /// The verdict, if any.
    pub result: Option<Outcome>,
    /// The elapsed time, if any.
    pub duration: Option<Duration>,
    /// The duration as the record wrote it: cloud-init's seconds as Python
    /// spells the float (its `repr`, which `json.dumps` writes, so that
    /// parsing it gives back the exact value that `duration` rounds to
    /// nanoseconds), `DIAG_V1`'s whole microseconds. `None` where the
    /// format has none or the reader computes it (a closed tracing span).
    /// Encoders ignore it.
    pub duration_text: Option<String>,
    /// The message or artifact.
    pub payload: Payload,
    /// How the payload travelled.
    pub encoding: Encoding,
    /// The VM id, where the format carries one.
    pub vm_id: Option<String>,
    /// The event id (a UUID): shared by a span's start and finish in
    /// `DIAG_V1`, one per record group in cloud-init and tracing.
    pub event_id: Option<String>,
    /// cloud-init's incarnation (boot time in whole seconds).
    pub incarnation: Option<u64>,
    /// How many records it took.
    pub chunks: Chunks,
}

impl Event {
    /// An event to write: `kind`, `name` and `payload`, type spelled as
    /// the kind, no result or duration, timestamp "now" when encoded, a
    /// new event id when encoded.
    pub fn new(kind: Kind, name: impl Into<String>, payload: impl Into<Payload>) -> Event {
        Event {
            format: Format::DiagV1,
            agent: String::new(),
            kind,
            event_type: kind.as_str().to_owned(),
            name: name.into(),
            timestamp: None,
            ts: String::new(),
            result: None,
            duration: None,
            duration_text: None,
            payload: payload.into(),
            encoding: Encoding::None,
            vm_id: None,
            event_id: None,
            incarnation: None,
            chunks: Chunks::default(),
        }
    }

    /// Sets the result.
    pub fn with_result(mut self, result: Outcome) -> Event {
        self.result = Some(result);
        self
    }

    /// Sets the duration.
    pub fn with_duration(mut self, duration: Duration) -> Event {
        self.duration = Some(duration);
        self
    }

    /// Sets the timestamp.
    pub fn with_timestamp(mut self, timestamp: Timestamp) -> Event {
        self.timestamp = Some(timestamp);
        self
    }

    /// Sets the event id (a UUID), to pair a finish with its start.
    pub fn with_event_id(mut self, event_id: impl Into<String>) -> Event {
        self.event_id = Some(event_id.into());
        self
    }

    /// Gives the event a new random event id (a UUID v4) unless it has
    /// one, so that the caller knows the id an encoder writes (to pair a
    /// finish with its start, for instance). Encoders make one up for an
    /// event without, but do not return it.
    pub fn with_new_event_id(mut self) -> Event {
        if self.event_id.is_none() {
            self.event_id = Some(uuid::Uuid::new_v4().to_string());
        }
        self
    }

    /// Sets the type as cloud-init spells it (`diagnostic`, ...).
    pub fn with_type(mut self, event_type: impl Into<String>) -> Event {
        self.event_type = event_type.into();
        self
    }

    /// Sends the payload compressed (`gz+b64`); in cloud-init's format
    /// this also makes the type `compressed`.
    pub fn compressed(mut self) -> Event {
        self.encoding = Encoding::GzB64;
        self
    }
}

/// A record (or one record of a group) that is not decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawEntry {
    /// Its index in the snapshot.
    pub position: usize,
    /// The record, exact bytes.
    pub record: RawRecord,
    /// Why it was not decoded, when it was recognised; `None` for records
    /// of no known format.
    pub error: Option<DecodeError>,
}

/// One item of a decoded pool, in first-seen order.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Entry {
    /// An event, at the position of its first record.
    Event(Event),
    /// A `PROVISIONING_REPORT`.
    Report {
        /// Its index in the snapshot.
        position: usize,
        /// The report.
        report: ProvisioningReport,
    },
    /// A record left as it is.
    Raw(RawEntry),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_event_id_is_a_uuid_and_keeps_one_set() {
        let event = Event::new(Kind::Start, "provision", "").with_new_event_id();
        let id = event.event_id.clone().expect("an id");
        assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
        assert_eq!(event.with_new_event_id().event_id, Some(id.clone()));
        let other = Event::new(Kind::Start, "provision", "").with_new_event_id();
        assert_ne!(other.event_id, Some(id));
    }
}
