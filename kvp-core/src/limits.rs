//! What a store accepts for writing, per [`PoolMode`].
//!
//! The kernel converts guest records to UTF-16 for the host and silently cuts
//! keys at 254 and values at 1022 code units (`(512/2)-2`, `(2048/2)-2` in
//! drivers/hv/hv_kvp.c). `Safe` refuses what would arrive cut; `Full` only
//! guarantees that the text and its NUL fit the field.

use crate::error::{Error, Field, Unit};
use crate::record::{KEY_SIZE, VALUE_SIZE};

/// Most unique keys a pool may hold before `insert` of a new key fails.
/// (A policy shared with azure-init; the daemon itself has no limit.)
pub const MAX_UNIQUE_KEYS: usize = 1024;
/// Safe mode: most UTF-16 code units in a key that the host receives whole.
pub const SAFE_KEY_UTF16_UNITS: usize = KEY_SIZE / 2 - 2;
/// Safe mode: most UTF-16 code units in a value that the host receives whole.
pub const SAFE_VALUE_UTF16_UNITS: usize = VALUE_SIZE / 2 - 2;
/// Most UTF-8 bytes in a key: the field minus its NUL.
pub const MAX_KEY_BYTES: usize = KEY_SIZE - 1;
/// Most UTF-8 bytes in a value: the field minus its NUL.
pub const MAX_VALUE_BYTES: usize = VALUE_SIZE - 1;

/// Which limits a store enforces on writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum PoolMode {
    /// The record reaches the host intact: key 1..=254 and value 0..=1022
    /// UTF-16 code units, each also within its field with a NUL.
    #[default]
    Safe,
    /// Anything that fits the field with a NUL: key 1..=511 and value
    /// 0..=2047 UTF-8 bytes. The host may see such records truncated.
    Full,
}

impl PoolMode {
    /// The lower-case name, as the CLI and bindings spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            PoolMode::Safe => "safe",
            PoolMode::Full => "full",
        }
    }

    /// Checks one key/value pair against this mode.
    pub fn check(self, key: &str, value: &str) -> Result<(), Error> {
        self.check_key(key)?;
        self.check_value(value)
    }

    /// Checks a key alone: non-empty, no NUL, within this mode's limits.
    pub fn check_key(self, key: &str) -> Result<(), Error> {
        if key.is_empty() {
            return Err(Error::EmptyKey);
        }
        if key.as_bytes().contains(&0) {
            return Err(Error::Nul { field: Field::Key });
        }
        self.check_size(Field::Key, key, SAFE_KEY_UTF16_UNITS, MAX_KEY_BYTES)
    }

    /// Checks a value alone: no NUL, within this mode's limits.
    pub fn check_value(self, value: &str) -> Result<(), Error> {
        if value.as_bytes().contains(&0) {
            return Err(Error::Nul {
                field: Field::Value,
            });
        }
        self.check_size(Field::Value, value, SAFE_VALUE_UTF16_UNITS, MAX_VALUE_BYTES)
    }

    fn check_size(
        self,
        field: Field,
        text: &str,
        max_units: usize,
        max_bytes: usize,
    ) -> Result<(), Error> {
        if self == PoolMode::Safe {
            let units = utf16_len(text);
            if units > max_units {
                return Err(Error::too_large(
                    field,
                    max_units,
                    units,
                    Unit::Utf16CodeUnits,
                ));
            }
        }
        if text.len() > max_bytes {
            return Err(Error::too_large(field, max_bytes, text.len(), Unit::Bytes));
        }
        Ok(())
    }
}

impl std::str::FromStr for PoolMode {
    type Err = Error;

    fn from_str(s: &str) -> Result<PoolMode, Error> {
        match s.to_ascii_lowercase().as_str() {
            "safe" => Ok(PoolMode::Safe),
            "full" => Ok(PoolMode::Full),
            _ => Err(Error::UnknownName {
                what: "pool mode",
                name: s.to_owned(),
                expected: "safe or full",
            }),
        }
    }
}

impl std::fmt::Display for PoolMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// UTF-16 code units of a string, counted from its UTF-8 without converting:
/// characters of four UTF-8 bytes take two units, all others one.
pub fn utf16_len(text: &str) -> usize {
    text.chars().map(char::len_utf16).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejects(mode: PoolMode, key: &str, value: &str) -> Error {
        mode.check(key, value).expect_err("should be rejected")
    }

    #[test]
    fn safe_counts_utf16_units_not_bytes() {
        let two_byte = "é".repeat(600);
        assert_eq!(two_byte.len(), 1200);
        PoolMode::Safe.check("k", &two_byte).expect("600 units fit");
        let three_byte = "€".repeat(1000);
        match rejects(PoolMode::Safe, "k", &three_byte) {
            Error::ValueTooLarge {
                limit,
                actual,
                unit,
            } => {
                assert_eq!((limit, actual, unit), (2047, 3000, Unit::Bytes));
            }
            other => panic!("unexpected {other:?}"),
        }
        match rejects(PoolMode::Safe, "k", &"a".repeat(1023)) {
            Error::ValueTooLarge {
                limit,
                actual,
                unit,
            } => {
                assert_eq!((limit, actual, unit), (1022, 1023, Unit::Utf16CodeUnits));
            }
            other => panic!("unexpected {other:?}"),
        }
        PoolMode::Safe
            .check("k", &"a".repeat(1022))
            .expect("limit fits");
    }

    #[test]
    fn safe_key_limits() {
        PoolMode::Safe
            .check(&"k".repeat(254), "")
            .expect("254 fits");
        assert!(matches!(
            rejects(PoolMode::Safe, &"k".repeat(255), ""),
            Error::KeyTooLarge {
                limit: 254,
                actual: 255,
                unit: Unit::Utf16CodeUnits
            }
        ));
        // 254 two-byte chars: 508 bytes, fits the 511-byte field too.
        PoolMode::Safe.check(&"ü".repeat(254), "").expect("fits");
        // 200 three-byte chars: 200 units but 600 bytes.
        assert!(matches!(
            rejects(PoolMode::Safe, &"€".repeat(200), ""),
            Error::KeyTooLarge {
                limit: 511,
                actual: 600,
                unit: Unit::Bytes
            }
        ));
        // A four-byte character counts as two units.
        assert_eq!(utf16_len("😀"), 2);
        PoolMode::Safe
            .check(&"😀".repeat(127), "")
            .expect("254 units");
        assert!(matches!(
            rejects(PoolMode::Safe, &"😀".repeat(128), ""),
            Error::KeyTooLarge {
                limit: 254,
                actual: 256,
                ..
            }
        ));
    }

    #[test]
    fn full_counts_bytes() {
        PoolMode::Full
            .check(&"k".repeat(511), &"v".repeat(2047))
            .expect("fits");
        assert!(matches!(
            rejects(PoolMode::Full, &"k".repeat(512), ""),
            Error::KeyTooLarge {
                limit: 511,
                actual: 512,
                unit: Unit::Bytes
            }
        ));
        assert!(matches!(
            rejects(PoolMode::Full, "k", &"v".repeat(2048)),
            Error::ValueTooLarge {
                limit: 2047,
                actual: 2048,
                unit: Unit::Bytes
            }
        ));
    }

    #[test]
    fn empty_key_and_nul_are_rejected_in_both_modes() {
        for mode in [PoolMode::Safe, PoolMode::Full] {
            assert!(matches!(rejects(mode, "", "v"), Error::EmptyKey));
            assert!(matches!(
                rejects(mode, "a\0b", "v"),
                Error::Nul { field: Field::Key }
            ));
            assert!(matches!(
                rejects(mode, "k", "v\0"),
                Error::Nul {
                    field: Field::Value
                }
            ));
            mode.check("k", "").expect("empty value is fine");
        }
    }

    #[test]
    fn mode_parses_by_name() {
        assert_eq!("SAFE".parse::<PoolMode>().expect("parses"), PoolMode::Safe);
        assert_eq!("full".parse::<PoolMode>().expect("parses"), PoolMode::Full);
        assert!("fast".parse::<PoolMode>().is_err());
    }
}
