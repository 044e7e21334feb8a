//! The writer thread: it owns the store, takes what the callers queued,
//! encodes it, and appends it in batches with the store's (short) lock
//! timeout. What it cannot write it counts, and moves on.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use kvp_core::KvpStore;
use kvp_report::EventEncoder;

use crate::record::Record;
use crate::stats::{add, Counters};

/// Most events appended under one lock.
pub(crate) const MAX_BATCH_EVENTS: usize = 64;
/// Most records appended under one lock (an event larger than this is
/// still written whole, alone).
const MAX_BATCH_RECORDS: usize = 256;
/// How long the writer pauses after a write before it looks at the queue
/// again. While records keep coming it then never sleeps on an empty
/// queue, so callers never pay for waking it (a futex call, the largest
/// part of an event's cost otherwise), and batches grow; a record waits
/// at most this much longer to be written.
const LINGER: Duration = Duration::from_millis(2);

/// What travels on the queue.
#[derive(Debug)]
pub(crate) enum Message {
    /// Something to write.
    Record(Record),
    /// Write everything queued before this, then acknowledge.
    Flush(SyncSender<()>),
    /// Write everything queued before this, acknowledge, and stop.
    Stop(SyncSender<()>),
}

/// State shared by the layer, the handles and the writer.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    pub(crate) counters: Counters,
    /// Set when shutdown begins: callers stop queueing.
    pub(crate) closed: AtomicBool,
    /// Set when a shutdown gave up waiting: the writer discards the rest.
    pub(crate) abandon: AtomicBool,
    /// The last write error, for people.
    pub(crate) last_error: Mutex<Option<String>>,
}

/// The encoder the writer uses, whatever the format.
pub(crate) type Encoder = Box<dyn EventEncoder + Send>;

/// Starts the writer thread.
pub(crate) fn spawn<S>(
    store: S,
    encoder: Encoder,
    queue: Receiver<Message>,
    shared: Arc<Shared>,
) -> std::io::Result<JoinHandle<()>>
where
    S: KvpStore + Send + 'static,
{
    std::thread::Builder::new()
        .name("kvp-tracing".to_owned())
        .spawn(move || {
            Writer {
                store,
                encoder,
                shared,
                batch: Vec::new(),
                events: 0,
            }
            .run(queue)
        })
}

struct Writer<S> {
    store: S,
    encoder: Encoder,
    shared: Arc<Shared>,
    /// Records waiting for the next append, and how many events they are.
    batch: Vec<(String, String)>,
    events: u64,
}

impl<S: KvpStore> Writer<S> {
    fn run(mut self, queue: Receiver<Message>) {
        loop {
            if self.shared.abandon.load(Ordering::Acquire) {
                self.discard(&queue);
                return;
            }
            // Block only when nothing is pending; otherwise take what is
            // queued now and write it once the queue is empty.
            let message = if self.events == 0 {
                match queue.recv() {
                    Ok(message) => message,
                    Err(_) => return, // every sender is gone
                }
            } else {
                match queue.try_recv() {
                    Ok(message) => message,
                    Err(TryRecvError::Empty) => {
                        self.write();
                        std::thread::sleep(LINGER);
                        continue;
                    }
                    Err(TryRecvError::Disconnected) => {
                        self.write();
                        return;
                    }
                }
            };
            match message {
                Message::Record(record) => self.add(record),
                Message::Flush(ack) => {
                    self.write();
                    let _ = ack.try_send(());
                }
                Message::Stop(ack) => {
                    self.write();
                    self.discard(&queue);
                    let _ = ack.try_send(());
                    return;
                }
            }
        }
    }

    fn add(&mut self, record: Record) {
        match self.encoder.encode(&record.into_event()) {
            Ok(records) => {
                if !self.batch.is_empty() && self.batch.len() + records.len() > MAX_BATCH_RECORDS {
                    self.write();
                }
                self.batch.extend(records);
                self.events += 1;
                if self.events as usize >= MAX_BATCH_EVENTS || self.batch.len() >= MAX_BATCH_RECORDS
                {
                    self.write();
                }
            }
            Err(error) => {
                add(&self.shared.counters.dropped_invalid, 1);
                self.note(error.to_string());
            }
        }
    }

    /// Appends the batch under one lock, or counts it as dropped.
    fn write(&mut self) {
        if self.events == 0 {
            return;
        }
        let pairs: Vec<(&str, &str)> = self
            .batch
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let counters = &self.shared.counters;
        match self.store.append_many(&pairs) {
            Ok(()) => {
                add(&counters.written, self.events);
                add(&counters.records, pairs.len() as u64);
            }
            Err(error) => {
                let counter = match error {
                    kvp_core::Error::LockTimeout { .. } => &counters.dropped_lock_timeout,
                    _ => &counters.dropped_write_error,
                };
                add(counter, self.events);
                self.note(error.to_string());
            }
        }
        self.batch.clear();
        self.events = 0;
    }

    /// Drops what is pending and what is still queued, counting it, then
    /// acknowledges the markers it found.
    fn discard(&mut self, queue: &Receiver<Message>) {
        let mut dropped = self.events;
        self.batch.clear();
        self.events = 0;
        let mut acks = Vec::new();
        while let Ok(message) = queue.try_recv() {
            match message {
                Message::Record(_) => dropped += 1,
                Message::Flush(ack) | Message::Stop(ack) => acks.push(ack),
            }
        }
        add(&self.shared.counters.dropped_closed, dropped);
        for ack in acks {
            let _ = ack.try_send(());
        }
    }

    fn note(&self, error: String) {
        if let Ok(mut last) = self.shared.last_error.lock() {
            *last = Some(error);
        }
    }
}
