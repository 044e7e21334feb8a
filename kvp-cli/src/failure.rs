//! How a command ends: its status, its errors, and the exit code of each.

use std::io;
use std::process::ExitCode;

use crate::escape;

/// A command that ran to the end.
#[derive(Debug, PartialEq, Eq)]
pub enum Status {
    /// Exit 0.
    Success,
    /// Exit 1: no such key, nothing removed, findings, timeout. The message,
    /// if any, goes to stderr.
    Negative(Option<String>),
}

/// A command that could not run to the end.
#[derive(Debug)]
pub enum Failure {
    /// Exit 2: the arguments or the input are wrong.
    Usage(String),
    /// Exit 3: something failed at run time.
    Runtime(String),
    /// An error from the core, classified by its kind.
    Core(kvp_core::Error),
    /// Writing to stdout failed; a closed pipe is not an error.
    Output(io::Error),
}

impl From<kvp_core::Error> for Failure {
    fn from(e: kvp_core::Error) -> Failure {
        Failure::Core(e)
    }
}

/// kvp-report's errors by kind: a field the caller gave that cannot be
/// written is usage (2), anything the machine or the pool did is runtime
/// (3). Messages may quote what a pool or DMI file held, so they are shown
/// escaped.
impl From<kvp_report::Error> for Failure {
    fn from(e: kvp_report::Error) -> Failure {
        use kvp_report::ErrorKind as K;
        if let kvp_report::Error::Store(e) = e {
            return Failure::Core(e);
        }
        let message = escape::for_message(&e.to_string());
        match e.kind() {
            K::InvalidField | K::TooLarge | K::Unsupported => Failure::Usage(message),
            _ => Failure::Runtime(message),
        }
    }
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Failure {
        Failure::Output(e)
    }
}

/// Exit 2: the caller can fix the command or its input.
pub const EXIT_USAGE: u8 = 2;
/// Exit 3: the environment failed the command.
pub const EXIT_RUNTIME: u8 = 3;

/// Prints what the user needs on stderr and picks the exit code.
pub fn finish(result: Result<Status, Failure>) -> ExitCode {
    let (code, message) = match result {
        Ok(Status::Success) => (0, None),
        Ok(Status::Negative(message)) => (1, message),
        Err(Failure::Usage(message)) => (EXIT_USAGE, Some(message)),
        Err(Failure::Runtime(message)) => (EXIT_RUNTIME, Some(message)),
        Err(Failure::Core(e)) => (core_exit_code(&e), Some(core_message(&e))),
        Err(Failure::Output(e)) if e.kind() == io::ErrorKind::BrokenPipe => (0, None),
        Err(Failure::Output(e)) => (EXIT_RUNTIME, Some(format!("writing output: {e}"))),
    };
    if let Some(message) = message {
        eprintln!("kvp: {message}");
    }
    ExitCode::from(code)
}

fn core_exit_code(e: &kvp_core::Error) -> u8 {
    use kvp_core::ErrorKind as K;
    match e.kind() {
        K::EmptyKey
        | K::Nul
        | K::KeyTooLarge
        | K::ValueTooLarge
        | K::UnknownName
        | K::NotARegularFile => EXIT_USAGE,
        _ => EXIT_RUNTIME,
    }
}

/// The core's message, plus what to do for the errno values operators meet.
fn core_message(e: &kvp_core::Error) -> String {
    let hint = match e.raw_os_error() {
        Some(EACCES | EPERM) => " (run as root, or check the file's permissions)",
        Some(EROFS) => " (the file system is read-only)",
        _ => "",
    };
    format!("{e}{hint}")
}

// errno values on Linux; spelled out to keep libc out of the binary's deps.
const EPERM: i32 = 1;
const EACCES: i32 = 13;
const EROFS: i32 = 30;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_constants_match_libc() {
        assert_eq!(EPERM, libc::EPERM);
        assert_eq!(EACCES, libc::EACCES);
        assert_eq!(EROFS, libc::EROFS);
    }

    #[test]
    fn report_errors_by_kind() {
        let invalid = kvp_report::Error::InvalidField {
            field: "agent",
            reason: "it is empty",
        };
        assert!(matches!(Failure::from(invalid), Failure::Usage(_)));
        let none = kvp_report::Error::NoVmId {
            path: "product_uuid".into(),
            value: "\u{1b}[2J\u{202e}\u{85}".into(),
        };
        match Failure::from(none) {
            Failure::Runtime(message) => assert!(
                !message.contains(['\u{1b}', '\u{202e}', '\u{85}']),
                "{message}"
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn validation_is_usage_and_lock_timeout_is_runtime() {
        assert_eq!(core_exit_code(&kvp_core::Error::EmptyKey), EXIT_USAGE);
        let timeout = kvp_core::Error::LockTimeout {
            path: "p".into(),
            timeout: std::time::Duration::from_secs(1),
            holder: kvp_core::LockHolder::Unknown,
        };
        assert_eq!(core_exit_code(&timeout), EXIT_RUNTIME);
    }
}
