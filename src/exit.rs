//! Named exit codes, and the one mapping from an outcome to the code the process exits with.
//!
//! The codes follow the conventions of the peer tools (linkerd-await uses sysexits for
//! "unavailable" and "OS error"; tini/dumb-init use 126/127 and 128+N), and never 255.
//! The same table is printed by `--help` and documented in the README.

/// The proxy was ready (wait-only mode), or Job mode's child exited 0.
pub const READY: i32 = 0;
/// Bad command line or environment (the convention of getopt, clap and most Unix tools).
pub const USAGE: i32 = 2;
/// Not ready before `--timeout` (sysexits EX_UNAVAILABLE, as linkerd-await).
pub const UNAVAILABLE: i32 = 69;
/// Any other OS failure, such as the runtime or the signal listener (blocked signals read
/// through a signalfd) failing to start (sysexits EX_OSERR).
pub const OS_ERROR: i32 = 71;
/// The command exists but could not be executed (shell convention).
pub const NOT_EXECUTABLE: i32 = 126;
/// The command was not found (shell convention).
pub const NOT_FOUND: i32 = 127;
/// Base for "terminated by signal N": 128 + N (shell convention).
pub const SIGNAL_BASE: i32 = 128;

/// The exit code table, shared by `--help` and the README.
pub const TABLE: &str = "\
EXIT CODES:
  0        ready (wait-only mode); the application gone (--wait-app-exit); installed
  <status> the command's own exit status (after exec, or the child's in --shutdown mode)
  2        usage error: a flag, variable or URL is invalid
  69       not ready before --timeout (change with --timeout-exit-code)
  71       other OS failure
  126      command found but not executable
  127      command not found
  128+N    signal N arrived while waiting (or killed the child in --shutdown mode)";

/// readygate's own failure: the exit code, and the one line that explains it (logged, and
/// written to the termination log, by `main`).
#[derive(Debug)]
pub struct Failure {
    pub code: i32,
    pub message: String,
    /// An error; otherwise (a signal asked readygate to stop) an info line.
    pub serious: bool,
}

impl Failure {
    /// A failure logged as an error.
    pub fn error(code: i32, message: String) -> Self {
        Failure {
            code,
            message,
            serious: true,
        }
    }
}

/// Exit code for "terminated by signal `signal`".
pub fn for_signal(signal: i32) -> i32 {
    SIGNAL_BASE + signal
}

/// Maps an exec/spawn failure to the shell's convention: 127 not found, 126 not executable.
pub fn for_exec_error(err: &std::io::Error) -> i32 {
    match err.raw_os_error() {
        Some(libc::ENOENT) | Some(libc::ENOTDIR) => NOT_FOUND,
        Some(libc::EACCES) | Some(libc::ENOEXEC) | Some(libc::EPERM) | Some(libc::EISDIR) => {
            NOT_EXECUTABLE
        }
        _ => OS_ERROR,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Error;

    #[test]
    fn missing_commands_map_to_127_and_unrunnable_ones_to_126() {
        assert_eq!(for_exec_error(&Error::from_raw_os_error(libc::ENOENT)), 127);
        assert_eq!(for_exec_error(&Error::from_raw_os_error(libc::EACCES)), 126);
        assert_eq!(
            for_exec_error(&Error::from_raw_os_error(libc::ENOEXEC)),
            126
        );
        assert_eq!(for_exec_error(&Error::from_raw_os_error(libc::E2BIG)), 71);
    }

    #[test]
    fn signals_map_to_128_plus_n() {
        assert_eq!(for_signal(libc::SIGTERM), 143);
        assert_eq!(for_signal(libc::SIGKILL), 137);
    }
}
