//! What readygate does with each signal, and why: [`POLICY`], one table for every signal number
//! that both the code and the tests read, so what happens to a signal is decided in this one
//! place. The mechanism that carries it out (blocking the signals and reading them with who sent
//! them) is `signalfd`.
//!
//! Each rule says what happens when someone **sends** the signal (kill, tkill, sigqueue: the
//! kernel records a `si_code` at or below zero) and when the kernel **raises** it about readygate
//! itself (a positive `si_code`, such as a fault, a CPU limit or a terminal's Ctrl-C; or
//! readygate's own PID as the sender, as for SIGPIPE after its own write to a closed pipe). A
//! real fault is never read at all: the kernel forces its default action even on a blocked
//! signal, so readygate still dies of a fault of its own.
//!
//! In Job mode (`--shutdown`) nothing anyone sends kills or stops readygate: as the child's
//! parent (often PID 1) it must outlive the child to reap it and quit the sidecar. Like dumb-init
//! it forwards every signal that can be sent, except SIGCHLD (its own) and libc's reserved
//! real-time signals. While a gate waits (before exec, or `--wait-app-exit`), a sent signal whose
//! default action would end readygate ends the wait instead, with 128+N and a log line.

use crate::sys::SignalSet;

/// What readygate does with a signal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// A request to stop. While waiting: ends the wait with 128+N and the command never runs.
    /// In Job mode, once the command runs: forwarded to it, a second one too.
    EndsWait,
    /// Job mode: forwarded to the command. One arriving during the wait is held (left pending)
    /// and forwarded once the command runs. While a plain gate waits it ends the wait if its
    /// default action would have ended readygate.
    Forward,
    /// SIGCHLD drives Job mode's reaping loop; never forwarded.
    Reap,
    /// Dropped with a debug line: it is about readygate's own writes, limits or descriptors and
    /// means nothing to the command, which gets its own.
    Absorb,
    /// A fault in readygate itself: it ends readygate with the default action (terminate with a
    /// core dump). A handler returning from a real fault would re-run the faulting instruction
    /// forever; the kernel forces the default action on a blocked one.
    Fault,
    /// SIGKILL and SIGSTOP: the kernel lets no process catch, block or ignore them.
    Uncatchable,
    /// Job mode: blocked and never read, so it stays pending and never acts. While a plain gate
    /// waits it ends the wait, as every signal does whose default action would end readygate
    /// (see [`Signals::LibcReserved`]).
    Hold,
}

/// What the kernel does with a signal nobody handles (signal(7)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Disposition {
    Terminate,
    /// Terminate and dump core.
    Core,
    Ignore,
    Stop,
    /// Resume a stopped process (otherwise ignored).
    Continue,
}

impl Disposition {
    /// Whether the default action ends the process.
    pub fn ends_the_process(self) -> bool {
        matches!(self, Disposition::Terminate | Disposition::Core)
    }
}

/// Who raised a signal, read from its `siginfo`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Another process sent it (kill, tkill, tgkill, sigqueue, a POSIX timer or message queue
    /// of another's making): for the command.
    Sent,
    /// The kernel raised it about readygate itself (a fault, a limit, its own write), or
    /// readygate raised it itself.
    Raised,
}

/// Classifies a signal by its `si_code` and sender PID. `si_code` above zero is the kernel's
/// (SI_KERNEL, a fault's code, CLD_* and POLL_* codes); at or below zero (SI_USER, SI_QUEUE,
/// SI_TIMER, SI_MESGQ, SI_ASYNCIO, SI_SIGIO, SI_TKILL, SI_DETHREAD, SI_ASYNCNL) a process sent it,
/// unless that process is readygate: the kernel sends SIGPIPE and SIGXFSZ after a write as SI_USER
/// with the writer's own PID. A sender in an outer PID namespace shows as PID 0, never as
/// readygate's.
pub fn origin(si_code: i32, sender: u32, own_pid: u32) -> Origin {
    if si_code > 0 || (sender == own_pid && sender != 0) {
        Origin::Raised
    } else {
        Origin::Sent
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
    /// is why `SIGRTMIN()` is a function. readygate does not forward them (the command's libc
    /// would take one for its own) and, blocked, they cannot kill it: in Job mode they stay
    /// pending and never act; while a gate waits, one that is sent ends the wait like any signal
    /// whose default action would end readygate (signal 32: exit 160). Blocking them is safe
    /// because readygate never uses what libc needs them for: it cancels no thread and changes
    /// no user or group ID or resource limit across threads.
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

/// One entry of the policy: which signals, their default action, what readygate does with
/// them when sent and when raised by the kernel about readygate, and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rule {
    pub signals: Signals,
    pub default: Disposition,
    pub sent: Action,
    pub raised: Action,
    pub why: &'static str,
}

impl Rule {
    /// The action for a signal of this rule raised as `origin` says.
    pub fn action(&self, origin: Origin) -> Action {
        match origin {
            Origin::Sent => self.sent,
            Origin::Raised => self.raised,
        }
    }
}

const fn one(
    number: i32,
    name: &'static str,
    default: Disposition,
    (sent, raised): (Action, Action),
    why: &'static str,
) -> Rule {
    Rule {
        signals: Signals::One(number, name),
        default,
        sent,
        raised,
        why,
    }
}

use Action::{Absorb, EndsWait, Fault, Forward, Hold, Reap, Uncatchable};
use Disposition::{Continue, Core, Ignore, Stop, Terminate};

/// Forwarded however it was raised: a terminal's driver raises these for the whole foreground
/// process group, the command included, and readygate itself never raises them.
const ALWAYS: (Action, Action) = (Forward, Forward);
/// Sent, for the command; raised by the kernel, about readygate's own writes, limits or
/// descriptors, dropped.
const UNLESS_OWN: (Action, Action) = (Forward, Absorb);
/// Sent, for the command; raised by the kernel, a fault of readygate's own that ends it.
const UNLESS_FAULT: (Action, Action) = (Forward, Fault);
const STOP_REQUEST: (Action, Action) = (EndsWait, EndsWait);

/// The whole policy: every signal from 1 to `SIGRTMAX()` is covered by exactly one rule (a unit
/// test checks it). Reasons are written for the person deciding whether to change one.
#[rustfmt::skip]
pub const POLICY: [Rule; 33] = [
    // Requests to stop: they end the wait; in Job mode the command must hear them. A terminal
    // raises SIGINT, SIGQUIT and SIGHUP through the kernel: still requests.
    one(libc::SIGTERM, "SIGTERM", Terminate, STOP_REQUEST,
        "the kubelet's and docker stop's request to stop"),
    one(libc::SIGINT, "SIGINT", Terminate, STOP_REQUEST,
        "Ctrl-C; a second one is forwarded too (some apps then stop at once)"),
    one(libc::SIGHUP, "SIGHUP", Terminate, STOP_REQUEST,
        "terminal gone, or the conventional 'reload your config'"),
    one(libc::SIGQUIT, "SIGQUIT", Core, STOP_REQUEST,
        "Ctrl-\\: stop and dump (the JVM prints its threads)"),
    // Messages for the application: whoever signals the container signals readygate.
    one(libc::SIGUSR1, "SIGUSR1", Terminate, ALWAYS,
        "application-defined (log reopen, debug toggles)"),
    one(libc::SIGUSR2, "SIGUSR2", Terminate, ALWAYS,
        "application-defined (graceful reload in nginx, unicorn)"),
    one(libc::SIGWINCH, "SIGWINCH", Ignore, ALWAYS,
        "terminal resized: interactive children redraw"),
    one(libc::SIGALRM, "SIGALRM", Terminate, ALWAYS,
        "readygate sets no alarm (its timers are epoll timeouts): one it gets is for the \
         application"),
    one(libc::SIGVTALRM, "SIGVTALRM", Terminate, ALWAYS,
        "readygate sets no interval timer: one it gets is for the application"),
    one(libc::SIGPROF, "SIGPROF", Terminate, ALWAYS,
        "readygate runs no profiler timer: one it gets is for the application"),
    one(libc::SIGPWR, "SIGPWR", Terminate, ALWAYS,
        "power failure: an init tells the application, which may save its state"),
    one(libc::SIGSTKFLT, "SIGSTKFLT", Terminate, ALWAYS,
        "unused by Linux itself: only ever sent by hand, to the application"),
    one(libc::SIGIO, "SIGIO", Terminate, UNLESS_OWN,
        "sent, for the application; raised, about an O_ASYNC descriptor of readygate's (it has \
         none)"),
    // Job control: readygate never stops, so it keeps reaping, forwarding and can still quit
    // the sidecar; the command decides (by default it stops, and SIGCONT resumes it).
    one(libc::SIGTSTP, "SIGTSTP", Stop, ALWAYS,
        "Ctrl-Z or a stop request: the command stops, readygate keeps supervising"),
    one(libc::SIGTTIN, "SIGTTIN", Stop, ALWAYS,
        "background read from the terminal: the command's business; readygate reads none"),
    one(libc::SIGTTOU, "SIGTTOU", Stop, ALWAYS,
        "background write to the terminal: the command's business; readygate keeps supervising"),
    one(libc::SIGCONT, "SIGCONT", Continue, ALWAYS,
        "resumes a command a forwarded stop signal stopped"),
    // Sent, for the application like any other; raised, about readygate itself.
    one(libc::SIGURG, "SIGURG", Ignore, UNLESS_OWN,
        "sent, for the application (readygate is not a Go program: it is no runtime's \
         preemption signal of its own); raised, out-of-band data on a socket of readygate's"),
    one(libc::SIGPIPE, "SIGPIPE", Terminate, UNLESS_OWN,
        "sent, for the application; raised, about readygate's own write to a closed pipe (a \
         closed stderr), which fails with EPIPE instead"),
    one(libc::SIGXCPU, "SIGXCPU", Core, UNLESS_OWN,
        "sent, for the application; raised, readygate's own CPU limit (the command has its \
         own)"),
    one(libc::SIGXFSZ, "SIGXFSZ", Core, UNLESS_OWN,
        "sent, for the application; raised, readygate's own file-size limit (its write fails \
         with EFBIG instead)"),
    one(libc::SIGABRT, "SIGABRT", Core, UNLESS_FAULT,
        "sent, it asks the application to abort and dump; readygate's own abort() still ends it"),
    one(libc::SIGSEGV, "SIGSEGV", Core, UNLESS_FAULT,
        "sent (a runtime, kill -SEGV, a chaos tool), for the application; raised, a fault in \
         readygate itself"),
    one(libc::SIGBUS, "SIGBUS", Core, UNLESS_FAULT,
        "sent, for the application; raised, a fault in readygate itself"),
    one(libc::SIGFPE, "SIGFPE", Core, UNLESS_FAULT,
        "sent, for the application; raised, a fault in readygate itself"),
    one(libc::SIGILL, "SIGILL", Core, UNLESS_FAULT,
        "sent, for the application; raised, a fault in readygate itself"),
    one(libc::SIGTRAP, "SIGTRAP", Core, UNLESS_FAULT,
        "sent, for the application; raised, a breakpoint or trace trap in readygate itself"),
    one(libc::SIGSYS, "SIGSYS", Core, UNLESS_FAULT,
        "sent, for the application; raised, a system call of readygate's refused (seccomp)"),
    // Readygate's own.
    one(libc::SIGCHLD, "SIGCHLD", Ignore, (Reap, Reap),
        "about readygate's own children: it drives readygate's reaping"),
    one(libc::SIGKILL, "SIGKILL", Terminate, (Uncatchable, Uncatchable),
        "readygate dies and the child is orphaned"),
    one(libc::SIGSTOP, "SIGSTOP", Stop, (Uncatchable, Uncatchable),
        "it stops readygate itself until SIGCONT"),
    Rule {
        signals: Signals::LibcReserved,
        default: Terminate,
        sent: Hold,
        raised: Hold,
        why: "libc's own thread signals: no handler can be installed, and forwarded they would \
              confuse the child's libc",
    },
    Rule {
        signals: Signals::RealTime,
        default: Terminate,
        sent: Forward,
        raised: Absorb,
        why: "application-defined real-time signals, forwarded one for one as they queue; raised \
              by the kernel only about a descriptor of readygate's (it sets none)",
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

/// Every signal number covered by a rule that `keep` accepts.
fn numbers_where(keep: impl Fn(&Rule) -> bool) -> impl Iterator<Item = i32> {
    POLICY
        .iter()
        .filter(move |rule| keep(rule))
        .flat_map(|rule| rule.signals.numbers())
}

// A `SignalSet` is the kernel's 64-bit form, right only where signals stop at 64. On a target
// with more (MIPS has 128) `set_where` would fail, and an empty set would block nothing: refuse
// to build there rather than run with every signal left at its default.
#[cfg(not(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
)))]
compile_error!("readygate's signal sets assume Linux on x86_64 or aarch64 (signals 1 to 64)");

fn set_where(keep: impl Fn(&Rule) -> bool) -> SignalSet {
    // Every number in the table is 1..=SIGRTMAX, 64 on the targets allowed above, which a set
    // holds: the default (empty) is never taken.
    SignalSet::of(numbers_where(keep)).unwrap_or_default()
}

/// The signals whose SIG_IGN, found as readygate starts, is its parent's wish to be honoured
/// (see [`Phase::blocked_unless_ignored`]): every one but SIGPIPE (Rust's runtime ignores it
/// before `main`, so its disposition says nothing of the parent; std resets it to the default in
/// the command) and libc's reserved ones (glibc's `posix_spawn` leaves them ignored in every
/// process it starts, asked or not: a parent written in Rust passes them on ignored).
pub fn parent_may_ignore() -> impl Iterator<Item = i32> {
    (1..=libc::SIGRTMAX()).filter(|&n| n != libc::SIGPIPE && !Signals::LibcReserved.contains(n))
}

/// What a listener is listening for: the phase of readygate's run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// A plain gate (before exec) or `--wait-app-exit`: every signal whose default action would
    /// end readygate is caught instead and ends the wait; the others keep their defaults.
    Gate,
    /// Job mode before the command runs: every catchable signal is blocked so none can kill or
    /// stop readygate; the requests to stop end the wait, the rest stay pending for the command.
    JobWait,
    /// Job mode while the command runs: every catchable signal is read and acted on.
    JobRun,
}

impl Phase {
    /// The signals blocked in this phase (so that they stay pending until read, and never act
    /// by their default action), when readygate's parent ignored none.
    pub fn blocked(self) -> SignalSet {
        self.blocked_unless_ignored(SignalSet::default())
    }

    /// The signals read in this phase when readygate's parent ignored none; blocked ones not
    /// read stay pending.
    pub fn read(self) -> SignalSet {
        self.read_unless_ignored(SignalSet::default())
    }

    /// The signals blocked in this phase when readygate's parent left `ignored` at SIG_IGN
    /// (`nohup` ignores SIGHUP). A gate leaves those ignored: a blocked signal is queued even
    /// when ignored, and read it would end the wait, which the parent asked not to happen. Job
    /// mode still blocks them, to forward them once the command runs (the command inherits the
    /// ignore, so for it they change nothing).
    pub fn blocked_unless_ignored(self, ignored: SignalSet) -> SignalSet {
        match self {
            Phase::Gate => set_where(|r| r.default.ends_the_process() && r.sent != Uncatchable)
                .without(ignored),
            Phase::JobWait | Phase::JobRun => set_where(|r| r.sent != Uncatchable),
        }
    }

    /// The signals read in this phase when readygate's parent left `ignored` at SIG_IGN: an
    /// ignored request to stop does not end Job mode's wait either, but is held for the command.
    pub fn read_unless_ignored(self, ignored: SignalSet) -> SignalSet {
        match self {
            Phase::Gate => Phase::Gate.blocked_unless_ignored(ignored),
            Phase::JobWait => set_where(|r| r.sent == EndsWait).without(ignored),
            Phase::JobRun => set_where(|r| !matches!(r.sent, Uncatchable | Hold)),
        }
    }

    /// What readygate does with `signal`, raised as `origin` says, in this phase.
    pub fn heard(self, signal: i32, origin: Origin) -> Heard {
        let Some(rule) = rule(signal) else {
            return Heard::Absorbed(signal);
        };
        match (self, rule.action(origin)) {
            (_, Fault) => Heard::Fault(signal),
            (_, Absorb) => Heard::Absorbed(signal),
            (_, Reap) => Heard::Child,
            (Phase::JobRun, EndsWait | Forward) => Heard::Forward(signal),
            // Never read in these phases (not in `read()`): dropped if ever.
            (Phase::JobRun, Hold | Uncatchable) | (Phase::JobWait, Forward | Hold) => {
                Heard::Absorbed(signal)
            }
            (_, Uncatchable) => Heard::Absorbed(signal),
            (Phase::JobWait, EndsWait) | (Phase::Gate, EndsWait | Forward | Hold) => {
                Heard::Stop(signal)
            }
        }
    }
}

/// What a listener heard, and what to do about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Heard {
    /// End the wait with 128+N; the command does not run.
    Stop(i32),
    /// Job mode: pass it on to the command.
    Forward(i32),
    /// SIGCHLD: some child (the command or an orphan) changed state; time to reap.
    Child,
    /// Dropped (a debug line): about readygate itself, nothing for the command.
    Absorbed(i32),
    /// A fault of readygate's own: it must end readygate by its default action.
    Fault(i32),
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
    fn default_actions_are_the_kernels() {
        // signal(7): the only ones that do not end a process by default.
        let spare: Vec<i32> = (1..=libc::SIGRTMAX())
            .filter(|&n| !rule(n).unwrap().default.ends_the_process())
            .collect();
        let mut expected = [
            libc::SIGCHLD,
            libc::SIGCONT,
            libc::SIGSTOP,
            libc::SIGTSTP,
            libc::SIGTTIN,
            libc::SIGTTOU,
            libc::SIGURG,
            libc::SIGWINCH,
        ];
        expected.sort_unstable();
        assert_eq!(spare, expected);
    }

    #[test]
    fn si_codes_at_or_below_zero_are_sent_and_positive_ones_raised_by_the_kernel() {
        let me = 4242;
        for sent in [
            libc::SI_USER,
            libc::SI_QUEUE,
            libc::SI_TIMER,
            libc::SI_MESGQ,
            libc::SI_ASYNCIO,
            libc::SI_SIGIO,
            libc::SI_TKILL,
            libc::SI_DETHREAD,
            libc::SI_ASYNCNL,
        ] {
            assert_eq!(origin(sent, 77, me), Origin::Sent, "si_code {sent}");
            // From an outer PID namespace the sender shows as PID 0.
            assert_eq!(origin(sent, 0, me), Origin::Sent, "si_code {sent}");
            // readygate's own (the kernel sends SIGPIPE after its write as SI_USER from it).
            assert_eq!(origin(sent, me, me), Origin::Raised, "si_code {sent}");
        }
        // SI_KERNEL, and the codes of faults, children and I/O, all positive.
        for raised in [libc::SI_KERNEL, 1, 2, 3, 4, 5, 6] {
            assert_eq!(origin(raised, 0, me), Origin::Raised, "si_code {raised}");
            assert_eq!(origin(raised, 77, me), Origin::Raised, "si_code {raised}");
        }
    }

    #[test]
    fn in_job_mode_every_sent_signal_but_sigchld_and_libcs_own_reaches_the_command() {
        for n in 1..=libc::SIGRTMAX() {
            let heard = Phase::JobRun.heard(n, Origin::Sent);
            let kept = [libc::SIGKILL, libc::SIGSTOP, libc::SIGCHLD].contains(&n)
                || Signals::LibcReserved.contains(n);
            if kept {
                assert_ne!(heard, Heard::Forward(n), "{}", name(n));
            } else {
                assert_eq!(heard, Heard::Forward(n), "{}", name(n));
                assert!(Phase::JobRun.read().contains(n), "{}", name(n));
            }
            let catchable = ![libc::SIGKILL, libc::SIGSTOP].contains(&n);
            assert_eq!(
                Phase::JobRun.blocked().contains(n),
                catchable,
                "{}",
                name(n)
            );
            assert_eq!(
                Phase::JobWait.blocked().contains(n),
                catchable,
                "{}",
                name(n)
            );
        }
    }

    #[test]
    fn raised_about_readygate_itself_faults_end_it_and_the_rest_are_absorbed() {
        for n in [
            libc::SIGSEGV,
            libc::SIGBUS,
            libc::SIGFPE,
            libc::SIGILL,
            libc::SIGTRAP,
            libc::SIGSYS,
            libc::SIGABRT,
        ] {
            for phase in [Phase::Gate, Phase::JobRun] {
                assert_eq!(
                    phase.heard(n, Origin::Raised),
                    Heard::Fault(n),
                    "{}",
                    name(n)
                );
            }
        }
        for n in [
            libc::SIGPIPE,
            libc::SIGXCPU,
            libc::SIGXFSZ,
            libc::SIGURG,
            libc::SIGIO,
        ] {
            for phase in [Phase::Gate, Phase::JobRun] {
                assert_eq!(
                    phase.heard(n, Origin::Raised),
                    Heard::Absorbed(n),
                    "{}",
                    name(n)
                );
            }
        }
        // A terminal's Ctrl-C, Ctrl-Z and resize are raised by the kernel for the whole group.
        for n in [libc::SIGINT, libc::SIGTSTP, libc::SIGWINCH] {
            assert_eq!(Phase::JobRun.heard(n, Origin::Raised), Heard::Forward(n));
        }
        assert_eq!(
            Phase::Gate.heard(libc::SIGINT, Origin::Raised),
            Heard::Stop(libc::SIGINT)
        );
    }

    #[test]
    fn job_mode_waits_end_on_the_four_stop_requests_only_the_rest_stay_pending() {
        let mut ends: Vec<i32> = (1..=libc::SIGRTMAX())
            .filter(|&n| Phase::JobWait.read().contains(n))
            .collect();
        ends.sort_unstable();
        assert_eq!(
            ends,
            [libc::SIGHUP, libc::SIGINT, libc::SIGQUIT, libc::SIGTERM]
        );
        for n in ends {
            assert_eq!(Phase::JobWait.heard(n, Origin::Sent), Heard::Stop(n));
        }
    }

    #[test]
    fn a_gate_ends_on_every_sent_signal_whose_default_would_end_readygate() {
        for n in 1..=libc::SIGRTMAX() {
            let kills = rule(n).unwrap().default.ends_the_process() && n != libc::SIGKILL;
            assert_eq!(Phase::Gate.blocked().contains(n), kills, "{}", name(n));
            assert_eq!(Phase::Gate.read().contains(n), kills, "{}", name(n));
            if kills {
                assert_eq!(
                    Phase::Gate.heard(n, Origin::Sent),
                    Heard::Stop(n),
                    "{}",
                    name(n)
                );
            }
        }
        // Stops and the signals ignored by default keep their default actions.
        for n in [libc::SIGTSTP, libc::SIGCHLD, libc::SIGWINCH, libc::SIGURG] {
            assert!(!Phase::Gate.blocked().contains(n), "{}", name(n));
        }
    }

    #[test]
    fn an_inherited_ignore_counts_except_for_sigpipe_and_libcs_own() {
        let counted: Vec<i32> = parent_may_ignore().collect();
        assert!(counted.contains(&libc::SIGHUP) && counted.contains(&libc::SIGRTMIN()));
        assert!(!counted.contains(&libc::SIGPIPE));
        assert!(!counted.iter().any(|&n| Signals::LibcReserved.contains(n)));
    }

    #[test]
    fn signals_the_parent_ignored_end_no_wait_and_job_mode_still_forwards_them() {
        let ignored = SignalSet::of([libc::SIGHUP, libc::SIGUSR1]).unwrap();
        for n in [libc::SIGHUP, libc::SIGUSR1] {
            let gate = (
                Phase::Gate.blocked_unless_ignored(ignored),
                Phase::Gate.read_unless_ignored(ignored),
            );
            assert!(!gate.0.contains(n) && !gate.1.contains(n), "{}", name(n));
            assert!(Phase::JobWait.blocked_unless_ignored(ignored).contains(n));
            assert!(!Phase::JobWait.read_unless_ignored(ignored).contains(n));
            assert!(Phase::JobRun.blocked_unless_ignored(ignored).contains(n));
            assert!(Phase::JobRun.read_unless_ignored(ignored).contains(n));
        }
        // The others are untouched.
        assert!(Phase::Gate
            .read_unless_ignored(ignored)
            .contains(libc::SIGTERM));
        assert!(Phase::JobWait
            .read_unless_ignored(ignored)
            .contains(libc::SIGTERM));
    }
}
