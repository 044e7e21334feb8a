//! Commands that write: set, append, delete, clear, load.

use kvp_core::KvpStore;
use serde_json::json;

use super::{require_dir, Context};
use crate::failure::{Failure, Status};
use crate::input;
use crate::keys::Key;
use crate::output;

/// `set` (upsert) or `append`; silent on success, as `cp` is.
pub fn set(cx: &mut Context<'_>, key: &str, value: &str, append: bool) -> Result<Status, Failure> {
    let value = input::value_argument(value)?;
    if append {
        cx.store.append(key, &value)?;
    } else {
        cx.store.insert(key, &value)?;
    }
    Ok(Status::Success)
}

/// Removes every record of the keys; nothing removed is a negative answer.
pub fn delete(cx: &mut Context<'_>, keys: &[Key]) -> Result<Status, Failure> {
    require_dir(&cx.store)?;
    let raw: Vec<&[u8]> = keys.iter().map(Key::bytes).collect();
    let removed = cx.store.delete_raw(&raw)?;
    if cx.json {
        output::json(cx.out, &json!({ "removed": removed }))?;
    } else if removed > 0 {
        let plural = if removed == 1 { "" } else { "s" };
        writeln!(cx.out, "removed {removed} record{plural}")?;
    }
    if removed == 0 {
        let shown: Vec<String> = keys.iter().map(|k| format!("\"{}\"", k.shown())).collect();
        return Ok(Status::Negative(Some(format!(
            "no record with key {} in {}",
            shown.join(" or "),
            cx.store.path().display()
        ))));
    }
    Ok(Status::Success)
}

/// Empties the pool, or only a pool left from an earlier boot.
pub fn clear(cx: &mut Context<'_>, if_stale: bool) -> Result<Status, Failure> {
    require_dir(&cx.store)?;
    let cleared = if if_stale {
        cx.store.clear_if_stale()?
    } else {
        cx.store.clear()?;
        true
    };
    let path = cx.store.path().display();
    if cx.json {
        output::json(cx.out, &json!({ "cleared": cleared }))?;
    } else if cleared {
        writeln!(cx.out, "cleared {path}")?;
    } else {
        writeln!(cx.out, "{path} was written during this boot: kept")?;
    }
    Ok(Status::Success)
}

/// Replaces the pool with the records of a file, after checking each one
/// against the mode so that the error names the bad record.
pub fn load(cx: &mut Context<'_>, source: &str) -> Result<Status, Failure> {
    let name = if source == "-" { "stdin" } else { source };
    let text = input::read_source(source)?;
    let entries =
        input::parse_records(&text).map_err(|e| Failure::Usage(format!("{name}: {e}")))?;
    let mode = cx.store.mode();
    for entry in &entries {
        mode.check(&entry.key, &entry.value).map_err(|e| {
            // The place, never the text: a bad line may hold a secret.
            Failure::Usage(format!(
                "{name}: {}: {e}; nothing was written",
                entry.origin
            ))
        })?;
    }
    let pairs: Vec<(&str, &str)> = entries
        .iter()
        .map(|e| (e.key.as_str(), e.value.as_str()))
        .collect();
    cx.store.load(&pairs)?;
    if cx.json {
        output::json(cx.out, &json!({ "loaded": pairs.len() }))?;
    } else {
        let path = cx.store.path().display();
        writeln!(cx.out, "loaded {} records into {path}", pairs.len())?;
    }
    Ok(Status::Success)
}
