//! The man pages (`man/`) and the bash, zsh and fish completions
//! (`completions/`) that the packages and `make -C kvp-cli install` ship are
//! generated from the clap definition by clap_mangen and clap_complete, and
//! committed, so that building them needs nothing but the files. This test
//! fails when they no longer match the definition; regenerate them with
//!
//! ```sh
//! KVP_UPDATE_GENERATED=1 cargo test -p kvp-cli generated
//! ```

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::Cli;

/// Every generated file: its path under kvp-cli and its contents.
fn generate() -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let pages = tempfile::tempdir().expect("a temporary directory");
    // kvp.1, then kvp-SUBCOMMAND.1 for each subcommand, nested ones too.
    clap_mangen::generate_to(Cli::command(), pages.path()).expect("man pages");
    for entry in fs::read_dir(pages.path()).expect("the man pages") {
        let path = entry.expect("a man page").path();
        let name = path.file_name().expect("a file name").to_owned();
        files.insert(
            Path::new("man").join(name),
            fs::read(&path).expect("a man page"),
        );
    }
    for (shell, name) in [
        (Shell::Bash, "kvp.bash"),
        (Shell::Zsh, "_kvp"),
        (Shell::Fish, "kvp.fish"),
    ] {
        let mut script = Vec::new();
        clap_complete::generate(shell, &mut Cli::command(), "kvp", &mut script);
        files.insert(Path::new("completions").join(name), script);
    }
    files
}

/// The files now in `dir`, relative to the crate.
fn committed(root: &Path, dir: &str) -> Vec<PathBuf> {
    match fs::read_dir(root.join(dir)) {
        Ok(entries) => entries
            .map(|entry| Path::new(dir).join(entry.expect("an entry").file_name()))
            .collect(),
        Err(_) => Vec::new(),
    }
}

#[test]
fn man_pages_and_completions_match_the_clap_definition() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let update = std::env::var_os("KVP_UPDATE_GENERATED").is_some();
    let files = generate();
    let mut stale = Vec::new();
    for (path, contents) in &files {
        if fs::read(root.join(path)).ok().as_deref() == Some(contents.as_slice()) {
            continue;
        }
        if update {
            fs::create_dir_all(root.join(path).parent().expect("a directory")).expect("mkdir");
            fs::write(root.join(path), contents).expect("write a generated file");
        } else {
            stale.push(path.display().to_string());
        }
    }
    // A page of a subcommand that no longer exists.
    for path in committed(root, "man")
        .into_iter()
        .chain(committed(root, "completions"))
    {
        if !files.contains_key(&path) {
            if update {
                fs::remove_file(root.join(&path)).expect("remove a stale page");
            } else {
                stale.push(format!("{} (no longer generated)", path.display()));
            }
        }
    }
    assert!(
        stale.is_empty(),
        "kvp-cli's generated files are out of date: {}\n\
         regenerate them with: KVP_UPDATE_GENERATED=1 cargo test -p kvp-cli generated",
        stale.join(", ")
    );
    assert!(files.contains_key(Path::new("man/kvp.1")));
}
