//! JSON text exactly as Python's `json.dumps` writes it with its defaults
//! (`ensure_ascii=True`), and the escaped-string handling cloud-init's
//! chunks need.
//!
//! `serde_json` is used to read JSON; it cannot write `ensure_ascii`
//! output or Python's float `repr`, so those are here.

/// Appends `text` JSON-escaped as `json.dumps` does with `ensure_ascii`:
/// `"` `\` and `\n` `\r` `\t` `\b` `\f` by their short escapes, every other
/// character outside U+0020..U+007E (DEL included) as `\uxxxx` with
/// lower-case hex, characters beyond the BMP as a surrogate pair.
pub(crate) fn escape_into(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
}

/// `text` as a JSON string literal, quotes included.
pub(crate) fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    escape_into(text, &mut out);
    out.push('"');
    out
}

/// Python's `repr(float)`: the shortest text that reads back as the same
/// double, in fixed notation for exponents -4 to 15 (always with a
/// fraction, `1.0`) and scientific otherwise (`1e-05`, `1.5e+16`).
pub(crate) fn float_repr(x: f64) -> String {
    if x.is_nan() {
        return "NaN".to_owned();
    }
    if x.is_infinite() {
        return if x > 0.0 { "Infinity" } else { "-Infinity" }.to_owned();
    }
    // `{:e}` gives the shortest round-trip digits: `-1.2345e-5`.
    let sci = format!("{x:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    if (-4..16).contains(&exp) {
        let point = exp + 1; // digits before the decimal point
        let text = if point <= 0 {
            format!("0.{}{digits}", "0".repeat(point.unsigned_abs() as usize))
        } else if point as usize >= digits.len() {
            format!("{digits}{}.0", "0".repeat(point as usize - digits.len()))
        } else {
            let (int, frac) = digits.split_at(point as usize);
            format!("{int}.{frac}")
        };
        format!("{sign}{text}")
    } else {
        let (first, rest) = digits.split_at(1);
        let frac = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let esign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{first}{frac}e{esign}{:02}", exp.unsigned_abs())
    }
}

/// The byte offsets in ASCII-escaped JSON string content where a whole
/// escape ends: after a plain character, after `\x`, after `\uxxxx`, and
/// after a surrogate pair (never between its halves). The last offset is
/// `escaped.len()` when the text ends on a whole token.
pub(crate) fn token_ends(escaped: &str) -> Vec<usize> {
    let b = escaped.as_bytes();
    let mut ends = Vec::new();
    let mut i = 0;
    while i < b.len() {
        i += match (b[i], b.get(i + 1)) {
            (b'\\', Some(b'u')) => {
                let high = hex4(b, i + 2);
                let pair = matches!(high, Some(0xd800..=0xdbff))
                    && b.get(i + 6) == Some(&b'\\')
                    && b.get(i + 7) == Some(&b'u')
                    && matches!(hex4(b, i + 8), Some(0xdc00..=0xdfff));
                if pair {
                    12
                } else {
                    6
                }
            }
            (b'\\', Some(_)) => 2,
            _ => 1,
        }
        .min(b.len() - i);
        ends.push(i);
    }
    ends
}

fn hex4(b: &[u8], at: usize) -> Option<u32> {
    let s = std::str::from_utf8(b.get(at..at + 4)?).ok()?;
    if !s.bytes().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(s, 16).ok()
}

/// Unescapes JSON string content (without its quotes). A lone surrogate,
/// which Python writes for strings that hold one, becomes U+FFFD. `None`
/// for an unknown or cut escape, or a raw control character or quote.
pub(crate) fn unescape(content: &str) -> Option<String> {
    let b = content.as_bytes();
    let mut out = String::with_capacity(content.len());
    let mut i = 0;
    let mut plain = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => {
                out.push_str(content.get(plain..i)?);
                let (c, used) = match b.get(i + 1)? {
                    b'"' => ('"', 2),
                    b'\\' => ('\\', 2),
                    b'/' => ('/', 2),
                    b'b' => ('\u{8}', 2),
                    b'f' => ('\u{c}', 2),
                    b'n' => ('\n', 2),
                    b'r' => ('\r', 2),
                    b't' => ('\t', 2),
                    b'u' => {
                        let unit = hex4(b, i + 2)?;
                        match unit {
                            0xd800..=0xdbff => match (b.get(i + 6), b.get(i + 7), hex4(b, i + 8)) {
                                (Some(b'\\'), Some(b'u'), Some(low @ 0xdc00..=0xdfff)) => {
                                    let c = 0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00);
                                    (char::from_u32(c)?, 12)
                                }
                                _ => ('\u{fffd}', 6),
                            },
                            0xdc00..=0xdfff => ('\u{fffd}', 6),
                            _ => (char::from_u32(unit)?, 6),
                        }
                    }
                    _ => return None,
                };
                out.push(c);
                i += used;
                plain = i;
            }
            b'"' | 0..=0x1f => return None,
            _ => i += 1,
        }
    }
    out.push_str(content.get(plain..)?);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn matches_python_json_dumps() {
        // Expected texts from Python 3.11: json.dumps(s).
        assert_eq!(quote("a\"b\\c\n\r\t\u{8}\u{c}"), r#""a\"b\\c\n\r\t\b\f""#);
        assert_eq!(quote("é€\u{7f}\u{1}"), r#""\u00e9\u20ac\u007f\u0001""#);
        assert_eq!(quote("😀"), r#""\ud83d\ude00""#);
        assert_eq!(quote("/<>"), r#""/<>""#);
    }

    #[test]
    fn matches_python_float_repr() {
        for (x, text) in [
            (0.0, "0.0"),
            (1.0, "1.0"),
            (0.00064, "0.00064"),
            (0.0006448590000012189, "0.0006448590000012189"),
            (1e-05, "1e-05"),
            (0.0001, "0.0001"),
            (123.456, "123.456"),
            (1e16, "1e+16"),
            (1.5e16, "1.5e+16"),
            (999999999999999.9, "999999999999999.9"),
            (-2.5, "-2.5"),
            (0.340712044, "0.340712044"),
        ] {
            assert_eq!(float_repr(x), text, "{x}");
        }
    }

    #[test]
    fn tokens_never_split_escapes() {
        let e = r"a\n\u00e9\ud83d\ude00\\";
        assert_eq!(token_ends(e), [1, 3, 9, 21, 23]);
    }

    #[test]
    fn unescape_cases() {
        assert_eq!(
            unescape(r"a\u00e9\ud83d\ude00\n").as_deref(),
            Some("aé😀\n")
        );
        assert_eq!(unescape(r"\ud800x").as_deref(), Some("\u{fffd}x"));
        assert_eq!(unescape(r"\u00e"), None);
        assert_eq!(unescape("\\"), None);
        assert_eq!(unescape("\""), None);
        assert_eq!(unescape(r"\q"), None);
    }

    proptest! {
        #[test]
        fn escape_round_trips(s in "\\PC{0,40}|[\\x00-\\x7f]{0,40}") {
            let mut e = String::new();
            escape_into(&s, &mut e);
            prop_assert!(e.is_ascii());
            prop_assert_eq!(unescape(&e), Some(s.clone()));
            let parsed: String = serde_json::from_str(&quote(&s)).unwrap();
            prop_assert_eq!(parsed, s);
            prop_assert_eq!(token_ends(&e).last().copied().unwrap_or(0), e.len());
        }

        #[test]
        fn float_repr_reads_back(x in any::<f64>().prop_filter("finite", |x| x.is_finite())) {
            prop_assert_eq!(float_repr(x).parse::<f64>().unwrap(), x);
        }

        #[test]
        fn unescape_never_panics(s in "\\PC{0,40}") {
            let _ = unescape(&s);
            let _ = token_ends(&s);
        }
    }
}
