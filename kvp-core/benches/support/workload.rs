//! The workload every face is timed on: tests/bench/bench_c.c and
//! tests/bench/bench_py.py build exactly the same pools and run exactly the
//! same calls, so that their medians divide by these.
//!
//! A pool of size `n` holds the records `key-0` .. `key-(n-1)`, each with a
//! value of 100 `v`s, written with `load`. Per operation (what is timed is
//! the one call; the setup runs before each call, outside the timing):
//!
//! | operation  | setup before each call     | timed call                        |
//! |------------|----------------------------|-----------------------------------|
//! | read       | none                       | `read("key-(n-1)")`               |
//! | update     | none                       | `insert("key-(n/2)", "updated")`  |
//! | entries    | none                       | `entries()`                       |
//! | delete     | `load` the pool of n again | `delete("key-0")` (all shift up)  |
//! | append     | cut the file to n-1 records| `append("key-(n-1)", "value")`    |
//! | insert-new | cut the file to n-1 records| `insert("brand-new-key", "value")`|

#![allow(dead_code)] // each user takes what it needs

use std::path::Path;

use kvp_core::{KvpStore, RECORD_SIZE};

/// The pool sizes, in records.
pub const SIZES: [usize; 3] = [1, 100, 1023];

/// The keys `key-0` .. `key-(n-1)`.
pub fn keys(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("key-{i}")).collect()
}

/// Writes the pool of `n` records with `load`.
pub fn fill(store: &impl KvpStore, n: usize) {
    let keys = keys(n);
    let value = "v".repeat(100);
    let batch: Vec<(&str, &str)> = keys.iter().map(|k| (k.as_str(), value.as_str())).collect();
    store.load(&batch).expect("load");
}

/// Cuts the pool file to `records` whole records.
pub fn truncate_to(path: &Path, records: usize) {
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .expect("open");
    file.set_len((records * RECORD_SIZE) as u64)
        .expect("truncate");
}

/// The key `read` looks up in a pool of `n`: the last record.
pub fn read_key(n: usize) -> String {
    format!("key-{}", n - 1)
}

/// The key `update` rewrites in a pool of `n`: the middle record.
pub fn update_key(n: usize) -> String {
    format!("key-{}", n / 2)
}

/// The key `delete` removes: the first record, so every other one shifts.
pub const DELETE_KEY: &str = "key-0";

/// The key `insert-new` adds.
pub const NEW_KEY: &str = "brand-new-key";
