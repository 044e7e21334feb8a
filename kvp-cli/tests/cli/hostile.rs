//! Pools holding what a hostile host or user could write: look-alike keys,
//! keys that are not UTF-8, DEL and C1 controls; and load files holding
//! secrets.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::process::Command;

use crate::support::{json, pool_of, Pools, KVP};

/// Five keys that an unescaped table shows as two: `ProvisioningState`
/// and `Status\u{fffd}`.
fn look_alikes() -> Pools {
    pool_of(&[
        (b"ProvisioningState", b"ok"),
        ("Provisioning\u{200b}State".as_bytes(), b"zero-width"),
        ("\u{202e}etatSgninoisivorP".as_bytes(), b"bidi"),
        (b"Status\xff", b"not utf-8"),
        ("Status\u{fffd}".as_bytes(), b"replacement"),
    ])
}

#[test]
fn tables_show_look_alike_keys_apart() {
    let pools = look_alikes();
    let list = pools.run(&["list"]);
    let lines: Vec<&str> = list.ok().lines().collect();
    assert_eq!(
        lines,
        [
            "#  KEY                        VALUE",
            "0  ProvisioningState          ok",
            r"1  Provisioning\u{200b}State  zero-width",
            r"2  \u{202e}etatSgninoisivorP  bidi",
            r"3  Status\xff                 not utf-8",
            "4  Status\u{fffd}                    replacement",
        ]
    );
    let entries = pools.run(&["entries"]);
    let keys: Vec<&str> = entries
        .ok()
        .lines()
        .skip(1)
        .filter_map(|l| l.split("  ").next())
        .collect();
    assert_eq!(
        keys,
        [
            "ProvisioningState",
            r"Provisioning\u{200b}State",
            "Status\u{fffd}",
            r"Status\xff",
            r"\u{202e}etatSgninoisivorP",
        ]
    );
}

#[test]
fn json_escapes_del_and_c1_and_reads_back_the_same() {
    let text = "a\x7fb\u{85}c\u{9b}31m\u{202e}d";
    let pools = pool_of(&[(text.as_bytes(), text.as_bytes())]);
    let outputs = [
        pools.run(&["list", "--json"]),
        pools.run(&["entries", "--json"]),
        pools.run(&["get", "--json", text]),
        pools.run(&["dump"]),
    ];
    for out in &outputs {
        let raw = out.ok().as_bytes();
        let c1 = raw
            .windows(2)
            .any(|w| w[0] == 0xc2 && (0x80..=0x9f).contains(&w[1]));
        assert!(!raw.contains(&0x7f) && !c1, "{out:?}");
        assert!(
            out.stdout.contains(r"a\u007fb\u0085c\u009b31m\u202ed"),
            "{out:?}"
        );
    }
    let [list, entries, get, dump] = outputs.map(|out| json(&out.stdout));
    assert_eq!(list["records"][0]["key"], text);
    assert_eq!(list["records"][0]["value"], text);
    assert_eq!(entries[text], text);
    assert_eq!(get["value"], text);
    assert_eq!(dump[0]["value"], text);
}

#[test]
fn escapes_name_a_key_that_is_not_utf8() {
    let pools = look_alikes();
    assert_eq!(pools.run(&["get", "-e", r"Status\xff"]).ok(), "not utf-8\n");
    assert_eq!(
        pools.run(&["--escapes", "get", r"Status\xEF\xBF\xBD"]).ok(),
        "replacement\n"
    );
    assert_eq!(pools.run(&["get", "Status\u{fffd}"]).ok(), "replacement\n");
    assert_eq!(
        pools
            .run(&["get", "--escapes", r"Provisioning\u{200b}State"])
            .ok(),
        "zero-width\n"
    );
    assert_eq!(
        pools
            .run(&[
                "wait",
                "-e",
                r"\u{202e}etatSgninoisivorP",
                "--timeout",
                "0s"
            ])
            .ok(),
        "bidi\n"
    );
    // Without --escapes the argument is taken as it is, bytes included.
    let dir = pools.dir.path();
    let exact = Command::new(KVP)
        .arg("--dir")
        .arg(dir)
        .arg("get")
        .arg(OsStr::from_bytes(b"Status\xff"))
        .output()
        .expect("run kvp");
    assert_eq!(exact.stdout, b"not utf-8\n");
    pools
        .run(&["get", r"Status\xff"])
        .fails(1, r#"no key "Status\\xff" in "#);
    pools.run(&["get", "-e", r"Status\xf"]).fails(
        2,
        r"is not in the escaped form: at byte 6: \x needs two hex digits",
    );
}

#[test]
fn escapes_in_writes_and_deletes() {
    let pools = look_alikes();
    let before = pools.bytes();
    pools
        .run(&["set", "-e", r"\xff", "v"])
        .fails(2, "is not UTF-8: pools are written as UTF-8 text only");
    pools
        .run(&["list", "-e"])
        .fails(2, "--escapes applies only to the KEY of");
    assert_eq!(pools.bytes(), before, "nothing was written");
    // Any key a table shows can be deleted by its escaped form, and only it:
    // its look-alike (valid UTF-8 U+FFFD) stays.
    assert_eq!(
        pools.run(&["delete", "-e", r"Status\xff"]).ok(),
        "removed 1 record\n"
    );
    assert_eq!(pools.run(&["get", "Status\u{fffd}"]).code, 0);
    pools
        .run(&["delete", "-e", r"Status\xff"])
        .fails(1, r#"no record with key "Status\xff" in "#);

    pools.write(&["set", "-e", r"tab\there", r"v\n"]);
    assert_eq!(pools.run(&["get", "tab\there"]).ok(), "v\\n\n");
    let removed = pools.run(&["delete", "-e", r"Provisioning\u{200b}State", r"tab\there"]);
    assert_eq!(removed.ok(), "removed 2 records\n");
    assert_eq!(pools.run(&["get", "ProvisioningState"]).ok(), "ok\n");
}

#[test]
fn load_errors_name_the_place_never_the_input() {
    let pools = Pools::new();
    let secret = "hunter2-SECRET-token";
    let inputs = [
        format!("A=1\n{secret}\n"),
        format!(r#"[{{"key": "a", "value": "b"}}, "{secret}"]"#),
        format!(r#"[{{"key": "a", "{secret}": "b"}}]"#),
        format!("{{\"a\": \"b\",\n \"c\": [\"{secret}\"]}}"),
        format!(r#"{{"a": "{secret}" "b": "c"}}"#),
    ];
    for input in &inputs {
        let out = pools.run_stdin(&["load"], input.as_bytes());
        out.fails(2, "stdin: line ");
        assert!(!out.stderr.contains("SECRET"), "{out:?}");
    }
    let out = pools.run_stdin(&["load"], inputs[3].as_bytes());
    out.fails(2, "stdin: line 2, column ");
    assert!(
        out.stderr.contains(": expected an object of string values"),
        "{out:?}"
    );
    assert!(!pools.guest().exists(), "nothing was written");
}
