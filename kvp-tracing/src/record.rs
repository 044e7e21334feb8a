//! What the caller's thread queues for the writer, and how the writer turns
//! it into a [`kvp_report::Event`].
//!
//! The caller does the least it can: it takes the time, formats the
//! fields and picks an id. Keys, chunking, name shaping and the pool are
//! the writer thread's work.

use std::borrow::Cow;
use std::time::Duration;

use kvp_report::diag_v1::MAX_NAME_BYTES;
use kvp_report::{Event, Kind, Outcome, Timestamp};
use uuid::Uuid;

use crate::fields::Verdict;

/// One span start, span finish or event.
#[derive(Debug)]
pub(crate) struct Record {
    pub(crate) kind: Kind,
    /// The span's name, or the enclosing span's (or the event's own) for
    /// an event.
    pub(crate) name: &'static str,
    pub(crate) timestamp: Timestamp,
    pub(crate) id: Uuid,
    pub(crate) result: Option<Verdict>,
    pub(crate) duration: Option<Duration>,
    pub(crate) payload: String,
}

/// What an event's name becomes when nothing of it is usable.
const UNNAMED: &str = "unnamed";

impl Record {
    /// The event to encode. The name is shaped to fit every format: `|`
    /// becomes `/`, NUL and other control characters become `_`, and it is
    /// cut to `DIAG_V1`'s 48 bytes at a character boundary.
    pub(crate) fn into_event(self) -> Event {
        let mut event = Event::new(self.kind, shape_name(self.name), self.payload)
            .with_timestamp(self.timestamp)
            .with_event_id(self.id.hyphenated().to_string());
        if self.kind == Kind::Event {
            // cloud-init's type for a point message; DIAG_V1 ignores it.
            event = event.with_type("diagnostic");
        }
        if let Some(verdict) = self.result {
            event = event.with_result(match verdict {
                Verdict::Success => Outcome::Success,
                Verdict::Fail => Outcome::Fail,
            });
        }
        if let Some(duration) = self.duration {
            event = event.with_duration(duration);
        }
        event
    }
}

fn shape_name(name: &str) -> Cow<'_, str> {
    let mut end = name.len().min(MAX_NAME_BYTES);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    let name = &name[..end];
    if name.is_empty() {
        return Cow::Borrowed(UNNAMED);
    }
    if !name.chars().any(|c| c == '|' || c.is_control()) {
        return Cow::Borrowed(name);
    }
    Cow::Owned(
        name.chars()
            .map(|c| match c {
                '|' => '/',
                c if c.is_control() => '_',
                c => c,
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_shaped_to_fit() {
        assert_eq!(shape_name("provision"), "provision");
        assert_eq!(shape_name(""), UNNAMED);
        assert_eq!(shape_name("a|b\0c\n"), "a/b_c_");
        let long = "é".repeat(40);
        let shaped = shape_name(&long);
        assert!(shaped.len() <= MAX_NAME_BYTES);
        assert_eq!(shaped, "é".repeat(24));
    }

    #[test]
    fn a_record_becomes_an_event_with_its_fields() {
        let id = Uuid::new_v4();
        let record = Record {
            kind: Kind::Finish,
            name: "provision",
            timestamp: Timestamp::from_unix(1_781_654_400, 5).expect("time"),
            id,
            result: Some(Verdict::Fail),
            duration: Some(Duration::from_micros(312)),
            payload: "{}".to_owned(),
        };
        let event = record.into_event();
        assert_eq!(event.kind, Kind::Finish);
        assert_eq!(event.name, "provision");
        assert_eq!(event.result, Some(Outcome::Fail));
        assert_eq!(event.duration, Some(Duration::from_micros(312)));
        assert_eq!(event.event_id, Some(id.hyphenated().to_string()));
        assert_eq!(event.payload.as_text(), Some("{}"));
    }
}
