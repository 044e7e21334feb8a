//! The README's report and events examples run as written, against a
//! temporary pool and a fake machine, so that they stay true.

use std::path::Path;

use crate::support::{json, kvp, Pools};

/// The shell words of one simple command line: single quotes group, and
/// a `#` after whitespace starts a comment.
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word: Option<String> = None;
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                word.get_or_insert_with(String::new);
            }
            '#' if !quoted && word.is_none() => break,
            c if c.is_whitespace() && !quoted => out.extend(word.take()),
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    out.extend(word);
    out
}

/// The `kvp ...` lines of the README's cli section that follow
/// "Provisioning reports", without pipes or `--follow` (which never ends).
fn examples() -> Vec<Vec<String>> {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"))
            .expect("read README.md");
    let section = readme
        .split("<!-- section: cli -->")
        .nth(1)
        .and_then(|s| s.split("<!-- end section: cli -->").next())
        .expect("the cli section");
    let block = section
        .split("Provisioning reports")
        .nth(1)
        .and_then(|s| s.split("```sh\n").nth(1))
        .and_then(|s| s.split("```").next())
        .expect("the reports block");
    block
        .lines()
        .filter(|l| l.starts_with("kvp ") && !l.contains(" | ") && !l.contains("--follow"))
        .map(words)
        .collect()
}

#[test]
fn shell_words() {
    assert_eq!(
        words("kvp report failure --reason 'no DHCP # x'  # comment"),
        ["kvp", "report", "failure", "--reason", "no DHCP # x"]
    );
    assert_eq!(words("a ''"), ["a", ""]);
}

#[test]
fn readme_report_and_events_examples_run() {
    let pools = Pools::new();
    let root = tempfile::tempdir().expect("temp dir");
    let dmi = root.path().join("sys/class/dmi/id");
    std::fs::create_dir_all(&dmi).expect("mkdir");
    std::fs::write(
        dmi.join("product_uuid"),
        "527c2691-029f-fe4c-b1f4-a4da7ebac2cf\n",
    )
    .expect("write uuid");
    let dir = pools.dir.path().to_str().expect("utf-8");
    let sys_root = root.path().to_str().expect("utf-8");
    let lines = examples();
    assert!(lines.len() >= 5, "{lines:?}");
    for line in &lines {
        let mut args: Vec<&str> = line[1..].iter().map(String::as_str).collect();
        args.extend(["--dir", dir]);
        if matches!(args.first(), Some(&"vm-id" | &"report")) && args.get(1) != Some(&"show") {
            args.extend(["--sys-root", sys_root]);
        }
        kvp(&args).ok();
    }
    let shown = json(pools.run(&["report", "show", "--json"]).ok());
    assert_eq!(shown["records"], 1);
    assert_eq!(
        shown["report"]["vm_id"],
        "91267c52-9f02-4cfe-b1f4-a4da7ebac2cf"
    );
}
