//! [`RecordSnapshot`]: every record of a pool in file order, duplicates
//! kept, as exact bytes in one buffer.
//!
//! [`KvpStore::raw_records`](crate::KvpStore::raw_records) gives each
//! record two vectors of its own; a walk that only looks at each record
//! once (the C face's `kvp_foreach`) needs no more than one buffer, which
//! for a full pool is several times cheaper.

use std::fmt;

use crate::entries::Span;

/// Every record of a pool in file order, duplicates kept: each key and
/// value as the exact bytes before its field's first NUL. Returned by
/// [`KvpStore::record_snapshot`](crate::KvpStore::record_snapshot).
///
/// ```
/// use kvp_core::{KvpStore, MemoryStore};
///
/// let pool = MemoryStore::new();
/// pool.append("k", "1")?;
/// pool.append("k", "2")?;
/// let snapshot = pool.record_snapshot()?;
/// assert_eq!(snapshot.len(), 2);
/// assert_eq!(snapshot.get(1), Some((&b"k"[..], &b"2"[..])));
/// assert_eq!(snapshot.iter().map(|(_, value)| value).collect::<Vec<_>>(), [b"1", b"2"]);
/// # Ok::<(), kvp_core::Error>(())
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct RecordSnapshot {
    bytes: Vec<u8>,
    /// One per record, in file order.
    spans: Vec<Span>,
}

impl RecordSnapshot {
    /// How many records the snapshot holds.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether the snapshot holds no record.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The key and value of the record at `index` (0 is the first in the
    /// file).
    pub fn get(&self, index: usize) -> Option<(&[u8], &[u8])> {
        self.spans.get(index).map(|span| self.pair(span))
    }

    /// Each record's key and value, in file order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&[u8], &[u8])> + ExactSizeIterator + '_ {
        self.spans.iter().map(|span| self.pair(span))
    }

    /// Adds the next record's key and value (each its field's text).
    pub(crate) fn push(&mut self, key: &[u8], value: &[u8]) {
        let key_start = self.bytes.len();
        self.bytes.extend_from_slice(key);
        let key_end = self.bytes.len();
        self.bytes.extend_from_slice(value);
        self.spans.push(Span {
            key_start,
            key_end,
            value_end: self.bytes.len(),
        });
    }

    fn pair(&self, span: &Span) -> (&[u8], &[u8]) {
        (
            &self.bytes[span.key_start..span.key_end],
            &self.bytes[span.key_end..span.value_end],
        )
    }
}

impl fmt::Debug for RecordSnapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(
                self.iter().map(|(key, value)| {
                    (String::from_utf8_lossy(key), String::from_utf8_lossy(value))
                }),
            )
            .finish()
    }
}
