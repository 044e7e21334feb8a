//! What only the file store does: creation, permissions, in-place writes,
//! and refusing paths that are not pool files.

use std::os::unix::fs::{FileTypeExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use kvp_core::{Error, FileStore, KvpStore, Options, Pool, KEY_SIZE, RECORD_SIZE};

#[test]
fn a_missing_pool_reads_empty_and_the_first_write_creates_it() {
    let dir = tempfile::tempdir().unwrap();
    let nested = dir.path().join("var/lib/hyperv");
    let store = FileStore::open_pool(Pool::Guest, &nested).unwrap();
    assert!(store.is_empty().unwrap());
    assert_eq!(store.read("k").unwrap(), None);
    assert_eq!(
        store.delete("k").unwrap(),
        0,
        "a delete on a missing pool creates it, empty"
    );
    store.insert("k", "v").unwrap();
    let path = nested.join(".kvp_pool_1");
    assert_eq!(store.path(), path);
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(
        mode & !0o600,
        0,
        "created owner-only (umask can only remove bits)"
    );
    let dir_mode = std::fs::metadata(&nested).unwrap().permissions().mode() & 0o777;
    assert_eq!(dir_mode & !0o755, 0);
    assert_eq!(std::fs::metadata(&path).unwrap().len(), RECORD_SIZE as u64);
}

#[test]
fn create_mode_is_configurable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pool");
    let store = Options::new().create_mode(0o640).open(&path).unwrap();
    store.append("k", "v").unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode & !0o640, 0);
    assert_ne!(mode & 0o600, 0);
}

#[test]
fn an_update_rewrites_only_the_value_field() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pool");
    // A daemon-style record: garbage after the key's NUL must survive, since
    // an update writes the value field only.
    let mut image = kvp_core::record::encode(b"first", b"1").to_vec();
    image[6..10].copy_from_slice(b"####");
    image.extend_from_slice(&kvp_core::record::encode(b"target", b"old-and-long"));
    image.extend_from_slice(&kvp_core::record::encode(b"last", b"3"));
    std::fs::write(&path, &image).unwrap();
    let store = FileStore::open(&path).unwrap();
    store.insert("target", "new").unwrap();
    let after = std::fs::read(&path).unwrap();
    assert_eq!(after.len(), image.len());
    let value_field = RECORD_SIZE + KEY_SIZE..2 * RECORD_SIZE;
    assert_eq!(after[..value_field.start], image[..value_field.start]);
    assert_eq!(after[value_field.end..], image[value_field.end..]);
    assert_eq!(&after[value_field.start..value_field.start + 4], b"new\0");
    assert!(
        after[value_field].iter().skip(3).all(|&b| b == 0),
        "zero-filled"
    );
}

#[test]
fn appends_are_record_aligned_and_the_file_is_never_replaced() {
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pool");
    let store = FileStore::open(&path).unwrap();
    store.append("a", "1").unwrap();
    let inode = std::fs::metadata(&path).unwrap().ino();
    store.append("b", "2").unwrap();
    store.insert("a", "3").unwrap();
    store.delete("a").unwrap();
    store.load(&[("x", "y")]).unwrap();
    store.clear().unwrap();
    assert_eq!(
        std::fs::metadata(&path).unwrap().ino(),
        inode,
        "written in place"
    );
}

#[test]
fn an_empty_path_is_refused_at_open() {
    let err = FileStore::open("").unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::ENOENT));
}

#[test]
fn a_directory_is_not_a_pool() {
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(
        FileStore::open(dir.path()),
        Err(Error::NotARegularFile { .. })
    ));
}

fn mkfifo(path: &Path) {
    let c_path = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
}

#[test]
fn a_fifo_is_refused_without_hanging() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fifo");
    mkfifo(&path);
    assert!(std::fs::metadata(&path).unwrap().file_type().is_fifo());
    assert!(matches!(
        FileStore::open(&path),
        Err(Error::NotARegularFile { .. })
    ));
    // Replaced after open: the operation refuses it too, without blocking.
    let later = dir.path().join("later");
    let store = FileStore::open(&later).unwrap();
    mkfifo(&later);
    assert!(matches!(
        store.read("k"),
        Err(Error::NotARegularFile { .. })
    ));
    assert!(matches!(
        store.insert("k", "v"),
        Err(Error::NotARegularFile { .. })
    ));
}

/// Whether the store opens a FIFO put in place of its pool: a writer's
/// open of a FIFO blocks until someone opens it for reading, so a writer
/// that gets through saw the store open it. Returns the store's error and
/// whether the writer got through.
fn fifo_swapped_in(dir_mode: u32) -> (Error, bool) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), PermissionsExt::from_mode(dir_mode)).unwrap();
    let path = dir.path().join("pool");
    let store = FileStore::open(&path).unwrap();
    store.insert("k", "v").unwrap();
    std::fs::remove_file(&path).unwrap();
    mkfifo(&path);
    let (opened, writer_through) = std::sync::mpsc::channel();
    let (tid_tx, tid_rx) = std::sync::mpsc::channel();
    let writer_path = path.clone();
    let writer = std::thread::spawn(move || {
        // SAFETY: gettid has no arguments and cannot fail.
        tid_tx.send(unsafe { libc::gettid() }).unwrap();
        let file = std::fs::OpenOptions::new().write(true).open(&writer_path);
        let _ = opened.send(file.is_ok());
    });
    // Wait until the writer sleeps in its open.
    let stat = format!("/proc/self/task/{}/stat", tid_rx.recv().unwrap());
    let sleeping = || {
        std::fs::read_to_string(&stat).is_ok_and(|s| {
            s.rsplit_once(") ")
                .is_some_and(|(_, rest)| rest.starts_with('S'))
        })
    };
    for _ in 0..500 {
        if sleeping() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(sleeping(), "the writer never blocked in its open");
    let err = store.read("k").unwrap_err();
    let through = writer_through
        .recv_timeout(std::time::Duration::from_millis(300))
        .is_ok();
    // Release the writer if it still waits, and wait for it.
    let _reader = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&path)
        .unwrap();
    writer.join().unwrap();
    (err, through)
}

#[test]
fn where_others_may_write_the_directory_a_fifo_is_never_opened() {
    // Group-writable: someone else may have put the FIFO there, so the
    // name is looked at before any open.
    let (err, through) = fifo_swapped_in(0o770);
    assert!(matches!(err, Error::NotARegularFile { .. }), "{err}");
    assert!(!through, "the store opened the FIFO");
    // In a directory only we can write, the first open does not look first
    // (only we could have put a FIFO there); the checks on the opened
    // file refuse it all the same.
    let (err, _) = fifo_swapped_in(0o700);
    assert!(matches!(err, Error::NotARegularFile { .. }), "{err}");
}

#[test]
fn a_directory_put_in_place_of_the_pool_is_refused_by_every_operation() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::open_pool(Pool::Guest, dir.path()).unwrap();
    std::fs::create_dir(dir.path().join(".kvp_pool_1")).unwrap();
    for result in [
        store.read("k").map(drop),
        store.insert("k", "v"),
        store.append("k", "v"),
        store.delete("k").map(drop),
    ] {
        assert!(
            matches!(result, Err(Error::NotARegularFile { .. })),
            "{result:?}"
        );
    }
}

#[test]
fn a_symlinked_pool_file_is_refused_unless_the_path_was_explicit() {
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let target = outside.path().join("elsewhere");
    std::fs::write(&target, kvp_core::record::encode(b"k", b"v")).unwrap();
    std::os::unix::fs::symlink(&target, dir.path().join(".kvp_pool_1")).unwrap();
    let by_pool = FileStore::open_pool(Pool::Guest, dir.path());
    let refused = match by_pool {
        Err(e) => e,
        Ok(store) => store.insert("k", "overwritten").unwrap_err(),
    };
    assert!(
        matches!(refused, Error::NotARegularFile { .. } | Error::Io { .. }),
        "{refused}"
    );
    assert_eq!(
        std::fs::read(&target).unwrap(),
        kvp_core::record::encode(b"k", b"v")
    );
    // The explicit path is the caller's choice, and is followed.
    let explicit = FileStore::open(dir.path().join(".kvp_pool_1")).unwrap();
    assert_eq!(explicit.read("k").unwrap().as_deref(), Some("v"));
}

#[test]
fn permission_errors_carry_the_path_and_errno() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/pool");
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::fs::write(&path, b"").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o000)).unwrap();
    let store = FileStore::open(&path).unwrap();
    // Root ignores file permissions; only assert where they apply.
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        let err = store.insert("k", "v").unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EACCES));
        assert_eq!(err.path(), Some(path.as_path()));
        assert!(err.to_string().contains("pool"), "{err}");
    }
    // A path under a regular file fails for everyone, root included.
    let err = FileStore::open(path.join("x")).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::ENOTDIR));
    assert!(err.to_string().contains("pool/x"), "{err}");
}

#[test]
fn no_descriptor_leaks_into_exec_children() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pool");
    let store = FileStore::open(&path).unwrap();
    store.append("k", "v").unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    // Keep descriptors open in another thread while children are exec'd, so
    // only O_CLOEXEC keeps them out.
    let busy = {
        let (store, stop) = (store.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                store.insert("k", "v").unwrap();
                store.read("k").unwrap();
            }
        })
    };
    for _ in 0..50 {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg("for fd in /proc/self/fd/*; do readlink \"$fd\"; done")
            .output()
            .unwrap();
        let listing = String::from_utf8_lossy(&out.stdout);
        assert!(
            !listing.contains(path.to_str().unwrap()),
            "a pool descriptor leaked: {listing}"
        );
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    busy.join().unwrap();
}

#[test]
fn threads_sharing_one_store_lose_nothing() {
    // Each operation has its own descriptor, so the OFD lock and flock
    // exclude threads of one process just as they exclude processes.
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::open(dir.path().join("pool")).unwrap();
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let store = store.clone();
            std::thread::spawn(move || {
                for i in 0..100 {
                    store.insert(&format!("own-{t}"), &i.to_string()).unwrap();
                    store.append(&format!("log-{t}"), &i.to_string()).unwrap();
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let records = store.records().unwrap();
    assert_eq!(records.len(), 8 * 101);
    for t in 0..8 {
        assert_eq!(
            store.read(&format!("own-{t}")).unwrap().as_deref(),
            Some("99")
        );
        let log: Vec<&str> = records
            .iter()
            .filter(|r| r.key == format!("log-{t}"))
            .map(|r| r.value.as_str())
            .collect();
        let expected: Vec<String> = (0..100).map(|i| i.to_string()).collect();
        assert_eq!(log, expected);
    }
}
