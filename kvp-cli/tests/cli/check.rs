//! check's severities: errors (what breaks a reader or the host) fail it,
//! notes (what working pools hold) do not unless `--strict`; repeated
//! notes are grouped unless `--verbose`; JSON carries every severity.

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;

use serde_json::json;

use crate::support::{fixture, json, kvp, pool_of, Pools};

#[test]
fn the_daemons_pools_pass_unless_strict() {
    for name in ["daemon-modify-stale-tail.pool", "daemon-delete-shift.pool"] {
        let (_dir, path) = fixture(name);
        let file = path.to_str().expect("utf-8");
        // The fixture helper copies 0600; the daemon leaves its pools 0644.
        for mode in [0o600, 0o644] {
            std::fs::set_permissions(&path, PermissionsExt::from_mode(mode)).expect("chmod");
            let text = kvp(&["--file", file, "check"]).ok().to_owned();
            assert!(text.contains("\n0 errors, "), "{name} {mode:o}: {text}");
            let strict = kvp(&["--file", file, "check", "--strict"]);
            assert_eq!(strict.code, 1, "{name} {mode:o}: {strict:?}");
            assert_eq!(strict.stderr, "");
            assert_eq!(strict.stdout, text, "--strict changes the status only");
        }
    }
}

#[test]
fn appended_duplicates_pass_unless_strict() {
    let pools = Pools::new();
    for step in ["one", "two", "three"] {
        pools.write(&["append", "DIAGNOSTIC", step]);
    }
    let text = pools.run(&["check"]).ok().to_owned();
    assert!(
        text.contains("\nnote: 2 duplicate-key notes on 1 key\n"),
        "{text}"
    );
    assert!(
        text.ends_with(
            "\n0 errors, 2 notes, 0 repairable with --repair; --verbose lists every note\n"
        ),
        "{text}"
    );
    let strict = pools.run(&["check", "--strict"]);
    assert_eq!((strict.code, strict.stdout.as_str()), (1, text.as_str()));
}

#[test]
fn what_breaks_a_reader_or_the_host_fails_with_or_without_strict() {
    let torn = Pools::new();
    torn.write(&["set", "k", "v"]);
    File::options()
        .append(true)
        .open(torn.guest())
        .expect("open")
        .write_all(&[7; 100])
        .expect("torn write");
    let nul_less = pool_of(&[(&[b'k'; 512], b"v")]);
    let not_utf8 = pool_of(&[(b"Status\xff", b"ok")]);
    let cases = [
        (torn, "error: file: partial-tail: 100 bytes after the last whole record (a torn write; readers ignore them) [--repair fixes]", 1),
        (nul_less, "error: record 0: no-nul: the key field has no NUL terminator", 0),
        (not_utf8, "error: record 0: invalid-utf8: the key is not valid UTF-8 (the host's enumeration fails on it)", 0),
    ];
    for (pools, line, repairable) in cases {
        for args in [&["check"][..], &["check", "--strict"]] {
            let out = pools.run(args);
            assert_eq!(
                (out.code, out.stderr.as_str()),
                (1, ""),
                "{args:?}: {out:?}"
            );
            let lines: Vec<&str> = out.stdout.lines().collect();
            assert_eq!(lines[1], line, "{args:?}: {out:?}");
            let summary = format!("1 error, 0 notes, {repairable} repairable with --repair");
            assert_eq!(lines[2..], [summary.as_str()], "{out:?}");
        }
    }
}

/// Three keys appended five times each, two values that are not UTF-8
/// and a key with a bidi override.
fn busy_pool() -> Pools {
    let mut records: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    for round in 0..5 {
        for key in ["a", "b", "c"] {
            records.push((key.into(), format!("{key} {round}").into()));
        }
    }
    records.push((b"bad0".to_vec(), b"\xff".to_vec()));
    records.push((b"bad1".to_vec(), b"x\xc3".to_vec()));
    records.push(("Provisioning\u{202e}State".into(), b"ok".to_vec()));
    let borrowed: Vec<(&[u8], &[u8])> = records
        .iter()
        .map(|(k, v)| (k.as_slice(), v.as_slice()))
        .collect();
    pool_of(&borrowed)
}

#[test]
fn repeated_notes_are_grouped_and_errors_listed_one_by_one() {
    let pools = busy_pool();
    let out = pools.run(&["check"]);
    assert_eq!((out.code, out.stderr.as_str()), (1, ""), "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    let invalid = "invalid-utf8: the value is not valid UTF-8 (the host's enumeration fails on it)";
    assert_eq!(
        &lines[1..],
        [
            format!("error: record 15: {invalid}").as_str(),
            &format!("error: record 16: {invalid}"),
            "note: 12 duplicate-key notes on 3 keys",
            "note: record 17: unsafe-char-in-key: the key holds U+202E, a control or format character that can fake another key on screen",
            "2 errors, 13 notes, 0 repairable with --repair; --verbose lists every note",
        ],
        "{out:?}"
    );

    let verbose = pools.run(&["check", "--verbose"]);
    assert_eq!(verbose.code, 1);
    let lines: Vec<&str> = verbose.stdout.lines().collect();
    assert_eq!(lines.len(), 1 + 2 + 12 + 1 + 1, "{verbose:?}");
    assert_eq!(
        lines[3],
        "note: record 3: duplicate-key: duplicate key, first held by record 0 \"a\""
    );
    assert_eq!(
        lines[14],
        "note: record 14: duplicate-key: duplicate key, first held by record 2 \"c\""
    );
    assert_eq!(lines[16], "2 errors, 13 notes, 0 repairable with --repair");
}

#[test]
fn json_carries_the_severity_and_the_counts() {
    let pools = busy_pool();
    let out = pools.run(&["check", "--json"]);
    assert_eq!(out.code, 1, "{out:?}");
    let report = json(&out.stdout);
    assert_eq!(
        (&report["errors"], &report["notes"], &report["pool"]),
        (&json!(2), &json!(13), &json!("guest"))
    );
    let findings = report["findings"].as_array().expect("findings");
    assert_eq!(findings.len(), 15, "every finding, never grouped");
    assert_eq!(
        findings[0],
        json!({
            "code": "duplicate-key",
            "severity": "note",
            "record": 3,
            "field": null,
            "first": 0,
            "key": "a",
            "repairable": false,
            "message": "duplicate key, first held by record 0",
        })
    );
    let severity = |record: u64, code: &str| {
        findings
            .iter()
            .find(|f| f["record"] == record && f["code"] == code)
            .map(|f| f["severity"].clone())
    };
    assert_eq!(severity(15, "invalid-utf8"), Some(json!("error")));
    assert_eq!(severity(17, "unsafe-char-in-key"), Some(json!("note")));

    let strict = pools.run(&["check", "--json", "--strict"]);
    assert_eq!(
        (strict.code, strict.stdout.as_str()),
        (1, out.stdout.as_str())
    );
}

#[test]
fn over_the_safe_limit_is_an_error_only_where_the_host_reads() {
    let pools = Pools::new();
    let long = "v".repeat(1100);
    pools.write(&["--pool", "external", "--mode", "full", "set", "Name", &long]);
    pools.write(&["--mode", "full", "set", "REPORT", &long]);
    let over = "over-safe-limit: the value is 1100 UTF-16 code units, over the Safe limit of 1022";

    let host_wrote = pools.run(&["--pool", "external", "check"]);
    assert!(
        host_wrote.ok().contains(&format!(
            "note: record 0: {over} (this pool does not go to the host; a copy into pool 1 would arrive truncated)\n"
        )),
        "{host_wrote:?}"
    );
    let to_host = pools.run(&["check"]);
    assert_eq!(to_host.code, 1, "{to_host:?}");
    assert!(
        to_host.stdout.contains(&format!(
            "error: record 0: {over} (the host receives it truncated)\n"
        )),
        "{to_host:?}"
    );

    // By path, the daemon's file name says which pool it is; any other
    // name is checked as pool 1.
    let zero = pools.dir.path().join(".kvp_pool_0");
    let report = json(kvp(&["--file", zero.to_str().expect("utf-8"), "check", "--json"]).ok());
    assert_eq!(
        (&report["pool"], &report["errors"], &report["notes"]),
        (&json!("external"), &json!(0), &json!(1))
    );
    let copy = pools.dir.path().join("copy.pool");
    std::fs::copy(&zero, &copy).expect("copy");
    let out = kvp(&["--file", copy.to_str().expect("utf-8"), "check", "--json"]);
    assert_eq!(out.code, 1, "{out:?}");
    let report = json(&out.stdout);
    assert_eq!(
        (&report["pool"], &report["errors"]),
        (&json!("guest"), &json!(1))
    );
}
