//! A span's or event's fields, formatted on the caller's thread into the
//! JSON payload, and the fields that decide a result.
//!
//! The payload is `{"target":…,"level":…,"fields":{…}}`, the shape
//! azure-init's own tracing bridge writes. Numbers and booleans stay JSON
//! numbers and booleans; everything else becomes a string. Each value is
//! cut at [`crate::Builder::max_field_bytes`] (at a character boundary,
//! ending in `…`), so the payload of any callsite stays within the
//! format's record cap. A `Debug` or `Display` that panics or fails is
//! caught and written as a note instead of the value.

use std::fmt::{self, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};

use tracing_core::field::{Field, Visit};
use tracing_core::Metadata;

use crate::json::{push_str, Capped};

/// The field that sets a result explicitly: `"success"` or `"fail"`
/// (azure-init's bridge uses the same name).
pub const RESULT_FIELD: &str = "diagnostic.result";
/// A span that records a field of this name fails: any text, `Debug` or
/// error value, or `true` (numbers and `false` do not count).
pub const ERROR_FIELD: &str = "error";
/// What replaces a value whose `Debug` or `Display` panicked.
const PANICKED: &str = "<formatting panicked>";
/// Follows what a `Debug` or `Display` that returned an error wrote.
const FAILED: &str = " <formatting failed>";
/// Marks a value cut at the cap.
const ELLIPSIS: &str = "…";

/// A result set by a field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    Success,
    Fail,
}

/// Recorded fields, in first-recorded order, each name once (a later
/// record of a span's field replaces its value).
#[derive(Debug, Default)]
pub(crate) struct FieldSet {
    entries: Vec<(&'static str, String)>,
    cap: usize,
    /// The last valid [`RESULT_FIELD`] value recorded.
    pub(crate) verdict: Option<Verdict>,
    /// Whether [`ERROR_FIELD`] was recorded.
    pub(crate) error: bool,
}

impl FieldSet {
    /// An empty set whose values are cut at `cap` bytes.
    pub(crate) fn new(cap: usize) -> FieldSet {
        FieldSet {
            entries: Vec::with_capacity(4),
            cap,
            verdict: None,
            error: false,
        }
    }

    /// Takes over the values and markers `later` recorded.
    pub(crate) fn merge(&mut self, later: FieldSet) {
        for (name, value) in later.entries {
            self.set(name, value);
        }
        self.verdict = later.verdict.or(self.verdict);
        self.error |= later.error;
    }

    fn set(&mut self, name: &'static str, value: String) {
        match self.entries.iter_mut().find(|(n, _)| *n == name) {
            Some(entry) => entry.1 = value,
            None => self.entries.push((name, value)),
        }
    }

    /// A value that is JSON already (a number or a boolean).
    fn set_json(&mut self, field: &Field, json: String) {
        self.set(field.name(), json);
    }

    /// Notes a [`RESULT_FIELD`] value; other values and names change
    /// nothing.
    fn note_verdict(&mut self, field: &Field, text: &str) {
        if field.name() == RESULT_FIELD {
            match text {
                "success" => self.verdict = Some(Verdict::Success),
                "fail" => self.verdict = Some(Verdict::Fail),
                _ => {}
            }
        }
    }

    /// A text value, cut at the cap and quoted.
    fn set_text(&mut self, field: &Field, text: &str) {
        self.note_verdict(field, text);
        let mut end = text.len().min(self.cap);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let note = if end < text.len() { ELLIPSIS } else { "" };
        let mut json = String::with_capacity(end + note.len() + 2);
        push_str(&mut json, &text[..end]);
        self.set(field.name(), with_note(json, note));
    }

    /// A value formatted by user code straight into its JSON string: at
    /// most `cap` bytes are formatted, and a panic or a formatting error
    /// is caught.
    fn set_formatted(
        &mut self,
        field: &Field,
        format: impl FnOnce(&mut Capped<'_>) -> fmt::Result,
    ) {
        let mut json = String::with_capacity(32);
        json.push('"');
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            let mut capped = Capped::new(&mut json, self.cap);
            let result = format(&mut capped);
            (result, capped.was_cut())
        }));
        let note = match outcome {
            Ok((_, true)) => ELLIPSIS,
            Ok((Ok(()), false)) => "",
            Ok((Err(_), false)) => FAILED,
            Err(_) => {
                json.truncate(1);
                PANICKED
            }
        };
        json.push('"');
        if note.is_empty() && field.name() == RESULT_FIELD {
            // The two values need no escaping, so the JSON shows them as
            // they are.
            self.note_verdict(field, &json[1..json.len() - 1]);
        }
        self.set(field.name(), with_note(json, note));
    }

    /// The payload: `{"target":…,"level":…,"fields":{…}}`.
    pub(crate) fn payload(&self, metadata: &Metadata<'_>) -> String {
        let size: usize = self
            .entries
            .iter()
            .map(|(n, v)| n.len() + v.len() + 4)
            .sum();
        let mut out = String::with_capacity(size + metadata.target().len() + 48);
        out.push_str("{\"target\":");
        push_str(&mut out, metadata.target());
        out.push_str(",\"level\":\"");
        out.push_str(metadata.level().as_str());
        out.push_str("\",\"fields\":{");
        for (i, (name, value)) in self.entries.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            push_str(&mut out, name);
            out.push(':');
            out.push_str(value);
        }
        out.push_str("}}");
        out
    }
}

/// A JSON string with `note` (plain text needing no escape) added at its
/// end.
fn with_note(mut json: String, note: &str) -> String {
    if !note.is_empty() {
        json.pop();
        json.push_str(note);
        json.push('"');
    }
    json
}

impl Visit for FieldSet {
    fn record_f64(&mut self, field: &Field, value: f64) {
        if value.is_finite() {
            self.set_json(field, format!("{value:?}"));
        } else {
            self.set_text(field, &value.to_string());
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.set_json(field, value.to_string());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.set_json(field, value.to_string());
    }

    fn record_i128(&mut self, field: &Field, value: i128) {
        self.set_json(field, value.to_string());
    }

    fn record_u128(&mut self, field: &Field, value: u128) {
        self.set_json(field, value.to_string());
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        if field.name() == ERROR_FIELD && value {
            self.error = true;
        }
        self.set_json(field, value.to_string());
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == ERROR_FIELD {
            self.error = true;
        }
        self.set_text(field, value);
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        if field.name() == ERROR_FIELD {
            self.error = true;
        }
        self.set_formatted(field, |w| write!(w, "{value}"));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == ERROR_FIELD {
            self.error = true;
        }
        self.set_formatted(field, |w| write!(w, "{value:?}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_core::callsite::{Callsite, Identifier};
    use tracing_core::field::FieldSet as Names;
    use tracing_core::{Interest, Kind, Level};

    struct Site;
    static SITE: Site = Site;
    static META: Metadata<'static> = Metadata::new(
        "test",
        "kvp_tracing::fields",
        Level::WARN,
        None,
        None,
        None,
        Names::new(
            &["message", "diagnostic.result", "error", "n", "x", "big"],
            Identifier(&SITE),
        ),
        Kind::EVENT,
    );
    impl Callsite for Site {
        fn set_interest(&self, _: Interest) {}
        fn metadata(&self) -> &Metadata<'_> {
            &META
        }
    }

    fn field(name: &str) -> Field {
        META.fields().field(name).expect("declared")
    }

    fn parsed(set: &FieldSet) -> serde_json::Value {
        serde_json::from_str(&set.payload(&META)).expect("valid JSON")
    }

    struct Panics;
    impl fmt::Debug for Panics {
        fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
            panic!("hostile Debug")
        }
    }

    struct Fails;
    impl fmt::Debug for Fails {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("partial")?;
            Err(fmt::Error)
        }
    }

    #[test]
    fn payload_keeps_types_and_order_and_replaces_repeated_names() {
        let mut set = FieldSet::new(64);
        set.record_str(&field("message"), "hello");
        set.record_u64(&field("n"), 3);
        set.record_f64(&field("x"), f64::NAN);
        let mut later = FieldSet::new(64);
        later.record_i64(&field("n"), -4);
        set.merge(later);
        assert_eq!(
            set.payload(&META),
            r#"{"target":"kvp_tracing::fields","level":"WARN","fields":{"message":"hello","n":-4,"x":"NaN"}}"#
        );
    }

    #[test]
    fn result_and_error_fields_set_the_markers() {
        let mut set = FieldSet::new(64);
        set.record_str(&field("diagnostic.result"), "fail");
        assert_eq!(set.verdict, Some(Verdict::Fail));
        set.record_debug(&field("diagnostic.result"), &format_args!("success"));
        assert_eq!(set.verdict, Some(Verdict::Success));
        set.record_str(&field("diagnostic.result"), "maybe");
        assert_eq!(
            set.verdict,
            Some(Verdict::Success),
            "unknown values are ignored"
        );
        assert!(!set.error);
        set.record_bool(&field("error"), false);
        assert!(!set.error);
        set.record_debug(&field("error"), &"boom");
        assert!(set.error);
    }

    #[test]
    fn values_are_cut_at_the_cap_on_a_character_boundary() {
        let mut set = FieldSet::new(5);
        set.record_str(&field("big"), "ééé");
        set.record_debug(&field("x"), &format_args!("{}", "x".repeat(1 << 20)));
        let json = parsed(&set);
        assert_eq!(json["fields"]["big"], "éé…");
        assert_eq!(json["fields"]["x"], "xxxxx…");
    }

    #[test]
    fn hostile_formatting_is_caught() {
        let mut set = FieldSet::new(64);
        set.record_debug(&field("x"), &Panics);
        set.record_debug(&field("n"), &Fails);
        set.record_str(&field("message"), "\0|\"\\\u{1b}[31m");
        let json = parsed(&set);
        assert_eq!(json["fields"]["x"], PANICKED);
        assert_eq!(json["fields"]["n"], "partial <formatting failed>");
        assert_eq!(json["fields"]["message"], "\0|\"\\\u{1b}[31m");
        assert!(!set.payload(&META).contains('\0'));
    }
}
