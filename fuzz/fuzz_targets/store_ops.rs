//! A pool image through every store operation on a `MemoryStore`.
//!
//! The input is an image and a script (see the crate docs); each operation
//! runs on the store and on a byte-exact model of the pool file written
//! from docs/kvp.md, and after each one the store's bytes must equal the
//! model's. That covers the invariants: a write leaves a whole number of
//! records (any partial tail cut), a delete that removes nothing changes
//! nothing, a refused write changes nothing, a written key reads back,
//! later duplicates go and the rest keep their order. Whole-pool reads are
//! compared with records decoded slot by slot, and refused over the cap.
//! Any panic is a finding.
#![no_main]

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use kvp_core::store::BootTime;
use kvp_core::{check, record, Error, ErrorKind, KvpStore, MemoryStore, Options, PoolMode};
use kvp_core::{RawRecord, Record, KEY_SIZE, MAX_UNIQUE_KEYS, RECORD_SIZE};
use kvp_fuzz::{holds, records_of, Input, Script, FULL_MODE, SMALL_CAP};
use libfuzzer_sys::fuzz_target;

/// Operations per input, so that one input never runs long.
const MAX_OPS: usize = 48;
/// The script run on inputs without one (a raw pool file): every kind of
/// read, an update, an append, a delete and the maintenance operations.
const TOUR: &[u8] = &[
    9, 4, 0, 5, 1, 0, 0, 1, b'x', 1, 0x81, b'n', 1, b'y', 6, 2, 8, 2, 0, 0x80, 12, 0x80, 1, 9, 13,
    9, 11, 0x80, 0, 9,
];

fn boot() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

/// The pool file as documented: whole records and a partial tail.
/// `records` is the slots decoded, kept in step by [`Model::refresh`].
struct Model {
    slots: Vec<[u8; RECORD_SIZE]>,
    tail: Vec<u8>,
    records: Vec<RawRecord>,
}

impl Model {
    fn new(image: &[u8]) -> Model {
        let whole = image.len() - image.len() % RECORD_SIZE;
        let slots = image[..whole]
            .chunks_exact(RECORD_SIZE)
            .map(|s| s.try_into().expect("slot"))
            .collect();
        let mut model = Model {
            slots,
            tail: image[whole..].to_vec(),
            records: Vec::new(),
        };
        model.refresh();
        model
    }

    fn refresh(&mut self) {
        self.records = self.slots.iter().map(|s| RawRecord::decode(s)).collect();
    }

    fn bytes(&self) -> Vec<u8> {
        let mut out = self.slots.concat();
        out.extend_from_slice(&self.tail);
        out
    }

    fn keys(&self) -> Vec<Vec<u8>> {
        let mut seen = HashSet::new();
        self.records
            .iter()
            .filter(|r| seen.insert(&r.key))
            .map(|r| r.key.clone())
            .collect()
    }

    fn last_value(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.records
            .iter()
            .rev()
            .find(|r| holds(r, key))
            .map(|r| r.value.clone())
    }

    fn unique_named_keys(&self) -> usize {
        self.records
            .iter()
            .filter(|r| !r.key.is_empty())
            .map(|r| &r.key)
            .collect::<HashSet<_>>()
            .len()
    }

    fn size(&self) -> u64 {
        (self.slots.len() * RECORD_SIZE + self.tail.len()) as u64
    }

    /// Removes the records `remove` accepts from `start` on; cuts the tail
    /// when any went. Returns how many went.
    fn remove_from(&mut self, start: usize, remove: impl Fn(&RawRecord) -> bool) -> usize {
        let before = self.slots.len();
        let mut index = 0;
        self.slots.retain(|slot| {
            index += 1;
            index <= start || !remove(&RawRecord::decode(slot))
        });
        let removed = before - self.slots.len();
        if removed > 0 {
            self.tail.clear();
            self.refresh();
        }
        removed
    }
}

struct Run<'a> {
    store: MemoryStore,
    model: Model,
    mode: PoolMode,
    cap: u64,
    script: Script<'a>,
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn refs(entries: &[(String, String)]) -> Vec<(&str, &str)> {
    entries
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

fn same_kind<T: std::fmt::Debug>(got: Result<T, Error>, expected: ErrorKind, what: &str) {
    match got {
        Err(e) => assert_eq!(e.kind(), expected, "{what}: {e}"),
        Ok(v) => panic!("{what}: expected {expected:?}, got Ok({v:?})"),
    }
}

impl Run<'_> {
    fn entries(&mut self) -> Vec<(String, String)> {
        let known = self.model.keys();
        (0..self.script.byte() % 5)
            .map(|_| (text(&self.script.key(&known)), text(&self.script.value())))
            .collect()
    }

    fn key(&mut self) -> Vec<u8> {
        let known = self.model.keys();
        self.script.key(&known)
    }

    fn validate(&self, entries: &[(String, String)]) -> Option<ErrorKind> {
        entries
            .iter()
            .find_map(|(k, v)| self.mode.check(k, v).err().map(|e| e.kind()))
    }

    fn append_entries(&mut self, entries: &[(String, String)]) {
        self.model.tail.clear();
        for (k, v) in entries {
            self.model
                .slots
                .push(record::encode(k.as_bytes(), v.as_bytes()));
        }
        self.model.refresh();
    }

    fn step(&mut self) {
        match self.script.byte() % 14 {
            0 => {
                let (k, v) = (text(&self.key()), text(&self.script.value()));
                let got = self.store.insert(&k, &v);
                if let Some(kind) = self.validate(&[(k.clone(), v.clone())]) {
                    return same_kind(got, kind, "insert");
                }
                let first = self
                    .model
                    .records
                    .iter()
                    .position(|r| holds(r, k.as_bytes()));
                match first {
                    Some(first) => {
                        got.expect("insert of a present key");
                        self.model.slots[first][KEY_SIZE..]
                            .copy_from_slice(&record::encode_value(v.as_bytes()));
                        self.model
                            .remove_from(first + 1, |r| holds(r, k.as_bytes()));
                        self.model.tail.clear();
                        self.model.refresh();
                    }
                    None if self.model.unique_named_keys() >= MAX_UNIQUE_KEYS => {
                        return same_kind(got, ErrorKind::UniqueKeyLimit, "insert");
                    }
                    None => {
                        got.expect("insert of a new key");
                        self.append_entries(&[(k.clone(), v.clone())]);
                    }
                }
                assert_eq!(self.store.read(&k).expect("read"), Some(v.clone()));
                let holding = records_of(&self.store.to_bytes())
                    .iter()
                    .filter(|r| holds(r, k.as_bytes()))
                    .count();
                assert_eq!(holding, 1, "insert leaves exactly one record");
            }
            1 => {
                let (k, v) = (text(&self.key()), text(&self.script.value()));
                let got = self.store.append(&k, &v);
                match self.validate(&[(k.clone(), v.clone())]) {
                    Some(kind) => same_kind(got, kind, "append"),
                    None => {
                        got.expect("append");
                        self.append_entries(&[(k.clone(), v.clone())]);
                        assert_eq!(self.store.read(&k).expect("read"), Some(v));
                    }
                }
            }
            op @ (2 | 3) => {
                let (load, entries) = (op == 3, self.entries());
                let got = if load {
                    self.store.load(&refs(&entries))
                } else {
                    self.store.append_many(&refs(&entries))
                };
                let what = if load { "load" } else { "append_many" };
                match self.validate(&entries) {
                    Some(kind) => same_kind(got, kind, what),
                    None => {
                        got.expect(what);
                        if load {
                            self.model = Model::new(&[]);
                        }
                        self.append_entries(&entries);
                    }
                }
            }
            4 => {
                let k = text(&self.key());
                let expected = self.model.last_value(k.as_bytes()).map(|v| text(&v));
                assert_eq!(self.store.read(&k).expect("read"), expected);
            }
            5 => {
                let k = self.key();
                let expected = self.model.last_value(&k);
                assert_eq!(self.store.read_raw(&k).expect("read_raw"), expected);
            }
            6 => {
                let k = text(&self.key());
                let removed = self.model.remove_from(0, |r| holds(r, k.as_bytes()));
                assert_eq!(self.store.delete(&k).expect("delete"), removed);
                assert_eq!(self.store.read(&k).expect("read"), None);
            }
            7 => {
                let keys: Vec<String> = (0..self.script.byte() % 4)
                    .map(|_| text(&self.key()))
                    .collect();
                let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
                let removed = self
                    .model
                    .remove_from(0, |r| keys.iter().any(|k| holds(r, k.as_bytes())));
                assert_eq!(self.store.delete_many(&refs).expect("delete_many"), removed);
            }
            8 => {
                let keys: Vec<Vec<u8>> = (0..self.script.byte() % 4).map(|_| self.key()).collect();
                let refs: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
                let removed = self
                    .model
                    .remove_from(0, |r| keys.iter().any(|k| holds(r, k)));
                assert_eq!(self.store.delete_raw(&refs).expect("delete_raw"), removed);
            }
            9 => self.survey(),
            10 => {
                self.store.clear().expect("clear");
                self.model = Model::new(&[]);
            }
            11 => {
                let stale = self.set_modified();
                assert_eq!(self.store.clear_if_stale().expect("clear_if_stale"), stale);
                if stale {
                    self.model = Model::new(&[]);
                }
            }
            12 => {
                let stale = self.set_modified();
                assert_eq!(self.store.is_stale().expect("is_stale"), stale);
            }
            _ => self.repair(),
        }
    }

    /// Sets the pool's last write to within a second of boot; returns
    /// whether that makes it stale.
    fn set_modified(&mut self) -> bool {
        let offset = Duration::from_millis(u64::from(self.script.byte()) * 8);
        let modified = if self.script.byte() & 1 == 0 {
            boot() - offset
        } else {
            boot() + offset
        };
        self.store.set_modified(modified);
        modified <= boot()
    }

    fn repair(&mut self) {
        let size = self.model.size();
        let got = check::repair(&self.store);
        if size > 0 && size < RECORD_SIZE as u64 {
            return same_kind(
                got,
                ErrorKind::UnsafePool,
                "repair of a file without a record",
            );
        }
        let done = got.expect("repair");
        assert_eq!(done.tail_bytes_cut, self.model.tail.len() as u64);
        self.model.tail.clear();
        let mut zeroed = 0;
        for slot in &mut self.model.slots {
            let (key, value) = slot.split_at_mut(KEY_SIZE);
            for field in [key, value] {
                if let Some(nul) = field.iter().position(|&b| b == 0) {
                    if field[nul..].iter().any(|&b| b != 0) {
                        field[nul..].fill(0);
                        zeroed += 1;
                    }
                }
            }
        }
        assert_eq!(done.fields_zeroed, zeroed);
        self.model.refresh();
    }

    /// Every whole-pool and counting read, against the model.
    fn survey(&self) {
        let records = &self.model.records;
        assert_eq!(self.store.len().expect("len"), records.len());
        assert_eq!(self.store.is_empty().expect("is_empty"), records.is_empty());
        if self.model.size() > self.cap {
            same_kind(
                self.store.raw_records(),
                ErrorKind::PoolTooLarge,
                "raw_records",
            );
            same_kind(self.store.records(), ErrorKind::PoolTooLarge, "records");
            same_kind(self.store.entries(), ErrorKind::PoolTooLarge, "entries");
            same_kind(
                self.store.raw_entries(),
                ErrorKind::PoolTooLarge,
                "raw_entries",
            );
            same_kind(
                self.store.unique_keys(),
                ErrorKind::PoolTooLarge,
                "unique_keys",
            );
            same_kind(self.store.dump_json(), ErrorKind::PoolTooLarge, "dump_json");
            same_kind(
                check::inspect(&self.store),
                ErrorKind::PoolTooLarge,
                "inspect",
            );
            return;
        }
        assert_eq!(&self.store.raw_records().expect("raw_records"), records);
        let text_records: Vec<Record> = records.iter().map(RawRecord::to_record).collect();
        assert_eq!(self.store.records().expect("records"), text_records);
        let raw_entries: BTreeMap<Vec<u8>, Vec<u8>> = records
            .iter()
            .map(|r| (r.key.clone(), r.value.clone()))
            .collect();
        let entries: BTreeMap<String, String> = raw_entries
            .iter()
            .filter_map(|(k, v)| Some((String::from_utf8(k.clone()).ok()?, text(v))))
            .collect();
        assert_eq!(
            self.store.unique_keys().expect("unique_keys"),
            raw_entries.len()
        );
        let found = self.store.raw_entries().expect("raw_entries");
        assert_eq!(found.to_map(), raw_entries);
        assert!(raw_entries
            .iter()
            .all(|(k, v)| found.get(k) == Some(&v[..])));
        let found = self.store.entries().expect("entries");
        assert_eq!(found.to_map(), entries);
        assert!(entries
            .iter()
            .all(|(k, v)| found.get(k) == Some(v.as_str())));
        let dump: serde_json::Value =
            serde_json::from_str(&self.store.dump_json().expect("dump_json")).expect("JSON");
        let expected: Vec<serde_json::Value> = text_records
            .iter()
            .map(|r| serde_json::json!({ "key": r.key, "value": r.value }))
            .collect();
        assert_eq!(dump, serde_json::Value::Array(expected));
        let report = check::inspect(&self.store).expect("inspect");
        assert_eq!(report.records, records.len() as u64);
        assert_eq!(report.size, self.model.size());
    }
}

fuzz_target!(|data: &[u8]| {
    let input = Input::parse(data, <[u8]>::to_vec);
    let mode = if input.flags & FULL_MODE != 0 {
        PoolMode::Full
    } else {
        PoolMode::Safe
    };
    let cap = if input.flags & SMALL_CAP != 0 {
        2 * RECORD_SIZE as u64
    } else {
        kvp_core::DEFAULT_MAX_POOL_BYTES
    };
    let options = Options::new()
        .mode(mode)
        .max_pool_bytes(cap)
        .boot_time(BootTime::At(boot()));
    let mut run = Run {
        store: MemoryStore::from_bytes(input.image.clone(), options),
        model: Model::new(&input.image),
        mode,
        cap,
        script: if input.ops.is_empty() {
            Script::new(TOUR)
        } else {
            input.ops
        },
    };
    for _ in 0..MAX_OPS {
        if run.script.is_empty() {
            break;
        }
        run.step();
        assert_eq!(
            run.store.to_bytes(),
            run.model.bytes(),
            "store and model differ"
        );
    }
    run.survey();
});
