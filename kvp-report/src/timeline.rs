//! A decoded pool as a timeline: its events and reports in time order,
//! each finish paired with the start it closes.
//!
//! Which start a finish closes is format knowledge, so it lives here and
//! not in a face: cloud-init gives every record its own uuid4 and pairs a
//! start and its finish by name (`init-network/config-ssh`) within one boot
//! (its incarnation); a `DIAG_V1` start and its finish share the event id;
//! azure-init's tracing layer writes only the finish of a closed span, with
//! its duration. cloud-init before 26.1 writes no duration, so a finish
//! without one is given the time since its start.

use std::collections::HashMap;
use std::time::Duration;

use crate::event::{Entry, Event, Format, Kind, RawEntry};
use crate::report::ProvisioningReport;
use crate::time::Timestamp;

/// One event or report on a [`Timeline`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step<'a> {
    /// The entry: always [`Entry::Event`] or [`Entry::Report`].
    pub entry: &'a Entry,
    /// When it happened: the event's timestamp, or the report's parsed;
    /// `None` for a report whose timestamp does not parse.
    pub time: Option<Timestamp>,
    /// The event's own duration, or for a finish that carries none, the
    /// time since its start.
    pub duration: Option<Duration>,
    /// The index in [`Timeline::steps`] of the finish a start was closed
    /// by, or of the start a finish closes.
    pub partner: Option<usize>,
}

impl<'a> Step<'a> {
    /// The event, when the step is one.
    pub fn event(&self) -> Option<&'a Event> {
        match self.entry {
            Entry::Event(event) => Some(event),
            _ => None,
        }
    }

    /// The report, when the step is one.
    pub fn report(&self) -> Option<&'a ProvisioningReport> {
        match self.entry {
            Entry::Report { report, .. } => Some(report),
            _ => None,
        }
    }

    /// A start that no finish closes (yet): the operation failed to end,
    /// or is still running.
    pub fn is_unfinished(&self) -> bool {
        self.partner.is_none() && self.event().is_some_and(|e| e.kind == Kind::Start)
    }
}

/// The entries of a decoded pool as a timeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timeline<'a> {
    /// Events and reports sorted by time; entries without a time come
    /// last, and equal times keep their order in the pool.
    pub steps: Vec<Step<'a>>,
    /// The records left raw, in pool order.
    pub raw: Vec<&'a RawEntry>,
}

/// What a start and its finish have in common.
#[derive(Hash, PartialEq, Eq)]
enum PairKey<'a> {
    /// `DIAG_V1`: the agent and the shared event id.
    Id(&'a str, &'a str),
    /// cloud-init and any other format: the producer, the boot and the
    /// name. The VM id is left out on purpose: cloud-init 26.1 writes the
    /// DMI uuid until its data source sets the real id, so a start and
    /// its finish may differ there.
    Name(&'a str, Option<u64>, &'a str),
}

fn pair_key(event: &Event) -> Option<PairKey<'_>> {
    match (event.format, &event.event_id) {
        // Tracing spans come as finishes only: nothing to pair.
        (Format::AzureInitTracing, _) => None,
        (Format::DiagV1, Some(id)) => Some(PairKey::Id(&event.agent, id)),
        _ => Some(PairKey::Name(&event.agent, event.incarnation, &event.name)),
    }
}

impl<'a> Timeline<'a> {
    /// Orders `entries` (from [`crate::decode`] or
    /// [`crate::read_entries`]) and pairs starts with finishes.
    pub fn new(entries: &'a [Entry]) -> Timeline<'a> {
        let mut raw = Vec::new();
        let mut steps: Vec<(usize, Step<'a>)> = Vec::new();
        for (order, entry) in entries.iter().enumerate() {
            let (time, duration) = match entry {
                Entry::Event(event) => (event.timestamp, event.duration),
                Entry::Report { report, .. } => {
                    (report.timestamp.as_deref().and_then(Timestamp::parse), None)
                }
                Entry::Raw(r) => {
                    raw.push(r);
                    continue;
                }
            };
            let step = Step {
                entry,
                time,
                duration,
                partner: None,
            };
            steps.push((order, step));
        }
        steps.sort_by_key(|(order, step)| (step.time.is_none(), step.time, *order));
        let mut steps: Vec<Step<'a>> = steps.into_iter().map(|(_, step)| step).collect();
        pair(&mut steps);
        Timeline { steps, raw }
    }

    /// The starts no finish closes.
    pub fn unfinished(&self) -> impl Iterator<Item = &Step<'a>> {
        self.steps.iter().filter(|s| s.is_unfinished())
    }
}

/// Pairs each finish with the latest open start of the same key, in time
/// order; a finish that carries no duration gets the time since its start.
fn pair(steps: &mut [Step<'_>]) {
    let mut open: HashMap<PairKey<'_>, Vec<usize>> = HashMap::new();
    for i in 0..steps.len() {
        let Some(event) = steps[i].event() else {
            continue;
        };
        let Some(key) = pair_key(event) else {
            continue;
        };
        match event.kind {
            Kind::Start => open.entry(key).or_default().push(i),
            Kind::Finish => {
                let Some(start) = open.get_mut(&key).and_then(Vec::pop) else {
                    continue;
                };
                steps[start].partner = Some(i);
                steps[i].partner = Some(start);
                if steps[i].duration.is_none() {
                    steps[i].duration = since(steps[start].time, steps[i].time);
                }
            }
            Kind::Event => {}
        }
    }
}

fn since(start: Option<Timestamp>, end: Option<Timestamp>) -> Option<Duration> {
    end?.duration_since(start?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud_init::CloudInitWriter;
    use crate::diag_v1::DiagWriter;
    use crate::event::{CloudInitVariant, Outcome};
    use crate::reader::{decode, ReadOptions};
    use crate::writer::EventEncoder;
    use crate::{Dialect, ProvisioningReport};
    use kvp_core::RawRecord;

    const VM: &str = "3f2504e0-4f89-41d3-9a0c-0305e82c3301";

    fn at(secs: i64, millis: u32) -> Timestamp {
        Timestamp::from_unix(1_781_654_400 + secs, millis * 1_000_000).expect("in range")
    }

    fn records(encoder: &impl EventEncoder, events: &[Event]) -> Vec<RawRecord> {
        events
            .iter()
            .flat_map(|e| encoder.encode(e).expect("encodes"))
            .map(|(k, v)| RawRecord {
                key: k.into_bytes(),
                value: v.into_bytes(),
            })
            .collect()
    }

    fn names(timeline: &Timeline<'_>) -> Vec<(String, &'static str)> {
        timeline
            .steps
            .iter()
            .map(|s| match s.event() {
                Some(e) => (e.name.clone(), e.kind.as_str()),
                None => ("report".to_owned(), "report"),
            })
            .collect()
    }

    #[test]
    fn cloud_init_pairs_by_name_and_measures_old_releases() {
        let writer = CloudInitWriter::new(CloudInitVariant::V22_4, 1_781_654_000);
        let events = [
            Event::new(Kind::Start, "init-local", "a").with_timestamp(at(0, 0)),
            Event::new(Kind::Start, "init-local/search", "b").with_timestamp(at(0, 100)),
            Event::new(Kind::Finish, "init-local/search", "c")
                .with_timestamp(at(1, 350))
                .with_result(Outcome::Success),
            Event::new(Kind::Start, "modules-final", "d").with_timestamp(at(5, 0)),
            // Out of order in the pool: sorted by time.
            Event::new(Kind::Event, "early", "e").with_timestamp(at(-1, 0)),
        ];
        let entries = decode(&records(&writer, &events), &ReadOptions::default());
        let timeline = Timeline::new(&entries);
        assert_eq!(
            names(&timeline),
            [
                ("early".to_owned(), "event"),
                ("init-local".to_owned(), "start"),
                ("init-local/search".to_owned(), "start"),
                ("init-local/search".to_owned(), "finish"),
                ("modules-final".to_owned(), "start"),
            ]
        );
        let s = &timeline.steps;
        assert_eq!((s[2].partner, s[3].partner), (Some(3), Some(2)));
        assert_eq!(s[3].duration, Some(Duration::from_millis(1250)));
        let unfinished: Vec<&str> = timeline
            .unfinished()
            .filter_map(|s| s.event().map(|e| e.name.as_str()))
            .collect();
        assert_eq!(unfinished, ["init-local", "modules-final"]);
        assert!(!s[0].is_unfinished(), "a point event is never unfinished");
    }

    #[test]
    fn diag_v1_pairs_by_event_id_and_keeps_its_duration() {
        let writer = DiagWriter::new("agent-1", VM).expect("writer");
        let id = "9c1d2e3f-4a5b-6c7d-8e9f-0a1b2c3d4e5f";
        let other = "9c1d2e3f-4a5b-6c7d-8e9f-0a1b2c3d4e60";
        let events = [
            Event::new(Kind::Start, "provision", "go")
                .with_event_id(id)
                .with_timestamp(at(0, 0)),
            Event::new(Kind::Start, "provision", "again")
                .with_event_id(other)
                .with_timestamp(at(0, 1)),
            Event::new(Kind::Finish, "provision", "done")
                .with_event_id(id)
                .with_result(Outcome::Success)
                .with_duration(Duration::from_millis(312))
                .with_timestamp(at(2, 0)),
        ];
        let entries = decode(&records(&writer, &events), &ReadOptions::default());
        let timeline = Timeline::new(&entries);
        let s = &timeline.steps;
        assert_eq!(s[2].partner, Some(0), "the id decides, not the name");
        assert!(s[1].is_unfinished());
        assert_eq!(s[2].duration, Some(Duration::from_millis(312)));
    }

    #[test]
    fn reports_and_raw_records_have_their_places() {
        let report = ProvisioningReport::error("A/1", VM, "boom")
            .with_timestamp("2026-06-17T00:00:00.500000+00:00");
        let bad = ProvisioningReport::success("A/1", VM).with_timestamp("yesterday");
        let writer = DiagWriter::new("agent-1", VM).expect("writer");
        let mut recs = vec![
            RawRecord {
                key: b"PROVISIONING_REPORT".to_vec(),
                value: bad.encode(Dialect::AzureInit).into_bytes(),
            },
            RawRecord {
                key: b"other".to_vec(),
                value: b"x".to_vec(),
            },
        ];
        recs.extend(records(
            &writer,
            &[Event::new(Kind::Event, "e", "x").with_timestamp(at(1, 0))],
        ));
        recs.push(RawRecord {
            key: b"PROVISIONING_REPORT".to_vec(),
            value: report.encode(Dialect::CloudInit).into_bytes(),
        });
        let entries = decode(&recs, &ReadOptions::default());
        let timeline = Timeline::new(&entries);
        let reasons: Vec<Option<&str>> = timeline
            .steps
            .iter()
            .map(|s| s.report().and_then(|r| r.reason.as_deref()))
            .collect();
        assert_eq!(reasons, [Some("boom"), None, None], "no time: last");
        assert_eq!(timeline.steps[2].time, None);
        assert_eq!(timeline.raw.len(), 1);
        assert_eq!(timeline.raw[0].position, 1);
    }

    #[test]
    fn a_finish_before_its_start_gets_no_duration() {
        assert_eq!(since(Some(at(1, 0)), Some(at(0, 0))), None);
        assert_eq!(since(None, Some(at(0, 0))), None);
        assert_eq!(since(Some(at(0, 0)), Some(at(0, 0))), Some(Duration::ZERO));
    }
}
