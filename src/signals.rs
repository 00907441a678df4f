//! The one owner of signal handling: which signals end the wait, and why.
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

/// The name of a signal, for logs.
pub fn name(signal: i32) -> &'static str {
    ENDS_WAIT
        .iter()
        .find(|(n, _)| *n == signal)
        .map_or("signal", |(_, name)| name)
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
        for (n, listener) in &mut self.0 {
            if listener.poll_recv(cx).is_ready() {
                return Poll::Ready(*n);
            }
        }
        Poll::Pending
    }
}
