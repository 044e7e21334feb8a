//! Model-based tests: random operation sequences applied to the file store,
//! the in-memory store and a plain reference model of the documented
//! semantics give the same results, the same records and the same bytes,
//! including after the pool file is reopened.

use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;

use kvp_core::{FileStore, KvpStore, MemoryStore, Options, PoolMode};

#[derive(Debug, Clone)]
enum Op {
    Insert(String, String),
    Append(String, String),
    AppendMany(Vec<(String, String)>),
    Load(Vec<(String, String)>),
    Read(String),
    Delete(String),
    DeleteMany(Vec<String>),
    Clear,
    Reopen,
}

/// The semantics of docs/kvp.md, written as plainly as possible.
#[derive(Default)]
struct Model {
    records: Vec<(String, String)>,
}

#[derive(Debug, PartialEq)]
enum Outcome {
    Done,
    Removed(usize),
    Value(Option<String>),
    Refused(String),
}

fn valid(key: &str, value: &str) -> Result<(), String> {
    PoolMode::Safe
        .check(key, value)
        .map_err(|e| format!("{:?}", e.kind()))
}

impl Model {
    fn apply(&mut self, op: &Op) -> Outcome {
        match op {
            Op::Insert(k, v) => {
                if let Err(e) = valid(k, v) {
                    return Outcome::Refused(e);
                }
                match self.records.iter().position(|(key, _)| key == k) {
                    Some(first) => {
                        self.records[first].1 = v.clone();
                        let mut index = 0;
                        self.records.retain(|(key, _)| {
                            index += 1;
                            index - 1 == first || key != k
                        });
                    }
                    None => self.records.push((k.clone(), v.clone())),
                }
                Outcome::Done
            }
            Op::Append(k, v) => self.apply(&Op::AppendMany(vec![(k.clone(), v.clone())])),
            Op::AppendMany(batch) => {
                if let Some(e) = batch.iter().find_map(|(k, v)| valid(k, v).err()) {
                    return Outcome::Refused(e);
                }
                self.records.extend(batch.iter().cloned());
                Outcome::Done
            }
            Op::Load(batch) => {
                if let Some(e) = batch.iter().find_map(|(k, v)| valid(k, v).err()) {
                    return Outcome::Refused(e);
                }
                self.records = batch.clone();
                Outcome::Done
            }
            Op::Read(k) => Outcome::Value(
                self.records
                    .iter()
                    .rev()
                    .find(|(key, _)| key == k)
                    .map(|(_, v)| v.clone()),
            ),
            Op::Delete(k) => self.apply(&Op::DeleteMany(vec![k.clone()])),
            Op::DeleteMany(keys) => {
                let before = self.records.len();
                self.records.retain(|(key, _)| !keys.contains(key));
                Outcome::Removed(before - self.records.len())
            }
            Op::Clear => {
                self.records.clear();
                Outcome::Done
            }
            Op::Reopen => Outcome::Done,
        }
    }
}

fn run(store: &dyn KvpStore, op: &Op) -> Outcome {
    let result = match op {
        Op::Insert(k, v) => store.insert(k, v).map(|()| Outcome::Done),
        Op::Append(k, v) => store.append(k, v).map(|()| Outcome::Done),
        Op::AppendMany(batch) | Op::Load(batch) => {
            let pairs: Vec<(&str, &str)> = batch
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            if matches!(op, Op::Load(_)) {
                store.load(&pairs)
            } else {
                store.append_many(&pairs)
            }
            .map(|()| Outcome::Done)
        }
        Op::Read(k) => store.read(k).map(Outcome::Value),
        Op::Delete(k) => store.delete(k).map(Outcome::Removed),
        Op::DeleteMany(keys) => {
            let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
            store.delete_many(&keys).map(Outcome::Removed)
        }
        Op::Clear => store.clear().map(|()| Outcome::Done),
        Op::Reopen => Ok(Outcome::Done),
    };
    result.unwrap_or_else(|e| match e.kind() {
        kvp_core::ErrorKind::Io | kvp_core::ErrorKind::LockTimeout => {
            panic!("unexpected failure: {e}")
        }
        kind => Outcome::Refused(format!("{kind:?}")),
    })
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec!["a", "b", "Région", "c|1", "日本"]).prop_map(str::to_owned),
        1 => prop::sample::select(vec!["", "nul\0key"]).prop_map(str::to_owned),
        1 => "[a-z€😀]{250,258}",
    ]
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => "[a-zé ]{0,12}",
        1 => "[x€]{1020,1025}",
    ]
}

fn pairs() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::vec((key(), value()), 0..4)
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (key(), value()).prop_map(|(k, v)| Op::Insert(k, v)),
        4 => (key(), value()).prop_map(|(k, v)| Op::Append(k, v)),
        1 => pairs().prop_map(Op::AppendMany),
        1 => pairs().prop_map(Op::Load),
        3 => key().prop_map(Op::Read),
        2 => key().prop_map(Op::Delete),
        1 => prop::collection::vec(key(), 0..3).prop_map(Op::DeleteMany),
        1 => Just(Op::Clear),
        1 => Just(Op::Reopen),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 128,
        // Integration tests have no lib.rs beside them, so say where
        // shrunk failures are kept; they are replayed on every run.
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/model.proptest-regressions"
        )))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn stores_follow_the_model(ops in prop::collection::vec(op(), 1..40)) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("pool");
        let mut file = FileStore::open(&path).expect("open");
        let memory = MemoryStore::with_options(Options::new());
        let mut model = Model::default();
        for op in &ops {
            if matches!(op, Op::Reopen) {
                file = FileStore::open(&path).expect("reopen");
            }
            let expected = model.apply(op);
            prop_assert_eq!(&run(&file, op), &expected, "file store on {:?}", op);
            prop_assert_eq!(&run(&memory, op), &expected, "memory store on {:?}", op);
            let records: Vec<(String, String)> =
                file.records().expect("records").into_iter().map(|r| (r.key, r.value)).collect();
            prop_assert_eq!(&records, &model.records);
        }
        let on_disk = std::fs::read(&path).unwrap_or_default();
        prop_assert_eq!(on_disk, memory.to_bytes(), "same bytes");
        prop_assert_eq!(file.entries().expect("entries"), memory.entries().expect("entries"));
        let snapshot = file.record_snapshot().expect("snapshot");
        prop_assert_eq!(&snapshot, &memory.record_snapshot().expect("snapshot"));
        let raw = memory.raw_records().expect("raw records");
        prop_assert!(snapshot.iter().eq(raw.iter().map(|r| (&r.key[..], &r.value[..]))));
        prop_assert_eq!(file.unique_keys().expect("unique"), memory.unique_keys().expect("unique"));
    }
}
