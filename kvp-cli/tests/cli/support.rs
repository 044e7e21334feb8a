//! Running the built `kvp` binary against temporary pool directories.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The binary under test.
pub const KVP: &str = env!("CARGO_BIN_EXE_kvp");

/// What one run of kvp left behind.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(output: Output) -> Run {
        Run {
            code: output.status.code().expect("kvp ended by a signal"),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Asserts exit 0 with nothing on stderr, and gives stdout.
    #[track_caller]
    pub fn ok(&self) -> &str {
        assert_eq!((self.code, self.stderr.as_str()), (0, ""), "{self:?}");
        &self.stdout
    }

    /// Asserts `code` and exactly one `kvp: ` line on stderr containing
    /// `needle`, and gives stdout.
    #[track_caller]
    pub fn fails(&self, code: i32, needle: &str) -> &str {
        assert_eq!(self.code, code, "{self:?}");
        assert!(self.stderr.starts_with("kvp: "), "{self:?}");
        assert_eq!(self.stderr.lines().count(), 1, "{self:?}");
        assert!(self.stderr.contains(needle), "{self:?}");
        &self.stdout
    }
}

/// Runs kvp with `args` and `stdin`, in `cwd`.
pub fn kvp_in(cwd: &Path, args: &[&str], stdin: &[u8]) -> Run {
    let mut child = Command::new(KVP)
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn kvp");
    let mut input = child.stdin.take().expect("stdin");
    // kvp may exit without reading stdin; a closed pipe then is expected.
    let _ = input.write_all(stdin);
    drop(input);
    Run::from(child.wait_with_output().expect("wait for kvp"))
}

/// Runs kvp with `args` and no input.
pub fn kvp(args: &[&str]) -> Run {
    kvp_in(Path::new("."), args, b"")
}

/// A temporary pool directory; every run gets `--dir` pointing at it.
pub struct Pools {
    pub dir: tempfile::TempDir,
}

impl Pools {
    pub fn new() -> Pools {
        Pools {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// The guest pool's file (the default pool).
    pub fn guest(&self) -> PathBuf {
        self.dir.path().join(".kvp_pool_1")
    }

    fn with_dir<'a>(&'a self, args: &[&'a str]) -> Vec<&'a str> {
        let dir = self.dir.path().to_str().expect("utf-8 temp path");
        let mut all = vec!["--dir", dir];
        all.extend_from_slice(args);
        all
    }

    pub fn run(&self, args: &[&str]) -> Run {
        kvp(&self.with_dir(args))
    }

    pub fn run_stdin(&self, args: &[&str], stdin: &[u8]) -> Run {
        kvp_in(Path::new("."), &self.with_dir(args), stdin)
    }

    /// Runs `set`, `append` or another silent write that must succeed.
    #[track_caller]
    pub fn write(&self, args: &[&str]) {
        assert_eq!(self.run(args).ok(), "");
    }

    /// The guest pool's bytes (empty when it does not exist).
    pub fn bytes(&self) -> Vec<u8> {
        std::fs::read(self.guest()).unwrap_or_default()
    }
}

/// A copy of a fixture from tests/fixtures in a temp dir.
pub fn fixture(name: &str) -> (tempfile::TempDir, PathBuf) {
    let source = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures")
        .join(name);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(name);
    std::fs::copy(&source, &path).expect("copy fixture");
    // As a pool this library creates: owner only, so check has nothing to
    // say about who else may read it.
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .expect("chmod fixture");
    (dir, path)
}

/// Parses one line of JSON output.
#[track_caller]
pub fn json(text: &str) -> serde_json::Value {
    assert_eq!(text.lines().count(), 1, "one line of JSON: {text}");
    serde_json::from_str(text).expect("valid JSON")
}

const KEY_SIZE: usize = 512;
const RECORD_SIZE: usize = 2560;

/// A guest pool holding exactly these records, written byte for byte as a
/// host or a peer could, past any validation or limit.
pub fn pool_of(records: &[(&[u8], &[u8])]) -> Pools {
    let pools = Pools::new();
    let mut bytes = vec![0u8; records.len() * RECORD_SIZE];
    for ((key, value), slot) in records.iter().zip(bytes.chunks_exact_mut(RECORD_SIZE)) {
        slot[..key.len()].copy_from_slice(key);
        slot[KEY_SIZE..KEY_SIZE + value.len()].copy_from_slice(value);
    }
    std::fs::write(pools.guest(), bytes).expect("write the pool");
    std::fs::set_permissions(
        pools.guest(),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .expect("chmod the pool");
    pools
}

/// A guest pool whose first row is far wider than any terminal, as
/// cloud-init's event keys make them: a 300-character key and a
/// 1500-character value with a bidi override, then a short row. Gives the
/// pool, the key, and the value as tables show it (escaped).
pub fn wide_pool() -> (Pools, String, String) {
    let pools = Pools::new();
    let key = format!("CLOUD_INIT|{}", "k".repeat(289));
    let value = format!("{}\u{202e}end", "v".repeat(1500));
    pools.write(&["--mode", "full", "append", &key, &value]);
    pools.write(&["append", "short", "1"]);
    let shown = format!("{}\\u{{202e}}end", "v".repeat(1500));
    (pools, key, shown)
}

/// A fixture of kvp-report's, written by a peer's own code (its README
/// says which), as JSON.
pub fn report_fixture(name: &str) -> serde_json::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../kvp-report/tests/fixtures")
        .join(name);
    serde_json::from_slice(&std::fs::read(path).expect("read fixture")).expect("fixture JSON")
}

/// The `(key, value)` records a cloud-init fixture's handler wrote, in
/// order.
pub fn fixture_records(fixture: &serde_json::Value) -> Vec<(String, String)> {
    fixture["records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| {
            let text = |v: &serde_json::Value| v.as_str().expect("text").to_owned();
            (text(&r[0]), text(&r[1]))
        })
        .collect()
}
