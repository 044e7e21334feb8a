//! The record codec: one key/value pair as a fixed 2560-byte slot.
//!
//! A pool file is a flat array of these slots with no header. Each field
//! holds UTF-8 text terminated by the first NUL; whatever follows that NUL is
//! garbage that `hv_kvp_daemon` leaves behind (it copies only the new bytes
//! over an old value), so decoding must stop there rather than trim.

use std::borrow::Cow;

use serde::Serialize;

/// Width of the key field in bytes (`HV_KVP_EXCHANGE_MAX_KEY_SIZE`).
pub const KEY_SIZE: usize = 512;
/// Width of the value field in bytes (`HV_KVP_EXCHANGE_MAX_VALUE_SIZE`).
pub const VALUE_SIZE: usize = 2048;
/// Width of one record: key field followed by value field.
pub const RECORD_SIZE: usize = KEY_SIZE + VALUE_SIZE;

/// One record as text. Invalid UTF-8 has been replaced with U+FFFD.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Record {
    /// The key, up to its first NUL.
    pub key: String,
    /// The value, up to its first NUL.
    pub value: String,
}

/// One record as the exact bytes before the first NUL of each field.
///
/// Use this level when a pool may hold bytes that are not UTF-8 and they
/// must be seen as they are.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RawRecord {
    /// Key bytes, up to the first NUL (or the whole field when it has none).
    pub key: Vec<u8>,
    /// Value bytes, up to the first NUL (or the whole field when it has none).
    pub value: Vec<u8>,
}

impl RawRecord {
    /// Decodes one 2560-byte slot. Slices of any other length are treated
    /// as if they were zero-padded or cut to [`RECORD_SIZE`].
    pub fn decode(slot: &[u8]) -> RawRecord {
        let (key, value) = split_slot(slot);
        RawRecord {
            key: field_text(key).to_vec(),
            value: field_text(value).to_vec(),
        }
    }

    /// The text form, replacing invalid UTF-8 with U+FFFD so that one odd
    /// record never makes a whole read fail.
    pub fn to_record(&self) -> Record {
        Record {
            key: decode_lossy(&self.key).into_owned(),
            value: decode_lossy(&self.value).into_owned(),
        }
    }
}

impl From<RawRecord> for Record {
    fn from(raw: RawRecord) -> Record {
        raw.to_record()
    }
}

/// Splits a slot into its key field and value field.
pub fn split_slot(slot: &[u8]) -> (&[u8], &[u8]) {
    let key_end = slot.len().min(KEY_SIZE);
    let value_end = slot.len().min(RECORD_SIZE);
    (&slot[..key_end], &slot[key_end..value_end])
}

/// The meaningful bytes of a field: everything before its first NUL, or the
/// whole field when it holds no NUL.
pub fn field_text(field: &[u8]) -> &[u8] {
    // memchr searches with SIMD: several times faster than a byte loop.
    memchr::memchr(0, field).map_or(field, |end| &field[..end])
}

/// `text` as a `str`, each invalid UTF-8 sequence replaced by U+FFFD,
/// borrowed when it is valid. Same result as `String::from_utf8_lossy`, but
/// valid text is checked by `str::from_utf8`, which takes ASCII a word at
/// a time where the lossy walk goes byte by byte (a fifth of a full pool's
/// `entries` when every value went through it).
pub fn decode_lossy(text: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(text) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(text),
    }
}

/// `text` as a `String`, as [`decode_lossy`] gives it, reusing the vector
/// when it is valid UTF-8 (no copy).
pub fn into_text(text: Vec<u8>) -> String {
    String::from_utf8(text)
        .unwrap_or_else(|invalid| String::from_utf8_lossy(invalid.as_bytes()).into_owned())
}

/// Whether a key field holds exactly `key`: the bytes match and are followed
/// by a NUL or by the end of the field. No decoding, no allocation. A key
/// that contains a NUL matches nothing: a field's text ends at its first
/// NUL, so no record holds such a key (`a\0` must not match `a`, nor
/// `a\0b` the garbage after a NUL).
pub fn key_field_matches(field: &[u8], key: &[u8]) -> bool {
    !key.contains(&0)
        && field.len() >= key.len()
        && &field[..key.len()] == key
        && (field.len() == key.len() || field[key.len()] == 0)
}

/// Encodes a key and value into a zero-filled slot. Bytes beyond a field's
/// width are cut; callers validate limits before encoding.
pub fn encode(key: &[u8], value: &[u8]) -> [u8; RECORD_SIZE] {
    let mut slot = [0u8; RECORD_SIZE];
    encode_into(&mut slot, key, value);
    slot
}

/// Encodes into an existing slot, zero-filling whatever the text leaves.
pub fn encode_into(slot: &mut [u8; RECORD_SIZE], key: &[u8], value: &[u8]) {
    slot.fill(0);
    let key_len = key.len().min(KEY_SIZE);
    let value_len = value.len().min(VALUE_SIZE);
    slot[..key_len].copy_from_slice(&key[..key_len]);
    slot[KEY_SIZE..KEY_SIZE + value_len].copy_from_slice(&value[..value_len]);
}

/// Encodes a zero-filled value field.
pub fn encode_value(value: &[u8]) -> [u8; VALUE_SIZE] {
    let mut field = [0u8; VALUE_SIZE];
    let len = value.len().min(VALUE_SIZE);
    field[..len].copy_from_slice(&value[..len]);
    field
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_zero_fills_and_decode_round_trips() {
        let slot = encode(b"key", b"value");
        assert_eq!(slot.len(), RECORD_SIZE);
        assert!(slot[3..KEY_SIZE].iter().all(|&b| b == 0));
        assert!(slot[KEY_SIZE + 5..].iter().all(|&b| b == 0));
        let raw = RawRecord::decode(&slot);
        assert_eq!(raw.key, b"key");
        assert_eq!(raw.value, b"value");
    }

    #[test]
    fn decode_stops_at_first_nul_and_ignores_garbage() {
        let mut slot = encode(b"VirtualMachineName", b"short");
        slot[KEY_SIZE + 6..KEY_SIZE + 20].copy_from_slice(b"er-long-origin");
        slot[19..25].copy_from_slice(b"######");
        let raw = RawRecord::decode(&slot);
        assert_eq!(raw.key, b"VirtualMachineName");
        assert_eq!(raw.value, b"short");
    }

    #[test]
    fn field_without_nul_is_taken_whole() {
        let slot = [b'k'; RECORD_SIZE];
        let raw = RawRecord::decode(&slot);
        assert_eq!(raw.key.len(), KEY_SIZE);
        assert_eq!(raw.value.len(), VALUE_SIZE);
    }

    #[test]
    fn invalid_utf8_decodes_lossily_and_exactly_raw() {
        let slot = encode(b"k", &[b'a', 0xff, b'b']);
        let raw = RawRecord::decode(&slot);
        assert_eq!(raw.value, vec![b'a', 0xff, b'b']);
        assert_eq!(raw.to_record().value, "a\u{fffd}b");
    }

    #[test]
    fn decode_lossy_is_from_utf8_lossy_and_borrows_valid_text() {
        for bytes in [
            &b"plain ascii"[..],
            "Z\u{fc}rich \u{1f600}".as_bytes(),
            b"a\xffb",
            b"\xe2\x82",
            b"\xf0\x9f\x98\x80\xc3",
            b"",
        ] {
            assert_eq!(
                decode_lossy(bytes),
                String::from_utf8_lossy(bytes),
                "{bytes:?}"
            );
        }
        assert!(matches!(decode_lossy(b"valid"), Cow::Borrowed("valid")));
        assert_eq!(into_text(b"a\xffb".to_vec()), "a\u{fffd}b");
        assert_eq!(into_text("Z\u{fc}rich".into()), "Z\u{fc}rich");
    }

    #[test]
    fn key_matching_needs_nul_or_field_end() {
        let slot = encode(b"abc", b"");
        let (key, _) = split_slot(&slot);
        assert!(key_field_matches(key, b"abc"));
        assert!(!key_field_matches(key, b"ab"));
        assert!(!key_field_matches(key, b"abcd"));
        let full = [b'x'; KEY_SIZE];
        assert!(key_field_matches(&full, &[b'x'; KEY_SIZE]));
        assert!(!key_field_matches(&full, &[b'x'; KEY_SIZE - 1]));
    }

    #[test]
    fn a_key_with_a_nul_matches_nothing() {
        let slot = encode(b"a", b"1");
        let (key, _) = split_slot(&slot);
        assert!(!key_field_matches(key, b"a\0"));
        let mut daemon = encode(b"a", b"");
        daemon[2] = b'b'; // garbage after the NUL, as the daemon leaves it
        let (key, _) = split_slot(&daemon);
        assert!(!key_field_matches(key, b"a\0b"));
        assert!(key_field_matches(key, b"a"));
    }
}
