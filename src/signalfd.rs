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
use tracing::debug;

use crate::signals::{self, Heard, Origin, Phase};
use crate::sys;

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
    own_pid: u32,
    /// Records read but not handed out yet.
    queue: VecDeque<Siginfo>,
}

impl Listener {
    /// Blocks the phase's signals and opens the signalfd that reads them. Must run on the main
    /// thread inside the runtime, before any other thread starts.
    pub fn new(phase: Phase) -> io::Result<Self> {
        sys::block_signals(phase.blocked())?;
        let fd = File::from(sys::signalfd(phase.read())?);
        Ok(Listener {
            fd: sys::async_readable(fd)?,
            phase,
            own_pid: std::process::id(),
            queue: VecDeque::new(),
        })
    }

    /// Moves to `phase` (Job mode, once the command runs): the signals left pending so far are
    /// read from now on, in the order the kernel queued them.
    pub fn enter(&mut self, phase: Phase) -> io::Result<()> {
        sys::block_signals(phase.blocked())?;
        sys::set_signalfd_mask(self.fd.get_ref().as_fd(), phase.read())?;
        self.phase = phase;
        Ok(())
    }

    /// The next signal the phase acts on. Faults raised about readygate itself end it here, by
    /// their default action; absorbed signals are logged and skipped.
    pub async fn next(&mut self) -> Heard {
        loop {
            let info = match self.queue.pop_front() {
                Some(info) => info,
                None => match self.fill().await {
                    Ok(()) => continue,
                    // A signalfd read fails only if the descriptor is broken; nothing to hear.
                    Err(e) => {
                        debug!("cannot read signals: {e}");
                        return std::future::pending().await;
                    }
                },
            };
            if let Some(heard) = self.judge(info) {
                return heard;
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
    fn judge(&self, info: Siginfo) -> Option<Heard> {
        let origin = signals::origin(info.code, info.sender, self.own_pid);
        match self.phase.heard(info.signal, origin) {
            Heard::Fault(signal) => {
                sys::die_by_default_action(signal);
                // The default action of every fault signal ends the process; if the kernel did
                // not, nothing readygate does next could be trusted.
                std::process::abort()
            }
            Heard::Absorbed(signal) => {
                debug!(
                    signal = signals::name(signal),
                    origin = describe(origin),
                    why = signals::rule(signal).map_or("", |rule| rule.why),
                    "not passed on"
                );
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

/// The first signal that ends the wait.
async fn stop(listener: &mut Listener) -> i32 {
    loop {
        if let Heard::Stop(signal) = listener.next().await {
            return signal;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
