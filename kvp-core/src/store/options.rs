//! How a store is opened: mode, lock timeout, durability, file mode, and
//! where boot time comes from.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::Result;
use crate::limits::PoolMode;
use crate::pool::{Pool, DEFAULT_DIR};
use crate::store::file::FileStore;

/// Default permissions of a pool file this library creates: owner only,
/// as libazureinit-kvp does. (The daemon creates its pools 0644.)
pub const DEFAULT_CREATE_MODE: u32 = 0o600;

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
}

impl Default for Options {
    fn default() -> Options {
        Options {
            mode: PoolMode::Safe,
            lock_timeout: None,
            sync_on_write: false,
            create_mode: DEFAULT_CREATE_MODE,
            boot_time: BootTime::System,
        }
    }
}

impl Options {
    /// Safe mode, no lock timeout, no sync, files created 0600.
    pub fn new() -> Options {
        Options::default()
    }

    /// Which limits writes must meet.
    pub fn mode(mut self, mode: PoolMode) -> Options {
        self.mode = mode;
        self
    }

    /// How long to wait for the pool's locks before failing with
    /// [`crate::Error::LockTimeout`]. `None` waits as long as it takes, as
    /// the daemon and cloud-init do.
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
    /// process umask, as `open(2)` does).
    pub fn create_mode(mut self, mode: u32) -> Options {
        self.create_mode = mode & 0o7777;
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

    /// Opens the pool file at `path`, which may be anywhere. A symlink there
    /// is followed, since the caller named the path. Nothing is created
    /// until the first write.
    pub fn open(self, path: impl Into<PathBuf>) -> Result<FileStore> {
        FileStore::with_options(path.into(), true, self)
    }

    /// Opens `pool` in `dir`, or in /var/lib/hyperv when `dir` is `None`. A
    /// symlink in place of the pool file is refused rather than followed out
    /// of the directory.
    pub fn open_pool(self, pool: Pool, dir: Option<&Path>) -> Result<FileStore> {
        let dir = dir.unwrap_or(Path::new(DEFAULT_DIR));
        FileStore::with_options(pool.path_in(dir), false, self)
    }
}
