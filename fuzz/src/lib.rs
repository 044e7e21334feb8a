//! What the fuzz targets share: how an input becomes a pool image and a
//! script of operations.
//!
//! An input is a pool image, optionally followed by a footer that carries
//! a script:
//!
//! ```text
//! input  = body [ script  len:u16-le  MAGIC ]
//! script = flags:u8  operations...
//! ```
//!
//! Without the footer the whole input is the body, taken as a raw pool
//! image with flags 0, so a real pool file (tests/fixtures, the hostile
//! corpus) is a meaningful input as it is. The flags say how the body
//! becomes an image:
//!
//! - [`COMPACT`]: the body is lines of `key=value` (split at the first
//!   `=`), each encoded into a whole 2560-byte record; a line that starts
//!   with `0x7f` becomes a partial trailing record of its other bytes.
//!   Bytes are kept as they are: a NUL in a value leaves garbage after
//!   the NUL, a key of 512 bytes or more leaves a key field with no NUL.
//!   This lets the fuzzer build many records from a few bytes (at most
//!   [`MAX_COMPACT_RECORDS`]; later lines are ignored).
//! - [`WHOLE`]: a raw body is cut to whole records.
//!
//! The other flags are for the targets to read ([`FULL_MODE`],
//! [`SMALL_CAP`]). Records are what reaches deep code, so both ways of
//! writing a body produce mostly whole records: libFuzzer's mutations of a
//! raw pool keep its size unless they insert or erase bytes, and the
//! compact form has no size to break.

use kvp_core::{record, RawRecord, RECORD_SIZE};

/// Marks the end of an input that carries a script.
pub const MAGIC: &[u8; 4] = b"\xffKVP";
/// Most records a compact body makes: two chunks of the store's 64-record
/// walks and a bit, so that chunk boundaries are crossed, while a body of
/// line breaks cannot turn into megabytes of image that every target then
/// scans byte by byte.
pub const MAX_COMPACT_RECORDS: usize = 130;
/// Flag: the body is `key=value` lines, not a raw image.
pub const COMPACT: u8 = 1;
/// Flag: a raw body is cut to whole records.
pub const WHOLE: u8 = 2;
/// Flag: the store enforces [`kvp_core::PoolMode::Full`] instead of Safe.
pub const FULL_MODE: u8 = 4;
/// Flag: the store's `max_pool_bytes` is two records, so whole-pool reads
/// of larger pools are refused.
pub const SMALL_CAP: u8 = 8;

/// An input split into its parts.
#[derive(Debug)]
pub struct Input<'a> {
    /// The pool image the body describes.
    pub image: Vec<u8>,
    /// The flags (0 without a footer).
    pub flags: u8,
    /// The operations after the flags (empty without a footer).
    pub ops: Script<'a>,
}

impl<'a> Input<'a> {
    /// Splits `data` and builds the image; `expand` may rewrite each value
    /// of a compact body (the report targets expand compression macros).
    pub fn parse(data: &'a [u8], expand: impl Fn(&[u8]) -> Vec<u8>) -> Input<'a> {
        let (body, script) = split_footer(data);
        let flags = script.first().copied().unwrap_or(0);
        let ops = Script::new(script.get(1..).unwrap_or_default());
        let image = if flags & COMPACT != 0 {
            compact_image(body, expand)
        } else if flags & WHOLE != 0 {
            body[..body.len() - body.len() % RECORD_SIZE].to_vec()
        } else {
            body.to_vec()
        };
        Input { image, flags, ops }
    }
}

/// The body and the script (flags first) of an input.
pub fn split_footer(data: &[u8]) -> (&[u8], &[u8]) {
    let Some(rest) = data.strip_suffix(MAGIC.as_slice()) else {
        return (data, &[]);
    };
    let Some((len, rest)) = rest
        .len()
        .checked_sub(2)
        .map(|at| (u16::from_le_bytes([rest[at], rest[at + 1]]), &rest[..at]))
    else {
        return (data, &[]);
    };
    match rest.len().checked_sub(usize::from(len)) {
        Some(at) => (&rest[..at], &rest[at..]),
        None => (data, &[]),
    }
}

/// Builds an input from its parts: the inverse of [`Input::parse`]'s split,
/// for seeds and tests.
pub fn join(body: &[u8], flags: u8, ops: &[u8]) -> Vec<u8> {
    let mut out = body.to_vec();
    out.push(flags);
    out.extend_from_slice(ops);
    let len = u16::try_from(ops.len() + 1).expect("script under 64 KiB");
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(MAGIC);
    out
}

fn compact_image(body: &[u8], expand: impl Fn(&[u8]) -> Vec<u8>) -> Vec<u8> {
    let mut image = Vec::new();
    let mut tail: &[u8] = &[];
    for line in body.split(|&b| b == b'\n').take(MAX_COMPACT_RECORDS) {
        if let Some(partial) = line.strip_prefix(&[0x7f]) {
            tail = &partial[..partial.len().min(RECORD_SIZE - 1)];
            continue;
        }
        let (key, value) = match line.iter().position(|&b| b == b'=') {
            Some(at) => (&line[..at], &line[at + 1..]),
            None => (line, &[][..]),
        };
        image.extend_from_slice(&record::encode(key, &expand(value)));
    }
    image.extend_from_slice(tail);
    image
}

/// The whole records of an image, decoded on their own (the oracle the
/// targets compare the stores' streaming reads with).
pub fn records_of(image: &[u8]) -> Vec<RawRecord> {
    image
        .chunks_exact(RECORD_SIZE)
        .map(RawRecord::decode)
        .collect()
}

/// Whether a record holds `key`, by the documented rule: the exact bytes,
/// and a key with a NUL matches nothing.
pub fn holds(record: &RawRecord, key: &[u8]) -> bool {
    !key.contains(&0) && record.key == key
}

/// A cursor over script bytes; reading past the end yields zeros, so every
/// script is valid.
#[derive(Debug, Clone)]
pub struct Script<'a> {
    data: &'a [u8],
}

impl<'a> Script<'a> {
    /// A script over `data`.
    pub fn new(data: &'a [u8]) -> Script<'a> {
        Script { data }
    }

    /// Whether every byte was read.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The next byte, 0 past the end.
    pub fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }

    /// The next `n` bytes, fewer at the end.
    pub fn bytes(&mut self, n: usize) -> &'a [u8] {
        let (head, rest) = self.data.split_at(n.min(self.data.len()));
        self.data = rest;
        head
    }

    /// A key: one of `known` (the pool's keys) when the selector is below
    /// 0x80 and there are any; a literal of up to 63 bytes; or a generated
    /// run of one character long enough to cross the limits (254 UTF-16
    /// units, 511 bytes).
    pub fn key(&mut self, known: &[Vec<u8>]) -> Vec<u8> {
        let selector = self.byte();
        match selector {
            s if s < 0x80 && !known.is_empty() => known[usize::from(s) % known.len()].clone(),
            s if s < 0xc0 => self.bytes(usize::from(s & 0x3f)).to_vec(),
            s => {
                let reps = usize::from(self.byte()) * 2 + usize::from((s >> 2) & 1);
                run(s, reps)
            }
        }
    }

    /// A value: a literal of up to 127 bytes, or a generated run of one
    /// character of up to 2310 repetitions (1022 and 1023 UTF-16 units,
    /// 2047 and 2048 bytes are all reachable).
    pub fn value(&mut self) -> Vec<u8> {
        let selector = self.byte();
        if selector < 0x80 {
            self.bytes(usize::from(selector)).to_vec()
        } else {
            let reps = usize::from(self.byte()) * 9 + usize::from((selector >> 2) & 0xf);
            run(selector, reps)
        }
    }
}

/// `reps` copies of a character of 1, 2, 3 or 4 UTF-8 bytes.
fn run(selector: u8, reps: usize) -> Vec<u8> {
    ["a", "é", "€", "😀"][usize::from(selector & 3)]
        .repeat(reps)
        .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn footer_round_trips_and_raw_input_has_none() {
        let data = join(b"body", COMPACT, b"ops");
        let (body, script) = split_footer(&data);
        assert_eq!(
            (body, script),
            (&b"body"[..], &[COMPACT, b'o', b'p', b's'][..])
        );
        let raw = vec![0u8; RECORD_SIZE];
        assert_eq!(split_footer(&raw), (&raw[..], &[][..]));
    }

    #[test]
    fn compact_body_makes_whole_records_and_a_tail() {
        let data = join(b"a=1\nb\n\x7fxyz", COMPACT, &[]);
        let input = Input::parse(&data, |v| v.to_vec());
        assert_eq!(input.image.len(), 2 * RECORD_SIZE + 3);
        let records = records_of(&input.image);
        assert_eq!(records[0].key, b"a");
        assert_eq!(records[0].value, b"1");
        assert_eq!(records[1].key, b"b");
    }
}
