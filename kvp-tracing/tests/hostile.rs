//! Hostile names and field values: nothing panics, nothing reaches the
//! caller, and every record written decodes as an event with a JSON
//! payload.

mod support;

use std::fmt;

use kvp_report::diag_v1::MAX_NAME_BYTES;
use kvp_report::Kind;
use support::{builder, entries, events, payload, temp_pool, WAIT};
use tracing::{error, info, info_span};
use tracing_subscriber::layer::SubscriberExt;

struct PanickingDebug;
impl fmt::Debug for PanickingDebug {
    fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
        panic!("a hostile Debug, expected by the test")
    }
}

struct FailingDebug;
impl fmt::Debug for FailingDebug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("half")?;
        Err(fmt::Error)
    }
}

/// A Debug that writes forever unless told to stop.
struct EndlessDebug;
impl fmt::Debug for EndlessDebug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        loop {
            f.write_str("more ")?;
        }
    }
}

/// A Debug that emits an event into the span it is recorded in.
struct ReentrantDebug;
impl fmt::Debug for ReentrantDebug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        error!("logged from inside Debug");
        f.write_str("reentrant")
    }
}

#[test]
fn hostile_values_are_written_as_json_and_nothing_panics() {
    let (dir, _) = temp_pool();
    let (layer, guard) = builder(dir.path()).build().expect("build");
    let subscriber = tracing_subscriber::registry().with(layer);
    let io_error = std::io::Error::other("disk \0 on fire | really");
    let huge = "é".repeat(1 << 20);
    tracing::subscriber::with_default(subscriber, || {
        let span = info_span!(
            "a|b\0c\u{1b}[31m name that is much longer than forty-eight bytes",
            late = tracing::field::Empty
        );
        span.in_scope(|| {
            // Formatting this emits an ERROR event into the span: no
            // deadlock on the span's data, and the span fails.
            span.record("late", tracing::field::debug(&ReentrantDebug));
            info!(
                nul = "\0",
                pipes = "|||",
                quotes = "\"\\'",
                controls = "\u{1}\u{7f}\u{2028}\r\n\t",
                escape = "\u{1b}]0;title\u{7}",
                nan = f64::NAN,
                inf = f64::NEG_INFINITY,
                big = u128::MAX,
                small = i128::MIN,
                flag = true,
                panics = ?PanickingDebug,
                fails = ?FailingDebug,
                endless = ?EndlessDebug,
                huge = huge.as_str(),
                error = &io_error as &(dyn std::error::Error + 'static),
                diagnostic.result = "neither",
                "message with \0 and | and {}", "\u{fffd}"
            );
        });
        drop(span);
        info_span!("").in_scope(|| info!(""));
    });
    let stats = guard.shutdown(WAIT).expect("shutdown");
    assert_eq!(stats.dropped(), 0, "{stats:?}");

    let entries = entries(dir.path());
    let events = events(dir.path());
    assert_eq!(entries.len(), events.len(), "every record decodes");
    // The hostile span: start, the event from inside Debug, the event,
    // finish; then the unnamed span's three.
    assert_eq!(events.len(), 7, "{events:#?}");
    let name = &events[0].name;
    assert!(name.len() <= MAX_NAME_BYTES);
    assert!(name.starts_with("a/b_c_[31m name"), "{name}");
    assert!(events.iter().all(|e| !e.name.is_empty()));
    assert_eq!(events[4].name, "unnamed");

    let event = events
        .iter()
        .find(|e| e.kind == Kind::Event && e.chunks.count > 1)
        .expect("the hostile event spans several records");
    let fields = &payload(event)["fields"];
    assert_eq!(fields["nul"], "\0");
    assert_eq!(fields["pipes"], "|||");
    assert_eq!(fields["quotes"], "\"\\'");
    assert_eq!(fields["controls"], "\u{1}\u{7f}\u{2028}\r\n\t");
    assert_eq!(fields["nan"], "NaN");
    assert_eq!(fields["inf"], "-inf");
    assert_eq!(fields["flag"], true);
    // Exact in the text (serde_json reads it back as a float).
    let text = event.payload.as_text().expect("text");
    assert!(text.contains(&format!("\"big\":{},", u128::MAX)), "{text}");
    assert!(text.contains(&format!("\"small\":{},", i128::MIN)));
    assert_eq!(fields["panics"], "<formatting panicked>");
    assert_eq!(fields["fails"], "half <formatting failed>");
    let endless = fields["endless"].as_str().expect("text");
    assert!(endless.ends_with('…') && endless.len() <= 4096 + '…'.len_utf8());
    let huge = fields["huge"].as_str().expect("text");
    assert!(huge.ends_with('…') && huge.len() <= 4096 + '…'.len_utf8());
    assert_eq!(fields["error"], "disk \0 on fire | really");
    assert_eq!(fields["message"], "message with \0 and | and \u{fffd}");
    assert_eq!(event.result, None, "an unknown result value is ignored");

    let finish = &events[3];
    assert_eq!(finish.kind, Kind::Finish);
    assert_eq!(payload(finish)["fields"]["late"], "reentrant");
    assert_eq!(
        finish.result,
        Some(kvp_report::Outcome::Fail),
        "the error event emitted from Debug"
    );
}

#[test]
fn an_event_too_large_for_the_format_is_counted_not_written() {
    let (dir, _) = temp_pool();
    let (layer, guard) = builder(dir.path())
        .max_field_bytes(4 << 20)
        .build()
        .expect("build");
    let subscriber = tracing_subscriber::registry().with(layer);
    let huge = "x".repeat(2 << 20); // needs more than 1023 records of 1022 bytes
    tracing::subscriber::with_default(subscriber, || {
        info!(huge = huge.as_str(), "too big");
        info!("fine");
    });
    let stats = guard.shutdown(WAIT).expect("shutdown");
    assert_eq!((stats.dropped_invalid, stats.written), (1, 1));
    assert_eq!(events(dir.path()).len(), 1);
}
