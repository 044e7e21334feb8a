//! `kvp`: read, write and check Hyper-V KVP pool files from the shell.
//!
//! Run `kvp --help` for the commands and exit codes; docs/cli.md documents
//! the JSON output.
#![deny(missing_docs)]

mod cli;
mod commands;
mod duration;
mod failure;
mod input;
mod output;

use std::io::Write;
use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::Parser;

use crate::cli::Cli;
use crate::failure::{Failure, EXIT_USAGE};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(&e),
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let result = commands::run(&cli, &mut out);
    // Flush before reporting, so that a closed pipe is seen here too.
    let result = result.and_then(|status| out.flush().map(|()| status).map_err(Failure::from));
    failure::finish(result)
}

/// Help and version go to stdout with status 0. Any other parse error
/// becomes one line on stderr (clap's message and tips) with status 2.
fn usage_error(e: &clap::Error) -> ExitCode {
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            // Nothing useful can be done if printing help fails.
            let _ = e.print();
            ExitCode::SUCCESS
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            eprint!("{}", e.render());
            ExitCode::from(EXIT_USAGE)
        }
        _ => {
            eprintln!(
                "kvp: {} (see kvp --help)",
                one_line(&e.render().to_string())
            );
            ExitCode::from(EXIT_USAGE)
        }
    }
}

/// Clap's first line without its `error: ` prefix, with any `tip:` lines.
fn one_line(rendered: &str) -> String {
    let mut lines = rendered.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next().unwrap_or("invalid arguments");
    let first = first.strip_prefix("error: ").unwrap_or(first);
    let tips: Vec<&str> = lines.filter(|l| l.starts_with("tip:")).collect();
    if tips.is_empty() {
        first.to_owned()
    } else {
        format!("{first}; {}", tips.join("; "))
    }
}
