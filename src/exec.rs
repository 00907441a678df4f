//! Replacing readygate with the command: same PID, argv byte-exact, environment unchanged.

use std::ffi::OsString;
use std::io;
use std::os::unix::process::CommandExt;
use std::process::Command;

use crate::sys;

/// Execs `command` (looked up in PATH like execvp when it has no slash). Returns only on failure.
///
/// Every descriptor readygate opened is close-on-exec (Rust and tokio open them so); std resets
/// SIGPIPE, which Rust's runtime ignores, to its default before exec; the signals readygate
/// blocked while waiting (read from its signalfd) are unblocked just before exec, so the command
/// starts with an empty mask. No handler is installed, so no disposition needs resetting.
pub fn exec(command: &[OsString]) -> io::Error {
    let Some((program, args)) = command.split_first() else {
        return io::Error::new(io::ErrorKind::InvalidInput, "no command to run");
    };
    let mut command = Command::new(program);
    command.args(args);
    sys::unblock_signals_in_child(&mut command);
    command.exec()
}
