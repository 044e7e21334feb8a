//! JSON that is safe to print on a terminal.
//!
//! serde_json escapes only what JSON requires (`"`, `\` and C0 controls), so
//! DEL, C1 controls (U+009B is a one-character CSI on many terminals) and
//! bidi or zero-width characters from a pool would reach whoever runs
//! `kvp list --json` in a terminal or a log viewer. This formatter writes
//! them as `\uXXXX` as well: any JSON parser reads back the same string.

use std::io::{self, Write};

use serde::Serialize;
use serde_json::ser::Formatter;

use crate::escape;

/// serde_json's compact formatter, but DEL and every character that the
/// escaped form hides ([`escape::is_hidden`]) are written as `\uXXXX`.
struct SafeFormatter;

impl Formatter for SafeFormatter {
    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut start = 0;
        for (at, c) in fragment.char_indices() {
            if c == '\x7f' || escape::is_hidden(c) {
                writer.write_all(&fragment.as_bytes()[start..at])?;
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    write!(writer, "\\u{unit:04x}")?;
                }
                start = at + c.len_utf8();
            }
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }
}

/// Writes `value` as compact JSON, without a newline.
pub fn write(out: &mut dyn Write, value: &impl Serialize) -> io::Result<()> {
    let mut serializer = serde_json::Serializer::with_formatter(out, SafeFormatter);
    value.serialize(&mut serializer).map_err(io::Error::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(text: &str) -> String {
        let mut out = Vec::new();
        write(&mut out, &text).expect("write to a Vec");
        String::from_utf8(out).expect("JSON is UTF-8")
    }

    #[test]
    fn hidden_characters_become_unicode_escapes_and_read_back() {
        let text = "a\u{7f}b\u{85}\u{9b}c\u{202e}\u{200b}\u{2028}\u{e0041}\u{1b}\"é";
        let json = render(text);
        assert_eq!(
            json,
            r#""a\u007fb\u0085\u009bc\u202e\u200b\u2028\udb40\udc41\u001b\"é""#
        );
        let back: String = serde_json::from_str(&json).expect("valid JSON");
        assert_eq!(back, text);
    }

    #[test]
    fn plain_values_are_as_serde_json_writes_them() {
        let value = serde_json::json!({"k": ["x", 1, null, true], "é": "ü\n"});
        let mut out = Vec::new();
        write(&mut out, &value).expect("write to a Vec");
        let plain = serde_json::to_vec(&value).expect("serializes");
        assert_eq!(out, plain);
    }
}
