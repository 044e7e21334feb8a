//! set, append, delete, clear, load.

use std::time::{Duration, SystemTime};

use serde_json::json;

use crate::support::{json, Pools};

fn keys(pools: &Pools) -> Vec<String> {
    let dump = json(pools.run(&["dump"]).ok());
    dump.as_array()
        .expect("array")
        .iter()
        .map(|r| {
            format!(
                "{}={}",
                r["key"].as_str().unwrap_or("?"),
                r["value"].as_str().unwrap_or("?")
            )
        })
        .collect()
}

#[test]
fn set_upserts_in_place_and_append_keeps_duplicates() {
    let pools = Pools::new();
    pools.write(&["append", "a", "1"]);
    pools.write(&["append", "b", "2"]);
    pools.write(&["append", "a", "3"]);
    assert_eq!(keys(&pools), ["a=1", "b=2", "a=3"]);
    pools.write(&["set", "a", "4"]);
    assert_eq!(keys(&pools), ["a=4", "b=2"]);
    pools.write(&["set", "c", "-5"]);
    assert_eq!(pools.run(&["get", "c"]).ok(), "-5\n");
}

#[test]
fn value_dash_reads_stdin_less_one_newline() {
    let pools = Pools::new();
    assert_eq!(
        pools.run_stdin(&["set", "k", "-"], b"from stdin\n").ok(),
        ""
    );
    assert_eq!(pools.run(&["get", "k"]).ok(), "from stdin\n");
    pools.run_stdin(&["append", "k", "-"], b"two\n\n").ok();
    assert_eq!(
        pools.run(&["--json", "get", "k"]).ok(),
        "{\"key\":\"k\",\"value\":\"two\\n\"}\n"
    );
    pools.run_stdin(&["set", "k", "-"], b"none").ok();
    assert_eq!(pools.run(&["get", "k"]).ok(), "none\n");
    pools
        .run_stdin(&["set", "k", "-"], &[0xff, 0xfe])
        .fails(2, "stdin is not valid UTF-8");
}

#[test]
fn oversize_and_invalid_records_are_refused_and_change_nothing() {
    let pools = Pools::new();
    pools.write(&["set", "k", "v"]);
    let before = pools.bytes();
    let long = "x".repeat(1023);
    pools.run(&["set", "k", &long]).fails(
        2,
        "the value is 1023 UTF-16 code units, over the limit of 1022",
    );
    pools
        .run(&["append", &"k".repeat(255), "v"])
        .fails(2, "the key is 255 UTF-16 code units, over the limit of 254");
    pools.run(&["set", "", "v"]).fails(2, "the key is empty");
    pools
        .run(&["--mode", "full", "set", "k", &"x".repeat(2048)])
        .fails(2, "the value is 2048 UTF-8 bytes, over the limit of 2047");
    assert_eq!(pools.bytes(), before);
    pools.write(&["--mode", "full", "set", "k", &long]);
    assert_eq!(pools.run(&["get", "k"]).ok().len(), 1024);
}

#[test]
fn refused_first_write_creates_no_file() {
    let pools = Pools::new();
    pools
        .run(&["set", "k", &"x".repeat(1023)])
        .fails(2, "over the limit");
    assert!(!pools.guest().exists());
}

#[test]
fn delete_removes_every_record_of_each_key() {
    let pools = Pools::new();
    for (k, v) in [("a", "1"), ("b", "2"), ("a", "3"), ("c", "4")] {
        pools.write(&["append", k, v]);
    }
    assert_eq!(pools.run(&["delete", "a", "c"]).ok(), "removed 3 records\n");
    assert_eq!(keys(&pools), ["b=2"]);
    assert_eq!(pools.run(&["delete", "b"]).ok(), "removed 1 record\n");
    let none = pools.run(&["delete", "a", "zz"]);
    assert_eq!(none.fails(1, r#"no record with key "a" or "zz" in "#), "");
    let none = pools.run(&["--json", "delete", "a"]);
    assert_eq!(none.code, 1);
    assert_eq!(json(&none.stdout), json!({"removed": 0}));
    pools.write(&["set", "d", "x"]);
    assert_eq!(
        json(pools.run(&["--json", "delete", "d"]).ok()),
        json!({"removed": 1})
    );
}

#[test]
fn delete_needs_a_key() {
    let pools = Pools::new();
    pools
        .run(&["delete"])
        .fails(2, "required arguments were not provided");
}

#[test]
fn clear_and_clear_if_stale() {
    let pools = Pools::new();
    pools.write(&["set", "k", "v"]);
    assert_eq!(
        pools.run(&["clear", "--if-stale"]).ok(),
        format!(
            "{} was written during this boot: kept\n",
            pools.guest().display()
        )
    );
    assert_eq!(
        json(pools.run(&["--json", "clear", "--if-stale"]).ok()),
        json!({"cleared": false})
    );
    assert_eq!(pools.bytes().len(), 2560);

    let old = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
    let file = std::fs::File::options()
        .write(true)
        .open(pools.guest())
        .expect("open");
    file.set_modified(old).expect("set mtime");
    assert_eq!(json(pools.run(&["--json", "info"]).ok())["stale"], true);
    assert_eq!(
        json(pools.run(&["--json", "clear", "--if-stale"]).ok()),
        json!({"cleared": true})
    );
    assert!(pools.bytes().is_empty());

    pools.write(&["set", "k", "v"]);
    assert_eq!(
        pools.run(&["clear"]).ok(),
        format!("cleared {}\n", pools.guest().display())
    );
    assert!(pools.bytes().is_empty());
    assert!(pools.guest().exists(), "clear keeps the file");
}

#[test]
fn load_reads_json_objects_arrays_and_lines() {
    let pools = Pools::new();
    pools.write(&["set", "old", "gone"]);
    let object = r#"{"b": "1", "a": "2", "b": "3"}"#;
    assert_eq!(
        json(pools.run_stdin(&["--json", "load"], object.as_bytes()).ok()),
        json!({"loaded": 3})
    );
    assert_eq!(keys(&pools), ["b=1", "a=2", "b=3"]);

    let array = r#"[{"key": "x", "value": "1=2"}]"#;
    pools.run_stdin(&["load", "-"], array.as_bytes()).ok();
    assert_eq!(keys(&pools), ["x=1=2"]);

    let file = pools.dir.path().join("records.env");
    std::fs::write(&file, "# provisioning\nA=1\n\nB=two words\nC=\n").expect("write");
    let out = pools.run(&["load", file.to_str().expect("utf-8")]);
    assert_eq!(
        out.ok(),
        format!("loaded 3 records into {}\n", pools.guest().display())
    );
    assert_eq!(keys(&pools), ["A=1", "B=two words", "C="]);
}

#[test]
fn load_with_one_bad_record_leaves_the_pool_untouched() {
    let pools = Pools::new();
    pools.write(&["set", "keep", "me"]);
    let before = pools.bytes();
    let long = "v".repeat(1023);

    let lines = format!("A=1\nB={long}\nC=3\n");
    pools
        .run_stdin(&["load"], lines.as_bytes())
        .fails(2, "stdin: line 2: the value is 1023 UTF-16 code units");
    let array = br#"[{"key":"A","value":"1"},{"key":"","value":"x"}]"#;
    let bad = pools.run_stdin(&["load"], array);
    bad.fails(2, "stdin: record 1: the key is empty");
    assert!(bad.stderr.ends_with("; nothing was written\n"), "{bad:?}");
    pools
        .run_stdin(&["load"], b"A=1\nno equals sign\n")
        .fails(2, "stdin: line 2: expected KEY=VALUE");
    pools.run_stdin(&["load"], br#"{"A": 1}"#).fails(
        2,
        "stdin: line 1, column 7: expected an object of string values",
    );
    pools
        .run(&["load", "/nonexistent/records.json"])
        .fails(2, "cannot read /nonexistent/records.json");
    assert_eq!(pools.bytes(), before);
}

#[test]
fn load_over_the_unique_key_cap_is_refused() {
    let pools = Pools::new();
    pools.write(&["set", "keep", "me"]);
    let before = pools.bytes();
    let lines: String = (0..1025).map(|i| format!("k{i}=v\n")).collect();
    pools
        .run_stdin(&["load"], lines.as_bytes())
        .fails(3, "1024 unique keys");
    assert_eq!(pools.bytes(), before);
}
