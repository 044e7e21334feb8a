//! The review's findings that need no second user: each test failed on the
//! library before the fix (issue 11) and pins the fix.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use kvp_core::check::{self, Finding};
use kvp_core::{
    Error, FileStore, KvpStore, MemoryStore, Options, Pool, UnsafeReason, DEFAULT_LOCK_TIMEOUT,
    KEY_SIZE, RECORD_SIZE,
};

fn pool_file(dir: &Path, records: &[(&[u8], &[u8])]) -> std::path::PathBuf {
    let path = dir.join(".kvp_pool_1");
    let bytes: Vec<u8> = records
        .iter()
        .flat_map(|(k, v)| kvp_core::record::encode(k, v))
        .collect();
    std::fs::write(&path, bytes).unwrap();
    std::fs::set_permissions(&path, PermissionsExt::from_mode(0o600)).unwrap();
    path
}

#[test]
fn every_store_has_a_finite_default_lock_timeout() {
    let timeout = Options::new()
        .get_lock_timeout()
        .expect("finite by default");
    assert_eq!(timeout, DEFAULT_LOCK_TIMEOUT);
    assert!(timeout <= Duration::from_secs(60));
    assert_eq!(Options::new().lock_timeout(None).get_lock_timeout(), None);
}

#[test]
fn a_timeout_too_large_for_the_clock_means_forever() {
    let dir = tempfile::tempdir().unwrap();
    let store = Options::new()
        .lock_timeout(Some(Duration::MAX))
        .open_pool(Pool::Guest, Some(dir.path()))
        .unwrap();
    store.insert("k", "v").unwrap();
    assert_eq!(store.read("k").unwrap().as_deref(), Some("v"));
}

#[test]
fn a_key_holding_a_nul_matches_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut daemon = kvp_core::record::encode(b"a", b"daemon");
    daemon[2..5].copy_from_slice(b"bcd"); // garbage after the key's NUL
    let path = pool_file(dir.path(), &[(b"a", b"1")]);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.extend_from_slice(&daemon);
    std::fs::write(&path, &bytes).unwrap();
    let file = FileStore::open(&path).unwrap();
    let memory = MemoryStore::from_bytes(bytes.clone(), Options::new());
    for store in [&file as &dyn KvpStore, &memory] {
        assert_eq!(store.read("a\0").unwrap(), None);
        assert_eq!(store.read("a\0bcd").unwrap(), None, "not the garbage");
        assert_eq!(store.read_raw(b"a\0b").unwrap(), None);
        assert_eq!(store.delete("a\0").unwrap(), 0);
        assert_eq!(store.read("a").unwrap().as_deref(), Some("daemon"));
    }
    assert_eq!(std::fs::read(&path).unwrap(), bytes, "nothing written");
}

#[test]
fn raw_keys_that_decode_alike_never_merge() {
    let image: Vec<u8> = [
        (&b"Status\xff"[..], &b"one"[..]),
        (b"Status\xef\xbf\xbd", b"two"),
    ]
    .iter()
    .flat_map(|(k, v)| kvp_core::record::encode(k, v))
    .collect();
    let store = MemoryStore::from_bytes(image, Options::new());
    let raw = store.raw_entries().unwrap();
    assert_eq!(raw.len(), 2);
    assert_eq!(raw.get(b"Status\xff"), Some(&b"one"[..]));
    assert_eq!(raw.get(b"Status\xef\xbf\xbd"), Some(&b"two"[..]));
    // The text map holds only the key that is UTF-8, with its own value.
    let text = store.entries().unwrap();
    assert_eq!(text.len(), 1);
    assert_eq!(text.get("Status\u{fffd}"), Some("two"));
    assert_eq!(store.unique_keys().unwrap(), 2);
    // Each can be addressed alone.
    assert_eq!(
        store.read_raw(b"Status\xff").unwrap().as_deref(),
        Some(&b"one"[..])
    );
    assert_eq!(store.delete_raw(&[b"Status\xff"]).unwrap(), 1);
    assert_eq!(
        store.read("Status\u{fffd}").unwrap().as_deref(),
        Some("two")
    );
}

/// `other-file` holding `bytes`, hard-linked as pool 1 in `dir`.
fn hardlinked_pool(dir: &Path, bytes: &[u8]) -> std::path::PathBuf {
    let other = dir.join("other-file");
    std::fs::write(&other, bytes).unwrap();
    std::fs::set_permissions(&other, PermissionsExt::from_mode(0o600)).unwrap();
    std::fs::hard_link(&other, dir.join(".kvp_pool_1")).unwrap();
    other
}

fn assert_refused_as_hardlinked(err: Error) {
    assert!(
        matches!(
            err,
            Error::UnsafePool {
                reason: UnsafeReason::HardLinked { links: 2 },
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn writes_refuse_a_hardlinked_pool_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let other = hardlinked_pool(dir.path(), &[b'x'; 4100]);
    let store = FileStore::open_pool(Pool::Guest, dir.path()).unwrap();

    assert!(matches!(
        store.delete("no-such-key"),
        Err(Error::UnsafePool { .. })
    ));
    assert_refused_as_hardlinked(store.insert("k", "v").unwrap_err());
    assert!(check::repair(&store).is_err());
    assert_eq!(
        std::fs::read(&other).unwrap(),
        vec![b'x'; 4100],
        "untouched"
    );
    let report = check::inspect(&store).unwrap();
    assert!(report.findings.contains(&Finding::UnsafeFile {
        reason: UnsafeReason::HardLinked { links: 2 }
    }));
}

#[test]
fn an_unsafe_pool_is_refused_as_unsafe_even_while_someone_holds_its_lock() {
    // The checks run on the fstat taken once the locks are held; when the
    // lock cannot be had, what they refuse is still the error reported.
    let dir = tempfile::tempdir().unwrap();
    let other = hardlinked_pool(dir.path(), &kvp_core::record::encode(b"k", b"v"));
    let holder = std::fs::File::open(&other).unwrap();
    // SAFETY: flock on a descriptor this test owns.
    let rc = unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(&holder), libc::LOCK_EX) };
    assert_eq!(rc, 0);
    let store = Options::new()
        .lock_timeout(Some(Duration::from_millis(50)))
        .open_pool(Pool::Guest, Some(dir.path()))
        .unwrap();
    assert_refused_as_hardlinked(store.append("k2", "v2").unwrap_err());
    // Reads take no safety check: they wait for the lock, as before.
    assert!(matches!(store.read("k"), Err(Error::LockTimeout { .. })));
    drop(holder);
    assert_eq!(store.read("k").unwrap().as_deref(), Some("v"));
}

#[test]
fn writes_refuse_a_pool_others_may_write() {
    let dir = tempfile::tempdir().unwrap();
    let path = pool_file(dir.path(), &[(b"k", b"v")]);
    std::fs::set_permissions(&path, PermissionsExt::from_mode(0o666)).unwrap();
    let before = std::fs::read(&path).unwrap();
    let store = FileStore::open(&path).unwrap();
    let err = store.insert("secret", "s3cr3t").unwrap_err();
    assert!(
        matches!(
            err,
            Error::UnsafePool {
                reason: UnsafeReason::WritableByOthers { mode: 0o666 },
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), before);
    assert_eq!(
        store.read("k").unwrap().as_deref(),
        Some("v"),
        "reads still work"
    );
    let findings = check::inspect(&store).unwrap().findings;
    assert!(findings.contains(&Finding::ReadableByOthers { mode: 0o666 }));
}

#[test]
fn a_create_mode_others_may_write_is_refused_at_open() {
    let dir = tempfile::tempdir().unwrap();
    for mode in [0o666, 0o620, 0o4600] {
        let err = Options::new()
            .create_mode(mode)
            .open_pool(Pool::Guest, Some(dir.path()))
            .unwrap_err();
        assert!(
            matches!(err, Error::InvalidOption { .. }),
            "{mode:o}: {err}"
        );
    }
    Options::new()
        .create_mode(0o644)
        .open_pool(Pool::Guest, Some(dir.path()))
        .unwrap()
        .insert("k", "v")
        .unwrap();
}

#[test]
fn repair_refuses_a_file_without_a_whole_record() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    std::fs::write(&path, vec![b'n'; 1000]).unwrap();
    std::fs::set_permissions(&path, PermissionsExt::from_mode(0o600)).unwrap();
    let err = check::repair(&FileStore::open(&path).unwrap()).unwrap_err();
    assert!(
        matches!(
            err,
            Error::UnsafePool {
                reason: UnsafeReason::NoWholeRecord { size: 1000 },
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), vec![b'n'; 1000]);
}

#[test]
fn a_store_opened_by_path_notices_the_file_was_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let path = pool_file(dir.path(), &[(b"k", b"v")]);
    let store = FileStore::open(&path).unwrap();
    assert_eq!(store.read("k").unwrap().as_deref(), Some("v"));
    let planted = dir.path().join("planted");
    std::fs::write(&planted, kvp_core::record::encode(b"k", b"forged")).unwrap();
    std::fs::set_permissions(&planted, PermissionsExt::from_mode(0o600)).unwrap();
    std::fs::rename(&planted, &path).unwrap();
    assert!(matches!(store.read("k"), Err(Error::PoolReplaced { .. })));
    assert!(matches!(
        store.insert("k", "x"),
        Err(Error::PoolReplaced { .. })
    ));
    assert_eq!(
        std::fs::read(&path).unwrap()[KEY_SIZE..KEY_SIZE + 6],
        *b"forged"
    );
    // A store opened anew takes the file that is there now.
    assert_eq!(
        FileStore::open(&path)
            .unwrap()
            .read("k")
            .unwrap()
            .as_deref(),
        Some("forged")
    );
}

#[test]
fn a_symlink_planted_after_open_is_never_followed() {
    let dir = tempfile::tempdir().unwrap();
    let path = pool_file(dir.path(), &[(b"k", b"v")]);
    let target = dir.path().join("elsewhere");
    std::fs::write(&target, b"not a pool").unwrap();
    for store in [
        FileStore::open(&path).unwrap(),
        FileStore::open_pool(Pool::Guest, dir.path()).unwrap(),
    ] {
        std::fs::rename(&path, dir.path().join("moved")).unwrap();
        std::os::unix::fs::symlink(&target, &path).unwrap();
        let err = store.insert("k", "x").unwrap_err();
        assert!(matches!(err, Error::NotARegularFile { .. }), "{err}");
        std::fs::remove_file(&path).unwrap();
        std::fs::rename(dir.path().join("moved"), &path).unwrap();
    }
    assert_eq!(std::fs::read(&target).unwrap(), b"not a pool");
}

#[test]
fn whole_pool_reads_refuse_a_pool_over_the_cap() {
    let dir = tempfile::tempdir().unwrap();
    let path = pool_file(dir.path(), &[(b"a", b"1"), (b"b", b"2"), (b"c", b"3")]);
    let store = Options::new()
        .max_pool_bytes(2 * RECORD_SIZE as u64)
        .open(&path)
        .unwrap();
    for result in [
        store.records().map(drop),
        store.entries().map(drop),
        store.raw_entries().map(drop),
        store.record_snapshot().map(drop),
        store.dump_json().map(drop),
        store.unique_keys().map(drop),
        check::inspect(&store).map(drop),
    ] {
        assert!(
            matches!(result, Err(Error::PoolTooLarge { size, limit, .. }) if size == 3 * RECORD_SIZE as u64 && limit == 2 * RECORD_SIZE as u64)
        );
    }
    // Single-key operations stream, whatever the size.
    assert_eq!(store.read("c").unwrap().as_deref(), Some("3"));
    assert_eq!(store.len().unwrap(), 3);
}

#[test]
fn check_reports_control_and_format_characters_in_keys() {
    let image: Vec<u8> = [
        ("Provisioning\u{200b}State", "zero-width"),
        ("\u{202e}etatS", "bidi"),
        ("title\u{1b}]0;x\u{7}", "osc"),
        ("ProvisioningState", "plain"),
    ]
    .iter()
    .flat_map(|(k, v)| kvp_core::record::encode(k.as_bytes(), v.as_bytes()))
    .collect();
    let report = check::inspect(&MemoryStore::from_bytes(image, Options::new())).unwrap();
    let flagged: Vec<(u64, u32)> = report
        .findings
        .iter()
        .filter_map(|f| match f {
            Finding::UnsafeCharInKey { record, code_point } => Some((*record, *code_point)),
            _ => None,
        })
        .collect();
    assert_eq!(flagged, [(0, 0x200b), (1, 0x202e), (2, 0x1b)]);
}
