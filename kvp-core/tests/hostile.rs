//! Hostile pool files and hostile filesystems, each with a defined outcome.
//! Tests that mount (read-only and full filesystems) or change user run in
//! child processes; they need root, which CI has.

mod support;

use std::ffi::CString;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use kvp_core::{FileStore, KvpStore, Options, PoolMode, RECORD_SIZE};
use support::{is_root, run_role};

fn main() {
    support::main(
        &[
            (
                "all_zero_records_are_records_with_empty_fields",
                all_zero_records,
            ),
            ("a_100_mb_file_is_read_in_bounded_memory", huge_file),
            (
                "no_permission_is_a_typed_error_with_errno_and_path",
                no_permission,
            ),
            (
                "a_read_only_filesystem_reads_and_refuses_writes_cleanly",
                read_only_fs,
            ),
            ("a_full_disk_never_leaves_a_torn_record", full_disk),
            (
                "a_disk_filled_after_a_free_space_check_still_refuses_appends",
                filled_after_check,
            ),
        ],
        child,
    );
}

fn child(role: &str, path: &Path, _extra: &[String]) {
    match role {
        "huge-read" => {
            let store = FileStore::open(path).expect("open");
            let before = max_rss_kb();
            assert_eq!(
                store.read("needle").expect("read").as_deref(),
                Some("found")
            );
            // Whole-pool reads refuse a pool over the cap, before loading it.
            assert!(matches!(
                store.unique_keys(),
                Err(kvp_core::Error::PoolTooLarge { limit, .. }) if limit == kvp_core::DEFAULT_MAX_POOL_BYTES
            ));
            let raised = kvp_core::Options::new()
                .max_pool_bytes(200 << 20)
                .open(path)
                .expect("open");
            assert_eq!(raised.unique_keys().expect("unique"), 2);
            assert_eq!(store.delete("absent").expect("delete"), 0);
            println!("{}", max_rss_kb() - before);
        }
        "as-nobody" => {
            if is_root() {
                // SAFETY: plain syscalls dropping to the nobody user.
                unsafe {
                    assert_eq!(libc::setgid(65534), 0);
                    assert_eq!(libc::setuid(65534), 0);
                }
            }
            let store = FileStore::open(path).expect("open");
            for result in [store.read("k").map(drop), store.insert("k", "v2").map(drop)] {
                let err = result.expect_err("permission denied");
                assert_eq!(err.raw_os_error(), Some(libc::EACCES), "{err}");
                assert_eq!(err.path(), Some(path));
            }
        }
        "readonly-fs" => {
            private_tmpfs(path, "size=1m");
            let pool = path.join("pool");
            let store = FileStore::open(&pool).expect("open");
            store
                .append_many(&[("k", "v"), ("k2", "v2")])
                .expect("seed");
            remount_read_only(path);
            assert_eq!(store.read("k").expect("reads work").as_deref(), Some("v"));
            let attempts = [
                store.insert("k", "new").map(drop),
                store.append("k3", "v3").map(drop),
                store.delete("k").map(drop),
                store.clear().map(drop),
            ];
            for result in attempts {
                let err = result.expect_err("read-only");
                assert_eq!(err.raw_os_error(), Some(libc::EROFS), "{err}");
            }
            assert_eq!(store.len().expect("len"), 2);
        }
        "full-disk" => {
            private_tmpfs(path, "size=64k");
            let pool = path.join("pool");
            let store = Options::new()
                .mode(PoolMode::Full)
                .open(&pool)
                .expect("open");
            let value = "v".repeat(2000);
            let mut written = 0usize;
            let err = loop {
                match store.append(&format!("key-{written}"), &value) {
                    Ok(()) => written += 1,
                    Err(e) => break e,
                }
                assert!(written < 1000, "the 64k filesystem never filled");
            };
            assert_eq!(err.raw_os_error(), Some(libc::ENOSPC), "{err}");
            let size = std::fs::metadata(&pool).expect("stat").len();
            assert_eq!(size % RECORD_SIZE as u64, 0, "no torn record");
            let records = store.records().expect("still parses");
            assert_eq!(records.len(), written);
            assert!(
                records.iter().all(|r| r.value == value),
                "earlier records intact"
            );
            let too_many: Vec<(String, String)> = (0..written + 5)
                .map(|i| (format!("n{i}"), value.clone()))
                .collect();
            let batch: Vec<(&str, &str)> = too_many
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let err = store.load(&batch).expect_err("no room for a bigger pool");
            assert_eq!(err.raw_os_error(), Some(libc::ENOSPC), "{err}");
            assert_eq!(
                store.records().expect("parses"),
                records,
                "a failed load changed nothing"
            );
            // In-place updates need no new space.
            store.insert("key-0", "small").expect("update in place");
            assert_eq!(store.delete("key-1").expect("delete"), 1);
            store.append("after-delete", "fits again").expect("append");
        }
        "filled-after-check" => {
            // Far more free than the append headroom (16 MiB): the first
            // append finds plenty of space and the store keeps that verdict.
            private_tmpfs(path, "size=24m");
            let pool = path.join("pool");
            let store = FileStore::open(&pool).expect("open");
            store.append("before", "the disk filled").expect("append");
            // Someone else fills the filesystem at once, within the verdict's
            // lifetime.
            let filler = path.join("filler");
            let mut file = std::fs::File::create(&filler).expect("create");
            let block = vec![0u8; 64 << 10];
            while std::io::Write::write_all(&mut file, &block).is_ok() {}
            drop(file);
            let err = store.append("after", "no room").expect_err("full");
            assert_eq!(err.raw_os_error(), Some(libc::ENOSPC), "{err}");
            let size = std::fs::metadata(&pool).expect("stat").len();
            assert_eq!(size, RECORD_SIZE as u64, "no torn record, nothing added");
            assert_eq!(store.len().expect("len"), 1);
            // Room for a few records again, but far less than the headroom:
            // appends check and reserve again, and succeed.
            let len = std::fs::metadata(&filler).expect("stat").len();
            let f = std::fs::OpenOptions::new()
                .write(true)
                .open(&filler)
                .expect("open");
            f.set_len(len - (256 << 10)).expect("shrink the filler");
            drop(f);
            store
                .append("after", "room again")
                .expect("append with room");
            assert_eq!(store.len().expect("len"), 2);
        }
        other => panic!("unknown role {other}"),
    }
}

fn cstr(text: &str) -> CString {
    CString::new(text).expect("no NUL")
}

fn private_tmpfs(dir: &Path, options: &str) {
    let target = cstr(dir.to_str().expect("utf-8 path"));
    // SAFETY: unshare and mount with valid NUL-terminated strings; this child
    // process gets its own mount namespace, so nothing leaks to the system.
    unsafe {
        assert_eq!(libc::unshare(libc::CLONE_NEWNS), 0, "unshare");
        let root = cstr("/");
        let none = cstr("none");
        assert_eq!(
            libc::mount(
                none.as_ptr(),
                root.as_ptr(),
                std::ptr::null(),
                libc::MS_REC | libc::MS_PRIVATE,
                std::ptr::null()
            ),
            0
        );
        let tmpfs = cstr("tmpfs");
        let data = cstr(options);
        assert_eq!(
            libc::mount(
                tmpfs.as_ptr(),
                target.as_ptr(),
                tmpfs.as_ptr(),
                0,
                data.as_ptr().cast()
            ),
            0,
            "mount tmpfs"
        );
    }
}

fn remount_read_only(dir: &Path) {
    let target = cstr(dir.to_str().expect("utf-8 path"));
    let tmpfs = cstr("tmpfs");
    // SAFETY: a remount of the tmpfs this process mounted, valid strings.
    let rc = unsafe {
        libc::mount(
            tmpfs.as_ptr(),
            target.as_ptr(),
            tmpfs.as_ptr(),
            libc::MS_REMOUNT | libc::MS_RDONLY,
            std::ptr::null(),
        )
    };
    assert_eq!(rc, 0, "remount read-only");
}

fn max_rss_kb() -> i64 {
    // SAFETY: getrusage fills the zeroed struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    assert_eq!(unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) }, 0);
    usage.ru_maxrss
}

fn need_root(what: &str) -> Result<(), String> {
    if is_root() {
        Ok(())
    } else {
        Err(format!(
            "needs root to {what}; run the suite as root (CI does)"
        ))
    }
}

fn all_zero_records() -> Result<(), String> {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("pool");
    std::fs::write(&path, vec![0u8; 3 * RECORD_SIZE]).expect("write");
    let store = FileStore::open(&path).expect("open");
    assert_eq!(store.len().expect("len"), 3);
    assert!(store
        .records()
        .expect("records")
        .iter()
        .all(|r| r.key.is_empty() && r.value.is_empty()));
    assert_eq!(store.read("k").expect("read"), None);
    store.insert("k", "v").expect("insert");
    assert_eq!(store.len().expect("len"), 4, "a new key goes after them");
    assert_eq!(
        store.delete("").expect("delete empty keys"),
        3,
        "deletes accept any key"
    );
    Ok(())
}

fn huge_file() -> Result<(), String> {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("pool");
    let file = std::fs::File::create(&path).expect("create");
    let records = 100 * 1024 * 1024 / RECORD_SIZE;
    file.set_len((records * RECORD_SIZE) as u64)
        .expect("sparse 100 MB");
    drop(file);
    FileStore::open(&path)
        .expect("open")
        .append("needle", "found")
        .expect("append");
    let grown_kb: i64 = run_role("huge-read", &path, &[])
        .trim()
        .parse()
        .expect("a number");
    assert!(
        grown_kb < 16 * 1024,
        "reading 100 MB grew the process by {grown_kb} KB"
    );
    Ok(())
}

fn no_permission() -> Result<(), String> {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
        .expect("chmod dir");
    let path = dir.path().join("pool");
    FileStore::open(&path)
        .expect("open")
        .append("k", "v")
        .expect("append");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o000)).expect("chmod");
    let before = std::fs::read(&path).expect("read as owner");
    run_role("as-nobody", &path, &[]);
    assert_eq!(
        std::fs::read(&path).expect("read"),
        before,
        "nothing changed"
    );
    Ok(())
}

fn read_only_fs() -> Result<(), String> {
    need_root("mount a read-only tmpfs")?;
    let dir = tempfile::tempdir().expect("tempdir");
    run_role("readonly-fs", dir.path(), &[]);
    Ok(())
}

fn full_disk() -> Result<(), String> {
    need_root("mount a small tmpfs")?;
    let dir = tempfile::tempdir().expect("tempdir");
    run_role("full-disk", dir.path(), &[]);
    Ok(())
}

/// The store reuses a "far from full" verdict for its next appends; a
/// filesystem filled in the meantime still fails them cleanly.
fn filled_after_check() -> Result<(), String> {
    need_root("mount a small tmpfs")?;
    let dir = tempfile::tempdir().expect("tempdir");
    run_role("filled-after-check", dir.path(), &[]);
    Ok(())
}
