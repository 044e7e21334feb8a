//! KEY arguments: the exact bytes given, or with `--escapes` the escaped
//! form (see [`crate::escape`]), so that any key a table shows can be named.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

use clap::Args;

use crate::cli::{Cli, Command};
use crate::escape::{self, Unit};
use crate::failure::Failure;

/// A KEY argument of `get` or `wait` as bytes. It is taken from the OS
/// argument as it is, so `$'Status\xff'` in a shell also names a key that
/// is not UTF-8.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key(Vec<u8>);

impl From<OsString> for Key {
    fn from(arg: OsString) -> Key {
        Key(arg.into_vec())
    }
}

impl Key {
    /// The key's bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }

    /// The key in the escaped form, for messages.
    pub fn shown(&self) -> String {
        escape::escape(&self.0)
    }
}

/// The KEY of `get` and `wait`, and how its value is printed.
#[derive(Debug, Args)]
pub struct KeyQuery {
    /// The key (in the escaped form with --escapes).
    #[arg(value_name = "KEY")]
    pub key: Key,

    /// Print the exact value bytes even to a terminal, which otherwise gets
    /// the escaped form (\x1b, \u{202e}, \n).
    #[arg(long)]
    pub raw: bool,
}

/// A key given in the escaped form, as the bytes it stands for.
fn decode_key(key: &Key) -> Result<Key, Failure> {
    let text = std::str::from_utf8(key.bytes()).map_err(|_| {
        usage(
            &key.shown(),
            "is not UTF-8 text: write other bytes as \\xHH",
        )
    })?;
    Ok(Key(decode(text)?))
}

/// With `--escapes`, decodes every KEY argument once, before the command
/// runs, so that commands only ever see the bytes meant. Keys that are
/// written must be UTF-8 once decoded.
pub fn unescape_keys(cli: &mut Cli) -> Result<(), Failure> {
    if !cli.escapes {
        return Ok(());
    }
    match &mut cli.command {
        Command::Get { key } | Command::Wait { key, .. } => key.key = decode_key(&key.key)?,
        Command::Set(kv) | Command::Append(kv) => {
            kv.key = decode_text(&kv.key, "pools are written as UTF-8 text only")?;
        }
        Command::Delete { keys } => {
            for key in keys {
                *key = decode_key(key)?;
            }
        }
        _ => {
            return Err(Failure::Usage(
                "--escapes applies only to the KEY of get, wait, set, append and delete".into(),
            ))
        }
    }
    Ok(())
}

/// The bytes of a key written in the escaped form.
fn decode(text: &str) -> Result<Vec<u8>, Failure> {
    escape::unescape(text)
        .map_err(|e| usage(&as_typed(text), &format!("is not in the escaped form: {e}")))
}

/// `text` as the user typed it, for pointing at a position in it, but
/// with control and format characters still escaped.
fn as_typed(text: &str) -> String {
    escape::units(text.as_bytes())
        .map(|unit| match unit {
            Unit::Short('\\') => "\\".to_owned(),
            unit => unit.to_string(),
        })
        .collect()
}

/// A key written in the escaped form that must decode to UTF-8 text.
fn decode_text(text: &str, why: &str) -> Result<String, Failure> {
    String::from_utf8(decode(text)?).map_err(|e| {
        usage(
            &escape::escape(e.as_bytes()),
            &format!("is not UTF-8: {why}"),
        )
    })
}

fn usage(shown: &str, problem: &str) -> Failure {
    Failure::Usage(format!("--escapes: key \"{shown}\" {problem}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn decoded(args: &[&str]) -> Result<Command, String> {
        let mut cli = Cli::try_parse_from(args).map_err(|e| e.to_string())?;
        match unescape_keys(&mut cli) {
            Ok(()) => Ok(cli.command),
            Err(Failure::Usage(message)) => Err(message),
            Err(other) => Err(format!("{other:?}")),
        }
    }

    #[test]
    fn get_and_wait_keys_decode_to_any_bytes() {
        for args in [
            &["kvp", "-e", "get", r"Status\xff"][..],
            &["kvp", "wait", "--escapes", r"Status\xff"],
        ] {
            match decoded(args) {
                Ok(Command::Get { key } | Command::Wait { key, .. }) => {
                    assert_eq!(key.key.bytes(), b"Status\xff");
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn written_keys_must_decode_to_utf8_and_deleted_ones_may_be_any_bytes() {
        match decoded(&["kvp", "-e", "delete", r"a\u{202e}", r"b\\", r"c\xff"]) {
            Ok(Command::Delete { keys }) => {
                let bytes: Vec<&[u8]> = keys.iter().map(Key::bytes).collect();
                assert_eq!(bytes, [&b"a\xe2\x80\xae"[..], b"b\\", b"c\xff"]);
            }
            other => panic!("{other:?}"),
        }
        match decoded(&["kvp", "set", "-e", r"a\tb", r"v\n"]) {
            Ok(Command::Set(kv)) => {
                assert_eq!((kv.key.as_str(), kv.value.as_str()), ("a\tb", r"v\n"))
            }
            other => panic!("{other:?}"),
        }
        let err = decoded(&["kvp", "-e", "append", r"\xff", "v"]).expect_err("not UTF-8");
        assert!(
            err.ends_with("pools are written as UTF-8 text only"),
            "{err}"
        );
    }

    #[test]
    fn malformed_keys_and_keyless_commands_are_refused() {
        let err = decoded(&["kvp", "-e", "get", r"a\q"]).expect_err("bad escape");
        assert!(
            err.starts_with(r#"--escapes: key "a\q" is not in the escaped form: at byte 1"#),
            "{err}"
        );
        let err = decoded(&["kvp", "list", "-e"]).expect_err("no key");
        assert!(err.starts_with("--escapes applies only to"), "{err}");
        match decoded(&["kvp", "get", r"a\q"]) {
            Ok(Command::Get { key }) => assert_eq!(key.key.bytes(), br"a\q"),
            other => panic!("{other:?}"),
        }
        let err = decoded(&["kvp", "-e", "get", "\x1b\\q"]).expect_err("bad escape");
        assert!(
            err.starts_with(r#"--escapes: key "\x1b\q" is not"#),
            "{err}"
        );
    }
}
