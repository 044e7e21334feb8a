//! Files written by the core read back byte for byte with a plain Python
//! implementation of the format (tests/format/plain_kvp.py), and files that
//! its writer makes read back exactly through the core.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use kvp_core::{FileStore, KvpStore, Options, PoolMode};

const PLAIN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/format/plain_kvp.py");

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn as_json(records: &[(&str, &str)]) -> String {
    let items: Vec<String> = records
        .iter()
        .map(|(k, v)| {
            format!(
                r#"{{"key":"{}","value":"{}"}}"#,
                hex(k.as_bytes()),
                hex(v.as_bytes())
            )
        })
        .collect();
    format!("[{}]", items.join(","))
}

fn plain(command: &str, path: &Path, stdin: &str) -> String {
    let mut child = Command::new("python3")
        .arg(PLAIN)
        .arg(command)
        .arg(path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 is needed for this test: install it (tests/setup.sh does)");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success(), "plain_kvp.py {command} failed");
    String::from_utf8(out.stdout).expect("utf-8")
}

fn sample() -> Vec<(&'static str, &'static str)> {
    vec![
        ("PROVISIONING_REPORT", "result=success"),
        ("dup", "1"),
        ("Région", "Zürich-Nord ✓"),
        ("dup", "2"),
        ("empty", ""),
    ]
}

#[test]
fn core_writes_what_the_plain_reader_reads_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let ours = dir.path().join("ours");
    let store = Options::new().mode(PoolMode::Full).open(&ours).unwrap();
    for (k, v) in sample() {
        store.append(k, v).unwrap();
    }
    let long_key = "k".repeat(511);
    let long_value = "v".repeat(2047);
    store.append(&long_key, &long_value).unwrap();
    let mut expected = sample();
    expected.push((&long_key, &long_value));
    let dumped = plain("dump", &ours, "");
    assert_eq!(dumped.replace(' ', ""), as_json(&expected));

    let theirs = dir.path().join("theirs");
    plain("write", &theirs, &as_json(&expected));
    assert_eq!(
        std::fs::read(&ours).unwrap(),
        std::fs::read(&theirs).unwrap()
    );
}

#[test]
fn the_plain_writer_writes_what_the_core_reads_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let theirs = dir.path().join("theirs");
    plain("write", &theirs, &as_json(&sample()));
    let store = FileStore::open(&theirs).unwrap();
    let records: Vec<(String, String)> = store
        .records()
        .unwrap()
        .into_iter()
        .map(|r| (r.key, r.value))
        .collect();
    let expected: Vec<(String, String)> = sample()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    assert_eq!(records, expected);
    assert_eq!(store.read("dup").unwrap().as_deref(), Some("2"));
}
