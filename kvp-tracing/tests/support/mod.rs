//! Helpers shared by the integration tests: a temp pool, a layer on it,
//! reading the events back, and holding the pool's locks as a peer does.
#![allow(dead_code)] // each test binary uses its own subset

use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::Duration;

use kvp_core::{FileStore, KvpStore, Pool};
use kvp_report::{read_entries, Entry, Event, ReadOptions};
use kvp_tracing::{Builder, KvpLayer};
use tempfile::TempDir;

pub const AGENT: &str = "kvp-tracing-test";
pub const VM: &str = "3f2504e0-4f89-41d3-9a0c-0305e82c3301";
/// An upper bound for flushes and shutdowns that must succeed: generous
/// so a loaded machine cannot fail a test; never asserted on.
pub const WAIT: Duration = Duration::from_secs(120);

/// A temp directory and the path of pool 1 in it.
pub fn temp_pool() -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = Pool::Guest.path_in(dir.path());
    (dir, path)
}

/// A builder writing `DIAG_V1` into pool 1 of `dir` with a fixed VM id.
pub fn builder(dir: &Path) -> Builder {
    KvpLayer::builder(AGENT).pool_dir(dir).vm_id(VM)
}

/// Every entry of pool 1 in `dir`, decoded.
pub fn entries(dir: &Path) -> Vec<Entry> {
    let pool = FileStore::open_pool(Pool::Guest, dir).expect("open");
    read_entries(&pool, &ReadOptions::default()).expect("read")
}

/// Every event of pool 1 in `dir`; fails on any record that is not one.
pub fn events(dir: &Path) -> Vec<Event> {
    entries(dir)
        .into_iter()
        .map(|entry| match entry {
            Entry::Event(event) => event,
            other => panic!("not an event: {other:?}"),
        })
        .collect()
}

/// How many records pool 1 in `dir` holds.
pub fn record_count(dir: &Path) -> usize {
    let pool = FileStore::open_pool(Pool::Guest, dir).expect("open");
    pool.len().expect("len")
}

/// The payload of an event, parsed as JSON.
pub fn payload(event: &Event) -> serde_json::Value {
    let text = event.payload.as_text().expect("text payload");
    serde_json::from_str(text).expect("the payload is JSON")
}

/// Holds both locks every pool operation takes, `flock` and an OFD write
/// lock, on a descriptor of its own, as cloud-init and hv_kvp_daemon hold
/// theirs. Both belong to the open file description, so they exclude this
/// process's own stores too. Dropping it releases both.
pub struct HeldLock {
    _file: File,
}

impl HeldLock {
    pub fn hold(path: &Path) -> HeldLock {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .expect("open the pool");
        // SAFETY: flock on a descriptor `file` owns.
        assert_eq!(unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) }, 0);
        // SAFETY: an all-zero flock struct is valid; it is filled in below.
        let mut region: libc::flock = unsafe { std::mem::zeroed() };
        region.l_type = libc::F_WRLCK as libc::c_short;
        region.l_whence = libc::SEEK_SET as libc::c_short;
        // SAFETY: F_OFD_SETLK with a valid region on an owned descriptor.
        assert_eq!(
            unsafe { libc::fcntl(file.as_raw_fd(), libc::F_OFD_SETLK, &region) },
            0
        );
        HeldLock { _file: file }
    }
}

/// Whether another open file description holds `flock` on `path` now.
pub fn flock_is_held(path: &Path) -> bool {
    let Ok(file) = File::open(path) else {
        return false;
    };
    // SAFETY: a non-blocking flock attempt on a descriptor `file` owns;
    // closing it releases the lock if it was taken.
    unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) != 0 }
}
