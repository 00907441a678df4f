//! The one listener for signals: blocks what the phase's policy catches and reads each signal,
//! with who raised it, from a signalfd driven by the tokio runtime. What each signal means is
//! `signals::POLICY`'s to say; this module only carries it out.
//!
//! Why a signalfd rather than tokio's signal handlers: a handler installed through tokio never
//! learns the `siginfo`, so it cannot tell a SIGSEGV someone sent (for the command) from a real
//! fault (which must end readygate: a handler returning from one would re-run the faulting
//! instruction forever). With the signals blocked and read from a signalfd, a sent one waits in
//! the kernel's queue until it is read with its `si_code` and sender, while a real fault is
//! forced on readygate by the kernel, blocked or not. Blocked signals are also never discarded for
//! PID 1 (the kernel drops only signals PID 1 has no handler for and does not block), no
//! handler survives into the command, and real-time signals queue one for one.
//!
//! The mask must be set before readygate starts any thread (a thread inherits its creator's
//! mask, and a signal is delivered to any thread that does not block it): the listener is made on
//! the main thread before the first probe, and the runtime's blocking threads (name lookups)
//! start later. The command starts with an empty mask: `Command::exec` and
//! `sys::unblock_signals_in_child` empty it.

use std::collections::VecDeque;
use std::fs::File;
use std::future::Future;
use std::io::{self, Read};
use std::os::fd::AsFd;

use tokio::io::unix::AsyncFd;
use tracing::{debug, warn};

use crate::signals::{self, Heard, Origin, Phase};
use crate::sys::{self, SignalSet};

/// Size of one `struct signalfd_siginfo` as the kernel writes it.
const RECORD: usize = 128;
/// Records read at once: a burst of queued real-time signals is drained in a few reads.
const RECORDS_PER_READ: usize = 8;

/// The fields readygate uses of one signalfd record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Siginfo {
    pub signal: i32,
    pub code: i32,
    /// The sender's PID as seen from readygate's PID namespace (0 from an outer one).
    pub sender: u32,
}

/// Decodes one `struct signalfd_siginfo` (linux/signalfd.h): `ssi_signo` (u32) at 0, `ssi_errno`
/// (i32) at 4, `ssi_code` (i32) at 8, `ssi_pid` (u32) at 12, in the machine's byte order.
pub fn decode(record: &[u8; RECORD]) -> Siginfo {
    let word = |at: usize| [record[at], record[at + 1], record[at + 2], record[at + 3]];
    Siginfo {
        signal: i32::try_from(u32::from_ne_bytes(word(0))).unwrap_or(0),
        code: i32::from_ne_bytes(word(8)),
        sender: u32::from_ne_bytes(word(12)),
    }
}

/// Signals blocked for the phase and read from a signalfd through the runtime.
pub struct Listener {
    fd: AsyncFd<File>,
    phase: Phase,
    /// The signals readygate's parent left ignored (SIG_IGN), found as it started.
    ignored: SignalSet,
    own_pid: u32,
    /// Records read but not handed out yet.
    queue: VecDeque<Siginfo>,
    /// The absorbed signals already logged (bit N-1 for signal N): each is logged once only.
    logged: u64,
}

impl Listener {
    /// Blocks the phase's signals and opens the signalfd that reads them. Must run on the main
    /// thread inside the runtime, before any other thread starts.
    pub fn new(phase: Phase) -> io::Result<Self> {
        let ignored = sys::ignored_signals(signals::parent_may_ignore())?;
        sys::block_signals(phase.blocked_unless_ignored(ignored))?;
        let fd = File::from(sys::signalfd(phase.read_unless_ignored(ignored))?);
        Ok(Listener {
            fd: sys::async_readable(fd)?,
            phase,
            ignored,
            own_pid: std::process::id(),
            queue: VecDeque::new(),
            logged: 0,
        })
    }

    /// Moves to `phase` (Job mode, before the command starts): the signals left pending so far
    /// are read from now on, once [`Listener::next`] is awaited. The kernel hands pending signals
    /// over lowest number first, not in their order of arrival; only repeats of one real-time
    /// signal keep their order among themselves (standard signals do not queue: one of each).
    pub fn enter(&mut self, phase: Phase) -> io::Result<()> {
        sys::block_signals(phase.blocked_unless_ignored(self.ignored))?;
        sys::set_signalfd_mask(
            self.fd.get_ref().as_fd(),
            phase.read_unless_ignored(self.ignored),
        )?;
        self.phase = phase;
        Ok(())
    }

    /// The next signal the phase acts on. Faults raised about readygate itself end it here, by
    /// their default action; absorbed signals are logged and skipped. An error means the signalfd
    /// cannot be read (a broken descriptor, never seen): nothing more will be heard from it.
    pub async fn next(&mut self) -> io::Result<Heard> {
        loop {
            let info = match self.queue.pop_front() {
                Some(info) => info,
                None => {
                    self.fill().await?;
                    continue;
                }
            };
            if let Some(heard) = self.judge(info) {
                return Ok(heard);
            }
        }
    }

    /// A signal the phase acts on that has already arrived, without waiting: checked once more
    /// after a wait succeeds, so a SIGTERM racing the last probe still stops the command.
    pub fn pending(&mut self) -> Option<Heard> {
        loop {
            if self.queue.is_empty() {
                self.read_ready().ok()?;
            }
            let info = self.queue.pop_front()?;
            if let Some(heard) = self.judge(info) {
                return Some(heard);
            }
        }
    }

    /// What to do with one record: `None` when it is absorbed.
    fn judge(&mut self, info: Siginfo) -> Option<Heard> {
        let origin = signals::origin(info.code, info.sender, self.own_pid);
        match self.phase.heard(info.signal, origin) {
            Heard::Fault(signal) => {
                sys::die_by_default_action(signal);
                // The default action of every fault signal ends the process; if the kernel did
                // not, nothing readygate does next could be trusted.
                std::process::abort()
            }
            Heard::Absorbed(signal) => {
                // Logged once per signal number: the log line is itself a write, and a SIGPIPE
                // (stderr a closed pipe) or SIGXFSZ (stderr a file at its size limit) raised by
                // one write would be raised again by the line about it, read, logged, forever.
                if first_time(&mut self.logged, signal) {
                    debug!(
                        signal = signals::name(signal),
                        origin = describe(origin),
                        why = signals::rule(signal).map_or("", |rule| rule.why),
                        "{} (logged once)",
                        match self.phase {
                            Phase::Gate => "ignored: does not end the wait",
                            Phase::JobWait | Phase::JobRun => "not passed on to the command",
                        }
                    );
                }
                None
            }
            heard => Some(heard),
        }
    }

    /// Waits until the signalfd is readable and reads what it holds into the queue.
    async fn fill(&mut self) -> io::Result<()> {
        loop {
            let mut guard = self.fd.readable().await?;
            match read_into(guard.get_inner(), &mut self.queue) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => guard.clear_ready(),
                other => return other,
            }
        }
    }

    /// Reads every record available now, without waiting; `WouldBlock` when there is none.
    fn read_ready(&mut self) -> io::Result<()> {
        read_into(self.fd.get_ref(), &mut self.queue)
    }
}

/// Reads the records `fd` holds now (non-blocking) into `queue`.
fn read_into(mut fd: &File, queue: &mut VecDeque<Siginfo>) -> io::Result<()> {
    let mut buffer = [0u8; RECORD * RECORDS_PER_READ];
    let read = fd.read(&mut buffer)?;
    for chunk in buffer[..read].chunks_exact(RECORD) {
        if let Ok(record) = <&[u8; RECORD]>::try_from(chunk) {
            queue.push_back(decode(record));
        }
    }
    Ok(())
}

/// Marks `signal` in `seen`; true the first time only.
fn first_time(seen: &mut u64, signal: i32) -> bool {
    let bit = u32::try_from(signal - 1)
        .ok()
        .and_then(|bit| 1u64.checked_shl(bit))
        .unwrap_or(0);
    let first = *seen & bit == 0;
    *seen |= bit;
    first
}

fn describe(origin: Origin) -> &'static str {
    match origin {
        Origin::Sent => "sent",
        Origin::Raised => "raised by the kernel about readygate",
    }
}

/// Runs `work` raced against the signals that end a wait; `Err(N)` when signal N came first.
/// A signal already pending when `work` finishes still wins: a SIGTERM racing the last probe
/// must stop the command from starting.
pub async fn unless_stopped<F: Future>(listener: &mut Listener, work: F) -> Result<F::Output, i32> {
    let output = tokio::select! {
        biased;
        signal = stop(listener) => return Err(signal),
        output = work => output,
    };
    loop {
        match listener.pending() {
            Some(Heard::Stop(signal)) => return Err(signal),
            // Not read in the waiting phases: nothing else can be pending here.
            Some(_) => continue,
            None => return Ok(output),
        }
    }
}

/// The first signal that ends the wait. If the signalfd cannot be read (never seen), the wait
/// runs on to its own end (ready, or --timeout); signals stay blocked and are no longer heard.
async fn stop(listener: &mut Listener) -> i32 {
    loop {
        match listener.next().await {
            Ok(Heard::Stop(signal)) => return signal,
            Ok(_) => {}
            Err(e) => {
                warn!("cannot read signals any more; they no longer end the wait: {e}");
                return std::future::pending().await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_signal_number_is_first_seen_once() {
        let mut seen = 0;
        assert!(first_time(&mut seen, libc::SIGPIPE));
        assert!(!first_time(&mut seen, libc::SIGPIPE));
        assert!(first_time(&mut seen, libc::SIGXFSZ));
        assert!(first_time(&mut seen, 64));
        assert!(!first_time(&mut seen, 64));
        assert!(!first_time(&mut seen, libc::SIGXFSZ));
    }

    #[test]
    fn a_record_is_decoded_at_the_kernels_offsets() {
        assert_eq!(std::mem::size_of::<libc::signalfd_siginfo>(), RECORD);
        let mut record = [0u8; RECORD];
        record[0..4].copy_from_slice(&11u32.to_ne_bytes());
        record[4..8].copy_from_slice(&0i32.to_ne_bytes());
        record[8..12].copy_from_slice(&libc::SI_QUEUE.to_ne_bytes());
        record[12..16].copy_from_slice(&4321u32.to_ne_bytes());
        assert_eq!(
            decode(&record),
            Siginfo {
                signal: 11,
                code: libc::SI_QUEUE,
                sender: 4321
            }
        );
    }
}
