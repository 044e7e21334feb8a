//! Usage errors, exit codes, help, and a closed output pipe.

use std::io::Read;
use std::process::{Command, Stdio};

use crate::support::{kvp, Pools, KVP};

#[test]
fn usage_errors_exit_2_with_one_line() {
    kvp(&["--pool", "9", "list"]).fails(
        2,
        "invalid value '9' for '--pool <POOL>': unknown pool \"9\"",
    );
    kvp(&["--pool", "host", "list"]).fails(
        2,
        "expected 0-4, external, guest, auto, auto-external or auto-internal",
    );
    kvp(&["--dir", "/tmp", "--file", "/tmp/x", "list"]).fails(
        2,
        "the argument '--dir <DIR>' cannot be used with '--file <PATH>'",
    );
    kvp(&["--mode", "fast", "list"]).fails(2, "unknown pool mode \"fast\"");
    kvp(&["--lock-timeout", "soon", "list"]).fails(2, "\"soon\" is not a duration");
    kvp(&["lst"]).fails(
        2,
        "unrecognized subcommand 'lst'; tip: a similar subcommand exists: 'list'",
    );
    kvp(&["get"]).fails(
        2,
        "the following required arguments were not provided: <KEY> (see kvp --help)",
    );
    kvp(&["set"]).fails(
        2,
        "the following required arguments were not provided: <KEY>, <VALUE> (see",
    );
    kvp(&["wait", "--timeout", "1s"]).fails(2, "were not provided: <KEY> (see");
}

#[test]
fn a_directory_as_file_is_refused() {
    let pools = Pools::new();
    let dir = pools.dir.path().to_str().expect("utf-8");
    for command in [&["list"][..], &["set", "k", "v"], &["check"], &["info"]] {
        let mut args = vec!["--file", dir];
        args.extend_from_slice(command);
        kvp(&args).fails(2, "is not a regular file: give the path of a pool file");
    }
}

#[test]
fn pool_names_and_numbers_pick_the_file() {
    let pools = Pools::new();
    pools.write(&["--pool", "external", "set", "k", "v"]);
    assert!(pools.dir.path().join(".kvp_pool_0").exists());
    assert_eq!(pools.run(&["--pool", "0", "get", "k"]).ok(), "v\n");
    let file = pools.dir.path().join(".kvp_pool_0");
    assert_eq!(
        kvp(&["--file", file.to_str().expect("utf-8"), "get", "k"]).ok(),
        "v\n"
    );
    pools.run(&["get", "k"]).fails(1, "no key");
}

#[test]
fn help_documents_the_exit_codes() {
    let out = kvp(&["--help"]);
    let help = out.ok();
    assert!(help.contains("Exit status:\n  0  success"), "{help}");
    assert!(help.contains("3  runtime failure"), "{help}");
    assert!(kvp(&["--version"]).ok().starts_with("kvp "));
    let bare = kvp(&[]);
    assert_eq!(bare.code, 2);
    assert!(bare.stderr.contains("Usage: kvp"));
}

fn many_records(pools: &Pools) {
    let lines: String = (0..1000)
        .map(|i| format!("key-{i:04}-{}={}\n", "k".repeat(30), "v".repeat(200)))
        .collect();
    pools.run_stdin(&["load"], lines.as_bytes()).ok();
}

#[test]
fn a_closed_pipe_ends_quietly_with_status_0() {
    let pools = Pools::new();
    many_records(&pools);
    let dir = pools.dir.path().to_str().expect("utf-8");
    for command in ["list", "dump", "entries"] {
        let mut child = Command::new(KVP)
            .args(["--dir", dir, command])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        let mut stdout = child.stdout.take().expect("stdout");
        let mut first = [0u8; 16];
        stdout.read_exact(&mut first).expect("some output");
        // More than a pipe buffer is still to come, so kvp meets the closed pipe.
        drop(stdout);
        let output = child.wait_with_output().expect("wait");
        assert_eq!(output.status.code(), Some(0), "{command}");
        assert_eq!(String::from_utf8_lossy(&output.stderr), "", "{command}");
    }
}

#[test]
fn a_shell_pipeline_into_head_succeeds() {
    let pools = Pools::new();
    many_records(&pools);
    let script = format!(
        "set -o pipefail; '{KVP}' --dir '{}' list | head -n 2",
        pools.dir.path().display()
    );
    let output = Command::new("bash")
        .args(["-c", &script])
        .output()
        .expect("bash");
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("#    KEY"));
}
