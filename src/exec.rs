//! Replacing readygate with the command: same PID, argv byte-exact, environment unchanged.

use std::ffi::OsString;
use std::io;
use std::os::unix::process::CommandExt;
use std::process::Command;

/// Execs `command` (looked up in PATH like execvp when it has no slash). Returns only on failure.
///
/// Every descriptor readygate opened is close-on-exec (Rust and tokio open them so), and std
/// resets the signal mask and SIGPIPE before exec; handlers installed for the wait are reset to
/// their defaults by the kernel. The command inherits exactly what readygate inherited.
pub fn exec(command: &[OsString]) -> io::Error {
    let Some((program, args)) = command.split_first() else {
        return io::Error::new(io::ErrorKind::InvalidInput, "no command to run");
    };
    Command::new(program).args(args).exec()
}
