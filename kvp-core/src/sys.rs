//! Thin, safe wrappers over the few `*at` system calls the store needs.
//!
//! Every path the library opens is resolved relative to a directory
//! descriptor it has already checked, so these take a directory and one
//! name, never a whole path.

use std::ffi::{CStr, CString, OsStr};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;

/// The facts about a file that the store decides on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    /// Device and inode: the file's identity.
    pub(crate) id: (u64, u64),
    /// The file type and permission bits (`st_mode`).
    pub(crate) mode: u32,
    /// Hard links.
    pub(crate) nlink: u64,
    /// Owner.
    pub(crate) uid: u32,
    /// Size in bytes.
    pub(crate) size: u64,
}

impl Stat {
    fn from_raw(raw: &libc::stat) -> Stat {
        // The libc field types differ between targets; all fit in u64.
        #[allow(clippy::useless_conversion)]
        Stat {
            id: (u64::from(raw.st_dev), u64::from(raw.st_ino)),
            mode: raw.st_mode,
            nlink: u64::from(raw.st_nlink),
            uid: raw.st_uid,
            size: u64::try_from(raw.st_size).unwrap_or(0),
        }
    }

    /// Whether it is a regular file.
    pub(crate) fn is_file(&self) -> bool {
        self.mode & libc::S_IFMT == libc::S_IFREG
    }

    /// Whether it is a symbolic link.
    pub(crate) fn is_symlink(&self) -> bool {
        self.mode & libc::S_IFMT == libc::S_IFLNK
    }

    /// The permission bits alone.
    pub(crate) fn permissions(&self) -> u32 {
        self.mode & 0o7777
    }
}

/// A name as the C string the kernel takes; a NUL inside cannot name a file.
pub(crate) fn c_name(name: &OsStr) -> io::Result<CString> {
    CString::new(name.as_bytes()).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

fn check(rc: libc::c_int) -> io::Result<libc::c_int> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

/// Retries a call that failed with EINTR.
fn retry<T>(mut call: impl FnMut() -> io::Result<T>) -> io::Result<T> {
    loop {
        match call() {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            other => return other,
        }
    }
}

/// `openat(dir, name, flags | O_CLOEXEC, mode)`; `dir` None is the current
/// directory.
pub(crate) fn openat(
    dir: Option<BorrowedFd<'_>>,
    name: &CStr,
    flags: libc::c_int,
    mode: u32,
) -> io::Result<OwnedFd> {
    let dirfd = dir.map_or(libc::AT_FDCWD, |d| d.as_raw_fd());
    let fd = retry(|| {
        // SAFETY: `name` is a valid NUL-terminated string that outlives the
        // call; `dirfd` is AT_FDCWD or a descriptor borrowed for the call.
        check(unsafe {
            libc::openat(
                dirfd,
                name.as_ptr(),
                flags | libc::O_CLOEXEC,
                mode as libc::c_uint,
            )
        })
    })?;
    // SAFETY: openat just returned this descriptor, and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// What the store asks of a stat: type and permissions, links, owner,
/// inode and size, and no timestamp. Asking for a file's times makes the
/// kernel (multigrain timestamps, Linux 6.13 and later) give its next
/// write a fine-grained time, which that write then records in the inode:
/// measured here, a `fstat` before an append cost the append 15% more
/// than this `statx`, most of it in the write.
const STATX_MASK: libc::c_uint = libc::STATX_TYPE
    | libc::STATX_MODE
    | libc::STATX_NLINK
    | libc::STATX_UID
    | libc::STATX_INO
    | libc::STATX_SIZE;

impl Stat {
    fn from_statx(raw: &libc::statx) -> Stat {
        Stat {
            // As `st_dev` encodes it, so that both compare equal.
            id: (
                libc::makedev(raw.stx_dev_major, raw.stx_dev_minor),
                raw.stx_ino,
            ),
            mode: u32::from(raw.stx_mode),
            nlink: u64::from(raw.stx_nlink),
            uid: raw.stx_uid,
            size: raw.stx_size,
        }
    }
}

/// `statx(dirfd, name, flags, STATX_MASK)`; `None` when the kernel has no
/// statx (before 4.11, or a sandbox that forbids it).
fn statx(dirfd: libc::c_int, name: &CStr, flags: libc::c_int) -> io::Result<Option<Stat>> {
    // SAFETY: `statx` is a plain C struct of integers; all-zero is valid.
    let mut raw: libc::statx = unsafe { std::mem::zeroed() };
    let result = retry(|| {
        // SAFETY: `name` is NUL-terminated and `raw` is writable; both
        // outlive the call, and `dirfd` is a descriptor borrowed for it.
        check(unsafe { libc::statx(dirfd, name.as_ptr(), flags, STATX_MASK, &mut raw) })
    });
    match result {
        Ok(_) => Ok(Some(Stat::from_statx(&raw))),
        Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The entry `name` in `dir` itself, never what a symlink points to.
pub(crate) fn lstatat(dir: BorrowedFd<'_>, name: &CStr) -> io::Result<Stat> {
    if let Some(stat) = statx(dir.as_raw_fd(), name, libc::AT_SYMLINK_NOFOLLOW)? {
        return Ok(stat);
    }
    // SAFETY: `stat` is a plain C struct of integers; all-zero is valid.
    let mut raw: libc::stat = unsafe { std::mem::zeroed() };
    retry(|| {
        // SAFETY: `name` is NUL-terminated and `raw` is writable; both
        // outlive the call, and the descriptor is borrowed for it.
        check(unsafe {
            libc::fstatat(
                dir.as_raw_fd(),
                name.as_ptr(),
                &mut raw,
                libc::AT_SYMLINK_NOFOLLOW,
            )
        })
    })?;
    Ok(Stat::from_raw(&raw))
}

/// The facts about an open descriptor.
pub(crate) fn fstat(fd: BorrowedFd<'_>) -> io::Result<Stat> {
    if let Some(stat) = statx(fd.as_raw_fd(), c"", libc::AT_EMPTY_PATH)? {
        return Ok(stat);
    }
    // SAFETY: `stat` is a plain C struct of integers; all-zero is valid.
    let mut raw: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `raw` is writable and outlives the call; the descriptor is
    // borrowed for it.
    check(unsafe { libc::fstat(fd.as_raw_fd(), &mut raw) })?;
    Ok(Stat::from_raw(&raw))
}

/// `mkdirat(dir, name, mode)`.
pub(crate) fn mkdirat(dir: BorrowedFd<'_>, name: &CStr, mode: u32) -> io::Result<()> {
    retry(|| {
        // SAFETY: `name` is NUL-terminated and outlives the call; the
        // descriptor is borrowed for it.
        check(unsafe { libc::mkdirat(dir.as_raw_fd(), name.as_ptr(), mode as libc::mode_t) })
    })
    .map(drop)
}

/// The target of the symlink `name` in `dir`, at most `PATH_MAX` bytes.
pub(crate) fn readlinkat(dir: BorrowedFd<'_>, name: &CStr) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; libc::PATH_MAX as usize];
    // SAFETY: `buf` is writable for its length and outlives the call;
    // `name` is NUL-terminated; the descriptor is borrowed for the call.
    let n = unsafe {
        libc::readlinkat(
            dir.as_raw_fd(),
            name.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    let n = usize::try_from(n).map_err(|_| io::Error::last_os_error())?;
    if n >= buf.len() {
        // Possibly cut: a target this long is not one we follow.
        return Err(io::Error::from_raw_os_error(libc::ENAMETOOLONG));
    }
    buf.truncate(n);
    Ok(buf)
}

/// The effective user id of this process.
pub(crate) fn euid() -> u32 {
    // SAFETY: geteuid has no arguments and cannot fail.
    unsafe { libc::geteuid() }
}

/// Writes all of `buf` at the end of the file, wherever the end is at the
/// moment of the write (`RWF_APPEND`), so a file that another process
/// truncated in the meantime is never extended with a hole. Falls back to
/// `pwrite` at `offset` on kernels without `RWF_APPEND` (before 4.16).
pub(crate) fn append_all(fd: BorrowedFd<'_>, mut buf: &[u8], mut offset: u64) -> io::Result<()> {
    let mut use_append = true;
    while !buf.is_empty() {
        let iov = libc::iovec {
            iov_base: buf.as_ptr() as *mut libc::c_void,
            iov_len: buf.len(),
        };
        let at =
            libc::off_t::try_from(offset).map_err(|_| io::Error::from_raw_os_error(libc::EFBIG))?;
        let flags = if use_append { libc::RWF_APPEND } else { 0 };
        // SAFETY: `iov` describes `buf`, which is readable for its length
        // and outlives the call; the descriptor is borrowed for it.
        let n = unsafe { libc::pwritev2(fd.as_raw_fd(), &iov, 1, at, flags) };
        if n < 0 {
            let err = io::Error::last_os_error();
            match err.raw_os_error() {
                Some(libc::EINTR) => continue,
                Some(libc::EOPNOTSUPP | libc::EINVAL | libc::ENOSYS) if use_append => {
                    use_append = false;
                    continue;
                }
                _ => return Err(err),
            }
        }
        let n = usize::try_from(n).unwrap_or(0);
        if n == 0 {
            return Err(io::Error::from(io::ErrorKind::WriteZero));
        }
        buf = &buf[n..];
        offset += n as u64;
    }
    Ok(())
}
