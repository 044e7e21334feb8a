//! Event ids: UUIDs (version 4 layout) made without a system call per
//! event.
//!
//! A span's start and finish share one id. Drawing 16 random bytes for
//! each would cost the caller a `getrandom` call; instead each layer draws
//! one random UUID when it is built and numbers its events in the low 48
//! bits. Ids are then unique within a layer for 2^48 events, and across
//! processes and boots as random ids are (the other 74 random bits).

use std::sync::atomic::{AtomicU64, Ordering};

use uuid::{Builder, Uuid};

const COUNTER_BITS: u64 = (1 << 48) - 1;

/// Hands out event ids.
#[derive(Debug)]
pub(crate) struct IdSource {
    hi: u64,
    lo: u64,
    next: AtomicU64,
}

impl IdSource {
    /// A source seeded with one random UUID.
    pub(crate) fn new() -> IdSource {
        let (hi, lo) = Uuid::new_v4().as_u64_pair();
        IdSource {
            hi,
            lo: lo & !COUNTER_BITS,
            next: AtomicU64::new(0),
        }
    }

    /// The next id.
    pub(crate) fn next(&self) -> Uuid {
        let n = self.next.fetch_add(1, Ordering::Relaxed) & COUNTER_BITS;
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.hi.to_be_bytes());
        bytes[8..].copy_from_slice(&(self.lo | n).to_be_bytes());
        // Sets the version (4) and variant bits, which lie outside the
        // counter's 48 bits.
        Builder::from_random_bytes(bytes).into_uuid()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_distinct_version_4_uuids() {
        let source = IdSource::new();
        let ids: HashSet<Uuid> = (0..10_000).map(|_| source.next()).collect();
        assert_eq!(ids.len(), 10_000);
        for id in &ids {
            assert_eq!(id.get_version_num(), 4);
            assert_eq!(id.get_variant(), uuid::Variant::RFC4122);
            let text = id.hyphenated().to_string();
            assert_eq!(Uuid::parse_str(&text).ok(), Some(*id));
        }
    }

    #[test]
    fn two_sources_do_not_collide() {
        let (a, b) = (IdSource::new(), IdSource::new());
        assert_ne!(a.next(), b.next());
    }
}
