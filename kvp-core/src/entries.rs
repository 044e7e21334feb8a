//! [`Entries`]: each distinct key of a pool with the value of its last
//! record, in key order, as one text buffer and a sorted index into it.
//!
//! A map of owned strings would cost two allocations per key, which for a
//! full pool (1023 keys) costs more than reading the file does; one buffer
//! keeps a whole-pool read within twice the cost of reading one key
//! (docs/benchmarks.md). Lookups are binary searches; iteration yields
//! borrowed text; [`Entries::to_map`] gives an owned map when one is needed.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::{Deref, Index, Range};

mod sealed {
    pub trait Sealed {}
    impl Sealed for str {}
    impl Sealed for [u8] {}
}

/// The text an [`Entries`] table holds: `str` (keys that are UTF-8, values
/// with invalid UTF-8 replaced by U+FFFD) or `[u8]` (exact bytes, see
/// [`RawEntries`]). Sealed: no other type implements it.
pub trait EntryText:
    sealed::Sealed + Ord + fmt::Debug + ToOwned + AsRef<[u8]> + Index<Range<usize>, Output = Self>
{
    /// The growable buffer that owns the text.
    #[doc(hidden)]
    type Buffer: Default + Clone + Deref<Target = Self>;

    /// Appends `key`; appends nothing and returns false when this kind of
    /// text cannot name it.
    #[doc(hidden)]
    fn push_key(buffer: &mut Self::Buffer, key: &[u8]) -> bool;

    /// Appends `value`, converted as this kind of text must.
    #[doc(hidden)]
    fn push_value(buffer: &mut Self::Buffer, value: &[u8]);
}

impl EntryText for str {
    type Buffer = String;

    fn push_key(buffer: &mut String, key: &[u8]) -> bool {
        // A key that is not UTF-8 has no `str` that does not merge it with
        // another key; `RawEntries` keeps it.
        std::str::from_utf8(key)
            .map(|key| buffer.push_str(key))
            .is_ok()
    }

    fn push_value(buffer: &mut String, value: &[u8]) {
        buffer.push_str(&crate::record::decode_lossy(value));
    }
}

impl EntryText for [u8] {
    type Buffer = Vec<u8>;

    fn push_key(buffer: &mut Vec<u8>, key: &[u8]) -> bool {
        buffer.extend_from_slice(key);
        true
    }

    fn push_value(buffer: &mut Vec<u8>, value: &[u8]) {
        buffer.extend_from_slice(value);
    }
}

/// Where one record's key and value lie in the buffer: the key is
/// `key_start..key_end`, the value follows it up to `value_end`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Span {
    pub(crate) key_start: usize,
    pub(crate) key_end: usize,
    pub(crate) value_end: usize,
}

/// Each distinct key of a pool with the value of its last record, in key
/// order (byte order, which for UTF-8 is code point order), as returned by
/// [`KvpStore::entries`](crate::KvpStore::entries) (`Entries<str>`, the
/// default) and [`KvpStore::raw_entries`](crate::KvpStore::raw_entries)
/// ([`RawEntries`]).
///
/// ```
/// use kvp_core::{KvpStore, MemoryStore};
///
/// let pool = MemoryStore::new();
/// pool.append("b", "first")?;
/// pool.append("a", "1")?;
/// pool.append("b", "last")?;
/// let entries = pool.entries()?;
/// assert_eq!(entries.get("b"), Some("last"));
/// assert_eq!(&entries["a"], "1");
/// assert_eq!(entries.iter().collect::<Vec<_>>(), [("a", "1"), ("b", "last")]);
/// # Ok::<(), kvp_core::Error>(())
/// ```
pub struct Entries<T: ?Sized + EntryText = str> {
    text: T::Buffer,
    /// Sorted by key, one per distinct key.
    spans: Vec<Span>,
}

/// [`Entries`] as exact bytes: two keys that differ in any byte stay apart
/// and values are not converted.
pub type RawEntries = Entries<[u8]>;

impl<T: ?Sized + EntryText> Entries<T> {
    /// How many distinct keys the table holds.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether the table holds no key.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The value of `key`'s last record, if the table holds `key`.
    pub fn get(&self, key: &T) -> Option<&T> {
        let key = key.as_ref();
        self.spans
            .binary_search_by(|span| self.bytes(span.key_start..span.key_end).cmp(key))
            .ok()
            .map(|at| self.value(&self.spans[at]))
    }

    /// Whether the table holds `key`.
    pub fn contains_key(&self, key: &T) -> bool {
        self.get(key).is_some()
    }

    /// Each key with its value, in key order.
    pub fn iter(&self) -> Iter<'_, T> {
        Iter {
            text: &self.text,
            spans: self.spans.iter(),
        }
    }

    /// The keys, in order.
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &T> + ExactSizeIterator + '_ {
        self.iter().map(|(key, _)| key)
    }

    /// The values, in the order of their keys.
    pub fn values(&self) -> impl DoubleEndedIterator<Item = &T> + ExactSizeIterator + '_ {
        self.iter().map(|(_, value)| value)
    }

    /// The table as an owned map (two allocations per key).
    pub fn to_map(&self) -> BTreeMap<T::Owned, T::Owned>
    where
        T::Owned: Ord,
    {
        self.iter()
            .map(|(key, value)| (key.to_owned(), value.to_owned()))
            .collect()
    }

    fn bytes(&self, range: Range<usize>) -> &[u8] {
        &(*self.text).as_ref()[range]
    }

    fn value(&self, span: &Span) -> &T {
        &self.text[span.key_end..span.value_end]
    }
}

impl<T: ?Sized + EntryText> Default for Entries<T> {
    fn default() -> Self {
        Self {
            text: T::Buffer::default(),
            spans: Vec::new(),
        }
    }
}

impl<T: ?Sized + EntryText> Clone for Entries<T> {
    fn clone(&self) -> Self {
        Self {
            text: self.text.clone(),
            spans: self.spans.clone(),
        }
    }
}

/// Equal when they hold the same keys with the same values (the buffers
/// may differ in what superseded records left in them).
impl<T: ?Sized + EntryText> PartialEq for Entries<T> {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl<T: ?Sized + EntryText> Eq for Entries<T> {}

impl<T: ?Sized + EntryText> fmt::Debug for Entries<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// The value of `key`, as a `BTreeMap` indexes.
///
/// # Panics
///
/// When the table does not hold `key`.
impl<T: ?Sized + EntryText> Index<&T> for Entries<T> {
    type Output = T;

    fn index(&self, key: &T) -> &T {
        match self.get(key) {
            Some(value) => value,
            None => panic!("no entry for key {key:?}"),
        }
    }
}

impl<'a, T: ?Sized + EntryText> IntoIterator for &'a Entries<T> {
    type Item = (&'a T, &'a T);
    type IntoIter = Iter<'a, T>;

    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}

/// The keys and values of an [`Entries`], in key order.
pub struct Iter<'a, T: ?Sized + EntryText> {
    text: &'a T,
    spans: std::slice::Iter<'a, Span>,
}

impl<'a, T: ?Sized + EntryText> Iter<'a, T> {
    fn pair(&self, span: &Span) -> (&'a T, &'a T) {
        let text: &'a T = self.text;
        (
            &text[span.key_start..span.key_end],
            &text[span.key_end..span.value_end],
        )
    }
}

impl<'a, T: ?Sized + EntryText> Iterator for Iter<'a, T> {
    type Item = (&'a T, &'a T);

    fn next(&mut self) -> Option<Self::Item> {
        let span = self.spans.next()?;
        Some(self.pair(span))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.spans.size_hint()
    }
}

impl<T: ?Sized + EntryText> DoubleEndedIterator for Iter<'_, T> {
    fn next_back(&mut self) -> Option<Self::Item> {
        let span = self.spans.next_back()?;
        Some(self.pair(span))
    }
}

impl<T: ?Sized + EntryText> ExactSizeIterator for Iter<'_, T> {}

/// Builds an [`Entries`] from records given in file order. The order
/// vector is the caller's, so that a thread can reuse it between calls.
pub(crate) struct Builder<'s, T: ?Sized + EntryText> {
    text: T::Buffer,
    in_file_order: &'s mut Vec<Span>,
    order: &'s mut Vec<(u64, usize)>,
}

impl<'s, T: ?Sized + EntryText> Builder<'s, T> {
    /// A builder over the caller's (cleared) scratch vectors.
    pub(crate) fn new(in_file_order: &'s mut Vec<Span>, order: &'s mut Vec<(u64, usize)>) -> Self {
        in_file_order.clear();
        order.clear();
        Self {
            text: T::Buffer::default(),
            in_file_order,
            order,
        }
    }

    /// Adds the next record's key and value (each its field's text).
    pub(crate) fn push(&mut self, key: &[u8], value: &[u8]) {
        let key_start = self.text.as_ref().len();
        if !T::push_key(&mut self.text, key) {
            return;
        }
        let key_end = self.text.as_ref().len();
        T::push_value(&mut self.text, value);
        self.order
            .push((sort_prefix(key), self.in_file_order.len()));
        self.in_file_order.push(Span {
            key_start,
            key_end,
            value_end: self.text.as_ref().len(),
        });
    }

    /// The table: the last record of each key, in key order.
    pub(crate) fn finish(self) -> Entries<T> {
        let Self {
            text,
            in_file_order,
            order,
        } = self;
        let bytes: &[u8] = (*text).as_ref();
        let key = |at: usize| {
            let span = in_file_order[at];
            &bytes[span.key_start..span.key_end]
        };
        // Unstable (nothing to allocate): the position breaks the ties, so
        // each key's records end up in file order.
        order.sort_unstable_by(|a, b| {
            a.0.cmp(&b.0)
                .then_with(|| key(a.1).cmp(key(b.1)))
                .then(a.1.cmp(&b.1))
        });
        let mut spans = Vec::with_capacity(order.len());
        for (i, &(prefix, at)) in order.iter().enumerate() {
            // The last of a run of equal keys is the one that counts.
            let superseded = order
                .get(i + 1)
                .is_some_and(|&(next_prefix, next)| next_prefix == prefix && key(next) == key(at));
            if !superseded {
                spans.push(in_file_order[at]);
            }
        }
        Entries { text, spans }
    }
}

/// A key's first eight bytes as a big-endian number, zero-padded: ordered
/// as the keys are (a key holds no NUL, so the padding sorts first), and
/// compared in one instruction; equal prefixes fall back to the keys.
fn sort_prefix(key: &[u8]) -> u64 {
    let mut prefix = [0u8; 8];
    let n = key.len().min(8);
    prefix[..n].copy_from_slice(&key[..n]);
    u64::from_be_bytes(prefix)
}

#[cfg(test)]
mod tests;
