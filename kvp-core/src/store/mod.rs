//! The [`KvpStore`] trait and its two stores: [`FileStore`] on a pool file
//! and [`MemoryStore`] in memory.

mod file;
mod location;
pub(crate) mod medium;
mod memory;
pub(crate) mod ops;
mod options;
mod queue;
mod space;

use crate::entries::{Entries, RawEntries};
use crate::snapshot::RecordSnapshot;

pub(crate) use file::refuse_unsafe;
pub use file::{FileFacts, FileStore};
pub use memory::MemoryStore;
pub use options::{
    BootTime, Options, WaitCheck, DEFAULT_CREATE_MODE, DEFAULT_LOCK_TIMEOUT, DEFAULT_MAX_POOL_BYTES,
};
pub(crate) use queue::CHECK_EVERY;

use crate::error::{Error, Result};
use crate::limits::{PoolMode, MAX_UNIQUE_KEYS};
use crate::record::{self, RawRecord, Record, RECORD_SIZE};
use medium::{Backend, Medium, MediumMut, Token};

/// The operations on a KVP pool, shared by [`FileStore`] and
/// [`MemoryStore`]; the semantics are those of docs/kvp.md.
///
/// Writes validate their input against the store's [`PoolMode`] before they
/// take a lock, and an invalid batch writes nothing. Reads and deletes
/// accept any key. Text reads replace invalid UTF-8 with U+FFFD; the `_raw`
/// reads give exact bytes.
///
/// ```
/// use kvp_core::{KvpStore, MemoryStore};
///
/// let pool = MemoryStore::new();
/// pool.insert("a", "1")?;
/// pool.append("b", "2")?;
/// pool.append("a", "3")?; // duplicates are kept by append...
/// assert_eq!(pool.read("a")?.as_deref(), Some("3")); // ...and the last wins
/// pool.insert("a", "4")?; // insert leaves exactly one, in the first's place
/// let keys: Vec<_> = pool.records()?.into_iter().map(|r| r.key).collect();
/// assert_eq!(keys, ["a", "b"]);
/// assert_eq!(pool.delete("a")?, 1);
/// # Ok::<(), kvp_core::Error>(())
/// ```
///
/// Keys are matched as exact bytes up to the first NUL of the key field. A
/// key that contains a NUL matches no record (no record can hold one), and
/// one that is not UTF-8 can be read and deleted through the `_raw`
/// methods.
///
/// Whole-pool reads ([`KvpStore::records`], [`KvpStore::entries`],
/// [`KvpStore::dump_json`], [`KvpStore::unique_keys`]) refuse a pool over
/// [`Options::max_pool_bytes`] with [`Error::PoolTooLarge`]; the other
/// operations stream in fixed chunks, so memory stays bounded whatever the
/// file holds.
///
/// The trait is sealed: it is implemented by this crate's stores only, and
/// the backend it builds on cannot be reached from outside the crate:
///
/// ```compile_fail
/// fn bypass<S: kvp_core::KvpStore>(store: &S) {
///     let _ = store.begin_write(); // the backend needs a token only the crate can make
/// }
/// ```
pub trait KvpStore: Backend {
    /// The limits this store enforces on writes.
    fn mode(&self) -> PoolMode {
        self.options().mode
    }

    /// Upsert. Afterwards exactly one record holds `key`: the first former
    /// match, with only its value field rewritten in place. Later duplicates
    /// are removed and other records keep their order. A new key when the
    /// pool holds [`MAX_UNIQUE_KEYS`] unique keys fails with
    /// [`Error::UniqueKeyLimit`].
    fn insert(&self, key: &str, value: &str) -> Result<()> {
        self.mode().check(key, value)?;
        let mut pool = self.begin_write(Token::new())?;
        ops::insert(&mut *pool, key.as_bytes(), value.as_bytes())?;
        pool.commit()
    }

    /// Adds one record at the end. Duplicates are kept; there is no cap.
    fn append(&self, key: &str, value: &str) -> Result<()> {
        self.append_many(&[(key, value)])
    }

    /// Adds records at the end under one lock, so they stay adjacent. All
    /// are validated first; if one is invalid, none is written.
    fn append_many(&self, entries: &[(&str, &str)]) -> Result<()> {
        let slots = encode_checked(self.mode(), entries)?;
        let mut pool = self.begin_write(Token::new())?;
        ops::append_encoded(&mut *pool, &slots)?;
        pool.commit()
    }

    /// Replaces the whole pool with `entries`, in order, in place. The batch
    /// is validated entirely first, including the unique-key cap; nothing is
    /// written if any record is invalid.
    fn load(&self, entries: &[(&str, &str)]) -> Result<()> {
        let slots = encode_checked(self.mode(), entries)?;
        let unique: std::collections::HashSet<&str> = entries.iter().map(|(k, _)| *k).collect();
        if unique.len() > MAX_UNIQUE_KEYS {
            return Err(Error::UniqueKeyLimit {
                limit: MAX_UNIQUE_KEYS,
            });
        }
        let mut pool = self.begin_write(Token::new())?;
        ops::replace_all(&mut *pool, &slots)?;
        pool.commit()
    }

    /// The value of the last record holding `key`, or `None`. Invalid UTF-8
    /// in the value is replaced with U+FFFD.
    fn read(&self, key: &str) -> Result<Option<String>> {
        Ok(self.read_raw(key.as_bytes())?.map(record::into_text))
    }

    /// The exact value bytes of the last record holding `key`.
    fn read_raw(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        ops::read(&*self.begin_read(Token::new())?, key)
    }

    /// Removes every record holding `key`; the rest keep their order.
    /// Returns how many records were removed.
    fn delete(&self, key: &str) -> Result<usize> {
        self.delete_many(&[key])
    }

    /// Removes every record holding any of `keys`, in one pass. A delete
    /// that removes nothing changes nothing in the file.
    fn delete_many(&self, keys: &[&str]) -> Result<usize> {
        let raw: Vec<&[u8]> = keys.iter().map(|key| key.as_bytes()).collect();
        self.delete_raw(&raw)
    }

    /// As [`KvpStore::delete_many`], with keys as exact bytes (for keys that
    /// are not UTF-8).
    fn delete_raw(&self, keys: &[&[u8]]) -> Result<usize> {
        let mut pool = self.begin_write(Token::new())?;
        let removed = ops::delete_where(&mut *pool, |field| {
            keys.iter().any(|key| record::key_field_matches(field, key))
        })?;
        pool.commit()?;
        Ok(removed)
    }

    /// Removes every record, keeping the file.
    fn clear(&self) -> Result<()> {
        let mut pool = self.begin_write(Token::new())?;
        ops::replace_all(&mut *pool, &[])?;
        pool.commit()
    }

    /// Every key that is UTF-8 with the value of its last record (invalid
    /// UTF-8 in values replaced with U+FFFD). Keys that are not UTF-8
    /// cannot be named by a `String` without merging with another key, so
    /// they are left out here: [`KvpStore::raw_entries`] has every key.
    fn entries(&self) -> Result<Entries> {
        let pool = self.begin_read(Token::new())?;
        ops::check_cap(&*pool, self.options().max_pool_bytes, self.error_path())?;
        ops::entries(&*pool)
    }

    /// Every distinct key, as exact bytes, with the exact value of its last
    /// record, in byte order. Two keys that differ in any byte stay apart.
    fn raw_entries(&self) -> Result<RawEntries> {
        let pool = self.begin_read(Token::new())?;
        ops::check_cap(&*pool, self.options().max_pool_bytes, self.error_path())?;
        ops::raw_entries(&*pool)
    }

    /// Every record in file order, duplicates kept, as text.
    fn records(&self) -> Result<Vec<Record>> {
        Ok(self
            .raw_records()?
            .iter()
            .map(RawRecord::to_record)
            .collect())
    }

    /// Every record in file order, as exact bytes.
    fn raw_records(&self) -> Result<Vec<RawRecord>> {
        let pool = self.begin_read(Token::new())?;
        ops::check_cap(&*pool, self.options().max_pool_bytes, self.error_path())?;
        ops::raw_records(&*pool)
    }

    /// Every record in file order, as exact bytes, in one buffer: what
    /// [`KvpStore::raw_records`] holds, without two allocations per record.
    fn record_snapshot(&self) -> Result<RecordSnapshot> {
        let pool = self.begin_read(Token::new())?;
        ops::check_cap(&*pool, self.options().max_pool_bytes, self.error_path())?;
        ops::record_snapshot(&*pool)
    }

    /// Whole records in the pool (a partial trailing record is not counted).
    fn len(&self) -> Result<usize> {
        let count = ops::record_count(&*self.begin_read(Token::new())?)?;
        Ok(usize::try_from(count).unwrap_or(usize::MAX))
    }

    /// Whether the pool holds no whole record.
    fn is_empty(&self) -> Result<bool> {
        Ok(self.len()? == 0)
    }

    /// Distinct keys in the pool (compared as bytes).
    fn unique_keys(&self) -> Result<usize> {
        let pool = self.begin_read(Token::new())?;
        ops::check_cap(&*pool, self.options().max_pool_bytes, self.error_path())?;
        ops::unique_keys(&*pool)
    }

    /// Whether the pool was last written no later than boot, so it holds a
    /// former boot's data. A missing pool is not stale.
    fn is_stale(&self) -> Result<bool> {
        ops::is_stale(
            &*self.begin_read(Token::new())?,
            self.options().boot_time.resolve(),
        )
    }

    /// Empties the pool if it is stale, with the check and the truncation
    /// under one exclusive lock. Returns whether it was cleared.
    fn clear_if_stale(&self) -> Result<bool> {
        let boot = self.options().boot_time.resolve();
        let mut pool = self.begin_write(Token::new())?;
        // Opening for write may have just created the pool: a new file is
        // never stale, because its mtime is now.
        let stale = ops::is_stale(&*pool, boot)?;
        if stale {
            ops::replace_all(&mut *pool, &[])?;
        }
        pool.commit()?;
        Ok(stale)
    }

    /// The records in file order as a JSON array of `{"key", "value"}`
    /// objects.
    fn dump_json(&self) -> Result<String> {
        // Serializing strings into a Vec cannot fail.
        Ok(serde_json::to_string(&self.records()?).unwrap_or_default())
    }
}

impl<T: Backend> KvpStore for T {}

/// Takes the shared lock of `store` for the crate's own walks (check).
pub(crate) fn read_medium<S: KvpStore + ?Sized>(store: &S) -> Result<Box<dyn Medium + '_>> {
    store.begin_read(Token::new())
}

/// Takes the exclusive lock of `store` for the crate's own writes (repair).
pub(crate) fn write_medium<S: KvpStore + ?Sized>(store: &S) -> Result<Box<dyn MediumMut + '_>> {
    store.begin_write(Token::new())
}

/// Validates every entry, then encodes them all into one buffer.
fn encode_checked(mode: PoolMode, entries: &[(&str, &str)]) -> Result<Vec<u8>> {
    for (key, value) in entries {
        mode.check(key, value)?;
    }
    let mut slots = vec![0u8; entries.len() * RECORD_SIZE];
    for ((key, value), slot) in entries.iter().zip(slots.chunks_exact_mut(RECORD_SIZE)) {
        let (key_field, value_field) = slot.split_at_mut(record::KEY_SIZE);
        key_field[..key.len()].copy_from_slice(key.as_bytes());
        value_field[..value.len()].copy_from_slice(value.as_bytes());
    }
    Ok(slots)
}
