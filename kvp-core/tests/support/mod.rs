//! A small harness for test binaries that re-execute themselves as child
//! processes (`harness = false`): a named child role, or the test list.

// Each test binary uses a different part of it.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Child, Command, Stdio};

/// A test: its name and body. A body may return `Err` to say it could not
/// run here (for example without root); that counts as a failure unless
/// KVP_ALLOW_SKIP=1, and is printed loudly either way.
pub type Test = (&'static str, fn() -> Result<(), String>);

/// Runs the child role named in argv, if any, and exits; otherwise runs the
/// tests, prints a summary and exits non-zero on any failure.
pub fn main(tests: &[Test], child: fn(&str, &Path, &[String])) {
    let args: Vec<String> = std::env::args().collect();
    if args.len() >= 3 && args[1].starts_with("role:") {
        child(&args[1]["role:".len()..], Path::new(&args[2]), &args[3..]);
        return;
    }
    let allow_skip = std::env::var("KVP_ALLOW_SKIP").is_ok_and(|v| v == "1");
    let filter = args.iter().skip(1).find(|a| !a.starts_with('-'));
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    for (name, test) in tests {
        if filter.is_some_and(|f| !name.contains(f.as_str())) {
            continue;
        }
        match std::panic::catch_unwind(test) {
            Ok(Ok(())) => {
                println!("test {name} ... ok");
                passed += 1;
            }
            Ok(Err(why)) => {
                println!("test {name} ... NOT RUN: {why}");
                if allow_skip {
                    skipped += 1;
                } else {
                    failed += 1;
                }
            }
            Err(_) => {
                println!("test {name} ... FAILED");
                failed += 1;
            }
        }
    }
    let binary = args[0].rsplit('/').next().unwrap_or("tests");
    println!("\n{binary}: {passed} passed; {failed} failed; {skipped} NOT RUN (KVP_ALLOW_SKIP=1)");
    if failed > 0 {
        std::process::exit(1);
    }
}

/// Starts this binary again in `role`, with piped stdin and stdout.
pub fn spawn(role: &str, path: &Path, extra: &[String]) -> Child {
    Command::new(std::env::current_exe().expect("own path"))
        .arg(format!("role:{role}"))
        .arg(path)
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn child")
}

/// Runs a role to completion and returns its stdout, asserting success.
pub fn run_role(role: &str, path: &Path, extra: &[String]) -> String {
    let out = spawn(role, path, extra).wait_with_output().expect("wait");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "child {role} failed: {stdout}");
    stdout
}

/// Whether this process may mount and change users (tests of read-only and
/// full filesystems and of permissions need it).
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}
