//! Replacing readygate with the command: same PID, argv byte-exact, environment unchanged.

use std::ffi::OsString;
use std::io;
use std::os::unix::process::CommandExt;
use std::process::Command;

use crate::sys;

/// Execs `command` (looked up in PATH like execvp when it has no slash). Returns only on failure.
///
/// Every descriptor readygate opened is close-on-exec (Rust and tokio open them so). std's exec
/// path empties the signal mask (the signals readygate blocked while waiting, read from its
/// signalfd) and resets SIGPIPE, which Rust's runtime ignores, to its default;
/// `sys::unblock_signals_in_child` empties the mask once more as a safeguard. The only handlers
/// in readygate are std's stack-overflow handlers for SIGSEGV and SIGBUS, which exec resets to
/// the default like any handler; signals readygate's parent left ignored stay ignored.
///
/// Those two handlers never run while readygate blocks SIGSEGV and SIGBUS (it waits with them
/// blocked): the kernel forces the default action of a real fault on a blocked signal, so a
/// real stack overflow ends readygate as a bare SIGSEGV, without std's "has overflowed its
/// stack" message.
pub fn exec(command: &[OsString]) -> io::Error {
    let Some((program, args)) = command.split_first() else {
        return io::Error::new(io::ErrorKind::InvalidInput, "no command to run");
    };
    let mut command = Command::new(program);
    command.args(args);
    sys::unblock_signals_in_child(&mut command);
    command.exec()
}
