//! The wait's time: its one deadline, the clock its stages share, and the throttle of its
//! progress lines.

use std::time::Duration;

use tokio::time::Instant;

/// First progress line after this long; then the gap doubles up to `PROGRESS_MAX_GAP`.
const PROGRESS_FIRST: Duration = Duration::from_secs(2);
const PROGRESS_MAX_GAP: Duration = Duration::from_secs(10);

/// The overall deadline of a wait, if it has one: said once, asked in one way.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Deadline(Option<Instant>);

impl Deadline {
    pub(crate) fn after(start: Instant, timeout: Option<Duration>) -> Self {
        Deadline(timeout.map(|t| start + t))
    }

    /// Time left; `None` when there is no deadline.
    pub(crate) fn remaining(self) -> Option<Duration> {
        self.0.map(|d| d.saturating_duration_since(Instant::now()))
    }

    pub(crate) fn passed(self) -> bool {
        self.remaining() == Some(Duration::ZERO)
    }
}

/// The whole wait's clock: when it started, its deadline, and the attempts made so far (the
/// stages count on from one another).
pub(super) struct Clock {
    pub(super) start: Instant,
    pub(super) deadline: Deadline,
    pub(super) attempts: u32,
}

impl Clock {
    pub(super) fn start(timeout: Option<Duration>) -> Self {
        let start = Instant::now();
        Clock {
            start,
            deadline: Deadline::after(start, timeout),
            attempts: 0,
        }
    }
}

pub(crate) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// When the next progress line is due: at 2 s, 4 s, 8 s, 16 s, then every 10 s. Shared with
/// `--wait-app-exit`, so both waits log at the same throttle.
pub(crate) struct Progress {
    next: Duration,
    gap: Duration,
}

impl Progress {
    pub(crate) fn new() -> Self {
        Progress {
            next: PROGRESS_FIRST,
            gap: PROGRESS_FIRST,
        }
    }

    pub(crate) fn due(&mut self, elapsed: Duration) -> bool {
        if elapsed < self.next {
            return false;
        }
        self.next = elapsed + self.gap;
        self.gap = (self.gap * 2).min(PROGRESS_MAX_GAP);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_lines_are_throttled() {
        let mut p = Progress::new();
        let due: Vec<u64> = (0..=60_000u64)
            .step_by(50)
            .filter(|&ms| p.due(Duration::from_millis(ms)))
            .collect();
        assert_eq!(
            due,
            vec![2_000, 4_000, 8_000, 16_000, 26_000, 36_000, 46_000, 56_000]
        );
    }
}
