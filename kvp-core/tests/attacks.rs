//! The security review's attacks, each played by an unprivileged user (the
//! `nobody` account) against a store used as root. The binary re-executes
//! itself in the attacker's and the victim's roles; it needs root to change
//! users, and says so loudly without it.

use std::io::{BufRead, BufReader, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use kvp_core::{Error, FileStore, KvpStore, LockHolder, Options, Pool, UnsafeReason};

mod support;

const NOBODY: u32 = 65534;

fn main() {
    support::main(
        &[
            (
                "a_reader_holding_the_lock_only_delays_us",
                reader_holding_the_lock,
            ),
            ("a_planted_pty_never_becomes_our_terminal", planted_pty),
            (
                "a_swapped_directory_never_redirects_a_new_pool",
                swapped_directory,
            ),
            (
                "a_pool_an_attacker_created_is_never_written",
                attacker_created_pool,
            ),
            ("threads_of_one_process_take_turns_fairly", fair_turns),
        ],
        child,
    );
}

/// Roles, run in a re-executed child.
fn child(role: &str, path: &Path, extra: &[String]) {
    match role {
        // Holds flock(LOCK_EX) and an OFD read lock on a pool it may only read.
        "hold-read-only" => {
            let file = std::fs::File::open(path).expect("open read-only");
            if extra.first().map(String::as_str) != Some("ofd-only") {
                // SAFETY: flock on a descriptor this role owns.
                assert_eq!(unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) }, 0);
            }
            ofd_read_lock(&file);
            ready_then_wait();
        }
        // Replaces the pool file with a symlink to a pty it owns.
        "plant-pty" => {
            let slave = open_pty();
            std::fs::rename(path, path.with_extension("moved")).expect("rename");
            std::os::unix::fs::symlink(&slave, path).expect("symlink");
            ready_then_wait();
        }
        // A session leader without a terminal, as a daemon is.
        "victim" => {
            // SAFETY: setsid has no arguments; this process leads no group.
            assert!(unsafe { libc::setsid() } > 0, "setsid");
            let store = if extra.first().map(String::as_str) == Some("by-pool") {
                FileStore::open_pool(Pool::Guest, path.parent().expect("dir")).expect("open")
            } else {
                FileStore::open(path).expect("open")
            };
            store.insert("k", "v").expect("first write");
            ready_then_wait();
            let outcome = match store.read("k") {
                Ok(_) => "read".to_owned(),
                Err(e) => format!("refused: {e}"),
            };
            let tty = std::fs::File::open("/dev/tty").is_ok();
            println!("{outcome}|controlling terminal: {tty}");
        }
        // Swaps the pool directory for a symlink to `extra[0]`, as often as
        // it can until stdin closes; prints how many swaps it made.
        "swap-dirs" => {
            let target = PathBuf::from(&extra[0]);
            let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let watcher = Arc::clone(&stop);
            std::thread::spawn(move || {
                let _ = std::io::stdin().read_line(&mut String::new());
                watcher.store(true, std::sync::atomic::Ordering::SeqCst);
            });
            println!("ready");
            let mut swaps = 0u64;
            let mut n = 0u64;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                n += 1;
                let aside = path.with_file_name(format!("aside-{n}"));
                if std::fs::rename(path, &aside).is_ok()
                    && std::os::unix::fs::symlink(&target, path).is_ok()
                {
                    swaps += 1;
                }
            }
            println!("{swaps}");
        }
        "create-world-writable" => {
            let file = std::fs::File::create(path).expect("create");
            file.set_permissions(PermissionsExt::from_mode(0o666))
                .expect("chmod");
        }
        "fair-appender" => {
            let store = Arc::new(
                Options::new()
                    .lock_timeout(Some(Duration::from_secs(10)))
                    .open(path)
                    .expect("open"),
            );
            let id = extra[0].clone();
            let threads: Vec<_> = (0..8)
                .map(|t| {
                    let (store, id) = (Arc::clone(&store), id.clone());
                    std::thread::spawn(move || {
                        let mut timeouts = 0;
                        for i in 0..40 {
                            match store.append(&format!("p{id}-t{t}"), &i.to_string()) {
                                Ok(()) => {}
                                Err(Error::LockTimeout { .. }) => timeouts += 1,
                                Err(e) => panic!("{e}"),
                            }
                        }
                        timeouts
                    })
                })
                .collect();
            let timeouts: usize = threads.into_iter().map(|t| t.join().expect("join")).sum();
            println!("{timeouts}");
        }
        other => panic!("unknown role {other}"),
    }
}

fn ready_then_wait() {
    println!("ready");
    std::io::stdout().flush().expect("flush");
    let _ = std::io::stdin().read_line(&mut String::new());
}

fn ofd_read_lock(file: &std::fs::File) {
    // SAFETY: a zeroed flock is valid; F_RDLCK over the whole file.
    let mut region: libc::flock = unsafe { std::mem::zeroed() };
    region.l_type = libc::F_RDLCK as libc::c_short;
    region.l_whence = libc::SEEK_SET as libc::c_short;
    // SAFETY: a valid region on a descriptor this role owns.
    assert_eq!(
        unsafe { libc::fcntl(file.as_raw_fd(), libc::F_OFD_SETLK, &region) },
        0
    );
}

/// Opens a pty pair and returns the slave's path; the master stays open.
fn open_pty() -> PathBuf {
    // SAFETY: plain pty calls; the master descriptor is leaked on purpose
    // so the slave stays usable while this role lives.
    unsafe {
        let master = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY);
        assert!(master >= 0, "posix_openpt");
        assert_eq!(libc::grantpt(master), 0);
        assert_eq!(libc::unlockpt(master), 0);
        let name = libc::ptsname(master);
        assert!(!name.is_null());
        PathBuf::from(std::ffi::CStr::from_ptr(name).to_str().expect("ascii"))
    }
}

/// Starts this binary in `role`, as `nobody` when `unprivileged`.
fn start(role: &str, path: &Path, extra: &[&str], unprivileged: bool) -> Child {
    let mut command = Command::new(std::env::current_exe().expect("own path"));
    command
        .arg(format!("role:{role}"))
        .arg(path)
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
    if unprivileged {
        command.uid(NOBODY).gid(NOBODY);
    }
    command.spawn().expect("spawn")
}

/// Waits for a role's "ready" line.
fn await_ready(child: &mut Child) -> BufReader<std::process::ChildStdout> {
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    out.read_line(&mut line).expect("read");
    assert_eq!(line.trim(), "ready", "role did not start");
    out
}

/// Lets a role go on (or end) and returns the rest of what it printed.
fn release(mut child: Child, mut out: BufReader<std::process::ChildStdout>) -> String {
    drop(child.stdin.take());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut out, &mut rest).expect("read");
    assert!(child.wait().expect("wait").success(), "role failed: {rest}");
    rest
}

/// A directory every user may enter, holding a 0644 pool as the daemon
/// makes them.
fn shared_pool() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(dir.path(), PermissionsExt::from_mode(0o755)).expect("chmod");
    let path = dir.path().join(".kvp_pool_1");
    std::fs::write(&path, kvp_core::record::encode(b"k", b"v")).expect("write");
    std::fs::set_permissions(&path, PermissionsExt::from_mode(0o644)).expect("chmod");
    (dir, path)
}

fn reader_holding_the_lock() -> Result<(), String> {
    need_root()?;
    let (_dir, path) = shared_pool();
    let store = Options::new()
        .lock_timeout(Some(Duration::from_millis(300)))
        .open(&path)
        .expect("open");
    for (variant, holder) in [("flock", LockHolder::Flock), ("ofd-only", LockHolder::Ofd)] {
        let mut attacker = start("hold-read-only", &path, &[variant], true);
        let out = await_ready(&mut attacker);
        let err = store.insert("k", "x").expect_err("locked");
        match &err {
            Error::LockTimeout { holder: seen, .. } => assert_eq!(*seen, holder, "{err}"),
            other => panic!("{other}"),
        }
        if variant == "flock" {
            assert!(err.to_string().contains("flock"), "{err}");
            assert!(matches!(store.read("k"), Err(Error::LockTimeout { .. })));
        }
        release(attacker, out);
    }
    assert_eq!(store.read("k").expect("free again").as_deref(), Some("v"));
    Ok(())
}

fn planted_pty() -> Result<(), String> {
    need_root()?;
    for variant in ["by-path", "by-pool"] {
        let dir = tempfile::tempdir().expect("tempdir");
        // World-writable without the sticky bit: the attacker may rename.
        std::fs::set_permissions(dir.path(), PermissionsExt::from_mode(0o777)).expect("chmod");
        let path = dir.path().join(".kvp_pool_1");
        let mut victim = start("victim", &path, &[variant], false);
        let victim_out = await_ready(&mut victim);
        let mut attacker = start("plant-pty", &path, &[], true);
        let attacker_out = await_ready(&mut attacker);
        let said = release(victim, victim_out);
        release(attacker, attacker_out);
        let (outcome, tty) = said.trim().split_once('|').expect("two parts");
        assert!(outcome.starts_with("refused"), "{variant}: {said}");
        assert_eq!(tty, "controlling terminal: false", "{variant}: {said}");
    }
    Ok(())
}

fn swapped_directory() -> Result<(), String> {
    need_root()?;
    let parent = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(parent.path(), PermissionsExt::from_mode(0o777)).expect("chmod");
    let target = tempfile::tempdir().expect("root-only target");
    std::fs::set_permissions(target.path(), PermissionsExt::from_mode(0o700)).expect("chmod");
    let pools = parent.path().join("pools");
    let target_arg = target.path().to_str().expect("utf-8");
    let mut racer = start("swap-dirs", &pools, &[target_arg], true);
    let racer_out = await_ready(&mut racer);
    let (mut created, mut refused) = (0, 0);
    for round in 0..300 {
        let store = FileStore::open_pool(Pool::Guest, &pools);
        match store.and_then(|s| s.insert("round", &round.to_string())) {
            Ok(()) => created += 1,
            Err(_) => refused += 1,
        }
        // Start each round without a pools directory, as at first boot.
        let _ = std::fs::remove_file(&pools);
        let _ = std::fs::remove_dir_all(&pools);
    }
    let swaps: u64 = release(racer, racer_out).trim().parse().expect("count");
    let planted: Vec<_> = std::fs::read_dir(target.path())
        .expect("list")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert!(
        planted.is_empty(),
        "redirected into the target: {planted:?}"
    );
    assert!(
        swaps > 0,
        "the racer never swapped: the test proved nothing"
    );
    println!(
        "    300 rounds: {created} pools created, {refused} refused, {swaps} swaps, 0 redirected"
    );
    Ok(())
}

fn attacker_created_pool() -> Result<(), String> {
    need_root()?;
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(dir.path(), PermissionsExt::from_mode(0o777)).expect("chmod");
    let path = dir.path().join(".kvp_pool_1");
    let out = start("create-world-writable", &path, &[], true)
        .wait_with_output()
        .expect("wait");
    assert!(out.status.success());
    let store = FileStore::open_pool(Pool::Guest, dir.path()).expect("open");
    let err = store.insert("secret", "s3cr3t").expect_err("refused");
    assert!(
        matches!(
            err,
            Error::UnsafePool {
                reason: UnsafeReason::ForeignOwner { uid: NOBODY },
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(
        std::fs::metadata(&path).expect("stat").len(),
        0,
        "nothing written"
    );
    Ok(())
}

fn fair_turns() -> Result<(), String> {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(".kvp_pool_1");
    let children: Vec<_> = (0..3)
        .map(|p| start("fair-appender", &path, &[&p.to_string()], false))
        .collect();
    let mut timeouts = 0;
    for child in children {
        let out = child.wait_with_output().expect("wait");
        assert!(out.status.success());
        timeouts += String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse::<usize>()
            .expect("count");
    }
    assert_eq!(timeouts, 0, "a waiter starved past its 10 s timeout");
    let store = FileStore::open(&path).expect("open");
    assert_eq!(
        store.len().expect("len"),
        3 * 8 * 40,
        "every append is there"
    );
    Ok(())
}

fn need_root() -> Result<(), String> {
    if support::is_root() {
        Ok(())
    } else {
        Err("needs root to play an unprivileged attacker (CI runs as root)".into())
    }
}
