//! info and check, on fresh pools and on the fixtures written by the real
//! daemon and cloud-init.

use std::fs::File;
use std::io::Write;
use std::os::fd::AsRawFd;

use serde_json::json;

use crate::support::{fixture, json, kvp, Pools};

fn euid() -> u32 {
    // SAFETY: geteuid has no arguments and cannot fail.
    unsafe { libc::geteuid() }
}

#[test]
fn info_describes_a_pool() {
    let pools = Pools::new();
    pools.write(&["append", "a", "1"]);
    pools.write(&["append", "a", "2"]);
    pools.write(&["append", "b", "3"]);
    let text = pools.run(&["info"]);
    let lines: Vec<&str> = text.ok().lines().collect();
    assert_eq!(
        lines[0],
        format!("path          {}", pools.guest().display())
    );
    assert_eq!(
        &lines[1..],
        [
            "exists        yes",
            "size          7680 bytes",
            "records       3",
            "partial tail  0 bytes",
            "unique keys   2",
            "stale         no",
            "lock          none",
            &format!(
                "file          mode 0600, owner uid {}, 1 link(s), writable",
                euid()
            ),
        ]
    );
    assert_eq!(
        json(pools.run(&["info", "--json"]).ok()),
        json!({
            "path": pools.guest(),
            "exists": true,
            "size": 7680,
            "records": 3,
            "partial_tail_bytes": 0,
            "unique_keys": 2,
            "stale": false,
            "mode": "0600",
            "owner": euid(),
            "links": 1,
            "unsafe_for_writes": null,
            "lock": {"fcntl": null, "flock": false},
        })
    );
}

#[test]
fn info_on_a_missing_pool() {
    let pools = Pools::new();
    let out = json(
        pools
            .run(&["--pool", "auto-external", "--json", "info"])
            .ok(),
    );
    assert_eq!(out["exists"], false);
    assert_eq!(
        out["path"],
        pools
            .dir
            .path()
            .join(".kvp_pool_3")
            .to_str()
            .expect("utf-8")
    );
    assert_eq!(
        (out["size"].clone(), out["unique_keys"].clone()),
        (json!(0), json!(0))
    );
}

/// Takes a classic POSIX write lock, as hv_kvp_daemon does.
fn posix_lock(file: &File) {
    // SAFETY: all-zero is a valid flock struct (whole file from offset 0).
    let mut region: libc::flock = unsafe { std::mem::zeroed() };
    region.l_type = libc::F_WRLCK as libc::c_short;
    region.l_whence = libc::SEEK_SET as libc::c_short;
    // SAFETY: the descriptor is open for writing and `region` is valid.
    let rc = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_SETLK, &region) };
    assert_eq!(rc, 0, "F_SETLK");
}

fn flock(file: &File) {
    // SAFETY: flock only reads its integer arguments on an open descriptor.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    assert_eq!(rc, 0, "flock");
}

#[test]
fn info_names_the_daemons_posix_lock_holder() {
    let pools = Pools::new();
    pools.write(&["set", "k", "v"]);
    let file = File::options()
        .read(true)
        .write(true)
        .open(pools.guest())
        .expect("open");
    posix_lock(&file);
    let out = pools.run(&["info"]);
    let pid = std::process::id();
    assert!(
        out.ok().contains(&format!(
            "lock          fcntl write lock by pid {pid} (POSIX"
        )),
        "{out:?}"
    );
    let out = json(
        pools
            .run(&["--json", "info", "--lock-timeout", "50ms"])
            .ok(),
    );
    assert_eq!(
        out["lock"],
        json!({"fcntl": {"exclusive": true, "pid": pid}, "flock": false})
    );
    // The locked reads gave up instead of hanging.
    assert_eq!(
        (out["unique_keys"].clone(), out["stale"].clone()),
        (json!(null), json!(null))
    );
}

#[test]
fn info_sees_a_flock_holder_and_writers_time_out() {
    let pools = Pools::new();
    pools.write(&["set", "k", "v"]);
    let file = File::open(pools.guest()).expect("open");
    flock(&file);
    let out = pools.run(&["info", "--lock-timeout", "50ms"]);
    let text = out.ok();
    assert!(
        text.contains("lock          flock (as cloud-init"),
        "{text}"
    );
    assert!(
        text.contains("unique keys   unknown (the pool is locked)"),
        "{text}"
    );
    pools
        .run(&["--lock-timeout", "100ms", "set", "k", "w"])
        .fails(3, "timed out after 100ms waiting for the lock");
    drop(file);
    assert_eq!(pools.run(&["get", "k"]).ok(), "v\n");
}

#[test]
fn check_a_clean_pool_and_the_cloud_init_fixture() {
    let pools = Pools::new();
    pools.write(&["set", "k", "v"]);
    let text = pools.run(&["check"]);
    assert_eq!(
        text.ok(),
        format!(
            "{}: 1 record, 2560 bytes\nno findings\n",
            pools.guest().display()
        )
    );
    let (_dir, path) = fixture("cloudinit-events.pool");
    let out = json(kvp(&["--json", "--file", path.to_str().expect("utf-8"), "check"]).ok());
    assert_eq!(out["records"], 19);
    assert_eq!(out["findings"], json!([]));
    assert_eq!(out["repaired"], json!(null));
}

#[test]
fn check_reports_the_daemons_garbage_and_repair_zeroes_it() {
    let (_dir, path) = fixture("daemon-modify-stale-tail.pool");
    let file = path.to_str().expect("utf-8");
    let before = std::fs::read(&path).expect("read");
    let list_before = kvp(&["--file", file, "list"]).ok().to_owned();

    // The daemon's leftovers are normal: notes, grouped, and exit 0.
    let text = kvp(&["--file", file, "check"]).ok().to_owned();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines,
        [
            format!("{file}: 3 records, 7680 bytes").as_str(),
            "note: 3 garbage-after-nul notes on 2 records [--repair fixes]",
            "0 errors, 3 notes, 3 repairable with --repair; --verbose lists every note",
        ]
    );
    let text = kvp(&["--file", file, "check", "--verbose"]).ok().to_owned();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[1],
        "note: record 0: garbage-after-nul: 30 non-zero bytes after the NUL of the key [--repair fixes]"
    );
    assert_eq!(lines[2], "note: record 0: garbage-after-nul: 49 non-zero bytes after the NUL of the value [--repair fixes]");
    assert_eq!(
        lines[3],
        "note: record 1: garbage-after-nul: 3 non-zero bytes after the NUL of the value [--repair fixes]"
    );
    assert_eq!(lines[4], "0 errors, 3 notes, 3 repairable with --repair");
    assert_eq!(
        std::fs::read(&path).expect("read"),
        before,
        "check alone writes nothing"
    );

    let out = kvp(&["--file", file, "check", "--repair", "--json"]);
    let report = json(out.ok());
    assert_eq!(
        report["repaired"],
        json!({"tail_bytes_cut": 0, "fields_zeroed": 3})
    );
    assert_eq!(report["findings"], json!([]));
    assert_ne!(std::fs::read(&path).expect("read"), before);
    assert_eq!(
        kvp(&["--file", file, "list"]).ok(),
        list_before,
        "readers see the same records"
    );
}

#[test]
fn check_json_findings_of_the_delete_shift_fixture() {
    let (_dir, path) = fixture("daemon-delete-shift.pool");
    let out = kvp(&["--file", path.to_str().expect("utf-8"), "check", "--json"]);
    let report = json(out.ok());
    assert_eq!(
        (&report["errors"], &report["notes"], &report["pool"]),
        (&json!(0), &json!(3), &json!("guest"))
    );
    assert_eq!(
        report["findings"][1],
        json!({
            "code": "garbage-after-nul",
            "severity": "note",
            "record": 2,
            "field": "key",
            "bytes": 3,
            "repairable": true,
            "message": "3 non-zero bytes after the NUL of the key",
        })
    );
}

#[test]
fn check_finds_a_partial_tail_duplicates_and_oversize_records() {
    let pools = Pools::new();
    pools.write(&["append", "dup", "1"]);
    pools.write(&["append", "dup", "2"]);
    pools.write(&["--mode", "full", "append", "big", &"v".repeat(1500)]);
    File::options()
        .append(true)
        .open(pools.guest())
        .expect("open")
        .write_all(&[7; 100])
        .expect("torn write");
    let out = pools.run(&["check", "--repair"]);
    assert_eq!(out.code, 1, "{out:?}");
    let text = &out.stdout;
    assert!(
        text.contains("repaired: cut 100 bytes of partial tail, zeroed 0 fields"),
        "{text}"
    );
    assert!(
        text.contains(
            "\nnote: record 1: duplicate-key: duplicate key, first held by record 0 \"dup\"\n"
        ),
        "{text}"
    );
    assert!(text.contains("\nerror: record 2: over-safe-limit: the value is 1500 UTF-16 code units, over the Safe limit of 1022 (the host receives it truncated)\n"), "{text}");
    assert!(
        text.ends_with("\n1 error, 1 note, 0 repairable with --repair\n"),
        "{text}"
    );
    assert_eq!(pools.bytes().len(), 3 * 2560);
    let report = json(pools.run(&["check", "--json"]).stdout.as_str());
    assert_eq!(report["findings"][0]["first"], 0);
    assert_eq!(report["findings"][1]["unit"], "utf16-code-units");
}
