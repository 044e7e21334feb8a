//! The subcommands, each a function from parsed arguments to a [`Status`].

mod check;
mod events;
mod inspect;
mod machine;
mod read;
mod report;
mod write;

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use kvp_core::{FileStore, Options};
use kvp_report::ReportResult;

use crate::cli::{Cli, Command, Target};
use crate::failure::{Failure, Status};
use crate::report_args::ReportAction;

/// What every command works with.
pub struct Context<'a> {
    /// The pool.
    pub store: FileStore,
    /// Where the pool is, to open it again with another lock timeout.
    pub target: &'a Target,
    /// The lock timeout in force (`None`: forever).
    pub lock_timeout: Option<Duration>,
    /// Whether to print JSON.
    pub json: bool,
    /// Where results go.
    pub out: &'a mut dyn Write,
}

/// Runs the parsed command line.
pub fn run(cli: &Cli, out: &mut dyn Write) -> Result<Status, Failure> {
    // vm-id reads the machine, not a pool: nothing to open.
    if let Command::VmId(root) = &cli.command {
        return machine::vm_id(root, cli.json, out);
    }
    // info must answer even while another process holds the pool's lock,
    // so its locked reads give up soon unless told otherwise.
    let lock_timeout = match (&cli.command, cli.target.lock_timeout) {
        (_, Some(wait)) => wait.timeout(),
        (Command::Info, None) => Some(Duration::from_secs(1)),
        (_, None) => Some(kvp_core::DEFAULT_LOCK_TIMEOUT),
    };
    let mut cx = Context {
        store: open(&cli.target, lock_timeout)?,
        target: &cli.target,
        lock_timeout,
        json: cli.json,
        out,
    };
    match &cli.command {
        Command::List(table) => read::list(&mut cx, table),
        Command::Entries(table) => read::entries(&mut cx, table),
        Command::Get { key } => read::get(&mut cx, key),
        Command::Dump => read::dump(&mut cx),
        Command::Wait { key, timeout } => read::wait(&mut cx, key, *timeout),
        Command::Set(kv) => write::set(&mut cx, &kv.key, &kv.value, false),
        Command::Append(kv) => write::set(&mut cx, &kv.key, &kv.value, true),
        Command::Delete { keys } => write::delete(&mut cx, keys),
        Command::Clear { if_stale } => write::clear(&mut cx, *if_stale),
        Command::Load { source } => write::load(&mut cx, source),
        Command::Info => inspect::info(&mut cx),
        Command::Check(args) => check::check(&mut cx, args),
        Command::Report { action } => match action {
            ReportAction::Success { reason, fields } => {
                report::write(&mut cx, ReportResult::Success, reason.as_deref(), fields)
            }
            ReportAction::Failure { reason, fields } => {
                report::write(&mut cx, ReportResult::Error, Some(reason), fields)
            }
            ReportAction::Show => report::show(&mut cx),
        },
        Command::Events(args) => events::events(&mut cx, args),
        // Answered above; kept so that the match stays exhaustive.
        Command::VmId(root) => machine::vm_id(root, cx.json, cx.out),
    }
}

/// Opens the pool `target` names with these limits and this lock timeout.
pub fn open(target: &Target, lock_timeout: Option<Duration>) -> Result<FileStore, Failure> {
    let options = Options::new().mode(target.mode).lock_timeout(lock_timeout);
    Ok(match &target.file {
        Some(path) => options.open(path)?,
        None => options.open_pool(target.pool, Some(&target.dir))?,
    })
}

/// Refuses to go on when the pool's directory does not exist: a command
/// that only reads or removes should not report an empty pool for a typo,
/// nor create a directory (writes do create it).
pub fn require_dir(store: &FileStore) -> Result<(), Failure> {
    let dir = match store.path().parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    if dir.is_dir() {
        return Ok(());
    }
    Err(Failure::Runtime(format!(
        "directory {} does not exist: check --dir or --file (set, append and load create it)",
        dir.display()
    )))
}
