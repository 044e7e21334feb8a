//! Multi-process tests. The binary re-executes itself as child processes in
//! the roles the real peers play: concurrent writers, a holder of a classic
//! POSIX lock (as hv_kvp_daemon takes) and a holder of flock only (as
//! cloud-init takes).

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::Duration;

use kvp_core::{Error, FileStore, KvpStore, Options, RECORD_SIZE};

const WRITERS: usize = 4;
const ROUNDS: usize = 150;

mod support;

use support::spawn;

fn main() {
    support::main(
        &[
            (
                "concurrent_writers_lose_nothing",
                concurrent_writers_lose_nothing,
            ),
            ("a_posix_lock_holder_blocks_our_writes", || {
                held_lock_blocks_writes("posix")
            }),
            ("a_flock_holder_blocks_our_writes", || {
                held_lock_blocks_writes("flock")
            }),
        ],
        child,
    );
}

fn child(role: &str, path: &Path, extra: &[String]) {
    match role {
        "writer" => {
            let id = &extra[0];
            let store = FileStore::open(path).expect("open");
            for round in 0..ROUNDS {
                store
                    .insert(&format!("proc-{id}"), &round.to_string())
                    .expect("insert");
                store
                    .append(&format!("log-{id}"), &round.to_string())
                    .expect("append");
            }
        }
        "posix" | "flock" => {
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(path)
                .expect("open");
            if role == "posix" {
                posix_lock(&file);
            } else {
                // SAFETY: flock on a descriptor owned by `file`.
                assert_eq!(unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) }, 0);
            }
            println!("locked");
            std::io::stdout().flush().expect("flush");
            let mut line = String::new();
            std::io::stdin().read_line(&mut line).expect("wait for go");
            // Write while still holding the lock, as a peer would.
            let end = file.metadata().expect("stat").len();
            let marker = kvp_core::record::encode(b"written-by-lock-holder", role.as_bytes());
            file.write_all_at(&marker, end).expect("write marker");
            // Exiting releases the lock.
        }
        other => panic!("unknown role {other}"),
    }
}

fn posix_lock(file: &File) {
    // SAFETY: an all-zero flock struct is valid; it is filled in below.
    let mut region: libc::flock = unsafe { std::mem::zeroed() };
    region.l_type = libc::F_WRLCK as libc::c_short;
    region.l_whence = libc::SEEK_SET as libc::c_short;
    // SAFETY: F_SETLKW with a valid flock struct on an owned descriptor.
    assert_eq!(
        unsafe { libc::fcntl(file.as_raw_fd(), libc::F_SETLKW, &region) },
        0
    );
}

fn temp_pool() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(".kvp_pool_1");
    (dir, path)
}

fn concurrent_writers_lose_nothing() -> Result<(), String> {
    let (_dir, path) = temp_pool();
    let children: Vec<Child> = (0..WRITERS)
        .map(|id| spawn("writer", &path, &[id.to_string()]))
        .collect();
    for mut child in children {
        assert!(child.wait().expect("wait").success(), "a writer failed");
    }
    let store = FileStore::open(&path).expect("open");
    assert_eq!(
        std::fs::metadata(&path).expect("stat").len() % RECORD_SIZE as u64,
        0
    );
    assert_eq!(store.len().expect("len"), WRITERS * (ROUNDS + 1));
    let records = store.records().expect("records");
    for id in 0..WRITERS {
        let last = (ROUNDS - 1).to_string();
        assert_eq!(
            store.read(&format!("proc-{id}")).expect("read").as_deref(),
            Some(last.as_str())
        );
        let log: Vec<String> = records
            .iter()
            .filter(|r| r.key == format!("log-{id}"))
            .map(|r| r.value.clone())
            .collect();
        let expected: Vec<String> = (0..ROUNDS).map(|r| r.to_string()).collect();
        assert_eq!(
            log, expected,
            "every append of writer {id} is there, in order"
        );
        let inserted = records
            .iter()
            .filter(|r| r.key == format!("proc-{id}"))
            .count();
        assert_eq!(inserted, 1, "insert keeps exactly one record");
    }
    Ok(())
}

/// While a peer holds its lock, a write with a timeout fails and changes
/// nothing; a write without one waits, and lands after the peer's write.
fn held_lock_blocks_writes(role: &str) -> Result<(), String> {
    let (_dir, path) = temp_pool();
    let store = FileStore::open(&path).expect("open");
    store.append("before", "0").expect("append");
    let mut holder = spawn(role, &path, &[]);
    let mut line = String::new();
    BufReader::new(holder.stdout.as_mut().expect("stdout"))
        .read_line(&mut line)
        .expect("read");
    assert_eq!(line.trim(), "locked");

    let impatient = Options::new()
        .lock_timeout(Some(Duration::from_millis(100)))
        .open(&path)
        .expect("open");
    assert!(matches!(
        impatient.insert("ours", "1"),
        Err(Error::LockTimeout { .. })
    ));
    assert!(
        matches!(impatient.read("before"), Err(Error::LockTimeout { .. })),
        "readers wait too"
    );

    let waiting = {
        let store = store.clone();
        std::thread::spawn(move || store.append("ours", "1"))
    };
    // Give the blocked append time to reach its lock wait; if it did not
    // wait, it would land before the holder's marker and the order below
    // would show it.
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        !waiting.is_finished(),
        "the write must wait for the peer's lock"
    );
    holder
        .stdin
        .as_mut()
        .expect("stdin")
        .write_all(b"go\n")
        .expect("go");
    assert!(holder.wait().expect("wait").success());
    waiting
        .join()
        .expect("join")
        .expect("append after the peer released");

    let keys: Vec<String> = store
        .records()
        .expect("records")
        .into_iter()
        .map(|r| r.key)
        .collect();
    assert_eq!(keys, ["before", "written-by-lock-holder", "ours"]);
    Ok(())
}
