//! Job mode (`--shutdown`): run the command as a child, forward signals to it, reap every child
//! that ends up with readygate (the command and orphans reparented to it), and report how the
//! command ended. `main` then quits the sidecar and maps the outcome to the exit code.
//!
//! One place owns all waiting: [`Supervisor::run`] calls `waitpid(-1, WNOHANG)` whenever SIGCHLD
//! arrives and recognises the command's PID, so reaping an orphan can never steal the command's
//! status (std's `Child::wait` is never used, for that reason). As in tini and dumb-init: as
//! PID 1, orphans are reparented to readygate by the kernel; elsewhere readygate makes itself a
//! child subreaper so they are reparented to it, not to the real init.

use std::ffi::OsString;
use std::io;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, ExitStatus};
use std::time::{Duration, Instant};

use tracing::{debug, info, warn};

use crate::exit;
use crate::signalfd::Listener;
use crate::signals::{self, Heard, Phase};
use crate::sys::{self, Pid, Reaped};

/// How often the command's exit is polled for if signals can no longer be read.
const POLL: Duration = Duration::from_millis(100);

/// How the supervised command ended.
#[derive(Debug)]
pub enum Ended {
    /// It ran, and exited or was killed with this status.
    Exited(ExitStatus),
    /// It could not be started.
    NotStarted(io::Error),
    /// Waiting for it failed; its status is unknown.
    Lost(io::Error),
}

/// Job mode's reaper, with the listener made before the wait (in [`Phase::JobWait`]), so that a
/// signal arriving before the command runs is held for it, not lost.
pub struct Supervisor<'a> {
    signals: &'a mut Listener,
}

impl<'a> Supervisor<'a> {
    /// Unless readygate is PID 1, becomes a child subreaper, so orphans come to it.
    pub fn new(signals: &'a mut Listener) -> Self {
        if std::process::id() != 1 {
            if let Err(e) = sys::become_subreaper() {
                // Only orphan reaping is lost; the command is still supervised.
                warn!("cannot become a child subreaper; orphans go to init instead: {e}");
            }
        }
        Supervisor { signals }
    }

    /// Spawns `command`, forwards signals to it until it exits, reaping orphans meanwhile.
    pub async fn run(&mut self, command: &[OsString]) -> Ended {
        let Some((program, args)) = command.split_first() else {
            return Ended::NotStarted(io::Error::new(
                io::ErrorKind::InvalidInput,
                "no command to run",
            ));
        };
        // A parent's SIGCHLD = SIG_IGN (inherited across exec) makes the kernel reap children
        // itself and send no SIGCHLD: the loop below would never hear the command end. The
        // default also passes to the command, which must not start with SIGCHLD ignored either.
        if let Err(e) = sys::set_default_action(libc::SIGCHLD) {
            return Ended::NotStarted(io::Error::new(
                e.kind(),
                format!("cannot give SIGCHLD its default action: {e}"),
            ));
        }
        // Every signal is read from now on, those held during the wait first. Before the spawn,
        // so a failure leaves no command running unsupervised; nothing is read (or lost) until
        // `next` is awaited below, once the command runs.
        if let Err(e) = self.signals.enter(Phase::JobRun) {
            return Ended::NotStarted(io::Error::new(
                e.kind(),
                format!("cannot listen for the signals to forward to it: {e}"),
            ));
        }
        let started = Instant::now();
        // std's exec path empties the mask and resets SIGPIPE to its default, and exec resets
        // handlers (std's stack-overflow handlers are readygate's only ones);
        // `unblock_signals_in_child` empties the mask once more as a safeguard. Signals
        // readygate's parent left ignored stay ignored.
        let mut command = Command::new(program);
        command.args(args);
        sys::unblock_signals_in_child(&mut command);
        let child = match command.spawn() {
            Ok(child) => child,
            Err(e) => return Ended::NotStarted(e),
        };
        let Ok(pid) = Pid::try_from(child.id()) else {
            return Ended::Lost(io::Error::other("child PID out of range"));
        };
        // The handle is dropped unwaited: the reaping loop below owns the child's status.
        drop(child);
        info!(
            pid,
            command = %program.to_string_lossy(),
            "started the command"
        );
        // Set once the signalfd cannot be read: reaping falls back to polling.
        let mut deaf = false;
        loop {
            // Reap first: the command may have exited before its SIGCHLD was read.
            match reap_all(pid) {
                Ok(Some(status)) => {
                    info!(
                        pid,
                        status = describe(status).as_str(),
                        runtime_ms =
                            u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                        "the command exited"
                    );
                    return Ended::Exited(status);
                }
                Ok(None) => {}
                Err(e) => return Ended::Lost(e),
            }
            let heard = if deaf {
                tokio::time::sleep(POLL).await;
                Heard::Child
            } else {
                match self.signals.next().await {
                    Ok(heard) => heard,
                    Err(e) => {
                        // Never seen; waiting for a SIGCHLD that cannot be read would hang Job
                        // mode with the sidecar up. Polling still reaps and ends the job.
                        warn!(
                            "cannot read signals any more ({e}); polling for the command's \
                             exit, and signals are no longer forwarded"
                        );
                        deaf = true;
                        Heard::Child
                    }
                }
            };
            match heard {
                Heard::Child => {}
                // The command is not reaped yet (that happens only above), so its PID is still
                // its own: the signal cannot reach a recycled PID.
                Heard::Forward(signal) => match sys::kill(pid, signal) {
                    Ok(()) => info!(
                        signal = signals::name(signal),
                        pid, "forwarded to the command"
                    ),
                    Err(e) => debug!(signal = signals::name(signal), pid, "not forwarded: {e}"),
                },
                // Not heard once the command runs (the listener absorbs or dies of these).
                Heard::Stop(_) | Heard::Absorbed(_) | Heard::Fault(_) => {}
            }
        }
    }
}

/// Reaps every child that has exited; returns the command's status if it was among them.
fn reap_all(command: Pid) -> io::Result<Option<ExitStatus>> {
    let mut found = None;
    loop {
        match sys::reap_one()? {
            Reaped::Child(pid, status) if pid == command => found = Some(status),
            Reaped::Child(pid, status) => {
                debug!(pid, status = describe(status).as_str(), "reaped an orphan")
            }
            Reaped::NoneExited => return Ok(found),
            Reaped::NoChildren if found.is_some() => return Ok(found),
            // Nobody else waits for children, so the command cannot vanish unreaped.
            Reaped::NoChildren => {
                return Err(io::Error::other("the command's exit status was lost"))
            }
        }
    }
}

/// The exit code that reports `status`: the child's exit code, or 128+N if signal N killed it.
pub fn exit_code(status: ExitStatus) -> i32 {
    match (status.code(), status.signal()) {
        (Some(code), _) => code,
        (None, Some(signal)) => exit::for_signal(signal),
        // Stopped or continued: not reported without WUNTRACED, so never seen here.
        (None, None) => exit::OS_ERROR,
    }
}

/// `exit code 3` or `killed by SIGKILL`, for logs.
pub fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit code {code}"),
        (None, Some(signal)) => {
            let core = if status.core_dumped() {
                " (core dumped)"
            } else {
                ""
            };
            match signals::named(signal) {
                Some(name) => format!("killed by {name} ({signal}){core}"),
                None => format!("killed by signal {signal}{core}"),
            }
        }
        (None, None) => format!("{status}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Raw wait statuses as the kernel encodes them: exit code in bits 8-15, signal in bits 0-6.
    fn exited(code: i32) -> ExitStatus {
        ExitStatus::from_raw(code << 8)
    }

    fn killed(signal: i32) -> ExitStatus {
        ExitStatus::from_raw(signal)
    }

    #[test]
    fn an_exit_code_is_passed_through_unchanged() {
        assert_eq!(exit_code(exited(0)), 0);
        assert_eq!(exit_code(exited(3)), 3);
        assert_eq!(exit_code(exited(255)), 255);
    }

    #[test]
    fn death_by_signal_n_becomes_128_plus_n() {
        assert_eq!(exit_code(killed(libc::SIGKILL)), 137);
        assert_eq!(exit_code(killed(libc::SIGTERM)), 143);
        // A core dump (bit 7) does not change the code.
        assert_eq!(exit_code(ExitStatus::from_raw(libc::SIGSEGV | 0x80)), 139);
    }

    #[test]
    fn statuses_are_described_for_logs() {
        assert_eq!(describe(exited(3)), "exit code 3");
        assert_eq!(describe(killed(libc::SIGKILL)), "killed by SIGKILL (9)");
        assert_eq!(
            describe(killed(libc::SIGRTMIN() + 2)),
            format!("killed by SIGRTMIN+2 ({})", libc::SIGRTMIN() + 2)
        );
    }
}
