//! list, entries, get, dump, wait.

use std::process::{Command, Stdio};

use serde_json::json;

use crate::support::{json, wide_pool, Pools, KVP};

fn sample() -> Pools {
    let pools = Pools::new();
    pools.write(&["set", "name", "vm-1"]);
    pools.write(&["append", "step", "one"]);
    pools.write(&["append", "step", &"x".repeat(300)]);
    pools.write(&["append", "note", "line1\nline2"]);
    pools
}

#[test]
fn list_is_an_aligned_table_in_file_order() {
    let pools = sample();
    let out = pools.run(&["list"]);
    let lines: Vec<&str> = out.ok().lines().collect();
    assert_eq!(lines.len(), 5, "{lines:?}");
    assert_eq!(lines[0], "#  KEY   VALUE");
    assert_eq!(lines[1], "0  name  vm-1");
    assert_eq!(lines[2], "1  step  one");
    assert_eq!(
        lines[3],
        format!("2  step  {}", "x".repeat(300)),
        "a pipe gets it whole"
    );
    assert_eq!(lines[4], "3  note  line1\\nline2");
}

/// cloud-init's event keys run past 100 characters; a script that greps
/// the table must see them whole, escaped as on a terminal.
#[test]
fn a_pipe_gets_whole_keys_and_values() {
    let (pools, key, shown) = wide_pool();
    for (command, prefix) in [("list", "0  "), ("entries", "")] {
        for args in [&[command][..], &[command, "--wide"]] {
            let text = pools.run(args).ok().to_owned();
            let row = format!("{prefix}{key}  {shown}");
            assert!(text.lines().any(|l| l == row), "{args:?}: {text}");
            assert!(!text.contains('…'), "{args:?}: nothing is cut");
            assert!(!text.contains('\u{202e}'), "{args:?}: still escaped");
        }
    }
}

#[test]
fn list_json_has_every_record_in_full() {
    let pools = sample();
    let out = json(pools.run(&["list", "--json"]).ok());
    assert_eq!(out["path"], pools.guest().to_str().expect("utf-8"));
    let records = out["records"].as_array().expect("records");
    assert_eq!(records.len(), 4);
    assert_eq!(records[2]["index"], 2);
    assert_eq!(records[2]["key"], "step");
    assert_eq!(records[2]["value"], "x".repeat(300));
    assert_eq!(records[3]["value"], "line1\nline2");
}

#[test]
fn list_and_entries_of_an_empty_pool() {
    let pools = Pools::new();
    assert!(pools.run(&["list"]).ok().starts_with("no records in "));
    assert_eq!(
        json(pools.run(&["--json", "list"]).ok())["records"],
        json!([])
    );
    assert_eq!(json(pools.run(&["entries", "--json"]).ok()), json!({}));
}

#[test]
fn entries_are_sorted_and_the_last_record_wins() {
    let pools = sample();
    let text = pools.run(&["entries"]);
    let lines: Vec<&str> = text.ok().lines().collect();
    assert_eq!(lines[0], "KEY   VALUE");
    assert_eq!(lines[1], "name  vm-1");
    assert_eq!(lines[2], "note  line1\\nline2");
    assert!(lines[3].starts_with("step  xxx"));
    assert_eq!(
        json(pools.run(&["entries", "--json"]).ok()),
        json!({"name": "vm-1", "note": "line1\nline2", "step": "x".repeat(300)})
    );
}

#[test]
fn get_prints_the_last_value_or_exits_1() {
    let pools = sample();
    assert_eq!(pools.run(&["get", "name"]).ok(), "vm-1\n");
    assert_eq!(pools.run(&["get", "note"]).ok(), "line1\nline2\n");
    assert_eq!(
        json(pools.run(&["get", "step", "--json"]).ok()),
        json!({"key": "step", "value": "x".repeat(300)})
    );
    let missing = pools.run(&["get", "nope"]);
    assert_eq!(missing.fails(1, "no key \"nope\" in "), "");
    assert_eq!(pools.run(&["--json", "get", "nope"]).code, 1);
}

#[test]
fn dump_is_json_that_load_reads_back() {
    let pools = sample();
    let dump = pools.run(&["dump"]).ok().to_owned();
    assert_eq!(json(&dump)[1], json!({"key": "step", "value": "one"}));
    let other = Pools::new();
    assert!(other
        .run_stdin(&["load"], dump.as_bytes())
        .ok()
        .starts_with("loaded 4 records"));
    assert_eq!(other.bytes(), pools.bytes());
}

#[test]
fn reading_a_directory_that_does_not_exist_is_an_error() {
    let pools = Pools::new();
    let missing = pools.dir.path().join("typo");
    let dir = missing.to_str().expect("utf-8");
    for command in [
        &["list"][..],
        &["get", "k"],
        &["entries"],
        &["dump"],
        &["check"],
        &["delete", "k"],
        &["clear"],
    ] {
        let mut args = vec!["--dir", dir];
        args.extend_from_slice(command);
        crate::support::kvp(&args).fails(3, "does not exist: check --dir or --file");
    }
    assert!(!missing.exists(), "nothing was created");
}

#[test]
fn wait_returns_once_the_key_appears() {
    let pools = Pools::new();
    let dir = pools.dir.path().to_str().expect("utf-8");
    let waiter = Command::new(KVP)
        .args([
            "--dir",
            dir,
            "--pool",
            "external",
            "wait",
            "VirtualMachineName",
            "--timeout",
            "60s",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    pools.write(&["--pool", "0", "set", "VirtualMachineName", "vm-7"]);
    let output = waiter.wait_with_output().expect("wait");
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&output.stdout), "vm-7\n");
    assert!(output.stderr.is_empty());
}

#[test]
fn wait_times_out_with_exit_1() {
    let pools = Pools::new();
    pools
        .run(&["wait", "never", "--timeout", "200ms"])
        .fails(1, "key \"never\" did not appear in ");
    pools.write(&["set", "k", "v"]);
    assert_eq!(
        pools.run(&["wait", "k", "--timeout", "0s", "--json"]).ok(),
        "{\"key\":\"k\",\"value\":\"v\"}\n"
    );
}

#[test]
fn wait_with_a_timeout_too_large_to_add_waits_without_one() {
    let pools = Pools::new();
    pools.write(&["set", "k", "v"]);
    let huge = "10000000000000000000s";
    assert_eq!(pools.run(&["wait", "k", "--timeout", huge]).ok(), "v\n");
}
