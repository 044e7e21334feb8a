//! Whether an append may skip reserving its space: the free-space check
//! and the reuse of its verdict.
//!
//! A reservation (`fallocate`) costs about as much as the rest of an
//! append, and a failed append is cut back anyway, so it only runs when the
//! filesystem is close to full. Learning that is a `fstatfs`, whose verdict
//! "far from full" a store reuses for its next appends: on the same
//! filesystem, for [`SPACE_VERDICT_TTL`], and only while its own appends
//! since the check leave the [`APPEND_HEADROOM`] untouched. Any other
//! verdict ("close to full", or fstatfs failed) is never reused: each
//! append then checks again and reserves.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Free space beyond which an append skips its reservation: far more than
/// any batch of records, so that only a filesystem filled by someone else
/// in the meantime can still fail the write (which is then cut back).
pub(crate) const APPEND_HEADROOM: u64 = 16 << 20;

/// How long a verdict is reused. Other processes can fill the filesystem
/// meanwhile; to make the skipped reservation matter they must write the
/// whole headroom (16 MiB) within this time, and then the append fails as
/// it would without the cache when the filesystem fills in the same
/// instant: the write reports ENOSPC and is cut back, so no torn record
/// remains.
pub(crate) const SPACE_VERDICT_TTL: Duration = Duration::from_millis(100);

/// A `fstatfs` that found the filesystem far from full, and what this
/// store's appends have spent of its free space since.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SpaceVerdict {
    /// The filesystem (`st_dev`) it is about.
    device: u64,
    /// Bytes free then.
    free: u64,
    /// Bytes appended through this store since.
    spent: u64,
    /// When.
    checked: Instant,
}

impl SpaceVerdict {
    /// Whether `len` more bytes on `device` at `now` surely fit with the
    /// headroom to spare, so that the reservation may be skipped.
    fn covers(&self, device: u64, len: u64, now: Instant) -> bool {
        device == self.device
            && now.saturating_duration_since(self.checked) < SPACE_VERDICT_TTL
            && self
                .spent
                .saturating_add(len)
                .saturating_add(APPEND_HEADROOM)
                <= self.free
    }
}

/// Whether `len` bytes about to be appended to `file`, on `device`, surely
/// fit: from the cached verdict while it covers them, else from a new
/// `fstatfs`, whose verdict is cached when it is "far from full".
pub(crate) fn plenty(
    cache: &Mutex<Option<SpaceVerdict>>,
    file: &File,
    device: u64,
    len: u64,
) -> bool {
    let mut cache = cache.lock().unwrap_or_else(PoisonError::into_inner);
    decide(&mut cache, device, len, Instant::now(), || free_bytes(file))
}

/// Drops the cached verdict (after a write failed), so that the next
/// append checks again.
pub(crate) fn forget(cache: &Mutex<Option<SpaceVerdict>>) {
    *cache.lock().unwrap_or_else(PoisonError::into_inner) = None;
}

/// [`plenty`] with the clock and the free-space check given.
fn decide(
    cache: &mut Option<SpaceVerdict>,
    device: u64,
    len: u64,
    now: Instant,
    free: impl FnOnce() -> Option<u64>,
) -> bool {
    if !cache.is_some_and(|verdict| verdict.covers(device, len, now)) {
        *cache = free()
            .map(|free| SpaceVerdict {
                device,
                free,
                spent: 0,
                checked: now,
            })
            .filter(|verdict| verdict.covers(device, len, now));
    }
    match cache {
        Some(verdict) => {
            verdict.spent = verdict.spent.saturating_add(len);
            true
        }
        None => false,
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    const RECORD: u64 = 2560;
    const DEV: u64 = 7;

    /// Runs `decide` and reports whether it skipped the reservation and
    /// whether it called fstatfs.
    fn step(
        cache: &mut Option<SpaceVerdict>,
        device: u64,
        now: Instant,
        free: u64,
    ) -> (bool, bool) {
        let mut checked = false;
        let skip = decide(cache, device, RECORD, now, || {
            checked = true;
            Some(free)
        });
        (skip, checked)
    }

    #[test]
    fn a_far_from_full_verdict_is_reused_without_fstatfs() {
        let (mut cache, t0) = (None, Instant::now());
        let plenty = APPEND_HEADROOM + 100 * RECORD;
        assert_eq!(step(&mut cache, DEV, t0, plenty), (true, true));
        assert_eq!(step(&mut cache, DEV, t0, 0), (true, false), "reused");
    }

    #[test]
    fn a_close_to_full_verdict_is_never_reused() {
        let (mut cache, t0) = (None, Instant::now());
        for _ in 0..3 {
            assert_eq!(step(&mut cache, DEV, t0, APPEND_HEADROOM), (false, true));
        }
        // fstatfs failing is no verdict either.
        assert!(!decide(&mut cache, DEV, RECORD, t0, || None));
        assert!(cache.is_none());
    }

    #[test]
    fn our_own_appends_use_up_the_verdict() {
        let (mut cache, t0) = (None, Instant::now());
        // Room for exactly three records beyond the headroom.
        let free = APPEND_HEADROOM + 3 * RECORD;
        assert_eq!(step(&mut cache, DEV, t0, free), (true, true));
        assert_eq!(step(&mut cache, DEV, t0, free), (true, false));
        assert_eq!(step(&mut cache, DEV, t0, free), (true, false));
        // The fourth would eat into the headroom: checked again, and the
        // filesystem (now full for all we know) decides.
        assert_eq!(step(&mut cache, DEV, t0, free - 3 * RECORD), (false, true));
    }

    #[test]
    fn a_verdict_expires_and_belongs_to_one_filesystem() {
        let (mut cache, t0) = (None, Instant::now());
        let plenty = APPEND_HEADROOM + 100 * RECORD;
        assert_eq!(step(&mut cache, DEV, t0, plenty), (true, true));
        let later = t0 + SPACE_VERDICT_TTL;
        assert_eq!(step(&mut cache, DEV, later, 0), (false, true), "expired");
        assert_eq!(step(&mut cache, DEV, later, plenty), (true, true));
        assert_eq!(
            step(&mut cache, DEV + 1, later, 0),
            (false, true),
            "other device"
        );
    }
}
