//! What the operations run on: a locked pool file, or a pool in memory.
//!
//! Both stores hand the same operation code (`ops`) one of these, so the
//! file store and the in-memory store cannot drift apart in semantics.
//! The module is public only so that the sealed [`Backend`] trait can name
//! it; nothing here is reachable from outside the crate.

use std::time::SystemTime;

use crate::error::Result;
use crate::store::options::Options;

/// Reading side of a pool, valid while its lock is held.
pub trait Medium {
    /// Bytes in the pool, including any partial trailing record.
    fn size(&self) -> Result<u64>;
    /// Reads at `offset` until `buf` is full or the pool ends; returns the
    /// bytes read.
    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<usize>;
    /// When the pool was last written; `None` when it does not exist yet.
    fn modified(&self) -> Result<Option<SystemTime>>;
}

/// Writing side of a pool, valid while its exclusive lock is held.
pub trait MediumMut: Medium {
    /// Writes all of `buf` at `offset`.
    fn write_at(&mut self, buf: &[u8], offset: u64) -> Result<()>;
    /// Makes sure `len` bytes from `offset` can be written without running
    /// out of space, without changing the pool's size.
    fn reserve(&mut self, offset: u64, len: u64) -> Result<()>;
    /// As [`MediumMut::reserve`], for records about to be appended at
    /// `offset`. A failed append is cut back anyway, so a store may skip
    /// the reservation when the space surely exists.
    fn reserve_for_append(&mut self, offset: u64, len: u64) -> Result<()> {
        self.reserve(offset, len)
    }
    /// Cuts or extends the pool to `len` bytes.
    fn set_len(&mut self, len: u64) -> Result<()>;
    /// Makes the writes durable if the store asks for it, then releases the
    /// lock. Dropping without commit releases the lock too.
    fn commit(self: Box<Self>) -> Result<()>;
}

/// What a store must provide for [`crate::KvpStore`] to work on it.
pub trait Backend {
    /// The options the store was opened with.
    fn options(&self) -> &Options;
    /// Takes the shared lock and returns the pool to read.
    fn begin_read(&self) -> Result<Box<dyn Medium + '_>>;
    /// Takes the exclusive lock, creating the pool if needed.
    fn begin_write(&self) -> Result<Box<dyn MediumMut + '_>>;
}

/// A pool that does not exist: reads as empty.
pub(crate) struct Missing;

impl Medium for Missing {
    fn size(&self) -> Result<u64> {
        Ok(0)
    }
    fn read_at(&self, _buf: &mut [u8], _offset: u64) -> Result<usize> {
        Ok(0)
    }
    fn modified(&self) -> Result<Option<SystemTime>> {
        Ok(None)
    }
}
