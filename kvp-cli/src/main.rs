//! `kvp`: read, write and check Hyper-V KVP pool files from the shell.
//!
//! Run `kvp --help` for the commands and exit codes; docs/cli.md documents
//! the JSON output.
#![deny(missing_docs)]

mod cli;
mod commands;
mod duration;
mod escape;
mod failure;
#[cfg(test)]
mod generated;
mod input;
mod json;
mod keys;
mod output;
mod report_args;
mod report_view;
mod terminal;
mod timeline_view;

use std::io::Write;
use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::Parser;

use crate::cli::Cli;
use crate::failure::{Failure, EXIT_USAGE};

fn main() -> ExitCode {
    let mut cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(&e),
    };
    if let Err(failure) = keys::unescape_keys(&mut cli) {
        return failure::finish(Err(failure));
    }
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

/// Clap's first paragraph on one line, without its `error: ` prefix, with
/// any `tip:` lines. The paragraph's indented lines are kept: they name what
/// is missing (`... not provided: <KEY>, <VALUE>`).
fn one_line(rendered: &str) -> String {
    let mut lines = rendered.lines().map(str::trim);
    let first = lines.next().unwrap_or("");
    let first = first.strip_prefix("error: ").unwrap_or(first);
    let first = if first.is_empty() {
        "invalid arguments"
    } else {
        first
    };
    let details: Vec<&str> = lines
        .by_ref()
        .take_while(|l| !l.is_empty())
        .filter(|l| !l.starts_with("tip:"))
        .collect();
    let mut message = match (details.is_empty(), first.ends_with(':')) {
        (true, _) => first.to_owned(),
        (false, true) => format!("{first} {}", details.join(", ")),
        (false, false) => format!("{first}; {}", details.join("; ")),
    };
    for tip in rendered
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("tip:"))
    {
        message.push_str("; ");
        message.push_str(tip);
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_keeps_the_names_of_missing_arguments() {
        let rendered = "error: the following required arguments were not provided:\n  <KEY>\n  <VALUE>\n\nUsage: kvp set <KEY> <VALUE>\n\nFor more information, try '--help'.\n";
        assert_eq!(
            one_line(rendered),
            "the following required arguments were not provided: <KEY>, <VALUE>"
        );
    }

    #[test]
    fn one_line_appends_tips_and_other_details() {
        let rendered =
            "error: unexpected argument '--x' found\n\n  tip: use '-- --x'\n\nUsage: kvp get\n";
        assert_eq!(
            one_line(rendered),
            "unexpected argument '--x' found; tip: use '-- --x'"
        );
        let rendered =
            "error: 'kvp' requires a subcommand\n  [subcommands: list, get]\n\nUsage: kvp\n";
        assert_eq!(
            one_line(rendered),
            "'kvp' requires a subcommand; [subcommands: list, get]"
        );
        assert_eq!(one_line(""), "invalid arguments");
    }
}
