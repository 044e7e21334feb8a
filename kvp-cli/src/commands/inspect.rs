//! `info`: what the pool file is and who holds its locks. (`check`, the
//! fsck, has its own module.)

use kvp_core::lock::LockProbe;
use kvp_core::{Error, KvpStore, RECORD_SIZE};
use serde_json::json;

use super::Context;
use crate::failure::{Failure, Status};
use crate::output;

/// Path, size, records, unique keys, staleness and current lock holders.
pub fn info(cx: &mut Context<'_>) -> Result<Status, Failure> {
    let path = cx.store.path().to_path_buf();
    let facts = cx.store.facts()?;
    let size = facts.as_ref().map(|f| f.size);
    let file = facts
        .as_ref()
        .map(|f| (f.mode, f.owner, f.links, f.unsafe_for_writes));
    let probe = facts.map(|f| f.locks).unwrap_or_default();
    // Locked reads: while a writer holds the pool these give up (the
    // lock timeout) and are shown as unknown rather than hanging info.
    let unique_keys = unless_locked(cx.store.unique_keys())?;
    let stale = unless_locked(cx.store.is_stale())?;
    let bytes = size.unwrap_or(0);
    let slot = RECORD_SIZE as u64;
    if cx.json {
        let report = json!({
            "path": path,
            "exists": size.is_some(),
            "size": bytes,
            "records": bytes / slot,
            "partial_tail_bytes": bytes % slot,
            "unique_keys": unique_keys,
            "stale": stale,
            "mode": file.map(|(mode, ..)| format!("{mode:04o}")),
            "owner": file.map(|(_, owner, ..)| owner),
            "links": file.map(|(_, _, links, _)| links),
            "unsafe_for_writes": file.and_then(|(.., why)| why).map(|why| why.to_string()),
            "lock": {
                "fcntl": probe.fcntl.as_ref().map(|h| json!({"exclusive": h.exclusive, "pid": h.pid})),
                "flock": probe.flock_held,
            },
        });
        output::json(cx.out, &report)?;
        return Ok(Status::Success);
    }
    let unknown = || "unknown (the pool is locked)".to_owned();
    let rows = [
        ("path", path.display().to_string()),
        ("exists", yes_no(size.is_some()).to_owned()),
        ("size", format!("{bytes} bytes")),
        ("records", (bytes / slot).to_string()),
        ("partial tail", format!("{} bytes", bytes % slot)),
        (
            "unique keys",
            unique_keys.map_or_else(unknown, |n| n.to_string()),
        ),
        (
            "stale",
            stale.map_or_else(unknown, |s| yes_no(s).to_owned()),
        ),
        ("lock", describe_lock(&probe)),
    ];
    let rows = rows
        .into_iter()
        .chain(file.map(|(mode, owner, links, why)| {
            let safety = why.map_or_else(
                || "writable".to_owned(),
                |why| format!("writes refuse it: {why}"),
            );
            (
                "file",
                format!("mode {mode:04o}, owner uid {owner}, {links} link(s), {safety}"),
            )
        }));
    for (label, value) in rows {
        writeln!(cx.out, "{label:<14}{value}")?;
    }
    Ok(Status::Success)
}

fn unless_locked<T>(result: kvp_core::Result<T>) -> Result<Option<T>, Failure> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(Error::LockTimeout { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

fn yes_no(flag: bool) -> &'static str {
    if flag {
        "yes"
    } else {
        "no"
    }
}

fn describe_lock(probe: &LockProbe) -> String {
    let mut held = Vec::new();
    if let Some(holder) = &probe.fcntl {
        let kind = if holder.exclusive { "write" } else { "read" };
        held.push(match holder.pid {
            Some(pid) => format!("fcntl {kind} lock by pid {pid} (POSIX, as hv_kvp_daemon takes)"),
            None => format!("fcntl {kind} lock (OFD, as kvp and libazureinit-kvp take)"),
        });
    }
    if probe.flock_held {
        held.push("flock (as cloud-init and kvp take)".to_owned());
    }
    if held.is_empty() {
        "none".to_owned()
    } else {
        held.join("; ")
    }
}
