//! What kvp reads besides its arguments: a value on stdin, and load files.

use std::fmt;
use std::io::Read;

use serde::de::{Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use crate::failure::Failure;

/// One record of a load file, with where it came from for error messages.
#[derive(Debug, PartialEq, Eq)]
pub struct Entry {
    /// The key.
    pub key: String,
    /// The value.
    pub value: String,
    /// `line N` (KEY=VALUE, from 1) or `record N` (JSON, from 0).
    pub origin: String,
}

/// The text of `source`: a file, or stdin for `-`.
pub fn read_source(source: &str) -> Result<String, Failure> {
    let mut bytes = Vec::new();
    let read = if source == "-" {
        std::io::stdin().lock().read_to_end(&mut bytes)
    } else {
        std::fs::File::open(source).and_then(|mut f| f.read_to_end(&mut bytes))
    };
    let name = if source == "-" { "stdin" } else { source };
    read.map_err(|e| Failure::Usage(format!("cannot read {name}: {e}")))?;
    String::from_utf8(bytes)
        .map_err(|e| Failure::Usage(format!("{name} is not valid UTF-8: {}", e.utf8_error())))
}

/// A value given as `-`: stdin, less one trailing newline, so that
/// `echo text | kvp set KEY -` stores `text`.
pub fn value_argument(value: &str) -> Result<String, Failure> {
    if value != "-" {
        return Ok(value.to_owned());
    }
    let mut text = read_source("-")?;
    if text.ends_with('\n') {
        text.pop();
    }
    Ok(text)
}

/// Parses a load file: JSON when it starts with `{` or `[`, else
/// KEY=VALUE lines (blank lines and lines starting with `#` are skipped).
pub fn parse_records(text: &str) -> Result<Vec<Entry>, String> {
    match text.trim_start().chars().next() {
        Some('{' | '[') => parse_json(text),
        _ => parse_lines(text),
    }
}

fn parse_json(text: &str) -> Result<Vec<Entry>, String> {
    let pairs: Pairs = serde_json::from_str(text).map_err(|e| json_error(&e))?;
    Ok(pairs
        .0
        .into_iter()
        .enumerate()
        .map(|(i, (key, value))| Entry {
            key,
            value,
            origin: format!("record {i}"),
        })
        .collect())
}

fn parse_lines(text: &str) -> Result<Vec<Entry>, String> {
    let mut entries = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        // The line itself stays out of the message: it may hold a secret,
        // and load errors end up in logs.
        let (key, value) = line
            .split_once('=')
            .ok_or_else(|| format!("line {}: expected KEY=VALUE, found no =", i + 1))?;
        entries.push(Entry {
            key: key.to_owned(),
            value: value.to_owned(),
            origin: format!("line {}", i + 1),
        });
    }
    Ok(entries)
}

/// Where and what kind of JSON error, never its text: serde_json's messages
/// quote the offending input (`invalid type: string "secret"`, ``unknown
/// field `x` ``), and load errors end up in logs.
fn json_error(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let what = match e.classify() {
        Category::Syntax => "not valid JSON",
        Category::Eof => "the JSON ends too early",
        Category::Data => {
            r#"expected an object of string values or an array of {"key","value"} objects with only those members"#
        }
        Category::Io => "the JSON could not be read",
    };
    format!("line {}, column {}: {what}", e.line(), e.column())
}

/// Key/value pairs in document order, from a JSON object (duplicate
/// members kept) or an array of `{"key","value"}` objects.
struct Pairs(Vec<(String, String)>);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyValue {
    key: String,
    value: String,
}

impl<'de> Deserialize<'de> for Pairs {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Pairs, D::Error> {
        deserializer.deserialize_any(PairsVisitor)
    }
}

struct PairsVisitor;

impl<'de> Visitor<'de> for PairsVisitor {
    type Value = Pairs;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(r#"an object of string values or an array of {"key","value"} objects"#)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Pairs, A::Error> {
        let mut pairs = Vec::new();
        while let Some(pair) = map.next_entry::<String, String>()? {
            pairs.push(pair);
        }
        Ok(Pairs(pairs))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Pairs, A::Error> {
        let mut pairs = Vec::new();
        while let Some(KeyValue { key, value }) = seq.next_element()? {
            pairs.push((key, value));
        }
        Ok(Pairs(pairs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(text: &str) -> Vec<(String, String)> {
        parse_records(text)
            .expect(text)
            .into_iter()
            .map(|e| (e.key, e.value))
            .collect()
    }

    fn owned(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn object_keeps_document_order_and_duplicates() {
        assert_eq!(
            pairs(r#" {"b": "1", "a": "2", "b": "3"}"#),
            owned(&[("b", "1"), ("a", "2"), ("b", "3")])
        );
    }

    #[test]
    fn array_of_records_as_dump_prints() {
        assert_eq!(
            pairs(r#"[{"key":"k","value":"v=1"},{"key":"k","value":""}]"#),
            owned(&[("k", "v=1"), ("k", "")])
        );
    }

    #[test]
    fn lines_split_at_the_first_equals_and_skip_comments() {
        assert_eq!(
            pairs("# comment\n\nA=1\nB=x=y\nC=\n"),
            owned(&[("A", "1"), ("B", "x=y"), ("C", "")])
        );
        let entries = parse_records("A=1\nB=2").expect("parses");
        assert_eq!(entries[1].origin, "line 2");
    }

    #[test]
    fn bad_input_is_explained_by_position() {
        let err = parse_records("A=1\nnot a record\n").expect_err("no =");
        assert_eq!(err, "line 2: expected KEY=VALUE, found no =");
        let err = parse_records(r#"{"a": 5}"#).expect_err("number");
        assert!(
            err.starts_with("line 1, column 7: expected an object"),
            "{err}"
        );
        let err = parse_records(r#"[{"key":"a","value":"b","x":1}]"#).expect_err("field");
        assert!(
            err.starts_with("line 1, column 27: expected an object"),
            "{err}"
        );
        let err = parse_records("[\n").expect_err("eof");
        assert_eq!(err, "line 2, column 0: the JSON ends too early");
        let err = parse_records("{\"a\": tru}").expect_err("syntax");
        assert_eq!(err, "line 1, column 10: not valid JSON");
    }

    #[test]
    fn bad_input_is_never_quoted() {
        let secret = "hunter2-SECRET";
        for text in [
            format!("A=1\n{secret}\n"),
            format!(r#"{{"a": "b", "{secret}": 1}}"#),
            format!(r#"{{"a": ["{secret}"]}}"#),
            format!(r#"[{{"key": "a", "{secret}": "v"}}]"#),
            format!(r#"[{{"key": "a", "value": "{secret}", "key": 1}}]"#),
            format!(r#"["{secret}"]"#),
            format!(r#"{{"a": "{secret}" "b"}}"#),
            format!("{{\"a\": {secret}}}"),
        ] {
            let err = parse_records(&text).expect_err(&text);
            assert!(!err.contains("SECRET"), "{text}: {err}");
        }
    }
}
