//! The workload every face is timed on: tests/bench/bench_c.c and
//! tests/bench/bench_py.py build exactly the same pools and run exactly the
//! same calls, so that their medians divide by these.
//!
//! A pool of size `n` holds the records `key-0` .. `key-(n-1)`, each with a
//! value of 100 `v`s. Per operation (what is timed is the one call; the
//! setup runs before each call, outside the timing; before each benchmark,
//! `sync` writes back what the one before left dirty):
//!
//! | operation  | setup before each call       | timed call                        |
//! |------------|------------------------------|-----------------------------------|
//! | read       | none                         | `read("key-(n-1)")`               |
//! | update     | none                         | `insert("key-(n/2)", "updated")`  |
//! | entries    | none                         | `entries()` (C: `kvp_foreach`)    |
//! | delete     | restore the pool of n        | `delete("key-0")` (all shift up)  |
//! | append     | cut the file to n-1 records  | `append("key-(n-1)", "value")`    |
//! | insert-new | cut the file to n-1 records  | `insert("brand-new-key", "value")`|
//!
//! The setup is plain file I/O, the same in every language, because the
//! filesystem's state after it changes what the timed call costs: restoring
//! is open, one pwrite of the whole pool at offset 0, ftruncate to its size
//! and close; cutting is open, ftruncate and close. (Measured on ext4: after
//! a truncate to 0 by path, with no close of its own, the next close of the
//! file flushes its delayed writes (auto_da_alloc), 24 µs on top of a 6 µs
//! append; and a pool restored by `load`, which reserves space first, has
//! its blocks really allocated, which makes a delete that frees them dearer
//! than on a pool written plainly.)

#![allow(dead_code)] // each user takes what it needs

use std::fs::OpenOptions;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::Path;

use kvp_core::{record, RECORD_SIZE};

/// The pool sizes, in records.
pub const SIZES: [usize; 3] = [1, 100, 1023];

/// The keys `key-0` .. `key-(n-1)`.
pub fn keys(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("key-{i}")).collect()
}

/// The pool of `n` records, as bytes.
pub fn image(n: usize) -> Vec<u8> {
    let value = [b'v'; 100];
    keys(n)
        .iter()
        .flat_map(|key| record::encode(key.as_bytes(), &value))
        .collect()
}

/// Writes `image` over the pool file in place and cuts the file to it.
pub fn restore(path: &Path, image: &[u8]) {
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
        .expect("open");
    file.write_all_at(image, 0).expect("write");
    file.set_len(image.len() as u64).expect("truncate");
}

/// Writes every dirty page back (sync(2)) before a benchmark starts, so
/// that writeback left by the one before (a delete or the naive baseline
/// writes megabytes per call) does not run during its timing.
pub fn settle() {
    // SAFETY: sync takes no arguments and cannot fail.
    unsafe { libc::sync() };
}

/// Cuts the pool file to `records` whole records.
pub fn truncate_to(path: &Path, records: usize) {
    let file = OpenOptions::new().write(true).open(path).expect("open");
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
