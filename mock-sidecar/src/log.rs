//! The request log: one line per event on stdout, each stamped with the time since start.
//!
//! stdout is this tool's log (it is not readygate, whose stdout belongs to the application), so
//! `podman logs` and compose show it; Rust's stdout is line-buffered, so each line leaves at once.

use std::io::Write;
use std::time::Instant;

/// Seconds since start with millisecond precision, so a log reads as a timeline.
pub struct Clock(Instant);

impl Clock {
    pub fn start() -> Clock {
        Clock(Instant::now())
    }

    pub fn elapsed(&self) -> std::time::Duration {
        self.0.elapsed()
    }

    /// The moment `after` the start, for tokio's timers: one clock for timers and answers.
    pub fn at(&self, after: std::time::Duration) -> tokio::time::Instant {
        tokio::time::Instant::from_std(self.0 + after)
    }

    /// A log that cannot be written (stdout closed) must not stop the sidecar: errors are
    /// dropped, where `println!` would panic.
    pub fn line(&self, message: std::fmt::Arguments<'_>) {
        let elapsed = self.0.elapsed().as_secs_f64();
        let _ = writeln!(
            std::io::stdout().lock(),
            "mock-sidecar +{elapsed:.3}s {message}"
        );
    }
}

/// `log!(clock, "format", args...)`: one line on stdout.
#[macro_export]
macro_rules! log {
    ($clock:expr, $($arg:tt)*) => {
        $clock.line(format_args!($($arg)*))
    };
}
