//! `get` and `wait` on a terminal: the escaped form, unless `--raw`.
//!
//! kvp runs with its stdout on a pseudo-terminal that this test opens, so
//! that `isatty(1)` is true for it exactly as in an operator's shell.

use std::fs::File;
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::process::{Command, Stdio};

use crate::support::{Pools, KVP};

/// A value as the host could write it into pool 0: it sets the terminal's
/// title, clears the screen, moves the cursor, starts a C1 CSI colour and
/// reverses the text that follows.
const HOSTILE: &str = "\x1b]0;pwned\x07\x1b[2J\x1b[1;1H\u{9b}31mok\u{202e}gnp.exe";
/// HOSTILE in the escaped form.
const SHOWN: &str = r"\x1b]0;pwned\x07\x1b[2J\x1b[1;1H\u{009b}31mok\u{202e}gnp.exe";

/// A pseudo-terminal: the side kvp writes to and the side this test reads.
struct Pty {
    reader: File,
    terminal: OwnedFd,
}

fn open_pty() -> Pty {
    let (mut master, mut slave) = (-1, -1);
    // SAFETY: openpty writes two descriptors into the two ints; the name,
    // termios and winsize pointers may be NULL.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: openpty succeeded, so both descriptors are open and ours.
    let (reader, terminal) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    for fd in [&reader, &terminal] {
        // Children of tests running in parallel must not keep the pty open.
        // SAFETY: F_SETFD on a descriptor we own.
        unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) };
    }
    // Output processing off, so that what kvp writes arrives unchanged
    // (no LF turned into CR LF).
    // SAFETY: termios is plain data that tcgetattr fills in.
    let mut termios: libc::termios = unsafe { std::mem::zeroed() };
    // SAFETY: a valid descriptor and a valid termios pointer.
    unsafe {
        assert_eq!(libc::tcgetattr(terminal.as_raw_fd(), &mut termios), 0);
        termios.c_oflag &= !libc::OPOST;
        assert_eq!(
            libc::tcsetattr(terminal.as_raw_fd(), libc::TCSANOW, &termios),
            0
        );
    }
    Pty {
        reader: File::from(reader),
        terminal,
    }
}

/// Runs kvp with `args` and stdout on a terminal: its status and the exact
/// bytes it wrote there.
fn on_terminal(pools: &Pools, args: &[&str]) -> (i32, Vec<u8>) {
    let Pty {
        mut reader,
        terminal,
    } = open_pty();
    let dir = pools.dir.path().to_str().expect("utf-8 temp path");
    let child = Command::new(KVP)
        .arg("--dir")
        .arg(dir)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::from(terminal))
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn kvp");
    // The Command above is gone, and with it this process's copy of the
    // terminal side, so the read ends (EIO) once kvp has exited.
    let output = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        // read_to_end keeps what it read before the EIO that ends a pty.
        let _ = reader.read_to_end(&mut bytes);
        bytes
    });
    let status = child.wait_with_output().expect("wait for kvp");
    assert_eq!(String::from_utf8_lossy(&status.stderr), "");
    let bytes = output.join().expect("reader thread");
    (status.status.code().expect("exit code"), bytes)
}

fn hostile_pool() -> Pools {
    let pools = Pools::new();
    pools.write(&["set", "k", HOSTILE]);
    pools
}

#[test]
fn get_shows_the_escaped_form_on_a_terminal() {
    let pools = hostile_pool();
    let (code, bytes) = on_terminal(&pools, &["get", "k"]);
    assert_eq!(code, 0);
    assert_eq!(String::from_utf8_lossy(&bytes), format!("{SHOWN}\n"));
    assert!(
        !bytes.contains(&0x1b) && !bytes.contains(&0x07),
        "{bytes:?}"
    );
}

#[test]
fn get_raw_prints_the_exact_bytes_even_to_a_terminal() {
    let pools = hostile_pool();
    let (code, bytes) = on_terminal(&pools, &["get", "--raw", "k"]);
    assert_eq!(code, 0);
    assert_eq!(bytes, format!("{HOSTILE}\n").as_bytes());
}

#[test]
fn a_pipe_gets_the_exact_bytes() {
    let pools = hostile_pool();
    assert_eq!(pools.run(&["get", "k"]).ok(), format!("{HOSTILE}\n"));
    assert_eq!(
        pools.run(&["wait", "k", "--timeout", "0s"]).ok(),
        format!("{HOSTILE}\n")
    );
}

#[test]
fn wait_shows_the_escaped_form_on_a_terminal_unless_raw() {
    let pools = hostile_pool();
    let (code, bytes) = on_terminal(&pools, &["wait", "k", "--timeout", "0s"]);
    assert_eq!(code, 0);
    assert_eq!(String::from_utf8_lossy(&bytes), format!("{SHOWN}\n"));
    let (code, bytes) = on_terminal(&pools, &["wait", "--raw", "k", "--timeout", "0s"]);
    assert_eq!(code, 0);
    assert_eq!(bytes, format!("{HOSTILE}\n").as_bytes());
}

#[test]
fn tables_and_json_are_escaped_on_a_terminal_too() {
    let pools = hostile_pool();
    for args in [
        &["list"][..],
        &["entries"],
        &["get", "--json", "k"],
        &["dump"],
    ] {
        let (code, bytes) = on_terminal(&pools, args);
        assert_eq!(code, 0, "{args:?}");
        let c1 = bytes
            .windows(2)
            .any(|w| w[0] == 0xc2 && (0x80..=0x9f).contains(&w[1]));
        let bidi = String::from_utf8_lossy(&bytes).contains('\u{202e}');
        assert!(
            !bytes.contains(&0x1b) && !c1 && !bidi,
            "{args:?}: {bytes:?}"
        );
    }
}
