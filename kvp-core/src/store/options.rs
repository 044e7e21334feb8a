//! How a store is opened: mode, lock timeout, durability, file mode, and
//! where boot time comes from.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::{Error, Result};
use crate::limits::PoolMode;
use crate::pool::{Pool, DEFAULT_DIR};
use crate::store::file::FileStore;

/// Default permissions of a pool file this library creates: owner only,
/// as libazureinit-kvp does. (The daemon creates its pools 0644.)
pub const DEFAULT_CREATE_MODE: u32 = 0o600;

/// How long an operation waits for a pool's locks by default before it
/// fails with [`Error::LockTimeout`]. Any user who can read a pool can hold
/// its lock, so no face waits forever unless asked to.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(30);

/// Default cap on the size of a pool that a whole-pool read (records,
/// entries, dump, check) loads: 64 MiB, 26214 records. Memory use of those
/// reads is bounded by about twice this; single-key operations stream in
/// fixed chunks whatever the size.
pub const DEFAULT_MAX_POOL_BYTES: u64 = 64 << 20;

/// A check the caller runs about every 100 ms while an operation waits for
/// a lock; returning `false` ends the wait with [`Error::Interrupted`].
/// The Python binding uses it to let Ctrl-C through without losing the
/// operation's place in the queue.
#[derive(Clone)]
pub struct WaitCheck(Arc<dyn Fn() -> bool + Send + Sync>);

impl WaitCheck {
    /// Wraps `keep_waiting`.
    pub fn new(keep_waiting: impl Fn() -> bool + Send + Sync + 'static) -> WaitCheck {
        WaitCheck(Arc::new(keep_waiting))
    }

    /// Runs the check: whether to keep waiting.
    pub fn keep_waiting(&self) -> bool {
        (self.0)()
    }
}

impl fmt::Debug for WaitCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WaitCheck(..)")
    }
}

impl PartialEq for WaitCheck {
    fn eq(&self, other: &WaitCheck) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for WaitCheck {}

/// Where staleness checks get the boot time from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BootTime {
    /// The running system's boot time (`btime` in /proc/stat, via sysinfo).
    #[default]
    System,
    /// A fixed instant, for tests.
    At(SystemTime),
}

impl BootTime {
    /// The boot time as an instant.
    pub fn resolve(self) -> SystemTime {
        match self {
            BootTime::System => UNIX_EPOCH + Duration::from_secs(sysinfo::System::boot_time()),
            BootTime::At(instant) => instant,
        }
    }
}

/// Options for opening a store, as a small builder.
///
/// ```
/// use std::time::Duration;
/// use kvp_core::{Options, PoolMode};
///
/// let options = Options::new()
///     .mode(PoolMode::Full)
///     .lock_timeout(Some(Duration::from_millis(500)))
///     .sync_on_write(true);
/// assert_eq!(options.get_mode(), PoolMode::Full);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub(crate) mode: PoolMode,
    pub(crate) lock_timeout: Option<Duration>,
    pub(crate) sync_on_write: bool,
    pub(crate) create_mode: u32,
    pub(crate) boot_time: BootTime,
    pub(crate) max_pool_bytes: u64,
    pub(crate) wait_check: Option<WaitCheck>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            mode: PoolMode::Safe,
            lock_timeout: Some(DEFAULT_LOCK_TIMEOUT),
            sync_on_write: false,
            create_mode: DEFAULT_CREATE_MODE,
            boot_time: BootTime::System,
            max_pool_bytes: DEFAULT_MAX_POOL_BYTES,
            wait_check: None,
        }
    }
}

impl Options {
    /// Safe mode, a lock timeout of [`DEFAULT_LOCK_TIMEOUT`], no sync, files
    /// created 0600, whole-pool reads capped at [`DEFAULT_MAX_POOL_BYTES`].
    pub fn new() -> Options {
        Options::default()
    }

    /// Which limits writes must meet.
    pub fn mode(mut self, mode: PoolMode) -> Options {
        self.mode = mode;
        self
    }

    /// How long to wait for the pool's locks before failing with
    /// [`crate::Error::LockTimeout`] (default [`DEFAULT_LOCK_TIMEOUT`]).
    /// `None` waits as long as it takes, as the daemon and cloud-init do;
    /// then any user who can read the pool can stall the caller forever. A
    /// timeout too large to add to the clock counts as `None`.
    pub fn lock_timeout(mut self, timeout: Option<Duration>) -> Options {
        self.lock_timeout = timeout;
        self
    }

    /// Whether to `fdatasync` each write before its lock is released.
    pub fn sync_on_write(mut self, sync: bool) -> Options {
        self.sync_on_write = sync;
        self
    }

    /// Permission bits for a pool file this store creates (masked by the
    /// process umask, as `open(2)` does). Opening fails with
    /// [`Error::InvalidOption`] for bits beyond 0o777 or that let group or
    /// others write: writes refuse such a file.
    pub fn create_mode(mut self, mode: u32) -> Options {
        self.create_mode = mode;
        self
    }

    /// The largest pool, in bytes, that a whole-pool read (records,
    /// entries, dump, unique keys, check) accepts before it fails with
    /// [`Error::PoolTooLarge`]; default [`DEFAULT_MAX_POOL_BYTES`]. Those
    /// reads hold every record in memory at once, so this bounds their
    /// memory. Reads and writes of single keys are not capped.
    pub fn max_pool_bytes(mut self, limit: u64) -> Options {
        self.max_pool_bytes = limit;
        self
    }

    /// A check run about every 100 ms while an operation waits for a lock;
    /// when it returns `false` the wait ends with [`Error::Interrupted`].
    pub fn wait_check(mut self, check: Option<WaitCheck>) -> Options {
        self.wait_check = check;
        self
    }

    /// Where staleness checks get the boot time from.
    pub fn boot_time(mut self, boot_time: BootTime) -> Options {
        self.boot_time = boot_time;
        self
    }

    /// The configured mode.
    pub fn get_mode(&self) -> PoolMode {
        self.mode
    }

    /// The configured lock timeout.
    pub fn get_lock_timeout(&self) -> Option<Duration> {
        self.lock_timeout
    }

    /// Whether writes are synced.
    pub fn get_sync_on_write(&self) -> bool {
        self.sync_on_write
    }

    /// The permission bits for new files.
    pub fn get_create_mode(&self) -> u32 {
        self.create_mode
    }

    /// Where boot time comes from.
    pub fn get_boot_time(&self) -> BootTime {
        self.boot_time
    }

    /// The cap for whole-pool reads.
    pub fn get_max_pool_bytes(&self) -> u64 {
        self.max_pool_bytes
    }

    /// Refuses options that would make the store unusable or unsafe.
    fn validate(&self) -> Result<()> {
        if self.create_mode & !0o777 != 0 || self.create_mode & 0o022 != 0 {
            return Err(Error::InvalidOption {
                option: "create_mode",
                reason: format!(
                    "{:#o}: give permission bits within 0o755 (group and others may read but never write a pool)",
                    self.create_mode
                ),
            });
        }
        Ok(())
    }

    /// Opens the pool file at `path`, which may be anywhere. A symlink there
    /// is followed when root or the caller owns it, since the caller named
    /// the path; the file found is then pinned, and every later operation
    /// checks that the path still names it ([`Error::PoolReplaced`]).
    /// Nothing is created until the first write.
    pub fn open(self, path: impl Into<PathBuf>) -> Result<FileStore> {
        self.validate()?;
        FileStore::with_options(path.into(), true, self)
    }

    /// Opens `pool` in `dir`, or in /var/lib/hyperv when `dir` is `None`. A
    /// symlink in place of the pool file is refused rather than followed out
    /// of the directory.
    pub fn open_pool(self, pool: Pool, dir: Option<&Path>) -> Result<FileStore> {
        self.validate()?;
        let dir = dir.unwrap_or(Path::new(DEFAULT_DIR));
        FileStore::with_options(pool.path_in(dir), false, self)
    }
}
