//! The store on a real pool file.

use std::cell::Cell;
use std::fmt;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Instant, SystemTime};

use crate::error::{Error, LockHolder, Result, UnsafeReason};
use crate::lock::{self, LockKind, LockProbe, PoolLock, Wait};
use crate::pool::Pool;
use crate::store::location::{self, LastComponent, Location};
use crate::store::medium::{Backend, Medium, MediumMut, Missing, Token};
use crate::store::options::Options;
use crate::store::queue::{FairQueue, Refused, Turn};
use crate::store::space::{self, SpaceVerdict};
use crate::sys::{self, Stat};

/// A pool file, opened by path or by pool number.
///
/// The store keeps a descriptor of the pool's directory, checked component
/// by component when the store is opened (or when a write first creates
/// it), so that swapping a directory for a symlink cannot redirect it.
/// Every operation opens its own descriptor of the pool file in that
/// directory (`O_NOFOLLOW|O_NOCTTY|O_NONBLOCK|O_CLOEXEC`, after checking
/// that the name holds a regular file unless the directory is private to
/// root and the caller), takes `flock` and an OFD lock on it, checks the
/// locked file, does a few `pread`/`pwrite` calls and closes it. The threads of one
/// process that share a store take their turns in arrival order. The store
/// is `Send + Sync`, and safe to share between threads and across `fork`.
///
/// Writes refuse a pool file with more than one link, owned by another
/// user than the caller and root, or writable by group or others
/// ([`Error::UnsafePool`]).
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
#[derive(Clone)]
pub struct FileStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    by_path: bool,
    options: Options,
    /// The checked directory, once it exists.
    location: Mutex<Option<Arc<Location>>>,
    /// For a store opened by path: the (device, inode) it found there.
    identity: Mutex<Option<(u64, u64)>>,
    /// The last free-space check's verdict, which appends may reuse.
    space: Mutex<Option<SpaceVerdict>>,
    queue: FairQueue,
}

impl fmt::Debug for FileStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileStore")
            .field("path", &self.inner.path)
            .field("by_path", &self.inner.by_path)
            .field("options", &self.inner.options)
            .finish_non_exhaustive()
    }
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
        by_path: bool,
        options: Options,
    ) -> Result<FileStore> {
        let store = FileStore {
            inner: Arc::new(Inner {
                path,
                by_path,
                options,
                location: Mutex::new(None),
                identity: Mutex::new(None),
                space: Mutex::new(None),
                queue: FairQueue::default(),
            }),
        };
        // Resolve now, so that a bad path fails at open and a store opened
        // by path pins the file that is there now.
        if let Some(location) = store.location(false)? {
            if let Some((_, stat)) = open_file(&location, &store.inner.path, Access::Inspect, 0)? {
                store.pin(&stat)?;
            }
        }
        Ok(store)
    }

    /// The pool file's path, as given.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The pool file's size, owner, mode and links, and who holds locks on
    /// it right now, without waiting; `None` when the pool does not exist.
    /// Opens the file as every operation does, so a symlink, FIFO or device
    /// in its place is refused, never opened.
    pub fn facts(&self) -> Result<Option<FileFacts>> {
        let Some(location) = self.location(false)? else {
            return Ok(None);
        };
        match open_file(&location, &self.inner.path, Access::Read, 0)? {
            None => Ok(None),
            Some((file, stat)) => {
                self.pin(&stat)?;
                Ok(Some(FileFacts {
                    size: stat.size,
                    mode: stat.permissions(),
                    owner: stat.uid,
                    links: stat.nlink,
                    unsafe_for_writes: refuse_unsafe(&stat).err(),
                    locks: lock::probe(&file, &self.inner.path)?,
                }))
            }
        }
    }

    /// The checked directory, resolved once it exists; created on write.
    fn location(&self, create: bool) -> Result<Option<Arc<Location>>> {
        let mut cached = self
            .inner
            .location
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(location) = cached.as_ref() {
            return Ok(Some(Arc::clone(location)));
        }
        let last = if self.inner.by_path {
            LastComponent::FollowTrusted
        } else {
            LastComponent::NoFollow
        };
        let resolved = location::resolve(&self.inner.path, last, create)?.map(Arc::new);
        cached.clone_from(&resolved);
        Ok(resolved)
    }

    /// For a store opened by path: remembers the first file found, and
    /// refuses any other one later.
    fn pin(&self, stat: &Stat) -> Result<()> {
        if !self.inner.by_path {
            return Ok(());
        }
        let mut identity = self
            .inner
            .identity
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match *identity {
            Some(id) if id != stat.id => Err(Error::PoolReplaced {
                path: self.inner.path.clone(),
            }),
            Some(_) => Ok(()),
            None => {
                *identity = Some(stat.id);
                Ok(())
            }
        }
    }

    fn wait(&self, deadline: Option<Instant>) -> Wait<'_> {
        Wait {
            deadline,
            timeout: self.inner.options.lock_timeout.unwrap_or_default(),
            check: self.inner.options.wait_check.as_ref(),
        }
    }

    /// Takes this thread's turn among the store's users in this process.
    fn turn(&self, wait: Wait<'_>) -> Result<Turn<'_>> {
        self.inner
            .queue
            .enter(wait.deadline, wait.check)
            .map_err(|refused| match refused {
                Refused::TimedOut { ahead } => {
                    wait.timed_out(&self.inner.path, LockHolder::ThisProcess { ahead })
                }
                Refused::Interrupted => Error::Interrupted {
                    path: self.inner.path.clone(),
                },
            })
    }

    /// Opens and locks the pool; `None` for a read of a missing pool.
    fn begin(&self, kind: LockKind) -> Result<Option<Locked<'_>>> {
        let deadline = self
            .inner
            .options
            .lock_timeout
            .and_then(|timeout| Instant::now().checked_add(timeout));
        let wait = self.wait(deadline);
        let turn = self.turn(wait)?;
        let write = kind == LockKind::Exclusive;
        let Some(location) = self.location(write)? else {
            return Ok(None);
        };
        let access = if write { Access::Write } else { Access::Read };
        let create_mode = self.inner.options.create_mode;
        let path = &self.inner.path;
        // The checks on the opened file run on one statx taken once the
        // locks are held, which also gives the size the operation starts
        // from. Nothing is read or written before they pass, and when the
        // lock cannot be had, what they refuse is reported first.
        let locked = open_checked(&location, path, access, create_mode, |file, expected| {
            let (lock, stat) = match PoolLock::acquire(file, path, kind, wait) {
                Ok(lock) => {
                    let stat = sys::fstat(lock.file().as_fd()).map_err(Error::io("stat", path))?;
                    (Ok(lock), stat)
                }
                Err((error, file)) => {
                    let stat = sys::fstat(file.as_fd()).map_err(Error::io("stat", path))?;
                    (Err(error), stat)
                }
            };
            if !is_expected(&stat, expected) {
                // Dropping the lock releases it; the name is looked at again.
                return Ok(Pass::Again);
            }
            self.pin(&stat)?;
            if write {
                refuse_unsafe(&stat).map_err(|reason| Error::UnsafePool {
                    path: path.clone(),
                    reason,
                })?;
            }
            Ok(Pass::Done((lock?, stat)))
        })?;
        Ok(locked.map(|(lock, stat)| Locked {
            lock,
            device: stat.id.0,
            size_at_lock: Cell::new(Some(stat.size)),
            shared: !write,
            store: self,
            _turn: turn,
        }))
    }
}

/// What [`FileStore::facts`] reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FileFacts {
    /// Size in bytes.
    pub size: u64,
    /// Permission bits.
    pub mode: u32,
    /// Owner uid.
    pub owner: u32,
    /// Hard links.
    pub links: u64,
    /// Why writes refuse the file, if they do.
    pub unsafe_for_writes: Option<UnsafeReason>,
    /// Who holds locks on it.
    pub locks: LockProbe,
}

/// What an open is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    /// Read only; a missing file is `None`.
    Read,
    /// Read and write, creating the file when it is missing.
    Write,
    /// Only to learn which file is there: opened `O_PATH`, never for I/O.
    Inspect,
}

/// What a pass of [`open_checked`] made of the file it opened.
enum Pass<T> {
    /// The file passed.
    Done(T),
    /// It is not the file the name held: look again.
    Again,
}

/// Opens the pool file `location` names, after checking that the name holds
/// a regular file (no symlink, FIFO, socket or device is ever opened), and
/// hands it to `check` with the identity the name had (`None`: the file was
/// created here, with `O_EXCL`, so it is never someone else's), which
/// checks that the same file was opened ([`is_expected`]). `None` when the
/// file is missing and `access` is not `Write`.
///
/// In a private directory ([`Location::private`]) only root and the caller
/// can put anything under the name, so the first pass opens without
/// looking first (with `O_NOFOLLOW`, never creating) and hands `check`
/// `None`: the checks on the opened file still decide, and a file that is
/// missing or not regular sends the next pass through the look.
fn open_checked<T>(
    location: &Location,
    path: &Path,
    access: Access,
    create_mode: u32,
    mut check: impl FnMut(File, Option<(u64, u64)>) -> Result<Pass<T>>,
) -> Result<Option<T>> {
    let dir = location.dir.as_fd();
    // Each pass sees the file exist or not; a file that changes kind or
    // identity between the check and the open is looked at again.
    for pass in 0..4 {
        let mut flags = libc::O_NOFOLLOW | libc::O_NOCTTY | libc::O_NONBLOCK;
        flags |= match access {
            Access::Read => libc::O_RDONLY,
            Access::Write => libc::O_RDWR,
            Access::Inspect => libc::O_PATH,
        };
        if pass == 0 && location.private && access != Access::Inspect {
            match sys::openat(Some(dir), &location.name, flags, 0) {
                Ok(fd) => match check(File::from(fd), None)? {
                    Pass::Done(done) => return Ok(Some(done)),
                    Pass::Again => continue,
                },
                // Missing, a symlink, a directory (EISDIR), no permission:
                // the look decides what to make of it, as in any directory.
                Err(_) => continue,
            }
        }
        let expected = match sys::lstatat(dir, &location.name) {
            Ok(stat) if stat.is_symlink() => return Err(symlink_refused(path)),
            Ok(stat) if !stat.is_file() => {
                return Err(Error::NotARegularFile {
                    path: path.to_path_buf(),
                })
            }
            Ok(stat) => Some(stat.id),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) && access != Access::Write => {
                return Ok(None)
            }
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => None,
            Err(e) => return Err(Error::io("inspect", path)(e)),
        };
        if expected.is_none() {
            flags |= libc::O_CREAT | libc::O_EXCL;
        }
        let fd = match sys::openat(Some(dir), &location.name, flags, create_mode) {
            Ok(fd) => fd,
            // Created or removed by someone else since the check: look again.
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) && expected.is_none() => continue,
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) && expected.is_some() => continue,
            Err(e) if e.raw_os_error() == Some(libc::ELOOP) => return Err(symlink_refused(path)),
            Err(e) => return Err(Error::io("open", path)(e)),
        };
        match check(File::from(fd), expected)? {
            Pass::Done(done) => return Ok(Some(done)),
            Pass::Again => continue,
        }
    }
    Err(Error::io(
        "open (the file kept changing while it was opened)",
        path,
    )(io::Error::from_raw_os_error(libc::EAGAIN)))
}

/// Whether `stat`, of an opened file, is a regular file and the one the
/// name held before the open.
fn is_expected(stat: &Stat, expected: Option<(u64, u64)>) -> bool {
    stat.is_file() && expected.is_none_or(|id| id == stat.id)
}

/// [`open_checked`] with the checks on a `fstat` right after the open.
fn open_file(
    location: &Location,
    path: &Path,
    access: Access,
    create_mode: u32,
) -> Result<Option<(File, Stat)>> {
    open_checked(location, path, access, create_mode, |file, expected| {
        let stat = sys::fstat(file.as_fd()).map_err(Error::io("stat", path))?;
        Ok(if is_expected(&stat, expected) {
            Pass::Done((file, stat))
        } else {
            Pass::Again
        })
    })
}

/// A symlink in place of the pool file is not a pool file: refused as any
/// other file that is not regular, never followed.
fn symlink_refused(path: &Path) -> Error {
    Error::NotARegularFile {
        path: path.to_path_buf(),
    }
}

/// Why a file must not be written, if it must not.
pub(crate) fn refuse_unsafe(stat: &Stat) -> std::result::Result<(), UnsafeReason> {
    if stat.nlink > 1 {
        return Err(UnsafeReason::HardLinked { links: stat.nlink });
    }
    if stat.uid != 0 && stat.uid != sys::euid() {
        return Err(UnsafeReason::ForeignOwner { uid: stat.uid });
    }
    if stat.permissions() & 0o022 != 0 {
        return Err(UnsafeReason::WritableByOthers {
            mode: stat.permissions(),
        });
    }
    Ok(())
}

impl Backend for FileStore {
    fn options(&self) -> &Options {
        &self.inner.options
    }

    fn error_path(&self) -> &Path {
        &self.inner.path
    }

    fn begin_read(&self, _: Token) -> Result<Box<dyn Medium + '_>> {
        Ok(match self.begin(LockKind::Shared)? {
            Some(locked) => Box::new(locked),
            None => Box::new(Missing),
        })
    }

    fn begin_write(&self, _: Token) -> Result<Box<dyn MediumMut + '_>> {
        match self.begin(LockKind::Exclusive)? {
            Some(locked) => Ok(Box::new(locked)),
            // A write creates what is missing, so it always finds a file.
            None => Err(Error::io("open", &self.inner.path)(
                io::Error::from_raw_os_error(libc::ENOENT),
            )),
        }
    }
}

/// A descriptor of the pool with its locks held, and the thread's turn.
struct Locked<'s> {
    lock: PoolLock,
    /// The filesystem the pool is on (`st_dev` of the opened file).
    device: u64,
    /// The size the locked file had when it was checked, for the first
    /// [`Medium::size`] (a read keeps it: a file that shrinks under it
    /// ends its scan with a short read).
    size_at_lock: Cell<Option<u64>>,
    /// Whether the lock is shared (a read).
    shared: bool,
    store: &'s FileStore,
    _turn: Turn<'s>,
}

impl Locked<'_> {
    fn io(&self, operation: &'static str) -> impl FnOnce(io::Error) -> Error + '_ {
        Error::io(operation, &self.store.inner.path)
    }

    fn fstat(&self) -> Result<Stat> {
        sys::fstat(self.lock.file().as_fd()).map_err(self.io("stat"))
    }
}

impl Medium for Locked<'_> {
    fn size(&self) -> Result<u64> {
        let known = if self.shared {
            self.size_at_lock.get()
        } else {
            self.size_at_lock.take()
        };
        match known {
            Some(size) => Ok(size),
            None => Ok(self.fstat()?.size),
        }
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

    fn stat(&self) -> Option<Stat> {
        self.fstat().ok()
    }
}

impl MediumMut for Locked<'_> {
    fn write_at(&mut self, buf: &[u8], offset: u64) -> Result<()> {
        self.lock
            .file()
            .write_all_at(buf, offset)
            .map_err(self.io("write"))
    }

    fn append(&mut self, buf: &[u8], expected_end: u64) -> Result<()> {
        sys::append_all(self.lock.file().as_fd(), buf, expected_end).map_err(|e| {
            // Whatever the free-space verdict said, the next append checks.
            space::forget(&self.store.inner.space);
            self.io("write")(e)
        })
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
    /// fail halfway. Whether it is close to full is a `fstatfs` whose
    /// verdict is reused for a while (`space::plenty`).
    fn reserve_for_append(&mut self, offset: u64, len: u64) -> Result<()> {
        if space::plenty(&self.store.inner.space, self.lock.file(), self.device, len) {
            return Ok(());
        }
        self.reserve(offset, len)
    }

    fn set_len(&mut self, len: u64) -> Result<()> {
        self.lock.file().set_len(len).map_err(self.io("truncate"))
    }

    fn commit(self: Box<Self>) -> Result<()> {
        if self.store.inner.options.sync_on_write {
            self.lock.file().sync_data().map_err(self.io("fdatasync"))?;
        }
        Ok(())
    }
}
