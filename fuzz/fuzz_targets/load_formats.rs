//! The CLI's input formats: `kvp load` files (a JSON object, a JSON array
//! of `{"key","value"}`, or KEY=VALUE lines) and `--escapes` keys.
//!
//! The parsers live in the `kvp` binary crate (kvp-cli/src/input.rs and
//! escape.rs). They are compiled into this target from those very files
//! with `#[path]`, so the fuzzer runs the code the binary runs while
//! kvp-cli stays a binary with no library API to keep stable. input.rs
//! names one item of its crate, `crate::failure::Failure::Usage`, which the
//! small module below stands in for; if input.rs ever needs more, this
//! target stops compiling, which CI's fuzz step reports.
//!
//! - A parsed file round-trips: written back as a JSON array, as a JSON
//!   object, or as lines (when its values allow), it parses to the same
//!   pairs; JSON origins count records from 0, line origins are the lines.
//! - An error names a place and a kind, never the input's text (load
//!   errors end up in logs and may hold secrets).
//! - The records go through `load` as the CLI does: validated per mode,
//!   then loaded into a `MemoryStore`, whose `dump_json` parses back to
//!   the same pairs (`kvp dump > f; kvp load f` keeps a pool).
//! - The escaped form is lossless: `unescape(escape(b)) == b`, and what
//!   `unescape` accepts escapes back to text it decodes the same way.
#![no_main]

use kvp_core::{KvpStore, MemoryStore, Options, PoolMode};
use libfuzzer_sys::fuzz_target;

/// Stands in for kvp-cli's `failure` module, of which input.rs uses one
/// variant.
mod failure {
    #[derive(Debug)]
    pub enum Failure {
        Usage(#[allow(dead_code)] String),
    }
}

#[path = "../../kvp-cli/src/input.rs"]
#[allow(dead_code)]
mod input;

#[path = "../../kvp-cli/src/escape.rs"]
#[allow(dead_code)]
mod escape;

type Pairs = Vec<(String, String)>;

fn pairs(entries: &[input::Entry]) -> Pairs {
    entries
        .iter()
        .map(|e| (e.key.clone(), e.value.clone()))
        .collect()
}

fn reparse(text: &str) -> Pairs {
    pairs(&input::parse_records(text).unwrap_or_else(|e| panic!("{e}: {text:?}")))
}

/// Whether `message` is one of the parser's error shapes: a place, then a
/// fixed text.
fn is_plain_error(message: &str) -> bool {
    const KINDS: [&str; 4] = [
        "not valid JSON",
        "the JSON ends too early",
        r#"expected an object of string values or an array of {"key","value"} objects with only those members"#,
        "the JSON could not be read",
    ];
    let Some(rest) = message.strip_prefix("line ") else {
        return false;
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let rest = &rest[digits..];
    if digits == 0 {
        return false;
    }
    if rest == ": expected KEY=VALUE, found no =" {
        return true;
    }
    let Some(rest) = rest.strip_prefix(", column ") else {
        return false;
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    digits > 0
        && rest[digits..]
            .strip_prefix(": ")
            .is_some_and(|kind| KINDS.contains(&kind))
}

fn round_trips(text: &str, entries: &[input::Entry]) {
    let parsed = pairs(entries);
    let is_json = matches!(text.trim_start().chars().next(), Some('{' | '['));
    for (i, entry) in entries.iter().enumerate() {
        if is_json {
            assert_eq!(entry.origin, format!("record {i}"));
        } else {
            let line: usize = entry
                .origin
                .strip_prefix("line ")
                .and_then(|n| n.parse().ok())
                .expect("a line origin");
            let shown = text.lines().nth(line - 1).expect("the line exists");
            assert_eq!(shown, format!("{}={}", entry.key, entry.value));
        }
    }
    let array: Vec<serde_json::Value> = parsed
        .iter()
        .map(|(k, v)| serde_json::json!({ "key": k, "value": v }))
        .collect();
    let array = serde_json::to_string(&array).expect("JSON");
    assert_eq!(reparse(&array), parsed, "as an array");
    let members: Vec<String> = parsed
        .iter()
        .map(|(k, v)| {
            format!(
                "{}:{}",
                serde_json::to_string(k).expect("JSON"),
                serde_json::to_string(v).expect("JSON")
            )
        })
        .collect();
    assert_eq!(
        reparse(&format!("{{{}}}", members.join(","))),
        parsed,
        "as an object"
    );
    // Lines hold any key without '=' or a line break that does not start
    // with '#', and any value without a line break; `str::lines` also
    // drops a CR before a LF, so a value may not end with one.
    let fits_lines = parsed.iter().enumerate().all(|(i, (k, v))| {
        let breaks_a_line = k.contains(['=', '\n']) || v.contains('\n') || v.ends_with('\r');
        let starts_another_form =
            k.starts_with('#') || (i == 0 && k.trim_start().starts_with(['{', '[']));
        !(breaks_a_line || starts_another_form)
    });
    if fits_lines {
        let lines: String = parsed.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
        assert_eq!(reparse(&lines), parsed, "as lines");
    }
}

fn load(entries: &[input::Entry], mode: PoolMode) {
    let store = MemoryStore::from_bytes(Vec::new(), Options::new().mode(mode));
    let refused = entries
        .iter()
        .find_map(|e| mode.check(&e.key, &e.value).err());
    let pairs: Vec<(&str, &str)> = entries
        .iter()
        .map(|e| (e.key.as_str(), e.value.as_str()))
        .collect();
    match (store.load(&pairs), refused) {
        (Ok(()), None) => {
            let dump = store.dump_json().expect("dump_json");
            let back = reparse(&dump);
            let wanted: Pairs = pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            assert_eq!(back, wanted, "dump, then load, keeps the pool");
        }
        (Err(e), Some(first)) => {
            assert_eq!(e.kind(), first.kind());
            assert!(store.to_bytes().is_empty(), "a refused load wrote");
        }
        (Err(e), None) => assert_eq!(e.kind(), kvp_core::ErrorKind::UniqueKeyLimit, "{e}"),
        (Ok(()), Some(first)) => panic!("load took what the CLI refuses: {first}"),
    }
}

/// `--escapes` names keys, which hold at most 511 bytes; the escaped form is
/// fuzzed on that much of the input (escape allocates per character, which
/// AddressSanitizer makes slow on whole load files).
const KEY_BYTES: usize = 1024;

fuzz_target!(|data: &[u8]| {
    // escape covers any bytes; the rest reads text, as `kvp load` does.
    let key = &data[..data.len().min(KEY_BYTES)];
    let shown = escape::escape(key);
    assert_eq!(escape::unescape(&shown).as_deref(), Ok(key));
    assert!(!shown.chars().any(|c| c.is_control()), "{shown:?}");
    if let Ok(Ok(bytes)) = std::str::from_utf8(key).map(escape::unescape) {
        assert_eq!(escape::unescape(&escape::escape(&bytes)), Ok(bytes));
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match input::parse_records(text) {
        Ok(entries) => {
            round_trips(text, &entries);
            load(&entries, PoolMode::Safe);
            load(&entries, PoolMode::Full);
        }
        Err(message) => assert!(is_plain_error(&message), "{message:?}"),
    }
});
