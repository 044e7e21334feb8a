//! `gz+b64`: compressed, then base64.
//!
//! `DIAG_V1` means one gzip stream in plain base64. cloud-init's
//! `report_compressed_event` means **zlib** (`zlib.compress`) in base64
//! with a newline after every 76 characters and at the end
//! (`base64.encodebytes`). The decoder accepts both, and whitespace
//! anywhere in the base64.

use std::io::{Read, Write};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use flate2::Compression;

use crate::error::DecodeError;

/// gzip, then base64 in one line: the `DIAG_V1` `gz+b64` value.
pub fn gzip_b64(data: &[u8]) -> String {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), Compression::default());
    // Writing to a Vec cannot fail.
    let _ = enc.write_all(data);
    STANDARD.encode(enc.finish().unwrap_or_default())
}

/// zlib, then base64 with a newline every 76 characters and at the end:
/// Python's `base64.encodebytes(zlib.compress(data))`.
pub fn zlib_b64_lines(data: &[u8]) -> String {
    let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), Compression::default());
    let _ = enc.write_all(data);
    let flat = STANDARD.encode(enc.finish().unwrap_or_default());
    let mut out = String::with_capacity(flat.len() + flat.len() / 76 + 1);
    for line in flat.as_bytes().chunks(76) {
        // base64 output is ASCII.
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out
}

/// Which compressed streams [`decode_b64`] accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Accept {
    /// gzip only (`DIAG_V1`).
    Gzip,
    /// gzip or zlib, told apart by the gzip magic (cloud-init).
    GzipOrZlib,
}

/// Decodes base64 (ignoring ASCII whitespace), then decompresses, to at
/// most `limit` bytes; the stream must end exactly where the data does.
pub(crate) fn decode_b64(
    text: &[u8],
    accept: Accept,
    limit: usize,
) -> Result<Vec<u8>, DecodeError> {
    let compact: Vec<u8> = text
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    let packed = STANDARD
        .decode(compact)
        .map_err(|e| DecodeError::undecodable(format!("bad base64: {e}")))?;
    let gzip = packed.starts_with(&[0x1f, 0x8b]);
    let mut out = Vec::new();
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    let rest = match (gzip, accept) {
        (true, _) => {
            let mut dec = flate2::bufread::GzDecoder::new(packed.as_slice());
            read_capped(&mut dec, cap, &mut out, "gzip")?;
            dec.into_inner()
        }
        (false, Accept::GzipOrZlib) => {
            let mut dec = flate2::bufread::ZlibDecoder::new(packed.as_slice());
            read_capped(&mut dec, cap, &mut out, "zlib")?;
            dec.into_inner()
        }
        (false, Accept::Gzip) => return Err(DecodeError::undecodable("not a gzip stream")),
    };
    if out.len() > limit {
        return Err(DecodeError::undecodable(format!(
            "decompresses to more than {limit} bytes"
        )));
    }
    if !rest.is_empty() {
        return Err(DecodeError::undecodable(format!(
            "{} bytes after the compressed stream",
            rest.len()
        )));
    }
    Ok(out)
}

fn read_capped<R: Read>(
    dec: &mut R,
    cap: u64,
    out: &mut Vec<u8>,
    what: &str,
) -> Result<(), DecodeError> {
    dec.take(cap)
        .read_to_end(out)
        .map(|_| ())
        .map_err(|e| DecodeError::undecodable(format!("bad {what} data: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn encodebytes_layout() {
        let text = zlib_b64_lines(&[7u8; 300]);
        assert!(text.ends_with('\n'));
        assert!(text.lines().all(|l| l.len() <= 76));
        assert!(text.starts_with("eJ"), "zlib header 78 9c");
        assert!(gzip_b64(b"x").starts_with("H4sI"), "gzip magic");
    }

    #[test]
    fn accepts_what_each_format_writes() {
        let z = zlib_b64_lines(b"hello");
        let g = gzip_b64(b"hello");
        assert_eq!(
            decode_b64(z.as_bytes(), Accept::GzipOrZlib, 10).unwrap(),
            b"hello"
        );
        assert_eq!(
            decode_b64(g.as_bytes(), Accept::GzipOrZlib, 10).unwrap(),
            b"hello"
        );
        assert_eq!(
            decode_b64(g.as_bytes(), Accept::Gzip, 10).unwrap(),
            b"hello"
        );
        assert!(decode_b64(z.as_bytes(), Accept::Gzip, 10).is_err());
        assert!(decode_b64(g.as_bytes(), Accept::Gzip, 4).is_err());
        assert!(decode_b64(b"!!!", Accept::Gzip, 10).is_err());
        let truncated = &g.as_bytes()[..g.len() - 8];
        assert!(decode_b64(truncated, Accept::Gzip, 10).is_err());
    }

    proptest! {
        #[test]
        fn round_trips(data in proptest::collection::vec(any::<u8>(), 0..2000)) {
            prop_assert_eq!(decode_b64(zlib_b64_lines(&data).as_bytes(), Accept::GzipOrZlib, 4000).unwrap(), data.clone());
            prop_assert_eq!(decode_b64(gzip_b64(&data).as_bytes(), Accept::Gzip, 4000).unwrap(), data);
        }

        #[test]
        fn hostile_input_never_panics(data in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode_b64(&data, Accept::GzipOrZlib, 1000);
            let b64 = STANDARD.encode(&data);
            let _ = decode_b64(b64.as_bytes(), Accept::GzipOrZlib, 1000);
        }
    }
}
