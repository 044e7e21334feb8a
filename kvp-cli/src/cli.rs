//! The command line: global options and subcommands, as clap parses them.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use kvp_core::{Pool, PoolMode};

use crate::duration::{parse_duration, parse_lock_wait, LockWait};
use crate::keys::{Key, KeyQuery};
use crate::report_args::{EventsArgs, ReportAction, SysRoot};

/// Exit codes, shown by `--help` and kept in step with the README.
pub const EXIT_CODES: &str = "\
Exit status:
  0  success
  1  a negative answer: get/wait found no key, delete removed nothing,
     check found errors (with --strict, any finding), report show found no
     report or one that does not decode
  2  usage: bad arguments or input that fails validation (unknown pool,
     --dir with --file, a key or value over the limits, a load file that does
     not parse, a path that is not a regular file); nothing was written
  3  runtime failure: I/O error, permission denied, missing directory, lock
     timeout, unique-key cap, no VM id on the machine; nothing was written

A closed output pipe (kvp list | head) ends kvp quietly with status 0.
--json output is documented in docs/cli.md.";

/// Read, write and check Hyper-V KVP pool files; write and read what agents
/// report to the Azure host.
#[derive(Debug, Parser)]
#[command(name = "kvp", version, after_help = EXIT_CODES, arg_required_else_help = true)]
pub struct Cli {
    /// Which pool file and how to open it.
    #[command(flatten)]
    pub target: Target,

    /// Print machine-readable JSON (schemas in docs/cli.md).
    #[arg(long, global = true)]
    pub json: bool,

    /// KEY arguments are in the escaped form that tables show (\xff,
    /// \u{202e}, \n, \\), so that any key can be named.
    #[arg(short = 'e', long, global = true)]
    pub escapes: bool,

    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Where the pool is and how to open it.
#[derive(Debug, Args)]
pub struct Target {
    /// Pool: 0-4, external, guest, auto, auto-external or auto-internal.
    #[arg(long, global = true, default_value = "guest", value_parser = parse_pool)]
    pub pool: Pool,

    /// Directory holding the pool files.
    #[arg(long, global = true, value_name = "DIR", default_value = kvp_core::DEFAULT_DIR)]
    pub dir: PathBuf,

    /// A pool file by path, instead of --pool and --dir.
    #[arg(long, global = true, value_name = "PATH", conflicts_with_all = ["dir", "pool"])]
    pub file: Option<PathBuf>,

    /// Limits for writes: safe (what the host receives whole) or full
    /// (whatever fits the field).
    #[arg(long, global = true, default_value = "safe", value_parser = parse_mode)]
    pub mode: PoolMode,

    /// Give up waiting for the pool's lock after this long (500ms, 2s,
    /// 1m; default 30s), or `forever`. Any user who can read a pool can
    /// hold its lock, so kvp never waits forever unless told to.
    #[arg(long, global = true, value_name = "DURATION", value_parser = parse_lock_wait)]
    pub lock_timeout: Option<LockWait>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Every record in file order, duplicates included.
    List(TableArgs),
    /// Every key with its value (the last record wins), sorted by key.
    Entries(TableArgs),
    /// Print the value of KEY (its last record); exit 1 when absent.
    Get {
        /// The key and how to print its value.
        #[command(flatten)]
        key: KeyQuery,
    },
    /// Set KEY to VALUE: the first record keeps its place, later
    /// duplicates are removed.
    Set(KeyValue),
    /// Add a record at the end, keeping earlier records with the same key.
    Append(KeyValue),
    /// Remove every record of each KEY; exit 1 when nothing was removed.
    Delete {
        /// The keys (in the escaped form with --escapes).
        #[arg(required = true)]
        keys: Vec<Key>,
    },
    /// Remove every record.
    Clear {
        /// Only when the pool was last written before this boot.
        #[arg(long)]
        if_stale: bool,
    },
    /// Replace the pool with the records of FILE (JSON or KEY=VALUE lines).
    ///
    /// FILE (default: stdin) holds a JSON object of string values, a JSON
    /// array of {"key","value"} objects (as dump prints) or KEY=VALUE lines
    /// (blank lines and lines starting with # are skipped). Every record is
    /// checked before anything is written.
    Load {
        /// The file, or - for stdin.
        // Not named `file`: that id belongs to the global --file, and clap
        // would mix the two up.
        #[arg(value_name = "FILE", default_value = "-")]
        source: String,
    },
    /// Print the records as a JSON array of {"key","value"} (load reads it).
    Dump,
    /// Path, size, records, unique keys, staleness and who holds a lock.
    Info,
    /// Check the pool file; exit 1 on errors (what breaks a reader or the
    /// host), or with --strict on any finding.
    Check(CheckArgs),
    /// Wait until KEY appears, then print its value; exit 1 on timeout.
    Wait {
        /// The key and how to print its value.
        #[command(flatten)]
        key: KeyQuery,
        /// Give up after this long (500ms, 2s, 1m), however long the pool
        /// stays locked; default: wait forever for the key (each look still
        /// gives up after --lock-timeout).
        #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
        timeout: Option<Duration>,
    },
    /// Write or show PROVISIONING_REPORT, the record the Azure host parses.
    Report {
        /// What to do with the report.
        #[command(subcommand)]
        action: ReportAction,
    },
    /// Every agent's events in the pool as a timeline sorted by time.
    ///
    /// cloud-init (22.4 to 26.x), azure-init tracing and DIAG_V1 records,
    /// chunks reassembled and compressed artifacts decoded; each finish
    /// with its duration (measured from its start where the record carries
    /// none), starts that never finished marked UNFINISHED, reports in
    /// their place, and records that do not decode listed after, with the
    /// reason.
    Events(EventsArgs),
    /// Print this machine's VM id (DMI product UUID, with the Gen1 byte
    /// swap); exit 3 when it has none.
    VmId(SysRoot),
}

/// How `list` and `entries` print their table.
#[derive(Debug, Args)]
pub struct TableArgs {
    /// Never cut keys or values to fit the terminal (a pipe or a file
    /// always gets them whole).
    #[arg(short = 'w', long)]
    pub wide: bool,
}

/// What `check` does and shows.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Cut a partial tail and zero the garbage after NULs (what readers
    /// see is unchanged), under the exclusive lock.
    #[arg(long)]
    pub repair: bool,
    /// Exit 1 on notes too (duplicates, garbage after a NUL, ...), not only
    /// on errors.
    #[arg(long)]
    pub strict: bool,
    /// List every note on its own line instead of grouping repeated ones.
    #[arg(short = 'v', long)]
    pub verbose: bool,
}

/// A key and a value for set and append.
#[derive(Debug, Args)]
pub struct KeyValue {
    /// The key.
    pub key: String,
    /// The value, or - to read it from stdin (one trailing newline is
    /// dropped).
    #[arg(allow_hyphen_values = true)]
    pub value: String,
}

fn parse_pool(text: &str) -> Result<Pool, String> {
    text.parse().map_err(|e: kvp_core::Error| e.to_string())
}

fn parse_mode(text: &str) -> Result<PoolMode, String> {
    text.parse().map_err(|e: kvp_core::Error| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn help_lists_exit_codes() {
        let help = Cli::command().render_long_help().to_string();
        assert!(help.contains("Exit status:"), "{help}");
        assert!(help.contains("3  runtime failure"), "{help}");
    }
}
