//! The little JSON the payloads need: quoted strings, and text cut to a
//! byte cap at a character boundary while it is formatted.
//!
//! Every character of the input is kept (as UTF-8 or as an escape), so any
//! field value, NUL, `|`, control characters and lone quotes included,
//! becomes valid JSON that holds no NUL byte, which the pool cannot store.

use std::fmt::{self, Write};

/// Appends `text` to `out` as a JSON string literal.
pub(crate) fn push_str(out: &mut String, text: &str) {
    out.reserve(text.len() + 2);
    out.push('"');
    escape_into(out, text);
    out.push('"');
}

/// Appends `text` to `out` escaped as the inside of a JSON string.
fn escape_into(out: &mut String, text: &str) {
    let bytes = text.as_bytes();
    let mut start = 0;
    while let Some(offset) = bytes[start..]
        .iter()
        .position(|&b| b < 0x20 || b == b'"' || b == b'\\')
    {
        let i = start + offset;
        out.push_str(&text[start..i]);
        match bytes[i] {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            // Infallible: writing to a String.
            b => {
                let _ = write!(out, "\\u{b:04x}");
            }
        }
        start = i + 1;
    }
    out.push_str(&text[start..]);
}

/// A [`fmt::Write`] that appends what it is given to a JSON string being
/// built, escaped, keeping at most `left` bytes of it (cut at a character
/// boundary) and then stopping the formatting with an error, so a huge
/// `Debug` output costs no more than the cap.
pub(crate) struct Capped<'a> {
    out: &'a mut String,
    left: usize,
    cut: bool,
}

impl<'a> Capped<'a> {
    pub(crate) fn new(out: &'a mut String, cap: usize) -> Capped<'a> {
        Capped {
            out,
            left: cap,
            cut: false,
        }
    }

    /// Whether text was left out.
    pub(crate) fn was_cut(&self) -> bool {
        self.cut
    }
}

impl Write for Capped<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if s.len() <= self.left {
            escape_into(self.out, s);
            self.left -= s.len();
            return Ok(());
        }
        let mut end = self.left;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        escape_into(self.out, &s[..end]);
        self.left = 0;
        self.cut = true;
        Err(fmt::Error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quoted(text: &str) -> String {
        let mut out = String::new();
        push_str(&mut out, text);
        out
    }

    #[test]
    fn escapes_what_json_requires_and_keeps_the_rest() {
        assert_eq!(quoted("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(quoted("\n\r\t\0\x1f|é"), "\"\\n\\r\\t\\u0000\\u001f|é\"");
        for text in ["", "plain", "\0|\u{7f}\u{2028}😀\"\\", "\u{1}\u{8}\u{c}"] {
            let back: String = serde_json::from_str(&quoted(text)).expect("valid JSON");
            assert_eq!(back, text);
            assert!(!quoted(text).contains('\0'));
        }
    }

    #[test]
    fn capped_cuts_at_a_character_boundary_and_stops() {
        let mut out = String::new();
        let mut w = Capped::new(&mut out, 4);
        assert!(write!(w, "abéé").is_err());
        assert!(w.was_cut());
        assert_eq!(out, "abé");

        let mut out = String::new();
        let mut w = Capped::new(&mut out, 3);
        assert!(write!(w, "\"\0").is_ok());
        assert_eq!(out, "\\\"\\u0000", "escaped as it is written");

        let mut out = String::new();
        let mut w = Capped::new(&mut out, 4);
        assert!(write!(w, "abcd").is_ok());
        assert!(!w.was_cut());
        assert_eq!(out, "abcd");
    }
}
