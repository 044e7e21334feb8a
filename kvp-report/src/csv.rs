//! The one-row, `|`-delimited CSV that `PROVISIONING_REPORT` holds.
//!
//! Both peers write it with "minimal" quoting: a field is put in quotes
//! when it holds the delimiter, the quote character, CR or LF, and a quote
//! inside is doubled. cloud-init (Python's `csv` module) quotes with `'`
//! and then strips trailing whitespace off the whole row with
//! `str.rstrip()`; azure-init (the `csv` crate) quotes with `"` and strips
//! only the `\n` record terminator it added.

/// Encodes one row: fields joined with `|`, each quoted when needed.
pub(crate) fn encode_row<S: AsRef<str>>(fields: &[S], quote: char) -> String {
    let mut out = String::new();
    let only_empty = fields.len() == 1 && fields[0].as_ref().is_empty();
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            out.push('|');
        }
        let field = field.as_ref();
        if only_empty || needs_quotes(field, quote) {
            out.push(quote);
            for c in field.chars() {
                if c == quote {
                    out.push(quote);
                }
                out.push(c);
            }
            out.push(quote);
        } else {
            out.push_str(field);
        }
    }
    out
}

fn needs_quotes(field: &str, quote: char) -> bool {
    field
        .chars()
        .any(|c| c == '|' || c == quote || c == '\r' || c == '\n')
}

/// Python's `str.rstrip()`: removes trailing characters for which
/// `str.isspace()` is true (Unicode White_Space plus U+001C..U+001F).
pub(crate) fn python_rstrip(text: &str) -> &str {
    text.trim_end_matches(|c: char| c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c))
}

/// Decodes one row. A field that starts with one of `quotes` is a quoted
/// field: it ends at the next lone quote, which must be followed by `|` or
/// the end, and a doubled quote inside stands for one. Any other field ends
/// at the next `|` and is taken as it is.
pub(crate) fn decode_row(row: &str, quotes: &[char]) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut chars = row.char_indices().peekable();
    loop {
        let mut field = String::new();
        match chars.peek().copied() {
            Some((start, q)) if quotes.contains(&q) => {
                chars.next();
                loop {
                    match chars.next() {
                        None => {
                            return Err(format!(
                                "the quoted field that starts at byte {start} is not closed"
                            ))
                        }
                        Some((_, c)) if c == q => {
                            if chars.peek().map(|&(_, n)| n) == Some(q) {
                                chars.next();
                                field.push(q);
                            } else {
                                break;
                            }
                        }
                        Some((_, c)) => field.push(c),
                    }
                }
                match chars.next() {
                    None => {
                        fields.push(field);
                        return Ok(fields);
                    }
                    Some((_, '|')) => fields.push(field),
                    Some((at, c)) => {
                        return Err(format!(
                            "{c:?} at byte {at} follows the closing quote of a field"
                        ))
                    }
                }
            }
            _ => loop {
                match chars.next() {
                    None => {
                        fields.push(field);
                        return Ok(fields);
                    }
                    Some((_, '|')) => {
                        fields.push(field);
                        break;
                    }
                    Some((_, c)) => field.push(c),
                }
            },
        }
    }
}

/// Where the cut `row[..at]` would fall inside a quoted field: the byte
/// index of that field's opening quote, or None when the cut is outside
/// every quoted field (between fields, inside an unquoted one, or just
/// after a closing quote). A field is quoted when it starts with one of
/// `quotes`; a doubled quote inside it stands for one, so a cut between
/// the two halves is inside. A quoted field that is never closed runs to
/// the end of the row.
pub(crate) fn quoted_field_at(row: &str, at: usize, quotes: &[char]) -> Option<usize> {
    let mut chars = row.char_indices().peekable();
    let mut field_start = true;
    while let Some((start, c)) = chars.next() {
        if start >= at {
            return None;
        }
        if field_start && quotes.contains(&c) {
            // Find the end of this quoted field: just after its closing quote.
            let mut end = row.len();
            while let Some((i, d)) = chars.next() {
                if d == c {
                    if chars.peek().map(|&(_, n)| n) == Some(c) {
                        chars.next();
                    } else {
                        end = i + d.len_utf8();
                        break;
                    }
                }
            }
            if at > start && at < end {
                return Some(start);
            }
            field_start = false;
            continue;
        }
        field_start = c == '|';
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn python_minimal_quoting() {
        // Each line checked against Python 3.11's csv.writer(delimiter="|",
        // quotechar="'", quoting=QUOTE_MINIMAL).
        assert_eq!(encode_row(&["a=b"], '\''), "a=b");
        assert_eq!(encode_row(&["a=b|c"], '\''), "'a=b|c'");
        assert_eq!(encode_row(&["a='x'"], '\''), "'a=''x'''");
        assert_eq!(encode_row(&["a=\"x\""], '\''), "a=\"x\"");
        assert_eq!(encode_row(&["a=x\ny"], '\''), "'a=x\ny'");
        assert_eq!(encode_row(&["a=x\ry"], '\''), "'a=x\ry'");
        assert_eq!(encode_row(&[""], '\''), "''");
        assert_eq!(encode_row(&["a=b", "c=d "], '\''), "a=b|c=d ");
        assert_eq!(python_rstrip("a=b|c=d \t\u{1f}\u{a0}"), "a=b|c=d");
    }

    #[test]
    fn decodes_quoted_fields_of_either_quote() {
        let row = "a|'b''c|d'|\"e\"\"f|g\"|x'y|h=,=";
        assert_eq!(
            decode_row(row, &['\'', '"']).unwrap(),
            ["a", "b'c|d", "e\"f|g", "x'y", "h=,="]
        );
        assert!(decode_row("a|'open", &['\'']).is_err());
        assert!(decode_row("a|'x'y", &['\'']).is_err());
        assert_eq!(decode_row("", &['\'']).unwrap(), [""]);
        assert_eq!(decode_row("a||", &['\'']).unwrap(), ["a", "", ""]);
    }

    #[test]
    fn finds_the_quoted_field_a_cut_falls_in() {
        let row = "a=1|'b=x|y'|c=''d|\"e=''f\"";
        let q = ['\'', '"'];
        // Before, at and just after the opening quote of 'b=x|y'.
        assert_eq!(quoted_field_at(row, 3, &q), None);
        assert_eq!(quoted_field_at(row, 4, &q), None);
        assert_eq!(quoted_field_at(row, 5, &q), Some(4));
        assert_eq!(quoted_field_at(row, 10, &q), Some(4));
        // Just after its closing quote: outside.
        assert_eq!(quoted_field_at(row, 11, &q), None);
        // c=''d is unquoted: quotes inside a field do not open one.
        assert_eq!(quoted_field_at(row, 15, &q), None);
        assert_eq!(quoted_field_at(row, 20, &q), Some(18));
        // Between the halves of a doubled quote: inside.
        let doubled = "'a''b'";
        assert_eq!(quoted_field_at(doubled, 3, &q), Some(0));
        assert_eq!(quoted_field_at(doubled, 6, &q), None);
        // Never closed: runs to the end.
        assert_eq!(quoted_field_at("x|'open", 5, &q), Some(2));
        assert_eq!(quoted_field_at("", 0, &q), None);
    }

    proptest! {
        #[test]
        fn round_trip(fields in proptest::collection::vec("[a-z=|'\"\r\n é]{0,12}", 1..6), dq in any::<bool>()) {
            let quote = if dq { '"' } else { '\'' };
            let row = encode_row(&fields, quote);
            prop_assert_eq!(decode_row(&row, &[quote]).unwrap(), fields);
        }

        #[test]
        fn decode_never_panics(row in "\\PC{0,60}") {
            let _ = decode_row(&row, &['\'', '"']);
        }
    }
}
