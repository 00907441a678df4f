//! The one owner of signal handling: [`POLICY`], a table saying for every signal number what
//! readygate does with it and why, and the listeners that carry it out. Code and tests both read
//! the table, so what happens to a signal is decided in this one place.
//!
//! Handlers are installed before the first probe. That matters when readygate is PID 1 of a
//! container: the kernel drops any signal PID 1 has no handler for, so without them SIGTERM
//! would be ignored and the pod would wait for its grace period to end in SIGKILL.
//!
//! In Job mode (`--shutdown`) no signal that can be caught kills or stops readygate: as the
//! child's parent (often PID 1) it must outlive the child to reap it and quit the sidecar. Like
//! tini and dumb-init, it forwards everything except a short list with reasons.

use std::io;
use std::task::{Context, Poll, Waker};

use tokio::signal::unix::{signal, Signal, SignalKind};

use crate::sys;

/// What readygate does with a signal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// A request to stop. While waiting: ends the wait with 128+N and the command never runs.
    /// In Job mode, once the command runs: forwarded to it, a second one too.
    EndsWait,
    /// Job mode: forwarded to the command. One arriving during the wait is held and forwarded
    /// once the command runs.
    Forward,
    /// Job mode: SIGCHLD drives the reaping loop; never forwarded.
    Reap,
    /// Job mode: caught and dropped (a debug line), so it neither kills readygate nor reaches
    /// the command. Caught rather than ignored: an ignored disposition would survive into the
    /// command's exec, a handler does not.
    Absorb,
    /// Left at its default action (terminate with a core dump): a fault in readygate itself.
    /// A handler returning from a real fault would re-run the faulting instruction forever.
    Fault,
    /// SIGKILL and SIGSTOP: the kernel lets no process catch, block or ignore them.
    Uncatchable,
    /// Job mode: blocked, so it stays pending and never acts (see [`Signals::LibcReserved`]).
    Hold,
}

impl Action {
    /// Whether Job mode passes the signal on to the command.
    pub fn forwarded(self) -> bool {
        matches!(self, Action::EndsWait | Action::Forward)
    }
}

/// The signal numbers one rule covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signals {
    /// One standard signal, with its name.
    One(i32, &'static str),
    /// The real-time signals libc keeps for its own threads: from the kernel's first
    /// real-time signal (32) up to, not including, `libc::SIGRTMIN()` (glibc keeps 32-33 for
    /// thread cancellation and setuid broadcasts, musl 32-34). Known only at run time, which
    /// is why `SIGRTMIN()` is a function. libc refuses handlers for them, so readygate can
    /// neither catch nor forward them; blocked, they cannot kill it either. Blocking them is
    /// safe because readygate never uses what libc needs them for: it cancels no thread and
    /// changes no user or group ID or resource limit across threads.
    LibcReserved,
    /// The real-time signals applications may use: `SIGRTMIN()..=SIGRTMAX()`.
    RealTime,
}

impl Signals {
    /// Whether `signal` is one of these.
    pub fn contains(self, signal: i32) -> bool {
        match self {
            Signals::One(n, _) => n == signal,
            Signals::LibcReserved => (KERNEL_SIGRTMIN..libc::SIGRTMIN()).contains(&signal),
            Signals::RealTime => (libc::SIGRTMIN()..=libc::SIGRTMAX()).contains(&signal),
        }
    }

    /// Every signal number these cover, in order.
    pub fn numbers(self) -> std::ops::RangeInclusive<i32> {
        match self {
            Signals::One(n, _) => n..=n,
            Signals::LibcReserved => KERNEL_SIGRTMIN..=libc::SIGRTMIN() - 1,
            Signals::RealTime => libc::SIGRTMIN()..=libc::SIGRTMAX(),
        }
    }
}

/// The kernel's first real-time signal; libc hands out only those from `SIGRTMIN()` on.
const KERNEL_SIGRTMIN: i32 = 32;

/// One entry of the policy: which signals, what readygate does with them, and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rule {
    pub signals: Signals,
    pub action: Action,
    pub why: &'static str,
}

const fn one(number: i32, name: &'static str, action: Action, why: &'static str) -> Rule {
    Rule {
        signals: Signals::One(number, name),
        action,
        why,
    }
}

use Action::{Absorb, EndsWait, Fault, Forward, Hold, Reap, Uncatchable};

/// The whole policy: every signal from 1 to `SIGRTMAX()` is covered by exactly one rule (a unit
/// test checks it). Reasons are written for the person deciding whether to change one.
#[rustfmt::skip]
pub const POLICY: [Rule; 33] = [
    // Requests to stop: they end the wait; in Job mode the command must hear them.
    one(libc::SIGTERM, "SIGTERM", EndsWait,
        "the kubelet's and docker stop's request to stop"),
    one(libc::SIGINT, "SIGINT", EndsWait,
        "Ctrl-C; a second one is forwarded too (some apps then stop at once)"),
    one(libc::SIGHUP, "SIGHUP", EndsWait,
        "terminal gone, or the conventional 'reload your config'"),
    one(libc::SIGQUIT, "SIGQUIT", EndsWait,
        "Ctrl-\\: stop and dump (the JVM prints its threads)"),
    // Messages for the application: whoever signals the container signals readygate.
    one(libc::SIGUSR1, "SIGUSR1", Forward,
        "application-defined (log reopen, debug toggles)"),
    one(libc::SIGUSR2, "SIGUSR2", Forward,
        "application-defined (graceful reload in nginx, unicorn)"),
    one(libc::SIGWINCH, "SIGWINCH", Forward,
        "terminal resized: interactive children redraw"),
    one(libc::SIGALRM, "SIGALRM", Forward,
        "readygate sets no alarm (its timers are epoll timeouts): one sent to it is for the \
         application"),
    one(libc::SIGVTALRM, "SIGVTALRM", Forward,
        "readygate sets no interval timer: one sent to it is for the application"),
    one(libc::SIGPROF, "SIGPROF", Forward,
        "readygate runs no profiler timer: one sent to it is for the application"),
    one(libc::SIGIO, "SIGIO", Forward,
        "readygate uses no O_ASYNC descriptor: one sent to it is for the application"),
    one(libc::SIGPWR, "SIGPWR", Forward,
        "power failure: an init tells the application, which may save its state"),
    one(libc::SIGSTKFLT, "SIGSTKFLT", Forward,
        "unused by Linux itself: only ever sent by hand, to the application"),
    one(libc::SIGABRT, "SIGABRT", Forward,
        "sent by hand it asks the application to abort and dump; readygate's own abort() still \
         ends it (abort restores the default action)"),
    // Job control: readygate never stops, so it keeps reaping, forwarding and can still quit
    // the sidecar; the command decides (by default it stops, and SIGCONT resumes it).
    one(libc::SIGTSTP, "SIGTSTP", Forward,
        "Ctrl-Z or a stop request: the command stops, readygate keeps supervising"),
    one(libc::SIGTTIN, "SIGTTIN", Forward,
        "background read from the terminal: the command's business; readygate reads none"),
    one(libc::SIGTTOU, "SIGTTOU", Forward,
        "background write to the terminal: the command's business; readygate keeps supervising"),
    one(libc::SIGCONT, "SIGCONT", Forward,
        "resumes a command a forwarded stop signal stopped"),
    // About readygate itself, never the command's business.
    one(libc::SIGCHLD, "SIGCHLD", Reap,
        "about readygate's own children: it drives readygate's reaping"),
    one(libc::SIGURG, "SIGURG", Absorb,
        "Go's runtime uses it for preemption; forwarding has killed children"),
    one(libc::SIGPIPE, "SIGPIPE", Absorb,
        "about readygate's own writes (a closed stderr), which fail with EPIPE instead; \
         meaningless to the child"),
    one(libc::SIGXCPU, "SIGXCPU", Absorb,
        "readygate's own CPU limit; the command has its own and gets its own signal"),
    one(libc::SIGXFSZ, "SIGXFSZ", Absorb,
        "readygate's own file-size limit (its write fails with EFBIG instead); the command gets \
         its own"),
    one(libc::SIGSEGV, "SIGSEGV", Fault,
        "synchronous fault in readygate itself, not a message"),
    one(libc::SIGBUS, "SIGBUS", Fault,
        "synchronous fault in readygate itself, not a message"),
    one(libc::SIGFPE, "SIGFPE", Fault,
        "synchronous fault in readygate itself, not a message"),
    one(libc::SIGILL, "SIGILL", Fault,
        "synchronous fault in readygate itself, not a message"),
    one(libc::SIGTRAP, "SIGTRAP", Fault,
        "breakpoint or trace trap in readygate itself, not a message"),
    one(libc::SIGSYS, "SIGSYS", Fault,
        "a system call readygate made was refused (seccomp), not a message"),
    one(libc::SIGKILL, "SIGKILL", Uncatchable,
        "readygate dies and the child is orphaned"),
    one(libc::SIGSTOP, "SIGSTOP", Uncatchable,
        "it stops readygate itself until SIGCONT"),
    Rule {
        signals: Signals::LibcReserved,
        action: Hold,
        why: "libc's own thread signals: no handler can be installed, and forwarded they would \
              confuse the child's libc",
    },
    Rule {
        signals: Signals::RealTime,
        action: Forward,
        why: "application-defined real-time signals (like standard ones, two of the same \
              arriving together may be forwarded as one)",
    },
];

/// The rule for `signal`, if it is a signal at all.
pub fn rule(signal: i32) -> Option<&'static Rule> {
    POLICY.iter().find(|rule| rule.signals.contains(signal))
}

/// The name of a signal, for logs: `SIGTERM`, `SIGRTMIN+3`, or `signal 32` for one with no
/// name of its own.
pub fn name(signal: i32) -> String {
    named(signal).unwrap_or_else(|| format!("signal {signal}"))
}

/// The name of a signal that has one: a standard signal, or `SIGRTMIN+N` for a real-time one.
pub fn named(signal: i32) -> Option<String> {
    match rule(signal)?.signals {
        Signals::One(_, name) => Some(name.to_string()),
        Signals::RealTime if signal == libc::SIGRTMIN() => Some("SIGRTMIN".to_string()),
        Signals::RealTime => Some(format!("SIGRTMIN+{}", signal - libc::SIGRTMIN())),
        Signals::LibcReserved => None,
    }
}

/// Every signal number covered by a rule with `action`.
fn with_action(action: Action) -> impl Iterator<Item = i32> {
    POLICY
        .iter()
        .filter(move |rule| rule.action == action)
        .flat_map(|rule| rule.signals.numbers())
}

/// What Job mode's listeners heard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobSignal {
    /// SIGCHLD: some child (the command or an orphan) changed state; time to reap.
    Child,
    /// A signal whose rule forwards it: pass it on to the child.
    Forward(i32),
    /// A signal whose rule absorbs it: caught so it cannot kill readygate, and dropped.
    Absorbed(i32),
}

/// Job mode's listeners: one for every signal the policy has Job mode catch. Installed before
/// the wait, so a signal between the wait and the spawn is held, not lost, and a signal
/// during the wait cannot kill readygate with its default action.
pub struct JobSignals {
    child: Signal,
    others: Vec<(i32, Action, Signal)>,
}

impl JobSignals {
    /// Blocks the [`Hold`] signals and installs the handlers; must run inside the tokio runtime,
    /// before readygate starts any thread (a thread inherits the mask of the one creating it).
    pub fn install() -> io::Result<Self> {
        sys::block_signals(with_action(Hold))?;
        let mut others = Vec::new();
        // SIGCHLD (Reap) has a listener of its own, polled first.
        for rule in POLICY
            .iter()
            .filter(|r| matches!(r.action, EndsWait | Forward | Absorb))
        {
            for n in rule.signals.numbers() {
                others.push((n, rule.action, signal(SignalKind::from_raw(n))?));
            }
        }
        let child = signal(SignalKind::child())?;
        Ok(JobSignals { child, others })
    }

    /// Waits for the next signal. SIGCHLD comes first when several are pending, so a child's
    /// exit is noticed before a signal is forwarded to it.
    pub async fn recv(&mut self) -> JobSignal {
        std::future::poll_fn(|cx| {
            if self.child.poll_recv(cx).is_ready() {
                return Poll::Ready(JobSignal::Child);
            }
            for (n, action, listener) in &mut self.others {
                if listener.poll_recv(cx).is_ready() {
                    return Poll::Ready(match action {
                        Absorb => JobSignal::Absorbed(*n),
                        _ => JobSignal::Forward(*n),
                    });
                }
            }
            Poll::Pending
        })
        .await
    }
}

/// Why [`unless_stopped`] did not return its work's output.
#[derive(Debug)]
pub enum Stopped {
    /// This wait-ending signal arrived first (or as the work finished).
    Signal(i32),
    /// The handlers could not be installed.
    SetupFailed(io::Error),
}

/// Runs `work` raced against the signals that end a wait ([`Action::EndsWait`]). A signal
/// already pending when `work` finishes still wins: a SIGTERM racing the last probe must stop
/// the command from starting. Must run inside the tokio runtime.
pub async fn unless_stopped<F: std::future::Future>(work: F) -> Result<F::Output, Stopped> {
    let mut signals = WaitSignals::install().map_err(Stopped::SetupFailed)?;
    let output = tokio::select! {
        biased;
        signal = signals.recv() => return Err(Stopped::Signal(signal)),
        output = work => output,
    };
    match signals.pending() {
        Some(signal) => Err(Stopped::Signal(signal)),
        None => Ok(output),
    }
}

/// Listeners for the signals that end the wait ([`Action::EndsWait`]).
pub struct WaitSignals(Vec<(i32, Signal)>);

impl WaitSignals {
    /// Installs the handlers; must run inside the tokio runtime.
    pub fn install() -> io::Result<Self> {
        with_action(EndsWait)
            .map(|n| Ok((n, signal(SignalKind::from_raw(n))?)))
            .collect::<io::Result<_>>()
            .map(WaitSignals)
    }

    /// Waits for the first of the signals; returns its number.
    pub async fn recv(&mut self) -> i32 {
        std::future::poll_fn(|cx| self.poll_any(cx)).await
    }

    /// A signal that has already arrived, without waiting: checked once more after the wait
    /// succeeds, so a SIGTERM racing the last probe still stops the command from starting.
    pub fn pending(&mut self) -> Option<i32> {
        let mut cx = Context::from_waker(Waker::noop());
        match self.poll_any(&mut cx) {
            Poll::Ready(n) => Some(n),
            Poll::Pending => None,
        }
    }

    fn poll_any(&mut self, cx: &mut Context<'_>) -> Poll<i32> {
        for (n, listener) in &mut self.0 {
            if listener.poll_recv(cx).is_ready() {
                return Poll::Ready(*n);
            }
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_signal_from_1_to_sigrtmax_is_classified_exactly_once() {
        for signal in 1..=libc::SIGRTMAX() {
            let rules: Vec<&Rule> = POLICY
                .iter()
                .filter(|r| r.signals.contains(signal))
                .collect();
            assert_eq!(rules.len(), 1, "signal {signal}: {rules:?}");
            assert!(!rules[0].why.is_empty(), "signal {signal} has no reason");
        }
        assert_eq!(rule(0), None);
        assert_eq!(rule(libc::SIGRTMAX() + 1), None);
    }

    #[test]
    fn the_numbers_of_a_rule_are_exactly_those_it_contains() {
        for rule in &POLICY {
            for n in rule.signals.numbers() {
                assert!(rule.signals.contains(n), "{rule:?} lists {n}");
            }
        }
        let listed: usize = POLICY.iter().map(|r| r.signals.numbers().count()).sum();
        assert_eq!(listed, usize::try_from(libc::SIGRTMAX()).unwrap());
    }

    #[test]
    fn each_standard_signal_has_one_name_of_its_own() {
        let names: Vec<&str> = POLICY
            .iter()
            .filter_map(|r| match r.signals {
                Signals::One(_, name) => Some(name),
                _ => None,
            })
            .collect();
        for name in &names {
            assert!(name.starts_with("SIG"), "{name}");
            assert_eq!(names.iter().filter(|n| *n == name).count(), 1, "{name}");
        }
        assert_eq!(names.len(), 31, "Linux has 31 standard signals");
    }

    #[test]
    fn real_time_signals_are_named_from_sigrtmin() {
        assert_eq!(name(libc::SIGRTMIN()), "SIGRTMIN");
        assert_eq!(name(libc::SIGRTMIN() + 3), "SIGRTMIN+3");
        assert_eq!(name(KERNEL_SIGRTMIN), "signal 32");
        assert_eq!(name(libc::SIGTERM), "SIGTERM");
        assert_eq!(name(0), "signal 0");
    }

    #[test]
    fn the_wait_ends_on_the_four_stop_requests_only() {
        let mut ends: Vec<i32> = with_action(EndsWait).collect();
        ends.sort_unstable();
        assert_eq!(
            ends,
            [libc::SIGHUP, libc::SIGINT, libc::SIGQUIT, libc::SIGTERM]
        );
    }

    #[test]
    fn signals_about_readygate_itself_are_never_forwarded() {
        for n in [
            libc::SIGCHLD,
            libc::SIGURG,
            libc::SIGPIPE,
            libc::SIGKILL,
            libc::SIGSTOP,
            libc::SIGSEGV,
            KERNEL_SIGRTMIN,
        ] {
            let rule = rule(n).unwrap();
            assert!(!rule.action.forwarded(), "{}", name(n));
        }
    }
}
