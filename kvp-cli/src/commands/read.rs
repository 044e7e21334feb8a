//! Commands that only read: list, entries, get, dump, wait.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use kvp_core::KvpStore;
use serde::Serialize;

use super::{require_dir, Context};
use crate::cli::TableArgs;
use crate::escape;
use crate::failure::{Failure, Status};
use crate::keys::KeyQuery;
use crate::output::{self, Width, INDEX, KEY, VALUE};

/// How often `wait` looks at the pool. The daemon writes host data rarely;
/// a tenth of a second costs nothing and keeps the wait responsive.
const POLL: Duration = Duration::from_millis(100);

#[derive(Serialize)]
struct Listed<'a> {
    path: &'a std::path::Path,
    records: Vec<Indexed>,
}

#[derive(Serialize)]
struct Indexed {
    index: usize,
    key: String,
    value: String,
}

#[derive(Serialize)]
struct KeyValue {
    key: String,
    value: String,
}

/// Every record in file order.
pub fn list(cx: &mut Context<'_>, table: &TableArgs) -> Result<Status, Failure> {
    require_dir(&cx.store)?;
    let records = cx.store.raw_records()?;
    if cx.json {
        let records = records
            .iter()
            .enumerate()
            .map(|(index, raw)| {
                let r = raw.to_record();
                Indexed {
                    index,
                    key: r.key,
                    value: r.value,
                }
            })
            .collect();
        let path = cx.store.path();
        output::json(cx.out, &Listed { path, records })?;
    } else if records.is_empty() {
        writeln!(cx.out, "no records in {}", cx.store.path().display())?;
    } else {
        let rows: Vec<Vec<Vec<u8>>> = records
            .into_iter()
            .enumerate()
            .map(|(i, r)| vec![i.to_string().into_bytes(), r.key, r.value])
            .collect();
        let room = Width::of_stdout(table.wide);
        output::table(cx.out, &[INDEX, KEY, VALUE], &rows, room)?;
    }
    Ok(Status::Success)
}

/// Every key with its last value, sorted by key.
pub fn entries(cx: &mut Context<'_>, table: &TableArgs) -> Result<Status, Failure> {
    require_dir(&cx.store)?;
    if cx.json {
        output::json(cx.out, &cx.store.entries()?.to_map())?;
        return Ok(Status::Success);
    }
    // By raw key, so that keys differing only in bytes that are not UTF-8
    // stay two rows instead of merging as U+FFFD.
    let entries = cx.store.raw_entries()?;
    if entries.is_empty() {
        writeln!(cx.out, "no records in {}", cx.store.path().display())?;
    } else {
        let rows: Vec<Vec<Vec<u8>>> = entries
            .iter()
            .map(|(k, v)| vec![k.to_vec(), v.to_vec()])
            .collect();
        let room = Width::of_stdout(table.wide);
        output::table(cx.out, &[KEY, VALUE], &rows, room)?;
    }
    Ok(Status::Success)
}

/// The value of one key.
pub fn get(cx: &mut Context<'_>, query: &KeyQuery) -> Result<Status, Failure> {
    require_dir(&cx.store)?;
    match cx.store.read_raw(query.key.bytes())? {
        Some(value) => print_value(cx, query, &value),
        None => Ok(Status::Negative(Some(format!(
            "no key \"{}\" in {}",
            query.key.shown(),
            cx.store.path().display()
        )))),
    }
}

/// A pipe or a file gets the exact bytes, as `cat` would show them; a
/// terminal gets the escaped form unless `--raw`, because pools 0 and 3
/// hold what the host wrote, escape sequences included. JSON gets text with
/// invalid UTF-8 replaced.
fn print_value(cx: &mut Context<'_>, query: &KeyQuery, value: &[u8]) -> Result<Status, Failure> {
    if cx.json {
        let key = String::from_utf8_lossy(query.key.bytes()).into_owned();
        let value = String::from_utf8_lossy(value).into_owned();
        output::json(cx.out, &KeyValue { key, value })?;
    } else if query.raw || !std::io::stdout().is_terminal() {
        cx.out.write_all(value)?;
        writeln!(cx.out)?;
    } else {
        writeln!(cx.out, "{}", escape::escape(value))?;
    }
    Ok(Status::Success)
}

/// The records as a JSON array of `{"key","value"}`, which `load` reads
/// back: the core's dump format, written by `output::json` so that it is
/// escaped as all JSON output is.
pub fn dump(cx: &mut Context<'_>) -> Result<Status, Failure> {
    require_dir(&cx.store)?;
    output::json(cx.out, &cx.store.records()?)?;
    Ok(Status::Success)
}

/// Polls until `key` appears or `timeout` passes. The pool file and even
/// its directory may not exist yet: the daemon creates them.
pub fn wait(
    cx: &mut Context<'_>,
    query: &KeyQuery,
    timeout: Option<Duration>,
) -> Result<Status, Failure> {
    // A deadline past what Instant can hold is no deadline at all.
    let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
    loop {
        let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        // --timeout bounds the whole wait, lock waits included: each look
        // waits for the lock no longer than what is left.
        let look = match left {
            Some(left) if cx.lock_timeout.is_none_or(|t| left < t) => {
                &super::open(cx.target, Some(left))?
            }
            _ => &cx.store,
        };
        let locked_by = match look.read_raw(query.key.bytes()) {
            Ok(Some(value)) => return print_value(cx, query, &value),
            Ok(None) => None,
            Err(kvp_core::Error::LockTimeout { holder, .. }) if deadline.is_some() => Some(holder),
            Err(e) => return Err(e.into()),
        };
        let pause = match deadline.and_then(|d| d.checked_duration_since(Instant::now())) {
            None if deadline.is_none() => POLL,
            Some(left) if !left.is_zero() => left.min(POLL),
            _ => {
                let why = locked_by.map_or_else(String::new, |holder| {
                    format!(": the pool stayed locked ({holder})")
                });
                return Ok(Status::Negative(Some(format!(
                    "key \"{}\" did not appear in {} within {:?}{why}",
                    query.key.shown(),
                    cx.store.path().display(),
                    timeout.unwrap_or_default()
                ))));
            }
        };
        std::thread::sleep(pause);
    }
}
