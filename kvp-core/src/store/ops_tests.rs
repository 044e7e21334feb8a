//! Unit tests of the operations on an in-memory medium that counts what is
//! written, and that can play cloud-init truncating the pool mid-operation.

use super::*;
use std::collections::BTreeMap;

/// A pool in a Vec that counts the bytes written to it.
struct Counting {
    bytes: Vec<u8>,
    written: usize,
}

impl Counting {
    fn with_records(n: usize) -> Counting {
        let bytes = (0..n)
            .flat_map(|i| record::encode(format!("k{i}").as_bytes(), b"v"))
            .collect();
        Counting { bytes, written: 0 }
    }

    fn keys(&self) -> Vec<String> {
        self.bytes
            .chunks_exact(RECORD_SIZE)
            .map(|slot| String::from_utf8_lossy(record::field_text(key_field(slot))).into())
            .collect()
    }
}

impl Medium for Counting {
    fn size(&self) -> Result<u64> {
        Ok(self.bytes.len() as u64)
    }
    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<usize> {
        let start = (offset as usize).min(self.bytes.len());
        let n = buf.len().min(self.bytes.len() - start);
        buf[..n].copy_from_slice(&self.bytes[start..start + n]);
        Ok(n)
    }
    fn modified(&self) -> Result<Option<SystemTime>> {
        Ok(None)
    }
}

impl MediumMut for Counting {
    fn write_at(&mut self, buf: &[u8], offset: u64) -> Result<()> {
        let start = offset as usize;
        self.bytes[start..start + buf.len()].copy_from_slice(buf);
        self.written += buf.len();
        Ok(())
    }
    fn append(&mut self, buf: &[u8], _expected_end: u64) -> Result<()> {
        self.bytes.extend_from_slice(buf);
        self.written += buf.len();
        Ok(())
    }
    fn reserve(&mut self, _offset: u64, _len: u64) -> Result<()> {
        Ok(())
    }
    fn set_len(&mut self, len: u64) -> Result<()> {
        self.bytes.resize(len as usize, 0);
        Ok(())
    }
    fn commit(self: Box<Self>) -> Result<()> {
        Ok(())
    }
}

fn delete(pool: &mut Counting, keys: &[&str]) -> usize {
    delete_where(pool, |field| {
        keys.iter()
            .any(|k| record::key_field_matches(field, k.as_bytes()))
    })
    .expect("delete")
}

fn expected(n: usize, gone: &[&str]) -> Vec<String> {
    (0..n)
        .map(|i| format!("k{i}"))
        .filter(|k| !gone.contains(&k.as_str()))
        .collect()
}

#[test]
fn a_delete_writes_only_the_records_that_move() {
    let mut pool = Counting::with_records(200);
    assert_eq!(delete(&mut pool, &["k130"]), 1);
    assert_eq!(pool.keys(), expected(200, &["k130"]));
    // k131..k199 move up one place; k0..k129 stay, even those that
    // share the removed record's chunk.
    assert_eq!(pool.written, 69 * RECORD_SIZE);

    let mut pool = Counting::with_records(200);
    assert_eq!(delete(&mut pool, &["k199"]), 1);
    assert_eq!(pool.keys(), expected(200, &["k199"]));
    assert_eq!(pool.written, 0, "the last record goes by truncation alone");

    let mut pool = Counting::with_records(200);
    assert_eq!(delete(&mut pool, &["k0"]), 1);
    assert_eq!(pool.written, 199 * RECORD_SIZE, "every other record moves");
}

#[test]
fn removals_in_several_chunks_keep_the_order() {
    let gone = ["k5", "k63", "k64", "k70", "k191", "k199"];
    let mut pool = Counting::with_records(200);
    assert_eq!(delete(&mut pool, &gone), gone.len());
    assert_eq!(pool.keys(), expected(200, &gone));
    assert_eq!(pool.written, (200 - 6 - 5) * RECORD_SIZE);
}

/// A pool file that a writer taking no lock (cloud-init's truncation of a
/// stale pool) empties right after the operation's `reads`-th read. Writes
/// behave as on a file: past the end they extend it with zeros.
struct TruncatedMidway {
    bytes: std::cell::RefCell<Vec<u8>>,
    reads_left: std::cell::Cell<usize>,
}

impl TruncatedMidway {
    fn new(records: usize, reads: usize) -> TruncatedMidway {
        TruncatedMidway {
            bytes: std::cell::RefCell::new(Counting::with_records(records).bytes),
            reads_left: std::cell::Cell::new(reads),
        }
    }

    fn image(&self) -> Vec<u8> {
        self.bytes.borrow().clone()
    }
}

impl Medium for TruncatedMidway {
    fn size(&self) -> Result<u64> {
        Ok(self.bytes.borrow().len() as u64)
    }
    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<usize> {
        let n = {
            let bytes = self.bytes.borrow();
            let start = (offset as usize).min(bytes.len());
            let n = buf.len().min(bytes.len() - start);
            buf[..n].copy_from_slice(&bytes[start..start + n]);
            n
        };
        let left = self.reads_left.get().saturating_sub(1);
        self.reads_left.set(left);
        if left == 0 {
            self.bytes.borrow_mut().clear();
        }
        Ok(n)
    }
    fn modified(&self) -> Result<Option<SystemTime>> {
        Ok(None)
    }
}

impl MediumMut for TruncatedMidway {
    fn write_at(&mut self, buf: &[u8], offset: u64) -> Result<()> {
        let mut bytes = self.bytes.borrow_mut();
        let end = offset as usize + buf.len();
        if bytes.len() < end {
            bytes.resize(end, 0);
        }
        bytes[offset as usize..end].copy_from_slice(buf);
        Ok(())
    }
    fn append(&mut self, buf: &[u8], _expected_end: u64) -> Result<()> {
        self.bytes.borrow_mut().extend_from_slice(buf);
        Ok(())
    }
    fn reserve(&mut self, _offset: u64, _len: u64) -> Result<()> {
        Ok(())
    }
    fn set_len(&mut self, len: u64) -> Result<()> {
        self.bytes.borrow_mut().resize(len as usize, 0);
        Ok(())
    }
    fn commit(self: Box<Self>) -> Result<()> {
        Ok(())
    }
}

#[test]
fn a_delete_never_writes_back_over_a_pool_truncated_midway() {
    // 200 records are three chunks; the truncation follows the first read.
    let mut pool = TruncatedMidway::new(200, 1);
    let removed = delete_where(&mut pool, |k| record::key_field_matches(k, b"k0")).expect("delete");
    assert_eq!(removed, 1);
    assert_eq!(
        pool.image(),
        Vec::<u8>::new(),
        "nothing resurrected, nothing extended"
    );

    // Truncated after the last read: the final cut must not extend it.
    let mut pool = TruncatedMidway::new(10, 1);
    delete_where(&mut pool, |k| record::key_field_matches(k, b"k9")).expect("delete");
    assert_eq!(pool.image(), Vec::<u8>::new());
}

#[test]
fn an_update_of_a_record_truncated_away_appends_it_instead() {
    let mut pool = TruncatedMidway::new(5, 1);
    insert(&mut pool, b"k3", b"new").expect("insert");
    let image = pool.image();
    assert_eq!(
        image.len(),
        RECORD_SIZE,
        "one record, not the old offset's hole"
    );
    assert_eq!(record::field_text(key_field(&image)), b"k3");
}

#[test]
fn a_repair_stops_at_a_pool_truncated_midway() {
    let mut pool = TruncatedMidway::new(200, 1);
    rewrite_chunks(&mut pool, |_, chunk| {
        chunk[KEY_SIZE + 10] = b'x';
        true
    })
    .expect("rewrite");
    assert_eq!(pool.image(), Vec::<u8>::new());
}

#[test]
fn empty_keys_do_not_count_toward_the_unique_key_cap() {
    let mut pool = Counting::with_records(MAX_UNIQUE_KEYS - 1);
    pool.bytes.extend_from_slice(&[0; RECORD_SIZE]);
    insert(&mut pool, b"one-more", b"v").expect("a zeroed record names no key");
    let err = insert(&mut pool, b"too-many", b"v").expect_err("cap");
    assert!(matches!(err, Error::UniqueKeyLimit { .. }), "{err}");
}

/// The definition of `raw_entries`, record by record: a map of the raw
/// bytes in which later records win.
fn raw_entries_as_defined(pool: &Counting) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let mut map = BTreeMap::new();
    for slot in pool.bytes.chunks_exact(RECORD_SIZE) {
        let (key, value) = record::split_slot(slot);
        map.insert(
            record::field_text(key).to_vec(),
            record::field_text(value).to_vec(),
        );
    }
    map
}

/// The definition of `entries`: that map with the keys that are not UTF-8
/// left out and the values decoded lossily.
fn entries_as_defined(pool: &Counting) -> BTreeMap<String, String> {
    raw_entries_as_defined(pool)
        .into_iter()
        .filter_map(|(key, value)| {
            Some((
                String::from_utf8(key).ok()?,
                String::from_utf8_lossy(&value).into_owned(),
            ))
        })
        .collect()
}

#[test]
fn entries_keep_the_last_value_of_each_key_as_defined() {
    let long = "a-key-longer-than-eight-bytes";
    let records: Vec<(&[u8], &[u8])> = vec![
        (b"b", b"first b"),
        (long.as_bytes(), b"first long"),
        (b"a", b"a"),
        // Same first eight bytes as `long`, then different.
        (b"a-key-longer-than-eight-bytez", b"z"),
        (b"b", b"second b"),
        (b"", b"empty key"),
        (b"bad \xff key", b"not UTF-8: left out"),
        (b"c", b"bad \xfe value"),
        (long.as_bytes(), b"second long"),
        (b"b\0hidden", b"third b: the key ends at its NUL"),
        (b"a-key-l", b"a prefix of long"),
        (b"a-key-longer-than-eight-bytes-and-more", b"long + more"),
        (b"", b"second empty key"),
    ];
    let mut bytes: Vec<u8> = records
        .iter()
        .flat_map(|(k, v)| record::encode(k, v))
        .collect();
    // Many duplicates across chunk boundaries.
    for i in 0..200 {
        bytes.extend(record::encode(
            format!("k{}", i % 7).as_bytes(),
            format!("{i}").as_bytes(),
        ));
    }
    let pool = Counting { bytes, written: 0 };
    assert_eq!(
        raw_entries(&pool).unwrap().to_map(),
        raw_entries_as_defined(&pool)
    );
    let entries = entries(&pool).unwrap();
    assert_eq!(entries.to_map(), entries_as_defined(&pool));
    assert_eq!(&entries["b"], "third b: the key ends at its NUL");
    assert_eq!(&entries[long], "second long");
    assert_eq!(&entries[""], "second empty key");
    assert_eq!(&entries["c"], "bad \u{fffd} value");
    assert_eq!(&entries["k3"], "199");
    assert!(!entries.keys().any(|k| k.starts_with("bad")));
    // The snapshot holds every record, as raw_records does.
    let snapshot = record_snapshot(&pool).unwrap();
    let raw = raw_records(&pool).unwrap();
    assert_eq!(snapshot.len(), raw.len());
    assert!(snapshot
        .iter()
        .eq(raw.iter().map(|r| (&r.key[..], &r.value[..]))));
    assert_eq!(
        snapshot.get(9),
        Some((&b"b"[..], &b"third b: the key ends at its NUL"[..]))
    );
    assert_eq!(snapshot.get(raw.len()), None);
    // A second call on the same thread reuses the scratch: same result.
    assert_eq!(super::entries(&pool).unwrap(), entries);
}
