//! Commands that only read: list, entries, get, dump, wait.

use std::time::{Duration, Instant};

use kvp_core::KvpStore;
use serde::Serialize;

use super::{require_dir, Context};
use crate::failure::{Failure, Status};
use crate::output::{self, INDEX, KEY, VALUE};

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
struct KeyValue<'a> {
    key: &'a str,
    value: String,
}

/// Every record in file order.
pub fn list(cx: &mut Context<'_>) -> Result<Status, Failure> {
    require_dir(&cx.store)?;
    let records = cx.store.records()?;
    if cx.json {
        let records = records
            .into_iter()
            .enumerate()
            .map(|(index, r)| Indexed {
                index,
                key: r.key,
                value: r.value,
            })
            .collect();
        let path = cx.store.path();
        output::json(cx.out, &Listed { path, records })?;
    } else if records.is_empty() {
        writeln!(cx.out, "no records in {}", cx.store.path().display())?;
    } else {
        let rows: Vec<Vec<String>> = records
            .into_iter()
            .enumerate()
            .map(|(i, r)| vec![i.to_string(), r.key, r.value])
            .collect();
        output::table(cx.out, &[INDEX, KEY, VALUE], &rows)?;
    }
    Ok(Status::Success)
}

/// Every key with its last value, sorted by key.
pub fn entries(cx: &mut Context<'_>) -> Result<Status, Failure> {
    require_dir(&cx.store)?;
    let entries = cx.store.entries()?;
    if cx.json {
        output::json(cx.out, &entries)?;
    } else if entries.is_empty() {
        writeln!(cx.out, "no records in {}", cx.store.path().display())?;
    } else {
        let rows: Vec<Vec<String>> = entries.into_iter().map(|(k, v)| vec![k, v]).collect();
        output::table(cx.out, &[KEY, VALUE], &rows)?;
    }
    Ok(Status::Success)
}

/// The value of one key.
pub fn get(cx: &mut Context<'_>, key: &str) -> Result<Status, Failure> {
    require_dir(&cx.store)?;
    match cx.store.read_raw(key.as_bytes())? {
        Some(value) => print_value(cx, key, value),
        None => Ok(Status::Negative(Some(format!(
            "no key {key:?} in {}",
            cx.store.path().display()
        )))),
    }
}

/// People get the exact bytes, as `cat` would show them; JSON gets text
/// with invalid UTF-8 replaced.
fn print_value(cx: &mut Context<'_>, key: &str, value: Vec<u8>) -> Result<Status, Failure> {
    if cx.json {
        let value = String::from_utf8_lossy(&value).into_owned();
        output::json(cx.out, &KeyValue { key, value })?;
    } else {
        cx.out.write_all(&value)?;
        writeln!(cx.out)?;
    }
    Ok(Status::Success)
}

/// The records as the core's JSON dump, which `load` reads back.
pub fn dump(cx: &mut Context<'_>) -> Result<Status, Failure> {
    require_dir(&cx.store)?;
    let text = cx.store.dump_json()?;
    writeln!(cx.out, "{text}")?;
    Ok(Status::Success)
}

/// Polls until `key` appears or `timeout` passes. The pool file and even
/// its directory may not exist yet: the daemon creates them.
pub fn wait(cx: &mut Context<'_>, key: &str, timeout: Option<Duration>) -> Result<Status, Failure> {
    let deadline = timeout.map(|t| Instant::now() + t);
    loop {
        if let Some(value) = cx.store.read_raw(key.as_bytes())? {
            return print_value(cx, key, value);
        }
        let pause = match deadline {
            None => POLL,
            Some(deadline) => match deadline.checked_duration_since(Instant::now()) {
                Some(left) if !left.is_zero() => left.min(POLL),
                _ => {
                    return Ok(Status::Negative(Some(format!(
                        "key {key:?} did not appear in {} within {:?}",
                        cx.store.path().display(),
                        timeout.unwrap_or_default()
                    ))))
                }
            },
        };
        std::thread::sleep(pause);
    }
}
