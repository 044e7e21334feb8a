//! Every operation's semantics, run on the file store and on the in-memory
//! store alike: both must give the same answers.

use std::time::{Duration, SystemTime};

use kvp_core::{
    BootTime, Error, FileStore, KvpStore, MemoryStore, Options, Pool, PoolMode, RECORD_SIZE,
};

/// Runs `check` on a fresh file store and a fresh memory store.
fn on_both(options: Options, check: impl Fn(&dyn KvpStore)) {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = options
        .clone()
        .open_pool(Pool::Guest, Some(dir.path()))
        .expect("open");
    check(&file);
    check(&MemoryStore::with_options(options));
}

fn keys(store: &dyn KvpStore) -> Vec<String> {
    store
        .records()
        .expect("records")
        .into_iter()
        .map(|r| r.key)
        .collect()
}

fn pairs(store: &dyn KvpStore) -> Vec<(String, String)> {
    store
        .records()
        .expect("records")
        .into_iter()
        .map(|r| (r.key, r.value))
        .collect()
}

#[test]
fn insert_upserts_the_first_match_and_removes_later_duplicates() {
    on_both(Options::new(), |s| {
        s.append("a", "1").unwrap();
        s.append("b", "2").unwrap();
        s.append("a", "3").unwrap();
        s.append("c", "4").unwrap();
        s.append("a", "5").unwrap();
        s.insert("a", "new").unwrap();
        assert_eq!(
            pairs(s),
            [("a", "new"), ("b", "2"), ("c", "4")].map(|(k, v)| (k.to_owned(), v.to_owned()))
        );
        s.insert("d", "x").unwrap();
        assert_eq!(keys(s), ["a", "b", "c", "d"]);
    });
}

#[test]
fn append_keeps_duplicates_and_read_takes_the_last() {
    on_both(Options::new(), |s| {
        s.append("k", "first").unwrap();
        s.append("k", "second").unwrap();
        assert_eq!(s.len().unwrap(), 2);
        assert_eq!(s.unique_keys().unwrap(), 1);
        assert_eq!(s.read("k").unwrap().as_deref(), Some("second"));
        assert_eq!(s.read("missing").unwrap(), None);
        assert_eq!(s.entries().unwrap().get("k"), Some("second"));
    });
}

#[test]
fn append_many_keeps_the_batch_adjacent_and_validates_all_first() {
    on_both(Options::new(), |s| {
        s.append("before", "0").unwrap();
        s.append_many(&[("x", "1"), ("y", "2"), ("x", "3")])
            .unwrap();
        assert_eq!(keys(s), ["before", "x", "y", "x"]);
        let err = s.append_many(&[("ok", "1"), ("", "bad")]).unwrap_err();
        assert!(matches!(err, Error::EmptyKey));
        assert_eq!(s.len().unwrap(), 4, "an invalid batch writes nothing");
    });
}

#[test]
fn delete_removes_every_match_and_keeps_order() {
    on_both(Options::new(), |s| {
        for (k, v) in [
            ("a", "1"),
            ("b", "2"),
            ("a", "3"),
            ("c", "4"),
            ("d", "5"),
            ("a", "6"),
        ] {
            s.append(k, v).unwrap();
        }
        assert_eq!(s.delete("a").unwrap(), 3);
        assert_eq!(keys(s), ["b", "c", "d"], "shifted up, never swapped");
        assert_eq!(s.delete("zzz").unwrap(), 0);
        assert_eq!(s.delete_many(&["b", "d", "nope"]).unwrap(), 2);
        assert_eq!(keys(s), ["c"]);
    });
}

#[test]
fn delete_across_chunk_boundaries_keeps_order() {
    on_both(Options::new().mode(PoolMode::Full), |s| {
        let entries: Vec<(String, String)> = (0..300)
            .map(|i| (format!("k{}", i % 7), i.to_string()))
            .collect();
        let borrowed: Vec<(&str, &str)> = entries
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        s.append_many(&borrowed).unwrap();
        assert_eq!(s.delete_many(&["k0", "k3"]).unwrap(), 86);
        let expected: Vec<(String, String)> = entries
            .iter()
            .filter(|(k, _)| k != "k0" && k != "k3")
            .cloned()
            .collect();
        assert_eq!(pairs(s), expected);
    });
}

#[test]
fn load_replaces_everything_or_nothing() {
    on_both(Options::new(), |s| {
        s.append("old", "1").unwrap();
        s.load(&[("n1", "a"), ("n2", "b")]).unwrap();
        assert_eq!(keys(s), ["n1", "n2"]);
        let too_long = "v".repeat(1023);
        let err = s
            .load(&[("n3", "ok"), ("n4", too_long.as_str())])
            .unwrap_err();
        assert!(matches!(
            err,
            Error::ValueTooLarge {
                limit: 1022,
                actual: 1023,
                ..
            }
        ));
        assert_eq!(keys(s), ["n1", "n2"], "a failed load changes nothing");
        let many: Vec<String> = (0..1025).map(|i| format!("key{i}")).collect();
        let batch: Vec<(&str, &str)> = many.iter().map(|k| (k.as_str(), "")).collect();
        assert!(matches!(
            s.load(&batch).unwrap_err(),
            Error::UniqueKeyLimit { limit: 1024 }
        ));
        assert_eq!(keys(s), ["n1", "n2"]);
        s.load(&batch[..1024]).unwrap();
        assert_eq!(s.unique_keys().unwrap(), 1024);
    });
}

#[test]
fn the_unique_key_cap_stops_new_keys_only() {
    on_both(Options::new(), |s| {
        let many: Vec<String> = (0..1024).map(|i| format!("key{i}")).collect();
        let batch: Vec<(&str, &str)> = many.iter().map(|k| (k.as_str(), "v")).collect();
        s.append_many(&batch).unwrap();
        let err = s.insert("one-too-many", "v").unwrap_err();
        assert!(matches!(err, Error::UniqueKeyLimit { limit: 1024 }));
        assert_eq!(s.len().unwrap(), 1024, "the refused insert wrote nothing");
        s.insert("key7", "updated").unwrap();
        assert_eq!(s.read("key7").unwrap().as_deref(), Some("updated"));
        s.append("key8", "dup").unwrap();
        s.append("beyond-the-cap", "append has no cap").unwrap();
        assert_eq!(s.len().unwrap(), 1026);
        // Duplicates do not count against the cap.
        s.delete("beyond-the-cap").unwrap();
        s.delete("key9").unwrap();
        s.insert("fits-again", "v").unwrap();
    });
}

#[test]
fn invalid_writes_are_refused_before_anything_changes() {
    on_both(Options::new(), |s| {
        s.insert("keep", "me").unwrap();
        assert!(matches!(s.insert("", "v"), Err(Error::EmptyKey)));
        assert!(matches!(s.insert("a\0b", "v"), Err(Error::Nul { .. })));
        assert!(matches!(s.append("k", "v\0"), Err(Error::Nul { .. })));
        assert!(matches!(
            s.insert(&"k".repeat(255), "v"),
            Err(Error::KeyTooLarge { limit: 254, .. })
        ));
        assert_eq!(pairs(s), [("keep".to_owned(), "me".to_owned())]);
        // Reads and deletes accept keys that writes would refuse.
        assert_eq!(s.read("").unwrap(), None);
        assert_eq!(s.delete(&"k".repeat(600)).unwrap(), 0);
    });
}

#[test]
fn safe_limits_accept_non_ascii_that_fits_in_utf16_units() {
    on_both(Options::new(), |s| {
        let key = "ü".repeat(254);
        let value = "é".repeat(1022); // 2044 bytes, 1022 units
        s.insert(&key, &value).unwrap();
        assert_eq!(s.read(&key).unwrap().as_deref(), Some(value.as_str()));
        assert!(matches!(
            s.insert("k", &"€".repeat(1000)),
            Err(Error::ValueTooLarge {
                limit: 2047,
                actual: 3000,
                ..
            })
        ));
    });
    on_both(Options::new().mode(PoolMode::Full), |s| {
        let key = "k".repeat(511);
        let value = "v".repeat(2047);
        s.insert(&key, &value).unwrap();
        assert_eq!(s.read(&key).unwrap().as_deref(), Some(value.as_str()));
        assert!(s.insert(&"k".repeat(512), "").is_err());
    });
}

#[test]
fn clear_len_is_empty_and_dump() {
    on_both(Options::new(), |s| {
        assert!(s.is_empty().unwrap());
        s.append("k", "v \"quoted\"").unwrap();
        assert_eq!(
            s.dump_json().unwrap(),
            r#"[{"key":"k","value":"v \"quoted\""}]"#
        );
        s.clear().unwrap();
        assert!(s.is_empty().unwrap());
        assert_eq!(s.dump_json().unwrap(), "[]");
    });
}

#[test]
fn staleness_uses_the_injected_boot_time() {
    let future_boot = SystemTime::now() + Duration::from_secs(3600);
    let past_boot = SystemTime::now() - Duration::from_secs(3600);
    on_both(Options::new().boot_time(BootTime::At(past_boot)), |s| {
        assert!(!s.is_stale().unwrap(), "a missing pool is not stale");
        s.append("k", "v").unwrap();
        assert!(!s.is_stale().unwrap(), "written after boot");
        assert!(!s.clear_if_stale().unwrap());
        assert_eq!(s.len().unwrap(), 1);
    });
    on_both(Options::new().boot_time(BootTime::At(future_boot)), |s| {
        s.append("k", "v").unwrap();
        assert!(s.is_stale().unwrap(), "written before (the injected) boot");
        assert!(s.clear_if_stale().unwrap());
        assert!(s.is_empty().unwrap());
    });
}

#[test]
fn system_boot_time_is_in_the_past() {
    let boot = BootTime::System.resolve();
    assert!(boot < SystemTime::now());
    assert!(boot > SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000));
}

/// The in-memory store and the file store see a pool image identically.
fn on_image(bytes: &[u8], check: impl Fn(&dyn KvpStore)) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("pool");
    std::fs::write(&path, bytes).expect("write");
    check(&FileStore::open(&path).expect("open"));
    check(&MemoryStore::from_bytes(bytes.to_vec(), Options::new()));
}

fn fixture(name: &str) -> Vec<u8> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/");
    std::fs::read(format!("{path}{name}")).expect("fixture")
}

#[test]
fn daemon_modify_leaves_garbage_that_readers_ignore() {
    on_image(&fixture("daemon-modify-stale-tail.pool"), |s| {
        assert_eq!(
            pairs(s),
            [
                ("VirtualMachineName", "short"),
                ("HostingSystemEditionId", "42"),
                ("Région", "Zürich-Nord"),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
        );
        let raw = s.raw_records().unwrap();
        assert_eq!(raw[1].value, b"42");
        assert_eq!(
            s.read_raw(b"VirtualMachineName").unwrap().as_deref(),
            Some(&b"short"[..])
        );
    });
}

#[test]
fn daemon_delete_shift_reads_exactly() {
    on_image(&fixture("daemon-delete-shift.pool"), |s| {
        assert_eq!(
            pairs(s),
            [
                (
                    "A-first-key-quite-long-name",
                    "value-number-one-which-is-long-enough"
                ),
                ("C-key", "three"),
                ("D", "4"),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
        );
        assert_eq!(s.read("D").unwrap().as_deref(), Some("4"));
        assert_eq!(
            s.read("Dkey").unwrap(),
            None,
            "garbage after the NUL is not part of the key"
        );
    });
}

#[test]
fn cloud_init_pool_reads_all_records() {
    on_image(&fixture("cloudinit-events.pool"), |s| {
        assert_eq!(s.len().unwrap(), 19);
        let keys = keys(s);
        assert!(keys.iter().all(|k| k.starts_with("CLOUD_INIT|")));
        assert_eq!(
            keys.iter()
                .filter(|k| k.contains("|azure-diagnostics|"))
                .count(),
            17
        );
    });
}

#[test]
fn invalid_utf8_is_lossy_in_text_and_exact_in_raw() {
    let mut image = kvp_core::record::encode(b"bad", &[b'a', 0xff, b'z']).to_vec();
    image.extend_from_slice(&kvp_core::record::encode(b"good", b"ok"));
    on_image(&image, |s| {
        assert_eq!(s.read("bad").unwrap().as_deref(), Some("a\u{fffd}z"));
        assert_eq!(s.read_raw(b"bad").unwrap(), Some(vec![b'a', 0xff, b'z']));
        assert_eq!(s.read("good").unwrap().as_deref(), Some("ok"));
        assert_eq!(s.records().unwrap().len(), 2);
    });
}

#[test]
fn a_partial_tail_is_ignored_by_reads_and_cut_by_the_next_write() {
    let mut image = kvp_core::record::encode(b"whole", b"1").to_vec();
    image.extend_from_slice(&[b'x'; 1000]);
    on_image(&image, |s| {
        assert_eq!(s.len().unwrap(), 1);
        assert_eq!(keys(s), ["whole"]);
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("pool");
    for write in [
        |s: &FileStore| s.append("next", "2").map(drop),
        |s: &FileStore| s.insert("whole", "updated").map(drop),
    ] {
        std::fs::write(&path, &image).unwrap();
        let store = FileStore::open(&path).unwrap();
        write(&store).unwrap();
        let size = std::fs::metadata(&path).unwrap().len() as usize;
        assert_eq!(size % RECORD_SIZE, 0, "the tail was cut");
        assert!(store.read("whole").unwrap().is_some());
    }
    // A delete that removes nothing writes nothing: the file may be
    // another program's (a hardlink, or a path given by mistake).
    std::fs::write(&path, &image).unwrap();
    assert_eq!(
        FileStore::open(&path).unwrap().delete("nothing").unwrap(),
        0
    );
    assert_eq!(std::fs::read(&path).unwrap(), image);
}
