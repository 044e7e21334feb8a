//! Where a pool file lives: a directory descriptor checked component by
//! component, and the file's name in it.
//!
//! A path is never handed to `open(2)` whole. Each directory is opened with
//! `O_PATH|O_DIRECTORY|O_NOFOLLOW` relative to the one before it (and
//! created with `mkdirat` there when a write needs it), so renaming a
//! directory and putting a symlink in its place cannot redirect a pool.
//! Symlinks on the way are followed only when root or the caller owns them,
//! as the kernel's `protected_symlinks` rule does: a symlink an attacker
//! planted is refused, one the administrator made is honoured.

use std::collections::VecDeque;
use std::ffi::{CStr, CString, OsStr};
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use crate::error::{Error, Result};
use crate::sys;

/// Most symlinks followed while resolving one path, as Linux's `MAXSYMLINKS`.
const MAX_SYMLINKS: usize = 40;

/// Permission bits of a directory the library creates (before the umask),
/// as hv_kvp_daemon creates /var/lib/hyperv.
const DIR_MODE: u32 = 0o755;

/// A checked directory and the pool file's name in it.
#[derive(Debug)]
pub(crate) struct Location {
    /// The directory, opened `O_PATH`; it stays valid wherever it is moved.
    pub(crate) dir: OwnedFd,
    /// The file's name in `dir`.
    pub(crate) name: CString,
    /// Whether only root and the caller can change the directory's entries:
    /// it is owned by one of them and writable by no one else (an ACL that
    /// grants more shows in the group bits). Then nobody else can put a
    /// FIFO, a device or another file under the name, and an open need not
    /// look at the name first. Decided once, as the path's symlinks are:
    /// only root or the owner can change it.
    pub(crate) private: bool,
}

/// How to treat the path's last component.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LastComponent {
    /// A symlink there is refused (pools opened by number).
    NoFollow,
    /// A trusted symlink there is followed (pools opened by path, which the
    /// caller named).
    FollowTrusted,
}

/// Resolves `path` to a checked directory and a file name. `Ok(None)` when
/// a directory on the way does not exist and `create` is false.
pub(crate) fn resolve(path: &Path, last: LastComponent, create: bool) -> Result<Option<Location>> {
    let fail = |operation: &'static str| Error::io(operation, path);
    let bytes = path.as_os_str().as_bytes();
    if bytes.is_empty() {
        return Err(fail("open")(io::Error::from_raw_os_error(libc::ENOENT)));
    }
    let mut pending = components(bytes);
    let Some(mut name) = pending.pop_back().filter(|n| n.as_slice() != b"..") else {
        // "/", "dir/" or "..": a directory, never a pool file.
        return Err(Error::NotARegularFile {
            path: path.to_path_buf(),
        });
    };
    let mut dir = start(bytes).map_err(fail("open directory"))?;
    let mut followed = 0;
    loop {
        while let Some(component) = pending.pop_front() {
            let step = enter(&dir, &component, create).map_err(fail("open directory"))?;
            match step {
                Step::Entered(next) => dir = next,
                Step::Missing => return Ok(None),
                Step::Untrusted => return Err(untrusted(path)),
                Step::Symlink(target) => {
                    followed += 1;
                    if followed > MAX_SYMLINKS {
                        return Err(fail("open directory")(io::Error::from_raw_os_error(
                            libc::ELOOP,
                        )));
                    }
                    if target.starts_with(b"/") {
                        dir = start(&target).map_err(fail("open directory"))?;
                    }
                    for part in components(&target).into_iter().rev() {
                        pending.push_front(part);
                    }
                }
            }
        }
        let c_name = sys::c_name(OsStr::from_bytes(&name)).map_err(fail("open"))?;
        if last == LastComponent::FollowTrusted {
            if let Some(target) = trusted_symlink(&dir, &c_name, path)? {
                followed += 1;
                if followed > MAX_SYMLINKS {
                    return Err(fail("open")(io::Error::from_raw_os_error(libc::ELOOP)));
                }
                if target.starts_with(b"/") {
                    dir = start(&target).map_err(fail("open directory"))?;
                }
                pending = components(&target);
                match pending.pop_back().filter(|n| n.as_slice() != b"..") {
                    Some(next) => name = next,
                    None => {
                        return Err(Error::NotARegularFile {
                            path: path.to_path_buf(),
                        })
                    }
                }
                continue;
            }
        }
        let private = sys::fstat(dir.as_fd())
            .is_ok_and(|stat| is_trusted(stat.uid) && stat.permissions() & 0o022 == 0);
        return Ok(Some(Location {
            dir,
            name: c_name,
            private,
        }));
    }
}

/// The path's components without empty ones and `.`.
fn components(bytes: &[u8]) -> VecDeque<Vec<u8>> {
    bytes
        .split(|&b| b == b'/')
        .filter(|part| !part.is_empty() && *part != b".")
        .map(<[u8]>::to_vec)
        .collect()
}

/// The directory a path starts from: the root or the working directory.
fn start(path: &[u8]) -> io::Result<OwnedFd> {
    let origin: &CStr = if path.starts_with(b"/") { c"/" } else { c"." };
    sys::openat(None, origin, libc::O_PATH | libc::O_DIRECTORY, 0)
}

enum Step {
    Entered(OwnedFd),
    Missing,
    Symlink(Vec<u8>),
    Untrusted,
}

/// Opens one directory component below `dir`, creating it if asked.
fn enter(dir: &OwnedFd, component: &[u8], create: bool) -> io::Result<Step> {
    let name = sys::c_name(OsStr::from_bytes(component))?;
    let flags = libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW;
    match sys::openat(Some(dir.as_fd()), &name, flags, 0) {
        Ok(next) => Ok(Step::Entered(next)),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
            if !create {
                return Ok(Step::Missing);
            }
            match sys::mkdirat(dir.as_fd(), &name, DIR_MODE) {
                Err(e) if e.raw_os_error() != Some(libc::EEXIST) => return Err(e),
                _ => {}
            }
            // Whatever is there now must be a real directory: a symlink
            // swapped in after the mkdirat fails here.
            sys::openat(Some(dir.as_fd()), &name, flags, 0).map(Step::Entered)
        }
        Err(e) if matches!(e.raw_os_error(), Some(libc::ELOOP | libc::ENOTDIR)) => {
            let stat = sys::lstatat(dir.as_fd(), &name)?;
            if !stat.is_symlink() {
                return Err(e);
            }
            if !is_trusted(stat.uid) {
                return Ok(Step::Untrusted);
            }
            sys::readlinkat(dir.as_fd(), &name).map(Step::Symlink)
        }
        Err(e) => Err(e),
    }
}

/// The target of a trusted symlink at `name`; `None` when `name` is not a
/// symlink (or does not exist). An untrusted symlink is an error.
fn trusted_symlink(dir: &OwnedFd, name: &CStr, path: &Path) -> Result<Option<Vec<u8>>> {
    match sys::lstatat(dir.as_fd(), name) {
        Ok(stat) if stat.is_symlink() => {
            if !is_trusted(stat.uid) {
                return Err(untrusted(path));
            }
            sys::readlinkat(dir.as_fd(), name)
                .map(Some)
                .map_err(Error::io("read symlink", path))
        }
        Ok(_) => Ok(None),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(None),
        Err(e) => Err(Error::io("inspect", path)(e)),
    }
}

/// A symlink that root or the caller made; anyone else's may be a trap.
fn is_trusted(owner: u32) -> bool {
    owner == 0 || owner == sys::euid()
}

/// The error for a symlink we will not follow: ELOOP, as `O_NOFOLLOW` gives.
fn untrusted(path: &Path) -> Error {
    Error::io(
        "open (refusing to follow a symlink that neither root nor the caller owns)",
        path,
    )(io::Error::from_raw_os_error(libc::ELOOP))
}
