//! The [`Layer`]: spans and events become records on a bounded queue, and
//! the caller's thread never waits for the pool.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{SyncSender, TrySendError};
use std::sync::Arc;
use std::time::Instant;

use kvp_report::{Kind, Timestamp};
use tracing_core::span::{Attributes, Id, Record as Values};
use tracing_core::{Event, Level, LevelFilter, Metadata, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;
use uuid::Uuid;

use crate::fields::{FieldSet, Verdict};
use crate::ids::IdSource;
use crate::record::Record;
use crate::stats::add;
use crate::worker::{Message, Shared};

/// A [`tracing_subscriber::Layer`] that reports spans and events into KVP
/// pool 1, built with [`KvpLayer::builder`](crate::KvpLayer::builder).
///
/// - A span writes a `start` record when it is created and a `finish`
///   record, with its result and duration, when it closes. Both carry the
///   span's name and share one event id.
/// - An event writes an `event` record named after the span it is in (its
///   own callsite name outside any span).
/// - Payloads are JSON: `{"target":…,"level":…,"fields":{…}}`.
///
/// On the caller's thread the layer only formats the fields and tries to
/// queue the record: when the queue is full the record is dropped and
/// counted, never waited for. A panic inside the layer is caught and
/// counted. Spans and events below the configured level are ignored; the
/// check is the layer's own, so it limits what this layer writes and never
/// what other layers see ([`Layer::with_filter`] works as well).
///
/// A span entered many times (an async task polled again and again) still
/// writes one start and one finish: its duration is its lifetime, from
/// creation to close, not the time it was entered.
///
/// The layer needs a subscriber that stores span data, such as
/// [`tracing_subscriber::registry()`].
#[derive(Clone, Debug)]
pub struct KvpLayer {
    pub(crate) queue: SyncSender<Message>,
    pub(crate) shared: Arc<Shared>,
    pub(crate) ids: Arc<IdSource>,
    pub(crate) level: LevelFilter,
    pub(crate) max_field_bytes: usize,
}

/// What the layer keeps in a span's extensions from creation to close.
struct SpanState {
    id: Uuid,
    started: Instant,
    fields: FieldSet,
    saw_error: bool,
}

impl KvpLayer {
    fn wants(&self, metadata: &Metadata<'_>) -> bool {
        self.level >= *metadata.level()
    }

    /// Runs a callback's body; a panic in it is counted, never passed on.
    fn guarded(&self, body: impl FnOnce()) {
        if catch_unwind(AssertUnwindSafe(body)).is_err() {
            add(&self.shared.counters.dropped_panicked, 1);
        }
    }

    /// Queues a record without waiting.
    fn send(&self, record: Record) {
        let counters = &self.shared.counters;
        if self.shared.closed.load(Ordering::Acquire) {
            add(&counters.dropped_closed, 1);
            return;
        }
        match self.queue.try_send(Message::Record(record)) {
            Ok(()) => add(&counters.accepted, 1),
            Err(TrySendError::Full(_)) => add(&counters.dropped_queue_full, 1),
            Err(TrySendError::Disconnected(_)) => add(&counters.dropped_closed, 1),
        }
    }

    fn fields(&self) -> FieldSet {
        FieldSet::new(self.max_field_bytes)
    }
}

impl<S> Layer<S> for KvpLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let metadata = attrs.metadata();
        if !self.wants(metadata) {
            return;
        }
        self.guarded(|| {
            let timestamp = Timestamp::now();
            let started = Instant::now();
            let mut fields = self.fields();
            attrs.record(&mut fields);
            let event_id = self.ids.next();
            let payload = fields.payload(metadata);
            if let Some(span) = ctx.span(id) {
                span.extensions_mut().replace(SpanState {
                    id: event_id,
                    started,
                    fields,
                    saw_error: false,
                });
            }
            self.send(Record {
                kind: Kind::Start,
                name: metadata.name(),
                timestamp,
                id: event_id,
                result: None,
                duration: None,
                payload,
            });
        });
    }

    fn on_record(&self, id: &Id, values: &Values<'_>, ctx: Context<'_, S>) {
        self.guarded(|| {
            let Some(span) = ctx.span(id) else { return };
            if !self.wants(span.metadata()) {
                return;
            }
            // Format before taking the extensions lock: a field's Debug may
            // itself emit events into this span.
            let mut later = self.fields();
            values.record(&mut later);
            let mut extensions = span.extensions_mut();
            if let Some(state) = extensions.get_mut::<SpanState>() {
                state.fields.merge(later);
            }
        });
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let metadata = event.metadata();
        if !self.wants(metadata) {
            return;
        }
        self.guarded(|| {
            let timestamp = Timestamp::now();
            let mut fields = self.fields();
            event.record(&mut fields);
            let span = ctx.event_span(event);
            if *metadata.level() == Level::ERROR {
                // The nearest span this layer follows fails.
                if let Some(span) = &span {
                    for ancestor in span.scope() {
                        if let Some(state) = ancestor.extensions_mut().get_mut::<SpanState>() {
                            state.saw_error = true;
                            break;
                        }
                    }
                }
            }
            let name = span.map_or(metadata.name(), |s| s.metadata().name());
            self.send(Record {
                kind: Kind::Event,
                name,
                timestamp,
                id: self.ids.next(),
                result: fields.verdict,
                duration: None,
                payload: fields.payload(metadata),
            });
        });
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        // Read before the guard: inside it, a caught panic would count.
        let unwinding = std::thread::panicking();
        self.guarded(|| {
            let Some(span) = ctx.span(&id) else { return };
            let Some(state) = span.extensions_mut().remove::<SpanState>() else {
                return;
            };
            let duration = state.started.elapsed();
            let result = if unwinding {
                Verdict::Fail
            } else {
                match state.fields.verdict {
                    Some(verdict) => verdict,
                    None if state.saw_error || state.fields.error => Verdict::Fail,
                    None => Verdict::Success,
                }
            };
            self.send(Record {
                kind: Kind::Finish,
                name: span.metadata().name(),
                timestamp: Timestamp::now(),
                id: state.id,
                result: Some(result),
                duration: Some(duration),
                payload: state.fields.payload(span.metadata()),
            });
        });
    }
}
