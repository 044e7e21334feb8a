//! The operations, written once over [`Medium`], so every store shares them.
//!
//! Pools are read in chunks into a reused per-thread buffer: a few `pread`s
//! per operation, no allocation per record, and bounded memory whatever the
//! file size. Keys are matched on raw bytes before anything is decoded.

use std::cell::RefCell;
use std::collections::HashSet;
use std::ops::ControlFlow;
use std::path::Path;
use std::time::SystemTime;

use crate::entries::{Builder, Entries, EntryText, RawEntries, Span};
use crate::error::{Error, Result};
use crate::limits::MAX_UNIQUE_KEYS;
use crate::record::{self, RawRecord, KEY_SIZE, RECORD_SIZE};
use crate::snapshot::RecordSnapshot;
use crate::store::medium::{Medium, MediumMut};

/// Records per read: large enough for few syscalls, small enough to stay in
/// cache and bound memory on hostile multi-gigabyte files.
const CHUNK_RECORDS: usize = 64;
/// A record's size as a file offset.
pub(crate) const SLOT: u64 = RECORD_SIZE as u64;

thread_local! {
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Alignment of the chunk buffer. The kernel copies a `pread` into user
/// memory with `rep movsb`, which on AMD Zen 4 runs about ten times slower
/// into a buffer 16 bytes off a 32-byte boundary (measured: 1.7 ms instead
/// of 0.17 ms for 2.6 MB), and that is where malloc puts a large `Vec`.
/// So the chunk is always taken at a page boundary inside its buffer.
const CHUNK_ALIGN: usize = 4096;

/// Lends the thread's chunk buffer, or a fresh one if it is already lent,
/// page-aligned either way.
fn with_chunk<R>(f: impl FnOnce(&mut [u8]) -> R) -> R {
    const LEN: usize = CHUNK_RECORDS * RECORD_SIZE;
    let aligned = |buf: &mut Vec<u8>| {
        buf.resize(LEN + CHUNK_ALIGN, 0);
        let start = buf.as_ptr().align_offset(CHUNK_ALIGN).min(CHUNK_ALIGN);
        start..start + LEN
    };
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buf) => {
            let range = aligned(&mut buf);
            f(&mut buf[range])
        }
        Err(_) => {
            let mut buf = Vec::new();
            let range = aligned(&mut buf);
            f(&mut buf[range])
        }
    })
}

/// Whole records in the pool; a partial trailing record does not count.
pub(crate) fn record_count(m: &dyn Medium) -> Result<u64> {
    Ok(m.size()? / SLOT)
}

fn key_field(slot: &[u8]) -> &[u8] {
    &slot[..KEY_SIZE]
}

/// Reads the chunk of whole records that starts at record `index` into
/// `buf`. Returns how many whole records arrived and whether the pool ended
/// early: a file that shrinks under us (cloud-init truncates without a lock)
/// simply ends the walk.
fn read_chunk(m: &dyn Medium, buf: &mut [u8], index: u64, total: u64) -> Result<(usize, bool)> {
    let records =
        usize::try_from((total - index).min(CHUNK_RECORDS as u64)).unwrap_or(CHUNK_RECORDS);
    let want = records * RECORD_SIZE;
    let got = m.read_at(&mut buf[..want], index * SLOT)?;
    Ok((got / RECORD_SIZE, got < want))
}

/// Visits whole records in file order, chunk by chunk.
fn for_each_chunk(
    m: &dyn Medium,
    mut visit: impl FnMut(u64, &[u8]) -> ControlFlow<()>,
) -> Result<()> {
    let total = record_count(m)?;
    with_chunk(|buf| {
        let mut index = 0;
        while index < total {
            let (whole, ended) = read_chunk(m, buf, index, total)?;
            if visit(index, &buf[..whole * RECORD_SIZE]).is_break() || ended {
                break;
            }
            index += whole as u64;
        }
        Ok(())
    })
}

/// Visits each whole record with its index, in file order.
pub(crate) fn for_each_record(
    m: &dyn Medium,
    mut visit: impl FnMut(u64, &[u8]) -> ControlFlow<()>,
) -> Result<()> {
    for_each_chunk(m, |first, chunk| {
        for (i, slot) in chunk.chunks_exact(RECORD_SIZE).enumerate() {
            if visit(first + i as u64, slot).is_break() {
                return ControlFlow::Break(());
            }
        }
        ControlFlow::Continue(())
    })
}

/// The value bytes of the last record holding `key`.
pub(crate) fn read(m: &dyn Medium, key: &[u8]) -> Result<Option<Vec<u8>>> {
    let mut found = None;
    for_each_record(m, |_, slot| {
        let (key_field, value_field) = record::split_slot(slot);
        if record::key_field_matches(key_field, key) {
            found = Some(record::field_text(value_field).to_vec());
        }
        ControlFlow::Continue(())
    })?;
    Ok(found)
}

/// Every record in file order, as exact bytes.
pub(crate) fn raw_records(m: &dyn Medium) -> Result<Vec<RawRecord>> {
    let mut out = Vec::new();
    for_each_record(m, |_, slot| {
        out.push(RawRecord::decode(slot));
        ControlFlow::Continue(())
    })?;
    Ok(out)
}

/// Every record in file order, as exact bytes in one buffer.
pub(crate) fn record_snapshot(m: &dyn Medium) -> Result<RecordSnapshot> {
    let mut snapshot = RecordSnapshot::default();
    for_each_record(m, |_, slot| {
        let (key, value) = record::split_slot(slot);
        snapshot.push(record::field_text(key), record::field_text(value));
        ControlFlow::Continue(())
    })?;
    Ok(snapshot)
}

/// Distinct keys in the pool.
pub(crate) fn unique_keys(m: &dyn Medium) -> Result<usize> {
    let mut keys = HashSet::new();
    for_each_record(m, |_, slot| {
        keys.insert(record::field_text(key_field(slot)).to_vec());
        ControlFlow::Continue(())
    })?;
    Ok(keys.len())
}

/// Each distinct raw key with the value of its last record.
pub(crate) fn raw_entries(m: &dyn Medium) -> Result<RawEntries> {
    last_of_each_key(m)
}

/// Each distinct UTF-8 key with the value of its last record (invalid
/// UTF-8 in a value replaced), in key order; keys that are not UTF-8 are
/// left out.
pub(crate) fn entries(m: &dyn Medium) -> Result<Entries> {
    last_of_each_key(m)
}

/// The scratch vectors of [`last_of_each_key`], kept between calls by
/// each thread, so that a call does not allocate and grow them anew: only
/// the table it returns is allocated.
#[derive(Default)]
struct EntryScratch {
    in_file_order: Vec<Span>,
    order: Vec<(u64, usize)>,
}

/// Pools up to this many records keep their [`EntryScratch`] (40 KiB here).
const KEEP_SCRATCH_RECORDS: usize = 1024;

thread_local! {
    static ENTRY_SCRATCH: RefCell<EntryScratch> = RefCell::default();
}

/// Each distinct key with the value of its last record, in key order: the
/// text of every record copied into one buffer, then their positions
/// sorted by key (an 8-byte prefix first) and position, the last of each
/// key's run kept. (A map filled record by record costs a search and two
/// allocations per record, twice as much in all.)
fn last_of_each_key<T: ?Sized + EntryText>(m: &dyn Medium) -> Result<Entries<T>> {
    ENTRY_SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut scratch) => {
            let entries = last_of_each_key_with(m, &mut scratch);
            if scratch.order.capacity() > KEEP_SCRATCH_RECORDS {
                *scratch = EntryScratch::default();
            }
            entries
        }
        Err(_) => last_of_each_key_with(m, &mut EntryScratch::default()),
    })
}

fn last_of_each_key_with<T: ?Sized + EntryText>(
    m: &dyn Medium,
    scratch: &mut EntryScratch,
) -> Result<Entries<T>> {
    let mut builder = Builder::new(&mut scratch.in_file_order, &mut scratch.order);
    for_each_record(m, |_, slot| {
        let (key, value) = record::split_slot(slot);
        builder.push(record::field_text(key), record::field_text(value));
        ControlFlow::Continue(())
    })?;
    Ok(builder.finish())
}

/// Whether the pool holds at least `n` distinct non-empty keys. Stops
/// counting at `n`, so its memory is bounded whatever the pool holds; an
/// empty key (a zeroed record) names nothing and does not count.
fn holds_unique_keys(m: &dyn Medium, n: usize) -> Result<bool> {
    let mut keys = HashSet::new();
    for_each_record(m, |_, slot| {
        let key = record::field_text(key_field(slot));
        if !key.is_empty() {
            keys.insert(key.to_vec());
        }
        if keys.len() >= n {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })?;
    Ok(keys.len() >= n)
}

/// Refuses a whole-pool read of a pool over `limit` bytes, before anything
/// is loaded.
pub(crate) fn check_cap(m: &dyn Medium, limit: u64, path: &Path) -> Result<()> {
    let size = m.size()?;
    if size > limit {
        return Err(Error::PoolTooLarge {
            path: path.to_path_buf(),
            size,
            limit,
        });
    }
    Ok(())
}

/// Drops a partial trailing record, as the daemon does on its next rewrite.
fn cut_partial_tail(m: &mut dyn MediumMut) -> Result<u64> {
    let size = m.size()?;
    let whole = size / SLOT;
    if size % SLOT != 0 {
        m.set_len(whole * SLOT)?;
    }
    Ok(whole)
}

/// Upsert: the first record holding `key` gets the new value in place (only
/// its value field is written); later duplicates are removed.
pub(crate) fn insert(m: &mut dyn MediumMut, key: &[u8], value: &[u8]) -> Result<()> {
    let mut first = None;
    let mut has_duplicates = false;
    for_each_record(m, |index, slot| {
        if record::key_field_matches(key_field(slot), key) {
            if first.is_some() {
                has_duplicates = true;
                return ControlFlow::Break(());
            }
            first = Some(index);
        }
        ControlFlow::Continue(())
    })?;
    // A writer that takes no lock (cloud-init's truncation) may have cut
    // the record away since the scan: then the key is new again.
    let still_there = match first {
        Some(index) => cut_partial_tail(m)? > index,
        None => false,
    };
    match first {
        Some(index) if still_there => {
            m.write_at(&record::encode_value(value), index * SLOT + KEY_SIZE as u64)?;
            if has_duplicates {
                compact(m, index + 1, |k| record::key_field_matches(k, key))?;
            }
        }
        _ => {
            // Fewer records than the cap cannot hold as many unique keys, so
            // the set is only built for pools at the edge.
            let size = m.size()?;
            if size / SLOT >= MAX_UNIQUE_KEYS as u64 && holds_unique_keys(m, MAX_UNIQUE_KEYS)? {
                return Err(Error::UniqueKeyLimit {
                    limit: MAX_UNIQUE_KEYS,
                });
            }
            write_after(m, size, &record::encode(key, value))?;
        }
    }
    Ok(())
}

/// Writes already-encoded records at the record-aligned end.
pub(crate) fn append_encoded(m: &mut dyn MediumMut, slots: &[u8]) -> Result<()> {
    write_at_end(m, slots)
}

/// Writes records at the record-aligned end. On a nearly full filesystem
/// space is reserved first, so a full disk fails before anything changes;
/// should the write still fail, the file is cut back so that no torn record
/// remains.
fn write_at_end(m: &mut dyn MediumMut, slots: &[u8]) -> Result<()> {
    let size = m.size()?;
    write_after(m, size, slots)
}

/// As [`write_at_end`], with the pool's size just read: a partial tail
/// beyond the last whole record is cut first.
fn write_after(m: &mut dyn MediumMut, size: u64, slots: &[u8]) -> Result<()> {
    let end = size - size % SLOT;
    if end != size {
        m.set_len(end)?;
    }
    m.reserve_for_append(end, slots.len() as u64)?;
    m.append(slots, end).inspect_err(|_| {
        // The write's error is the one to report; a failing cut leaves a
        // partial tail, which readers ignore and the next write removes.
        // The cut goes back to where the append began, or, should the file
        // have been truncated meanwhile, to its last whole record: never
        // beyond what is there.
        if let Ok(now) = m.size() {
            let back = if now >= end { end } else { now - now % SLOT };
            if now > back {
                let _ = m.set_len(back);
            }
        }
    })
}

/// Replaces the whole pool with already-encoded records, in place. Space
/// for growth is reserved first, so a full disk changes nothing.
pub(crate) fn replace_all(m: &mut dyn MediumMut, slots: &[u8]) -> Result<()> {
    m.reserve(0, slots.len() as u64)?;
    m.write_at(slots, 0)?;
    m.set_len(slots.len() as u64)
}

/// Removes every record whose key field `remove` accepts, shifting the rest
/// up in order. Returns how many were removed.
/// A delete that removes nothing writes nothing, not even the cut of a
/// partial tail: the file may not be a pool at all.
pub(crate) fn delete_where(m: &mut dyn MediumMut, remove: impl Fn(&[u8]) -> bool) -> Result<usize> {
    compact(m, 0, remove)
}

/// Shifts kept records from `start` on over removed ones, chunk by chunk,
/// writing only what moved, then cuts the file (and any partial tail).
/// The write position never passes the read position, so each chunk is read
/// before anything overwrites it.
///
/// A writer that takes no lock (cloud-init truncates pool 1 without one)
/// can shrink the file midway. Before each write-back the size is checked:
/// once the records just read are no longer all there, the shift stops, so
/// that nothing is written back over what that writer left; and the final
/// cut only ever shrinks the file.
fn compact(m: &mut dyn MediumMut, start: u64, remove: impl Fn(&[u8]) -> bool) -> Result<usize> {
    let total = record_count(m)?;
    with_chunk(|buf| {
        let (mut read_index, mut write_index, mut removed) = (start, start, 0usize);
        while read_index < total {
            let (whole, ended) = read_chunk(m, buf, read_index, total)?;
            let mut kept = 0usize;
            // The first kept record of this chunk that lands somewhere new:
            // those before the chunk's first removal stay where they are.
            let mut first_moved = (write_index != read_index).then_some(0);
            for j in 0..whole {
                let slot = j * RECORD_SIZE..(j + 1) * RECORD_SIZE;
                if remove(key_field(&buf[slot.clone()])) {
                    removed += 1;
                    first_moved.get_or_insert(kept);
                } else {
                    if kept != j {
                        buf.copy_within(slot, kept * RECORD_SIZE);
                    }
                    kept += 1;
                }
            }
            if let Some(from) = first_moved.filter(|&from| from < kept) {
                if m.size()? < (read_index + whole as u64) * SLOT {
                    return Ok(removed);
                }
                m.write_at(
                    &buf[from * RECORD_SIZE..kept * RECORD_SIZE],
                    (write_index + from as u64) * SLOT,
                )?;
            }
            write_index += kept as u64;
            read_index += whole as u64;
            if ended {
                break;
            }
        }
        if removed > 0 && m.size()? > write_index * SLOT {
            m.set_len(write_index * SLOT)?;
        }
        Ok(removed)
    })
}

/// Lets `fix` change each chunk of whole records in place; the chunks it
/// reports changed are written back, unless the file no longer holds them
/// all (a writer that takes no lock shrank it), in which case the walk ends.
pub(crate) fn rewrite_chunks(
    m: &mut dyn MediumMut,
    mut fix: impl FnMut(u64, &mut [u8]) -> bool,
) -> Result<()> {
    let total = record_count(m)?;
    with_chunk(|buf| {
        let mut index = 0;
        while index < total {
            let (whole, ended) = read_chunk(m, buf, index, total)?;
            let chunk = &mut buf[..whole * RECORD_SIZE];
            if fix(index, chunk) {
                if m.size()? < (index + whole as u64) * SLOT {
                    break;
                }
                m.write_at(chunk, index * SLOT)?;
            }
            if ended {
                break;
            }
            index += whole as u64;
        }
        Ok(())
    })
}

/// Whether the pool was last written no later than `boot`. A pool that
/// does not exist is not stale: there is nothing to clear.
pub(crate) fn is_stale(m: &dyn Medium, boot: SystemTime) -> Result<bool> {
    Ok(m.modified()?.is_some_and(|modified| modified <= boot))
}

#[cfg(test)]
#[path = "ops_tests.rs"]
mod tests;
