//! The one owner of signal handling: which signals end the wait, which Job mode forwards to the
//! child and which it does not, and why.
//!
//! Handlers are installed before the first probe. That matters when readygate is PID 1 of a
//! container: the kernel drops any signal PID 1 has no handler for, so without them SIGTERM
//! would be ignored and the pod would wait for its grace period to end in SIGKILL.

use std::io;
use std::task::{Context, Poll, Waker};

use tokio::signal::unix::{signal, Signal, SignalKind};

/// Signals that end the wait with 128+N, without running the command: what a runtime or a
/// person sends to stop a container (TERM from the kubelet, INT from Ctrl-C, HUP when a
/// terminal goes away, QUIT from Ctrl-\).
pub const ENDS_WAIT: [(i32, &str); 4] = [
    (libc::SIGTERM, "SIGTERM"),
    (libc::SIGINT, "SIGINT"),
    (libc::SIGHUP, "SIGHUP"),
    (libc::SIGQUIT, "SIGQUIT"),
];

/// Job mode (`--shutdown`): signals passed on to the child, each with the reason. Forwarding is
/// readygate's job as the child's parent (often PID 1): whoever signals the container signals
/// readygate, and the application must hear it.
pub const FORWARDED: [(i32, &str, &str); 7] = [
    (
        libc::SIGTERM,
        "SIGTERM",
        "the kubelet's and docker stop's request to stop",
    ),
    (
        libc::SIGINT,
        "SIGINT",
        "Ctrl-C; a second one is forwarded too (some apps then stop at once)",
    ),
    (
        libc::SIGHUP,
        "SIGHUP",
        "terminal gone, or the conventional 'reload your config'",
    ),
    (
        libc::SIGQUIT,
        "SIGQUIT",
        "Ctrl-\\: stop and dump (the JVM prints its threads)",
    ),
    (
        libc::SIGUSR1,
        "SIGUSR1",
        "application-defined (log reopen, debug toggles)",
    ),
    (
        libc::SIGUSR2,
        "SIGUSR2",
        "application-defined (graceful reload in nginx, unicorn)",
    ),
    (
        libc::SIGWINCH,
        "SIGWINCH",
        "terminal resized: interactive children redraw",
    ),
];

/// Job mode: signals deliberately NOT forwarded, each with the reason.
pub const NOT_FORWARDED: [(i32, &str, &str); 10] = [
    (
        libc::SIGCHLD,
        "SIGCHLD",
        "about readygate's own children: it drives readygate's reaping",
    ),
    (
        libc::SIGURG,
        "SIGURG",
        "Go's runtime uses it for preemption; forwarding has killed children",
    ),
    (
        libc::SIGPIPE,
        "SIGPIPE",
        "about readygate's own writes, meaningless to the child",
    ),
    (
        libc::SIGKILL,
        "SIGKILL",
        "cannot be caught: readygate dies and the child is orphaned",
    ),
    (
        libc::SIGSTOP,
        "SIGSTOP",
        "cannot be caught: it stops readygate itself",
    ),
    (
        libc::SIGSEGV,
        "SIGSEGV",
        "synchronous fault in readygate itself, not a message",
    ),
    (
        libc::SIGBUS,
        "SIGBUS",
        "synchronous fault in readygate itself, not a message",
    ),
    (
        libc::SIGFPE,
        "SIGFPE",
        "synchronous fault in readygate itself, not a message",
    ),
    (
        libc::SIGILL,
        "SIGILL",
        "synchronous fault in readygate itself, not a message",
    ),
    (
        libc::SIGTSTP,
        "SIGTSTP",
        "job control: a terminal's Ctrl-Z reaches the child itself (same group)",
    ),
];

/// The name of a signal, for logs.
pub fn name(signal: i32) -> &'static str {
    let known = ENDS_WAIT.iter().map(|&(n, name)| (n, name));
    let forwarded = FORWARDED.iter().map(|&(n, name, _)| (n, name));
    let other = NOT_FORWARDED.iter().map(|&(n, name, _)| (n, name));
    known
        .chain(forwarded)
        .chain(other)
        .find(|(n, _)| *n == signal)
        .map_or("signal", |(_, name)| name)
}

/// What Job mode's listeners heard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobSignal {
    /// One of [`FORWARDED`]: pass it on to the child.
    Forward(i32),
    /// SIGCHLD: some child (the command or an orphan) changed state; time to reap.
    Child,
}

/// Job mode's listeners: every signal in [`FORWARDED`], and SIGCHLD for reaping. Installed
/// before the wait, so a signal between the wait and the spawn is held, not lost, and SIGUSR1
/// or SIGUSR2 during the wait does not kill readygate with its default action.
pub struct JobSignals {
    forwarded: Vec<(i32, Signal)>,
    child: Signal,
}

impl JobSignals {
    /// Installs the handlers; must run inside the tokio runtime.
    pub fn install() -> io::Result<Self> {
        let forwarded = FORWARDED
            .iter()
            .map(|&(n, _, _)| Ok((n, signal(SignalKind::from_raw(n))?)))
            .collect::<io::Result<_>>()?;
        let child = signal(SignalKind::child())?;
        Ok(JobSignals { forwarded, child })
    }

    /// Waits for the next signal. SIGCHLD comes first when several are pending, so a child's
    /// exit is noticed before a signal is forwarded to it.
    pub async fn recv(&mut self) -> JobSignal {
        std::future::poll_fn(|cx| {
            if self.child.poll_recv(cx).is_ready() {
                return Poll::Ready(JobSignal::Child);
            }
            poll_first(&mut self.forwarded, cx).map(JobSignal::Forward)
        })
        .await
    }
}

/// Listeners for the signals that end the wait.
pub struct WaitSignals(Vec<(i32, Signal)>);

impl WaitSignals {
    /// Installs the handlers; must run inside the tokio runtime.
    pub fn install() -> io::Result<Self> {
        ENDS_WAIT
            .iter()
            .map(|&(n, _)| Ok((n, signal(SignalKind::from_raw(n))?)))
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
        poll_first(&mut self.0, cx)
    }
}

/// The number of the first listener in `listeners` with a signal waiting.
fn poll_first(listeners: &mut [(i32, Signal)], cx: &mut Context<'_>) -> Poll<i32> {
    for (n, listener) in listeners {
        if listener.poll_recv(cx).is_ready() {
            return Poll::Ready(*n);
        }
    }
    Poll::Pending
}
