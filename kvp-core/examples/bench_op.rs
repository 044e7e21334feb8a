//! One call of one benchmark operation, for counting its syscalls and bytes
//! with strace (tests/bench/syscalls.sh). It builds the pool of the
//! benchmark workload (benches/support/workload.rs), does the operation's
//! setup, then makes the one call between two marker lines on stderr, so
//! that only the syscalls between the markers belong to the operation.
//!
//! `cargo run --release -p kvp-core --example bench_op -- core|naive OP N DIR`
//! with OP one of read, update, entries, delete, append, insert-new; and,
//! for the core only, delete-middle (`key-(n/2)`) and delete-last
//! (`key-(n-1)`).

#[path = "../benches/naive.rs"]
mod naive;
#[path = "../benches/support/workload.rs"]
mod workload;

use std::hint::black_box;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use kvp_core::{FileStore, KvpStore};

/// The marker lines the counting script looks for, each one `write`.
const BEGIN: &[u8] = b"bench_op: begin\n";
const END: &[u8] = b"bench_op: end\n";

fn mark(line: &[u8]) {
    // A lost marker makes the counting script fail loudly; nothing to do here.
    let _ = std::io::stderr().write_all(line);
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [face, op, n, dir] = args.as_slice() else {
        eprintln!("usage: bench_op core|naive OP N DIR");
        return ExitCode::from(2);
    };
    let Ok(n @ 1..) = n.parse::<usize>() else {
        eprintln!("bench_op: N must be a positive number of records");
        return ExitCode::from(2);
    };
    let core = match face.as_str() {
        "core" => true,
        "naive" => false,
        _ => {
            eprintln!("bench_op: the face is core or naive, not {face}");
            return ExitCode::from(2);
        }
    };
    let path = PathBuf::from(dir).join(format!("pool-{n}"));
    let store = match FileStore::open(&path) {
        Ok(store) => store,
        Err(e) => {
            eprintln!("bench_op: {e}");
            return ExitCode::FAILURE;
        }
    };
    workload::restore(&path, &workload::image(n));
    if matches!(op.as_str(), "append" | "insert-new") {
        workload::truncate_to(&path, n - 1);
    }
    let (read_key, update_key) = (workload::read_key(n), workload::update_key(n));

    // One call before the markers (then the setup again), so that what is
    // counted is a call in a running program: no first-use allocation, the
    // free-space verdict of an earlier append.
    if core {
        let _ = match op.as_str() {
            "append" => store.append(&read_key, "value"),
            "insert-new" => store.insert(workload::NEW_KEY, "value"),
            _ => store.read(&read_key).map(drop),
        };
        workload::restore(&path, &workload::image(n));
        if matches!(op.as_str(), "append" | "insert-new") {
            workload::truncate_to(&path, n - 1);
        }
    }
    mark(BEGIN);
    let known = match (op.as_str(), core) {
        ("read", true) => black_box(store.read(&read_key).is_ok()),
        ("read", false) => black_box(naive::read(&path, &read_key).is_some()),
        ("update", true) => store.insert(&update_key, "updated").is_ok(),
        ("update", false) => {
            naive::insert(&path, &update_key, "updated");
            true
        }
        ("entries", true) => black_box(store.entries().is_ok()),
        ("entries", false) => !black_box(naive::entries(&path)).is_empty(),
        ("delete", true) => store.delete(workload::DELETE_KEY).is_ok(),
        // Not timed: how the bytes a delete writes depend on where the record is.
        ("delete-middle", true) => store.delete(&update_key).is_ok(),
        ("delete-last", true) => store.delete(&read_key).is_ok(),
        ("delete", false) => {
            naive::delete(&path, workload::DELETE_KEY);
            true
        }
        ("append", true) => store.append(&read_key, "value").is_ok(),
        ("append", false) => {
            naive::append(&path, &read_key, "value");
            true
        }
        ("insert-new", true) => store.insert(workload::NEW_KEY, "value").is_ok(),
        ("insert-new", false) => {
            naive::insert(&path, workload::NEW_KEY, "value");
            true
        }
        _ => {
            eprintln!("bench_op: unknown operation {op}");
            return ExitCode::from(2);
        }
    };
    mark(END);
    if known {
        ExitCode::SUCCESS
    } else {
        eprintln!("bench_op: {op} failed");
        ExitCode::FAILURE
    }
}
