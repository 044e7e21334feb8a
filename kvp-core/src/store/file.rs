//! The store on a real pool file.

use std::fs::{DirBuilder, File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::error::{Error, Result};
use crate::lock::{LockKind, PoolLock};
use crate::pool::Pool;
use crate::store::medium::{Backend, Medium, MediumMut, Missing};
use crate::store::options::Options;

/// A pool file, opened by path or by pool number.
///
/// Every operation opens its own descriptor (`O_CLOEXEC`), takes `flock`
/// and an OFD lock on it, does a few `pread`/`pwrite` calls and closes it.
/// The store is therefore `Send + Sync`, safe to share between threads and
/// across `fork`, and holds no descriptor between calls.
///
/// ```
/// use kvp_core::{FileStore, KvpStore, Pool};
///
/// let dir = tempfile::tempdir()?;
/// let pool = FileStore::open_pool(Pool::Guest, dir.path())?;
/// pool.insert("PROVISIONING_REPORT", "result=success")?;
/// assert_eq!(pool.read("PROVISIONING_REPORT")?.as_deref(), Some("result=success"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct FileStore {
    path: PathBuf,
    follow_symlinks: bool,
    options: Options,
}

impl FileStore {
    /// Opens the pool file at `path` with default [`Options`].
    pub fn open(path: impl Into<PathBuf>) -> Result<FileStore> {
        Options::new().open(path)
    }

    /// Opens `pool` in `dir` with default [`Options`].
    pub fn open_pool(pool: Pool, dir: impl AsRef<Path>) -> Result<FileStore> {
        Options::new().open_pool(pool, Some(dir.as_ref()))
    }

    pub(crate) fn with_options(
        path: PathBuf,
        follow_symlinks: bool,
        options: Options,
    ) -> Result<FileStore> {
        if path.as_os_str().is_empty() {
            // Refused now rather than at the first operation, as open("") is.
            return Err(Error::io("open", path)(io::Error::from_raw_os_error(
                libc::ENOENT,
            )));
        }
        let metadata = if follow_symlinks {
            std::fs::metadata(&path)
        } else {
            std::fs::symlink_metadata(&path)
        };
        match metadata {
            Ok(metadata) if !metadata.is_file() => return Err(Error::NotARegularFile { path }),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io("inspect", path)(e)),
        }
        Ok(FileStore {
            path,
            follow_symlinks,
            options,
        })
    }

    /// The pool file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn open_file(&self, write: bool) -> io::Result<File> {
        let mut custom = libc::O_CLOEXEC | libc::O_NONBLOCK;
        if !self.follow_symlinks {
            custom |= libc::O_NOFOLLOW;
        }
        let mut open = OpenOptions::new();
        open.read(true).custom_flags(custom);
        if write {
            open.write(true).create(true).mode(self.options.create_mode);
        }
        open.open(&self.path)
    }

    /// Opens a descriptor and checks it is a regular file; O_NONBLOCK above
    /// keeps a FIFO from hanging the open.
    fn open_checked(&self, write: bool) -> Result<File> {
        let file = match self.open_file(write) {
            Err(e) if write && e.kind() == io::ErrorKind::NotFound => {
                self.create_parent()?;
                self.open_file(true)
            }
            other => other,
        };
        let file = file.map_err(|e| self.open_error(e))?;
        let metadata = file.metadata().map_err(Error::io("stat", &self.path))?;
        if !metadata.is_file() {
            return Err(Error::NotARegularFile {
                path: self.path.clone(),
            });
        }
        Ok(file)
    }

    fn open_error(&self, e: io::Error) -> Error {
        match e.raw_os_error() {
            Some(libc::EISDIR) => Error::NotARegularFile {
                path: self.path.clone(),
            },
            Some(libc::ELOOP) if !self.follow_symlinks => Error::Io {
                operation: "open (refusing a symlink in place of a pool file)",
                path: self.path.clone(),
                source: e,
            },
            _ => Error::io("open", &self.path)(e),
        }
    }

    fn create_parent(&self) -> Result<()> {
        let Some(parent) = self.path.parent().filter(|p| !p.as_os_str().is_empty()) else {
            return Ok(());
        };
        DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(parent)
            .map_err(Error::io("create directory", parent))
    }

    fn lock(&self, file: File, kind: LockKind) -> Result<Locked<'_>> {
        let lock = PoolLock::acquire(file, &self.path, kind, self.options.lock_timeout)?;
        Ok(Locked { lock, store: self })
    }
}

impl Backend for FileStore {
    fn options(&self) -> &Options {
        &self.options
    }

    fn begin_read(&self) -> Result<Box<dyn Medium + '_>> {
        match self.open_checked(false) {
            Err(Error::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
                Ok(Box::new(Missing))
            }
            Err(e) => Err(e),
            Ok(file) => Ok(Box::new(self.lock(file, LockKind::Shared)?)),
        }
    }

    fn begin_write(&self) -> Result<Box<dyn MediumMut + '_>> {
        let file = self.open_checked(true)?;
        Ok(Box::new(self.lock(file, LockKind::Exclusive)?))
    }
}

/// Free space beyond which an append skips its reservation: far more than
/// any batch of records, so that only a filesystem filled by someone else
/// in the same instant can still fail the write (which is then cut back).
const APPEND_HEADROOM: u64 = 16 << 20;

/// Bytes an unprivileged writer may still use on `file`'s filesystem, or
/// `None` when fstatfs cannot tell.
// The field types differ between targets (u64 here, u32 or i32 elsewhere).
#[allow(clippy::useless_conversion)]
fn free_bytes(file: &File) -> Option<u64> {
    // SAFETY: `statfs` is a plain C struct of integers; all-zero is valid.
    let mut stats: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: fstatfs writes only into `stats`, which lives across the
    // call; the descriptor is owned by `file`, which outlives it.
    if unsafe { libc::fstatfs(file.as_raw_fd(), &mut stats) } != 0 {
        return None;
    }
    // Negative fields would mean a broken filesystem: then we do not know.
    let (available, block) = (
        u64::try_from(stats.f_bavail).ok()?,
        u64::try_from(stats.f_bsize).ok()?,
    );
    available.checked_mul(block)
}

/// A descriptor of the pool with its locks held.
struct Locked<'s> {
    lock: PoolLock,
    store: &'s FileStore,
}

impl Locked<'_> {
    fn io(&self, operation: &'static str) -> impl FnOnce(io::Error) -> Error + '_ {
        Error::io(operation, &self.store.path)
    }
}

impl Medium for Locked<'_> {
    fn size(&self) -> Result<u64> {
        Ok(self.lock.file().metadata().map_err(self.io("stat"))?.len())
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<usize> {
        let mut done = 0;
        while done < buf.len() {
            match self
                .lock
                .file()
                .read_at(&mut buf[done..], offset + done as u64)
            {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.io("read")(e)),
            }
        }
        Ok(done)
    }

    fn modified(&self) -> Result<Option<SystemTime>> {
        let metadata = self.lock.file().metadata().map_err(self.io("stat"))?;
        Ok(Some(metadata.modified().map_err(self.io("stat"))?))
    }
}

impl MediumMut for Locked<'_> {
    fn write_at(&mut self, buf: &[u8], offset: u64) -> Result<()> {
        self.lock
            .file()
            .write_all_at(buf, offset)
            .map_err(self.io("write"))
    }

    fn reserve(&mut self, offset: u64, len: u64) -> Result<()> {
        let (Ok(offset), Ok(len)) = (libc::off_t::try_from(offset), libc::off_t::try_from(len))
        else {
            return Err(self.io("reserve space")(io::Error::from_raw_os_error(
                libc::EFBIG,
            )));
        };
        if len == 0 {
            return Ok(());
        }
        // SAFETY: fallocate only reads its integer arguments; the descriptor
        // is owned by the lock guard, which outlives the call.
        let rc = unsafe {
            libc::fallocate(
                self.lock.file().as_raw_fd(),
                libc::FALLOC_FL_KEEP_SIZE,
                offset,
                len,
            )
        };
        if rc == 0 {
            return Ok(());
        }
        let err = io::Error::last_os_error();
        match err.raw_os_error() {
            // Not every filesystem can reserve; the write then reports errors itself.
            Some(libc::EOPNOTSUPP | libc::ENOSYS | libc::EINTR) => Ok(()),
            _ => Err(self.io("reserve space")(err)),
        }
    }

    /// fallocate costs about as much as the rest of an append together
    /// (ext4: ~9 of ~22 µs), and a failed append is cut back anyway; so it
    /// only runs when the filesystem is close to full, where a write could
    /// fail halfway.
    fn reserve_for_append(&mut self, offset: u64, len: u64) -> Result<()> {
        if free_bytes(self.lock.file())
            .is_some_and(|free| free >= len.saturating_add(APPEND_HEADROOM))
        {
            return Ok(());
        }
        self.reserve(offset, len)
    }

    fn set_len(&mut self, len: u64) -> Result<()> {
        self.lock.file().set_len(len).map_err(self.io("truncate"))
    }

    fn commit(self: Box<Self>) -> Result<()> {
        if self.store.options.sync_on_write {
            self.lock.file().sync_data().map_err(self.io("fdatasync"))?;
        }
        Ok(())
    }
}
