//! The two lock families every pool operation takes.
//!
//! cloud-init locks pools with `flock(2)`; hv_kvp_daemon with a classic
//! POSIX `fcntl` record lock. On Linux the two families do not see each
//! other, so we take both: `flock` first, then an OFD lock (`F_OFD_SETLKW`),
//! which does conflict with the daemon's POSIX lock in both directions. Both
//! belong to the open file description, so every operation opens its own
//! descriptor: threads of one process, and a parent and its forked child,
//! then exclude each other too.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::error::{Error, LockHolder, Result};
use crate::store::WaitCheck;

/// Longest pause between two attempts while polling for a lock.
const MAX_PAUSE: Duration = Duration::from_millis(10);

/// Shared for reading, exclusive for writing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LockKind {
    Shared,
    Exclusive,
}

/// When and how a wait for a lock ends.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Wait<'a> {
    /// When to give up; `None` waits as long as it takes.
    pub(crate) deadline: Option<Instant>,
    /// The timeout the deadline came from, for the error message.
    pub(crate) timeout: Duration,
    /// The caller's interrupt check.
    pub(crate) check: Option<&'a WaitCheck>,
}

impl Wait<'_> {
    /// The error for a wait that ran out, naming `holder`.
    pub(crate) fn timed_out(&self, path: &Path, holder: LockHolder) -> Error {
        Error::LockTimeout {
            path: path.to_path_buf(),
            timeout: self.timeout,
            holder,
        }
    }
}

/// Why a wait ended without the lock.
enum Stopped {
    TimedOut,
    Interrupted,
}

/// A descriptor holding both locks, released in reverse order on drop, on
/// every path including errors and panics.
pub(crate) struct PoolLock {
    file: File,
}

impl PoolLock {
    /// Takes flock, then the OFD lock. `wait` bounds the whole wait; on
    /// expiry nothing is held and [`Error::LockTimeout`] names what held
    /// the lock, as far as it can tell. A failure hands the file back, so
    /// that the caller can still say what else was wrong with it.
    pub(crate) fn acquire(
        file: File,
        path: &Path,
        kind: LockKind,
        wait: Wait<'_>,
    ) -> std::result::Result<PoolLock, (Error, File)> {
        let (flock_op, ofd_type) = match kind {
            LockKind::Shared => (libc::LOCK_SH, libc::F_RDLCK),
            LockKind::Exclusive => (libc::LOCK_EX, libc::F_WRLCK),
        };
        let stopped = |stop: Stopped, holder: LockHolder| match stop {
            Stopped::TimedOut => wait.timed_out(path, holder),
            Stopped::Interrupted => Error::Interrupted {
                path: path.to_path_buf(),
            },
        };
        match wait_for(wait, |blocking| flock(&file, flock_op, blocking)) {
            Ok(Ok(())) => {}
            Ok(Err(stop)) => return Err((stopped(stop, LockHolder::Flock), file)),
            Err(e) => return Err((Error::io("lock (flock)", path)(e), file)),
        }
        let error = match wait_for(wait, |blocking| ofd_lock(&file, ofd_type, blocking)) {
            Ok(Ok(())) => return Ok(PoolLock { file }),
            Ok(Err(stop)) => {
                let holder =
                    fcntl_holder(&file, ofd_type)
                        .ok()
                        .flatten()
                        .map_or(LockHolder::Unknown, |h| match h.pid {
                            Some(pid) => LockHolder::Posix { pid },
                            None => LockHolder::Ofd,
                        });
                stopped(stop, holder)
            }
            Err(e) => Error::io("lock (fcntl F_OFD_SETLKW)", path)(e),
        };
        // Errors cannot be reported here; closing the descriptor releases
        // the flock in any case.
        let _ = flock(&file, libc::LOCK_UN, false);
        Err((error, file))
    }

    /// The locked descriptor.
    pub(crate) fn file(&self) -> &File {
        &self.file
    }
}

impl Drop for PoolLock {
    fn drop(&mut self) {
        // Errors cannot be reported from drop; closing the descriptor, which
        // follows, releases both locks in any case.
        let _ = ofd_lock(&self.file, libc::F_UNLCK, false);
        let _ = flock(&self.file, libc::LOCK_UN, false);
    }
}

/// Runs `try_lock` blocking when nothing bounds the wait, or else in
/// non-blocking attempts with a growing pause, running the caller's check
/// every [`crate::store::CHECK_EVERY`], until the deadline.
fn wait_for(
    wait: Wait<'_>,
    mut try_lock: impl FnMut(bool) -> io::Result<bool>,
) -> io::Result<std::result::Result<(), Stopped>> {
    if wait.deadline.is_none() && wait.check.is_none() {
        return try_lock(true).map(|_| Ok(()));
    }
    let mut pause = Duration::from_micros(50);
    let mut next_check = Instant::now() + crate::store::CHECK_EVERY;
    loop {
        if try_lock(false)? {
            return Ok(Ok(()));
        }
        let now = Instant::now();
        if wait.deadline.is_some_and(|deadline| now >= deadline) {
            return Ok(Err(Stopped::TimedOut));
        }
        if now >= next_check {
            if wait.check.is_some_and(|check| !check.keep_waiting()) {
                return Ok(Err(Stopped::Interrupted));
            }
            next_check = now + crate::store::CHECK_EVERY;
        }
        let left = wait.deadline.map_or(pause, |deadline| deadline - now);
        std::thread::sleep(pause.min(left));
        pause = (pause * 2).min(MAX_PAUSE);
    }
}

/// `Ok(true)` when taken, `Ok(false)` when a non-blocking attempt found it held.
fn flock(file: &File, operation: libc::c_int, blocking: bool) -> io::Result<bool> {
    let operation = if blocking || operation == libc::LOCK_UN {
        operation
    } else {
        operation | libc::LOCK_NB
    };
    loop {
        // SAFETY: flock only reads its integer arguments; the descriptor is
        // owned by `file`, which outlives the call.
        let rc = unsafe { libc::flock(file.as_raw_fd(), operation) };
        if rc == 0 {
            return Ok(true);
        }
        let err = io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::EWOULDBLOCK) if !blocking => return Ok(false),
            _ => return Err(err),
        }
    }
}

fn whole_file(lock_type: libc::c_int) -> libc::flock {
    // SAFETY: `flock` is a plain C struct of integers; all-zero is valid and
    // means "from offset 0, length 0 = to the end, pid 0" as OFD locks require.
    let mut region: libc::flock = unsafe { std::mem::zeroed() };
    // The libc field types differ between targets; the constants always fit.
    region.l_type = lock_type as libc::c_short;
    region.l_whence = libc::SEEK_SET as libc::c_short;
    region
}

fn ofd_lock(file: &File, lock_type: libc::c_int, blocking: bool) -> io::Result<bool> {
    let command = if blocking {
        libc::F_OFD_SETLKW
    } else {
        libc::F_OFD_SETLK
    };
    let region = whole_file(lock_type);
    loop {
        // SAFETY: `region` is a valid, initialised flock struct that lives
        // across the call; the descriptor is owned by `file`.
        let rc = unsafe { libc::fcntl(file.as_raw_fd(), command, &region) };
        if rc == 0 {
            return Ok(true);
        }
        let err = io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::EAGAIN | libc::EACCES) if !blocking => return Ok(false),
            _ => return Err(err),
        }
    }
}

/// Who holds a lock on a pool file right now, as far as one probe can tell.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LockProbe {
    /// An fcntl lock (POSIX, as the daemon takes, or OFD, as this library
    /// takes) that would block a writer.
    pub fcntl: Option<FcntlHolder>,
    /// Whether some other descriptor holds a `flock` (as cloud-init takes).
    pub flock_held: bool,
}

/// One conflicting fcntl lock, as `F_OFD_GETLK` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FcntlHolder {
    /// Whether it is a write (exclusive) lock rather than a read lock.
    pub exclusive: bool,
    /// The holder's pid for a classic POSIX lock; `None` for an OFD lock,
    /// which belongs to no process.
    pub pid: Option<i32>,
}

/// The fcntl lock that would block a lock of `lock_type` on `file`, as
/// `F_OFD_GETLK` reports it; `None` when there is none.
fn fcntl_holder(file: &File, lock_type: libc::c_int) -> io::Result<Option<FcntlHolder>> {
    let mut region = whole_file(lock_type);
    // SAFETY: `region` is a valid flock struct that F_OFD_GETLK fills in;
    // the descriptor is owned by `file`, which outlives the call.
    let rc = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_OFD_GETLK, &mut region) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(
        (i32::from(region.l_type) != libc::F_UNLCK).then(|| FcntlHolder {
            exclusive: i32::from(region.l_type) == libc::F_WRLCK,
            pid: (region.l_pid > 0).then_some(region.l_pid),
        }),
    )
}

/// Reports who holds locks on an open pool file without waiting. Briefly
/// takes and drops a non-blocking flock to learn whether one is held.
/// [`crate::FileStore::probe_locks`] opens the file as every operation does.
pub(crate) fn probe(file: &File, path: &Path) -> Result<LockProbe> {
    let fcntl =
        fcntl_holder(file, libc::F_WRLCK).map_err(Error::io("lock probe (F_OFD_GETLK)", path))?;
    let flock_free =
        flock(file, libc::LOCK_EX, false).map_err(Error::io("lock probe (flock)", path))?;
    if flock_free {
        flock(file, libc::LOCK_UN, false).map_err(Error::io("unlock", path))?;
    }
    Ok(LockProbe {
        fcntl,
        flock_held: !flock_free,
    })
}
