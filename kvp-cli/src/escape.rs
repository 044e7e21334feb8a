//! The escaped form: any bytes as one line of text that is safe to show on
//! a terminal, and back.
//!
//! Pools 0 and 3 hold whatever the host wrote, so a key or value may carry
//! terminal escape sequences, bidi overrides that reorder what follows, or
//! zero-width characters that make two different keys look the same. The
//! escaped form shows each of these as a visible sequence, and it is
//! lossless: [`unescape`] gives back the exact bytes, so a key seen in a
//! table can be named on the command line (`kvp get --escapes 'Status\xff'`).
//!
//! The grammar, also in docs/cli.md:
//! - `\\` is a backslash; `\n`, `\t`, `\r` are LF, TAB, CR;
//! - `\xHH` is one byte: the other C0 controls, DEL, and every byte that is
//!   not part of valid UTF-8;
//! - `\u{HHHH}` is one character: C1 controls (U+0080 to U+009F), Unicode
//!   format characters (general category Cf) and the line and paragraph
//!   separators U+2028 and U+2029;
//! - every other character stands for itself.
//!
//! Hex digits are lower case when printed; [`unescape`] takes either case,
//! and also takes `\xHH` and `\u{...}` for characters that are printed as
//! themselves, so that people may spell a key either way.

use std::fmt;

/// Whether `c` is shown as `\u{...}`: a C1 control, or what kvp-core's
/// [`kvp_core::text::is_format`] names (format characters, line and
/// paragraph separators), so that `kvp check` and the display agree. JSON
/// output escapes the same characters (see `output::json`).
pub fn is_hidden(c: char) -> bool {
    matches!(u32::from(c), 0x80..=0x9F) || kvp_core::text::is_format(c)
}

/// One piece of the escaped form: a character shown as itself or the
/// sequence standing for one character or byte. Tables cut text between
/// units, so that no sequence is ever shown half.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// A character shown as itself.
    Plain(char),
    /// A backslash, LF, TAB or CR, shown as `\\`, `\n`, `\t`, `\r`.
    Short(char),
    /// A byte shown as `\xHH`.
    Byte(u8),
    /// A character shown as `\u{HHHH}`.
    Code(char),
}

impl Unit {
    /// How many characters the unit takes on screen.
    pub fn width(self) -> usize {
        match self {
            Unit::Plain(_) => 1,
            Unit::Short(_) => 2,
            Unit::Byte(_) => 4,
            // `\u{` and `}` around at least four digits.
            Unit::Code(c) => 4 + hex_digits(u32::from(c)).max(4),
        }
    }

    fn of_char(c: char) -> Unit {
        match c {
            '\\' | '\n' | '\t' | '\r' => Unit::Short(c),
            // Every other C0 control and DEL is one ASCII byte.
            '\0'..='\x1f' | '\x7f' => Unit::Byte(c as u8),
            _ if is_hidden(c) => Unit::Code(c),
            _ => Unit::Plain(c),
        }
    }
}

impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Unit::Plain(c) => write!(f, "{c}"),
            Unit::Short('\n') => f.write_str("\\n"),
            Unit::Short('\t') => f.write_str("\\t"),
            Unit::Short('\r') => f.write_str("\\r"),
            Unit::Short(c) => write!(f, "\\{c}"),
            Unit::Byte(b) => write!(f, "\\x{b:02x}"),
            Unit::Code(c) => write!(f, "\\u{{{:04x}}}", u32::from(c)),
        }
    }
}

fn hex_digits(code: u32) -> usize {
    let bits = u32::BITS - code.leading_zeros();
    bits.div_ceil(4).max(1) as usize
}

/// The escaped form of `bytes`, unit by unit.
pub fn units(bytes: &[u8]) -> impl Iterator<Item = Unit> + '_ {
    bytes.utf8_chunks().flat_map(|chunk| {
        let valid = chunk.valid().chars().map(Unit::of_char);
        let invalid = chunk.invalid().iter().map(|&b| Unit::Byte(b));
        valid.chain(invalid)
    })
}

/// The escaped form of `bytes`.
pub fn escape(bytes: &[u8]) -> String {
    units(bytes).map(|unit| unit.to_string()).collect()
}

/// `text` safe for a one-line message: as [`escape`], but a backslash
/// stays one backslash, since messages quote with Rust's `{:?}`, whose
/// escapes would otherwise double. Not lossless; only for stderr.
pub fn for_message(text: &str) -> String {
    units(text.as_bytes())
        .map(|unit| match unit {
            Unit::Short('\\') => "\\".to_owned(),
            unit => unit.to_string(),
        })
        .collect()
}

/// Why a text is not in the escaped form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnescapeErrorKind {
    /// A backslash ends the text.
    TrailingBackslash,
    /// A backslash followed by a character that starts no sequence.
    UnknownEscape,
    /// `\x` not followed by two hex digits.
    BadByte,
    /// `\u` not followed by `{`, one to six hex digits and `}`.
    BadCode,
    /// `\u{...}` naming no character (a surrogate, or beyond U+10FFFF).
    NotACharacter,
}

/// A text that is not in the escaped form, and where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnescapeError {
    /// Byte offset of the backslash that starts the bad sequence.
    pub position: usize,
    /// What is wrong there.
    pub kind: UnescapeErrorKind,
}

impl fmt::Display for UnescapeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            UnescapeErrorKind::TrailingBackslash => "a lone backslash at the end (write \\\\)",
            UnescapeErrorKind::UnknownEscape => {
                "an unknown escape (use \\\\, \\n, \\t, \\r, \\xHH or \\u{HHHH})"
            }
            UnescapeErrorKind::BadByte => "\\x needs two hex digits",
            UnescapeErrorKind::BadCode => "\\u needs one to six hex digits in braces, as \\u{202e}",
            UnescapeErrorKind::NotACharacter => "\\u{...} names no Unicode character",
        };
        write!(f, "at byte {}: {what}", self.position)
    }
}

impl std::error::Error for UnescapeError {}

/// The bytes that `text`, in the escaped form, stands for: the inverse of
/// [`escape`], so `unescape(&escape(b)) == Ok(b)` for all bytes `b`.
pub fn unescape(text: &str) -> Result<Vec<u8>, UnescapeError> {
    let mut bytes = Vec::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('\\') {
        bytes.extend_from_slice(&rest.as_bytes()[..at]);
        let position = text.len() - rest.len() + at;
        let fail = |kind| UnescapeError { position, kind };
        let sequence = &rest[at + 1..];
        let mut chars = sequence.chars();
        let consumed = match chars.next() {
            None => return Err(fail(UnescapeErrorKind::TrailingBackslash)),
            Some(c @ ('\\' | 'n' | 't' | 'r')) => {
                bytes.push(match c {
                    'n' => b'\n',
                    't' => b'\t',
                    'r' => b'\r',
                    _ => b'\\',
                });
                1
            }
            Some('x') => {
                let digits = sequence
                    .get(1..3)
                    .filter(|d| d.bytes().all(|b| b.is_ascii_hexdigit()))
                    .ok_or(fail(UnescapeErrorKind::BadByte))?;
                let byte =
                    u8::from_str_radix(digits, 16).map_err(|_| fail(UnescapeErrorKind::BadByte))?;
                bytes.push(byte);
                3
            }
            Some('u') => {
                let (c, len) = code_point(&sequence[1..]).map_err(fail)?;
                let mut utf8 = [0u8; 4];
                bytes.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
                1 + len
            }
            Some(_) => return Err(fail(UnescapeErrorKind::UnknownEscape)),
        };
        rest = &sequence[consumed..];
    }
    bytes.extend_from_slice(rest.as_bytes());
    Ok(bytes)
}

/// Parses `{H...}` at the start of `text`: the character and how many
/// bytes it took.
fn code_point(text: &str) -> Result<(char, usize), UnescapeErrorKind> {
    let inner = text
        .strip_prefix('{')
        .and_then(|t| t.split_once('}'))
        .map(|(digits, _)| digits)
        .filter(|d| (1..=6).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_hexdigit()))
        .ok_or(UnescapeErrorKind::BadCode)?;
    let code = u32::from_str_radix(inner, 16).map_err(|_| UnescapeErrorKind::BadCode)?;
    let c = char::from_u32(code).ok_or(UnescapeErrorKind::NotACharacter)?;
    Ok((c, inner.len() + 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn round_trip(bytes: &[u8]) -> String {
        let shown = escape(bytes);
        assert_eq!(unescape(&shown).as_deref(), Ok(bytes), "{shown}");
        let width: usize = units(bytes).map(Unit::width).sum();
        assert_eq!(width, shown.chars().count(), "{shown}");
        shown
    }

    #[test]
    fn messages_keep_backslashes_and_escape_the_rest() {
        assert_eq!(
            for_message("value \"a\\b\" \u{1b}[2J\u{202e}\n"),
            r#"value "a\b" \x1b[2J\u{202e}\n"#
        );
    }

    #[test]
    fn printable_text_is_unchanged() {
        for text in [
            "",
            "ProvisioningState",
            "Région=é ü 中文 🙂",
            "a b\u{a0}c",
            "\u{fffd}",
        ] {
            assert_eq!(round_trip(text.as_bytes()), text);
        }
    }

    #[test]
    fn controls_and_invalid_bytes_are_escaped() {
        assert_eq!(round_trip(b"a\\b\nc\td\re"), r"a\\b\nc\td\re");
        assert_eq!(
            round_trip(b"\x1b]0;pwned\x07\x1b[2J\0\x7f"),
            r"\x1b]0;pwned\x07\x1b[2J\x00\x7f"
        );
        assert_eq!(round_trip(b"Status\xff"), r"Status\xff");
        assert_eq!(round_trip(b"Status\xef\xbf\xbd"), "Status\u{fffd}");
        // A cut-off sequence is escaped byte by byte.
        assert_eq!(round_trip(b"\xe2\x80"), r"\xe2\x80");
        assert_eq!(round_trip("\\x41".as_bytes()), r"\\x41");
    }

    #[test]
    fn c1_bidi_and_invisible_characters_are_escaped() {
        assert_eq!(round_trip("\u{85}\u{9b}".as_bytes()), r"\u{0085}\u{009b}");
        assert_eq!(
            round_trip("Provisioning\u{202e}State\u{200b}".as_bytes()),
            r"Provisioning\u{202e}State\u{200b}"
        );
        assert_eq!(round_trip("\u{e0041}".as_bytes()), r"\u{e0041}");
        assert_eq!(
            round_trip("\u{2028}\u{2029}".as_bytes()),
            r"\u{2028}\u{2029}"
        );
    }

    #[test]
    fn named_format_characters() {
        let hidden = [
            0xAD, 0x61C, 0x180E, 0x200B, 0x200C, 0x200D, 0x200E, 0x200F, 0x202A, 0x202B, 0x202C,
            0x202D, 0x202E, 0x2060, 0x2061, 0x2062, 0x2063, 0x2064, 0x2066, 0x2067, 0x2068, 0x2069,
            0xFEFF, 0xE0001, 0xE0020, 0xE007F, 0x80, 0x9F, 0x2028, 0x2029,
        ];
        for code in hidden {
            let c = char::from_u32(code).expect("a character");
            assert!(is_hidden(c), "U+{code:04X}");
        }
        for c in [
            'a',
            ' ',
            '\u{a0}',
            '\u{a1}',
            '\u{2065}',
            '\u{2070}',
            '\u{e0080}',
            '\u{fffd}',
        ] {
            assert!(!is_hidden(c), "{c:?}");
        }
    }

    #[test]
    fn every_character_round_trips_and_only_hidden_ones_change() {
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            let mut utf8 = [0u8; 4];
            let shown = round_trip(c.encode_utf8(&mut utf8).as_bytes());
            let plain = !(c.is_control() || is_hidden(c) || c == '\\');
            assert_eq!(shown == c.to_string(), plain, "U+{:04X}", u32::from(c));
        }
    }

    #[test]
    fn every_two_byte_string_round_trips() {
        // Round-tripping also proves that distinct bytes never show alike.
        for pair in 0..=u16::MAX {
            round_trip(&pair.to_be_bytes());
        }
    }

    #[test]
    fn unescape_takes_either_case_and_any_spelling() {
        assert_eq!(unescape(r"Status\xFF").as_deref(), Ok(&b"Status\xff"[..]));
        assert_eq!(unescape(r"\x41\u{42}\u{00000043}").ok(), None);
        assert_eq!(unescape(r"\x41\u{42}\u{0043}").as_deref(), Ok(&b"ABC"[..]));
        assert_eq!(unescape(r"\u{202E}").as_deref(), Ok("\u{202e}".as_bytes()));
        assert_eq!(unescape("raw\u{7}é").as_deref(), Ok("raw\u{7}é".as_bytes()));
    }

    #[test]
    fn malformed_text_is_refused_with_its_position() {
        let cases = [
            ("abc\\", 3, UnescapeErrorKind::TrailingBackslash),
            ("ab\\q", 2, UnescapeErrorKind::UnknownEscape),
            ("\\0", 0, UnescapeErrorKind::UnknownEscape),
            ("é\\é", 2, UnescapeErrorKind::UnknownEscape),
            ("\\x4", 0, UnescapeErrorKind::BadByte),
            ("\\x4g", 0, UnescapeErrorKind::BadByte),
            ("\\x+1", 0, UnescapeErrorKind::BadByte),
            ("ok\\n\\u202e", 4, UnescapeErrorKind::BadCode),
            ("\\u{}", 0, UnescapeErrorKind::BadCode),
            ("\\u{1234567}", 0, UnescapeErrorKind::BadCode),
            ("\\u{12", 0, UnescapeErrorKind::BadCode),
            ("\\u{+12}", 0, UnescapeErrorKind::BadCode),
            ("\\u{d800}", 0, UnescapeErrorKind::NotACharacter),
            ("\\u{110000}", 0, UnescapeErrorKind::NotACharacter),
        ];
        for (text, position, kind) in cases {
            assert_eq!(
                unescape(text),
                Err(UnescapeError { position, kind }),
                "{text}"
            );
        }
        let message = unescape("ab\\q").expect_err("bad").to_string();
        assert!(
            message.starts_with("at byte 2: an unknown escape"),
            "{message}"
        );
    }
}
