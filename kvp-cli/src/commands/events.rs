//! `events`: every agent's events in the pool as one timeline, once or
//! followed as records arrive. Decoding and pairing are kvp-report's
//! ([`kvp_report::Timeline`]); this module prints.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::Duration;

use kvp_core::KvpStore;
use kvp_report::{decode, read_entries, Entry, RawEntry, ReadOptions, Step, Timeline};
use serde_json::{json, Value};

use super::{require_dir, Context};
use crate::failure::{Failure, Status};
use crate::output;
use crate::report_args::EventsArgs;
use crate::timeline_view::{self, Style};

/// How often `--follow` looks at the pool file. A look is one `stat`
/// unless the file changed; agents write a few records a second at most.
const POLL: Duration = Duration::from_millis(200);

/// The whole timeline, or with `--follow` the timeline and then each new
/// record as it comes.
pub fn events(cx: &mut Context<'_>, args: &EventsArgs) -> Result<Status, Failure> {
    if args.follow {
        return follow(cx, args.full);
    }
    require_dir(&cx.store)?;
    let entries = read_entries(&cx.store, &ReadOptions::default())?;
    let timeline = Timeline::new(&entries);
    let style = Style {
        full: args.full,
        open_ended: false,
    };
    if cx.json {
        let steps: Vec<Value> = timeline
            .steps
            .iter()
            .map(|s| timeline_view::step_json(s, style))
            .collect();
        let raw: Vec<Value> = timeline
            .raw
            .iter()
            .map(|r| timeline_view::raw_json(r))
            .collect();
        let out = json!({ "path": cx.store.path(), "timeline": steps, "raw": raw });
        output::json(cx.out, &out)?;
        return Ok(Status::Success);
    }
    if timeline.steps.is_empty() {
        writeln!(cx.out, "no events in {}", cx.store.path().display())?;
    }
    for step in &timeline.steps {
        writeln!(cx.out, "{}", timeline_view::step_line(step, style))?;
    }
    if !timeline.raw.is_empty() {
        let n = timeline.raw.len();
        let plural = if n == 1 { "" } else { "s" };
        writeln!(cx.out, "\n{n} record{plural} left as they are:")?;
        for raw in &timeline.raw {
            writeln!(cx.out, "  {}", timeline_view::raw_line(raw))?;
        }
    }
    Ok(Status::Success)
}

/// What identifies a printed line across looks: its content, not its
/// position, since `insert` and `delete` move records. The same content
/// twice is counted, so a repeated record is printed again.
fn identity(item: &Item<'_, '_>) -> u64 {
    let mut hasher = DefaultHasher::new();
    match item {
        Item::Step(step) => match step.entry {
            Entry::Event(event) => (0u8, event).hash(&mut hasher),
            Entry::Report { report, .. } => (1u8, report).hash(&mut hasher),
            _ => 2u8.hash(&mut hasher),
        },
        Item::Raw(raw) => (3u8, &raw.record, &raw.error).hash(&mut hasher),
    }
    hasher.finish()
}

enum Item<'t, 'a> {
    Step(&'t Step<'a>),
    Raw(&'a RawEntry),
}

/// What a `stat` tells about whether the pool changed since the last look.
#[derive(PartialEq, Eq)]
struct Stamp {
    ino: u64,
    len: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

fn stamp(path: &Path) -> Option<Stamp> {
    let meta = std::fs::metadata(path).ok()?;
    Some(Stamp {
        ino: meta.ino(),
        len: meta.len(),
        mtime: (meta.mtime(), meta.mtime_nsec()),
        ctime: (meta.ctime(), meta.ctime_nsec()),
    })
}

/// Prints the timeline, then polls: when the file changed, reads it under
/// the lock (each wait bounded by `--lock-timeout`), decodes it, and
/// prints what was not printed yet, in time order. It ends only on an
/// error, a closed pipe (status 0, at the next line written) or a signal.
/// The pool file and its directory may not exist yet.
fn follow(cx: &mut Context<'_>, full: bool) -> Result<Status, Failure> {
    let style = Style {
        full,
        open_ended: true,
    };
    let mut printed: HashMap<u64, usize> = HashMap::new();
    let mut last: Option<Option<Stamp>> = None;
    loop {
        // Taken before the read: a write in between shows as a change at
        // the next look, and the read after it prints nothing twice.
        let now = stamp(cx.store.path());
        if last.as_ref() != Some(&now) {
            let records = match now {
                Some(_) => cx.store.raw_records()?,
                None => Vec::new(),
            };
            let entries = decode(&records, &ReadOptions::default());
            let timeline = Timeline::new(&entries);
            let items = timeline
                .steps
                .iter()
                .map(Item::Step)
                .chain(timeline.raw.iter().map(|r| Item::Raw(r)));
            let mut seen: HashMap<u64, usize> = HashMap::new();
            for item in items {
                let id = identity(&item);
                let count = seen.entry(id).or_default();
                *count += 1;
                let done = printed.entry(id).or_default();
                if *count <= *done {
                    continue;
                }
                *done = *count;
                print_item(cx, &item, style)?;
            }
            cx.out.flush()?;
            last = Some(now);
        }
        std::thread::sleep(POLL);
    }
}

fn print_item(cx: &mut Context<'_>, item: &Item<'_, '_>, style: Style) -> Result<(), Failure> {
    match (item, cx.json) {
        (Item::Step(step), true) => output::json(cx.out, &timeline_view::step_json(step, style))?,
        (Item::Raw(raw), true) => output::json(cx.out, &timeline_view::raw_json(raw))?,
        (Item::Step(step), false) => writeln!(cx.out, "{}", timeline_view::step_line(step, style))?,
        (Item::Raw(raw), false) => writeln!(cx.out, "{}", timeline_view::raw_line(raw))?,
    }
    Ok(())
}
