//! Random testing of the record decoder and the pool parser with proptest:
//! arbitrary pool images, read and written through both stores and the
//! checker, must never panic and must keep the pool's invariants.
//!
//! `cargo test` runs a short pass; tests/reliability/fuzz.sh runs it for
//! minutes with PROPTEST_CASES raised. Findings are kept as regression
//! cases in tests/fuzz.proptest-regressions. The coverage-guided targets
//! (cargo-fuzz) are in fuzz/, run by tests/reliability/fuzz-coverage.sh.

use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;

use kvp_core::{
    check, FileStore, KvpStore, MemoryStore, Options, PoolMode, RawRecord, KEY_SIZE, RECORD_SIZE,
    VALUE_SIZE,
};

/// Pool images that look like pools often enough to reach deep: whole and
/// partial records, NUL-free fields, garbage after NULs, invalid UTF-8.
fn image() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![4 => Just(0u8), 2 => b'a'..=b'c', 1 => any::<u8>()];
    let slot = prop::collection::vec(byte, RECORD_SIZE);
    (
        prop::collection::vec(slot, 0..6),
        prop::collection::vec(any::<u8>(), 0..100),
    )
        .prop_map(|(slots, tail)| {
            let mut image: Vec<u8> = slots.concat();
            if tail.len() % 2 == 0 {
                image.extend(tail);
            }
            image
        })
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("a".to_owned()),
        Just(String::new()),
        "[abc\u{e9}\0]{0,6}",
        "[ab]{500,520}"
    ]
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(64),
        // Integration tests have no lib.rs beside them, so say where
        // shrunk failures are kept; they are replayed on every run.
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fuzz.proptest-regressions"
        )))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn the_decoder_never_panics_and_stops_at_nul(slot in prop::collection::vec(any::<u8>(), 0..3000)) {
        let raw = RawRecord::decode(&slot);
        prop_assert!(raw.key.len() <= KEY_SIZE && raw.value.len() <= VALUE_SIZE);
        prop_assert!(!raw.key.contains(&0) && !raw.value.contains(&0));
        let _ = raw.to_record();
    }

    #[test]
    fn any_image_parses_and_writes_keep_it_whole(image in image(), key in key(), value in "[a-z\u{20ac}]{0,30}") {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("pool");
        std::fs::write(&path, &image).expect("write");
        let file = Options::new().mode(PoolMode::Full).open(&path).expect("open");
        let memory = MemoryStore::from_bytes(image.clone(), Options::new().mode(PoolMode::Full));
        let whole = image.len() / RECORD_SIZE;
        for store in [&file as &dyn KvpStore, &memory] {
            prop_assert_eq!(store.len().expect("len"), whole);
            prop_assert_eq!(store.records().expect("records").len(), whole);
            let _ = store.entries().expect("entries");
            let _ = store.read(&key).expect("read");
            let _ = store.dump_json().expect("dump");
            let report = check::inspect(store).expect("inspect");
            let _ = report.is_clean();
        }
        let insert = (file.insert(&key, &value).is_ok(), memory.insert(&key, &value).is_ok());
        prop_assert_eq!(insert.0, insert.1);
        let deleted = file.delete(&key).expect("delete");
        prop_assert_eq!(deleted, memory.delete(&key).expect("delete"));
        let on_disk = std::fs::read(&path).expect("read");
        if insert.0 || deleted > 0 {
            prop_assert_eq!(on_disk.len() % RECORD_SIZE, 0, "a write cuts any partial tail");
        } else {
            prop_assert_eq!(&on_disk, &image, "a delete that removes nothing changes nothing");
        }
        prop_assert_eq!(&on_disk, &memory.to_bytes());
        prop_assert_eq!(file.read(&key).expect("read"), None);
        match check::repair(&file) {
            Ok(_) => {}
            // A file with bytes but no whole record may not be a pool.
            Err(kvp_core::Error::UnsafePool { .. }) => {
                prop_assert!(!on_disk.is_empty() && on_disk.len() < RECORD_SIZE);
                prop_assert_eq!(std::fs::read(&path).expect("read"), on_disk);
                return Ok(());
            }
            Err(e) => return Err(TestCaseError::fail(e.to_string())),
        }
        prop_assert!(check::inspect(&file).expect("inspect").repairable() == 0);
    }
}

#[test]
fn file_store_and_memory_store_agree_on_a_fixture() {
    let bytes = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/daemon-delete-shift.pool"
    ))
    .expect("fixture");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("pool");
    std::fs::write(&path, &bytes).expect("write");
    let file = FileStore::open(&path).expect("open");
    let memory = MemoryStore::from_bytes(bytes, Options::new());
    assert_eq!(
        file.raw_records().expect("raw"),
        memory.raw_records().expect("raw")
    );
}
