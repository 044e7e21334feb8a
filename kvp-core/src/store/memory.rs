//! A store in memory with the file store's exact semantics, for tests.

use std::sync::{PoisonError, RwLock};
use std::time::SystemTime;

use std::path::Path;

use crate::error::Result;
use crate::store::medium::{Backend, Medium, MediumMut, Token};
use crate::store::options::Options;

/// A pool held in memory. It runs the same operation code as
/// [`crate::FileStore`] on a byte image of a pool file, so duplicates,
/// order, limits, the cap and staleness behave identically. Use it in your
/// own tests where a file would be in the way.
///
/// ```
/// use kvp_core::{KvpStore, MemoryStore};
///
/// let pool = MemoryStore::new();
/// pool.append("k", "1")?;
/// pool.append("k", "2")?;
/// assert_eq!(pool.read("k")?.as_deref(), Some("2"));
/// assert_eq!(pool.len()?, 2);
/// # Ok::<(), kvp_core::Error>(())
/// ```
#[derive(Debug, Default)]
pub struct MemoryStore {
    options: Options,
    image: RwLock<Image>,
}

#[derive(Debug, Default)]
struct Image {
    bytes: Vec<u8>,
    modified: Option<SystemTime>,
}

impl MemoryStore {
    /// An empty pool with default [`Options`].
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// An empty pool with these options (the mode and boot time matter;
    /// locking and file options do not apply).
    pub fn with_options(options: Options) -> MemoryStore {
        MemoryStore {
            options,
            image: RwLock::default(),
        }
    }

    /// A pool holding a copy of a pool file's bytes, garbage and partial
    /// tail included.
    pub fn from_bytes(bytes: Vec<u8>, options: Options) -> MemoryStore {
        let modified = Some(SystemTime::now());
        MemoryStore {
            options,
            image: RwLock::new(Image { bytes, modified }),
        }
    }

    /// The pool's bytes, as a pool file would hold them.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.image
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .bytes
            .clone()
    }

    /// Sets the last-write time, to test staleness.
    pub fn set_modified(&self, modified: SystemTime) {
        self.image
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .modified = Some(modified);
    }
}

impl Backend for MemoryStore {
    fn options(&self) -> &Options {
        &self.options
    }

    fn error_path(&self) -> &Path {
        Path::new("<memory>")
    }

    fn begin_read(&self, _: Token) -> Result<Box<dyn Medium + '_>> {
        Ok(Box::new(
            self.image.read().unwrap_or_else(PoisonError::into_inner),
        ))
    }

    fn begin_write(&self, _: Token) -> Result<Box<dyn MediumMut + '_>> {
        Ok(Box::new(
            self.image.write().unwrap_or_else(PoisonError::into_inner),
        ))
    }
}

impl<T: std::ops::Deref<Target = Image>> Medium for T {
    fn size(&self) -> Result<u64> {
        Ok(self.bytes.len() as u64)
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<usize> {
        let start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(self.bytes.len());
        let n = buf.len().min(self.bytes.len() - start);
        buf[..n].copy_from_slice(&self.bytes[start..start + n]);
        Ok(n)
    }

    fn modified(&self) -> Result<Option<SystemTime>> {
        Ok(self.modified)
    }
}

impl MediumMut for std::sync::RwLockWriteGuard<'_, Image> {
    fn write_at(&mut self, buf: &[u8], offset: u64) -> Result<()> {
        let start = usize::try_from(offset).unwrap_or(usize::MAX);
        let end = start.saturating_add(buf.len());
        if self.bytes.len() < end {
            self.bytes.resize(end, 0);
        }
        self.bytes[start..end].copy_from_slice(buf);
        self.modified = Some(SystemTime::now());
        Ok(())
    }

    fn append(&mut self, buf: &[u8], _expected_end: u64) -> Result<()> {
        self.bytes.extend_from_slice(buf);
        self.modified = Some(SystemTime::now());
        Ok(())
    }

    fn reserve(&mut self, _offset: u64, _len: u64) -> Result<()> {
        Ok(())
    }

    fn set_len(&mut self, len: u64) -> Result<()> {
        self.bytes
            .resize(usize::try_from(len).unwrap_or(usize::MAX), 0);
        self.modified = Some(SystemTime::now());
        Ok(())
    }

    fn commit(self: Box<Self>) -> Result<()> {
        Ok(())
    }
}
