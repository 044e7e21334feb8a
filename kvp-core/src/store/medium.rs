//! What the operations run on: a locked pool file, or a pool in memory.
//!
//! Both stores hand the same operation code (`ops`) one of these, so the
//! file store and the in-memory store cannot drift apart in semantics.
//! The traits are public only because the sealed [`Backend`] trait is a
//! supertrait of `KvpStore`; its methods take a [`Token`] that only this
//! crate can make, so code outside cannot call them and bypass validation.

use std::path::Path;
use std::time::SystemTime;

use crate::error::Result;
use crate::store::options::Options;
use crate::sys::Stat;

/// Proof that the caller is this crate: [`Backend`]'s methods need one, and
/// nothing outside the crate can make one.
#[derive(Debug, Clone, Copy)]
pub struct Token(());

impl Token {
    pub(crate) fn new() -> Token {
        Token(())
    }
}

/// Reading side of a pool, valid while its lock is held.
pub trait Medium {
    /// Bytes in the pool, including any partial trailing record.
    fn size(&self) -> Result<u64>;
    /// Reads at `offset` until `buf` is full or the pool ends; returns the
    /// bytes read.
    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<usize>;
    /// When the pool was last written; `None` when it does not exist yet.
    fn modified(&self) -> Result<Option<SystemTime>>;
    /// The file's owner, mode and links, for checks; `None` in memory.
    fn stat(&self) -> Option<Stat> {
        None
    }
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
    /// Writes all of `buf` at the pool's end as it is at the moment of the
    /// write, which is `expected_end` unless a writer that takes no lock
    /// (cloud-init's truncation) changed the file since.
    fn append(&mut self, buf: &[u8], expected_end: u64) -> Result<()>;
    /// Cuts the pool to `len` bytes. Operations only ever shrink a pool
    /// this way; it grows by writes alone.
    fn set_len(&mut self, len: u64) -> Result<()>;
    /// Makes the writes durable if the store asks for it, then releases the
    /// lock. Dropping without commit releases the lock too.
    fn commit(self: Box<Self>) -> Result<()>;
}

/// What a store must provide for [`crate::KvpStore`] to work on it.
pub trait Backend {
    /// The options the store was opened with.
    fn options(&self) -> &Options;
    /// The path errors name.
    fn error_path(&self) -> &Path;
    /// Takes the shared lock and returns the pool to read.
    fn begin_read(&self, _: Token) -> Result<Box<dyn Medium + '_>>;
    /// Takes the exclusive lock, creating the pool if needed.
    fn begin_write(&self, _: Token) -> Result<Box<dyn MediumMut + '_>>;
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
