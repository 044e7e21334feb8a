//! The naive baseline: the shape most existing writers have. One `read` per
//! record, and the whole file rewritten on every change (under flock, as
//! cloud-init locks). Only for the benchmark's ratios.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;
use std::path::Path;

use kvp_core::record::{encode, field_text, KEY_SIZE, RECORD_SIZE};

fn locked(path: &Path) -> File {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .expect("open");
    // SAFETY: flock on a descriptor owned by `file`.
    unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
    file
}

fn read_all(file: &mut File) -> Vec<(Vec<u8>, Vec<u8>)> {
    file.seek(SeekFrom::Start(0)).expect("seek");
    let mut records = Vec::new();
    let mut slot = [0u8; RECORD_SIZE];
    while file.read_exact(&mut slot).is_ok() {
        records.push((
            field_text(&slot[..KEY_SIZE]).to_vec(),
            field_text(&slot[KEY_SIZE..]).to_vec(),
        ));
    }
    records
}

fn write_all(file: &mut File, records: &[(Vec<u8>, Vec<u8>)]) {
    file.set_len(0).expect("truncate");
    file.seek(SeekFrom::Start(0)).expect("seek");
    for (key, value) in records {
        file.write_all(&encode(key, value)).expect("write");
    }
}

/// The last value of `key`.
pub fn read(path: &Path, key: &str) -> Option<Vec<u8>> {
    let mut file = locked(path);
    read_all(&mut file)
        .into_iter()
        .rev()
        .find(|(k, _)| k == key.as_bytes())
        .map(|(_, v)| v)
}

/// Upsert by whole-file rewrite.
pub fn insert(path: &Path, key: &str, value: &str) {
    let mut file = locked(path);
    let mut records = read_all(&mut file);
    match records.iter_mut().find(|(k, _)| k == key.as_bytes()) {
        Some(record) => record.1 = value.as_bytes().to_vec(),
        None => records.push((key.as_bytes().to_vec(), value.as_bytes().to_vec())),
    }
    write_all(&mut file, &records);
}

/// Append by whole-file rewrite.
pub fn append(path: &Path, key: &str, value: &str) {
    let mut file = locked(path);
    let mut records = read_all(&mut file);
    records.push((key.as_bytes().to_vec(), value.as_bytes().to_vec()));
    write_all(&mut file, &records);
}

/// Delete by whole-file rewrite.
pub fn delete(path: &Path, key: &str) {
    let mut file = locked(path);
    let mut records = read_all(&mut file);
    records.retain(|(k, _)| k != key.as_bytes());
    write_all(&mut file, &records);
}

/// Every key with its last value.
pub fn entries(path: &Path) -> std::collections::HashMap<Vec<u8>, Vec<u8>> {
    let mut file = locked(path);
    read_all(&mut file).into_iter().collect()
}
