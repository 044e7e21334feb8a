//! The security review's findings as an operator meets them: a user who can
//! read a pool holds its lock, and files planted in place of a pool.

use std::os::unix::fs::PermissionsExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{kvp, Pools};

/// `nobody` holds flock(LOCK_EX) on the guest pool through a read-only
/// descriptor (util-linux `flock` opens it read-only when it may not
/// write), until the returned child is killed (`-o`: the command it runs
/// does not inherit the lock).
fn nobody_holds_the_lock(pools: &Pools) -> Child {
    assert!(
        // SAFETY: geteuid has no arguments and cannot fail.
        unsafe { libc::geteuid() } == 0,
        "these tests play an unprivileged user and need root (CI runs as root)"
    );
    std::fs::set_permissions(pools.dir.path(), PermissionsExt::from_mode(0o755)).expect("chmod");
    std::fs::set_permissions(pools.guest(), PermissionsExt::from_mode(0o644)).expect("chmod");
    let child = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "flock",
            "-x",
            "-o",
        ])
        .arg(pools.guest())
        .args(["sleep", "60"])
        .stdout(Stdio::null())
        .spawn()
        .expect("setpriv flock");
    // Wait until the lock is visibly held, as `info` reports it.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !pools
        .run(&["--json", "info"])
        .stdout
        .contains("\"flock\":true")
    {
        assert!(Instant::now() < deadline, "the holder never took the lock");
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

#[test]
fn a_lock_held_by_a_reader_times_out_and_names_the_holder() {
    let pools = Pools::new();
    pools.write(&["set", "k", "v"]);
    let mut holder = nobody_holds_the_lock(&pools);
    let before = pools.bytes();
    for args in [&["get", "k"][..], &["set", "k", "x"]] {
        let mut all = vec!["--lock-timeout", "300ms"];
        all.extend_from_slice(args);
        pools.run(&all).fails(3, "holds a flock");
    }
    let out = pools.run(&["wait", "k", "--timeout", "500ms"]);
    out.fails(1, "the pool stayed locked");
    assert_eq!(pools.bytes(), before, "nothing written");
    holder.kill().expect("kill");
    holder.wait().expect("reap");
    assert_eq!(pools.run(&["get", "k"]).ok(), "v\n");
}

#[test]
fn lock_timeouts_default_to_30s_and_forever_is_explicit() {
    let help = kvp(&["--help"]).stdout;
    assert!(help.contains("default 30s"), "{help}");
    let pools = Pools::new();
    pools.write(&["--lock-timeout", "forever", "set", "k", "v"]);
    pools
        .run(&["--lock-timeout", "10000000000000000000s", "get", "k"])
        .ok();
    pools
        .run(&["--lock-timeout", "never", "get", "k"])
        .fails(2, "or forever");
}

#[test]
fn info_never_follows_a_symlink_nor_opens_a_fifo() {
    let pools = Pools::new();
    let target = pools.dir.path().join("target");
    std::fs::write(&target, b"not a pool").expect("write");
    std::os::unix::fs::symlink(&target, pools.guest()).expect("symlink");
    pools.run(&["info"]).fails(2, "not a regular file");

    std::fs::remove_file(pools.guest()).expect("rm");
    let fifo = std::ffi::CString::new(pools.guest().to_str().expect("utf-8")).expect("path");
    // SAFETY: a valid path; creates a FIFO where the pool would be.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
    // A FIFO would block an open without O_NONBLOCK; this must return.
    pools.run(&["info"]).fails(2, "not a regular file");
    kvp(&["--file", pools.guest().to_str().expect("utf-8"), "info"]).fails(2, "not a regular file");
}

#[test]
fn writes_refuse_a_hardlinked_pool_and_check_says_why() {
    let pools = Pools::new();
    let other = pools.dir.path().join("other");
    std::fs::write(&other, vec![b'x'; 4100]).expect("write");
    std::fs::set_permissions(&other, PermissionsExt::from_mode(0o600)).expect("chmod");
    std::fs::hard_link(&other, pools.guest()).expect("link");
    pools
        .run(&["delete", "no-such-key"])
        .fails(3, "2 hard links");
    pools.run(&["set", "k", "v"]).fails(3, "2 hard links");
    pools.run(&["check", "--repair"]);
    assert_eq!(std::fs::read(&other).expect("read"), vec![b'x'; 4100]);
    let report = crate::support::json(pools.run(&["check", "--json"]).stdout.as_str());
    let codes: Vec<&str> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["code"].as_str())
        .collect();
    assert!(codes.contains(&"unsafe-file"), "{codes:?}");
}
