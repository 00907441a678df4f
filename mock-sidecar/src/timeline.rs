//! What the sidecar is doing at each moment since it started: a pure function of the options.
//!
//! The phases run in order, like a real sidecar's start: refusing connections (the process is
//! not listening yet) for `refuse_for`, then not ready (503) for `not_ready_for`, then ready,
//! alternating with not ready every `flap` period if set; `never_ready` stops at not ready.

use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Not listening at all: connections are refused.
    Refusing,
    /// Listening, readiness answers 503 (or nothing, with `--hang`).
    NotReady,
    /// Listening, readiness answers 200.
    Ready,
}

#[derive(Clone, Copy, Debug, Default)]
pub struct Timeline {
    pub refuse_for: Duration,
    pub not_ready_for: Duration,
    pub never_ready: bool,
    /// Once ready, ready and not ready alternate every period (never zero: the parser rejects it).
    pub flap: Option<Duration>,
}

impl Timeline {
    /// When the first 200 is due, or `None` for a sidecar that never turns ready.
    pub fn ready_at(&self) -> Option<Duration> {
        (!self.never_ready).then(|| self.refuse_for + self.not_ready_for)
    }

    pub fn phase(&self, elapsed: Duration) -> Phase {
        if elapsed < self.refuse_for {
            return Phase::Refusing;
        }
        let Some(ready_at) = self.ready_at() else {
            return Phase::NotReady;
        };
        if elapsed < ready_at {
            return Phase::NotReady;
        }
        match self.flap {
            // Even-numbered periods after the first 200 are ready, odd ones not.
            Some(period) if ((elapsed - ready_at).as_nanos() / period.as_nanos()) % 2 == 1 => {
                Phase::NotReady
            }
            _ => Phase::Ready,
        }
    }

    /// The first moment after `elapsed` at which the phase changes, if it ever does.
    pub fn next_change(&self, elapsed: Duration) -> Option<Duration> {
        if elapsed < self.refuse_for {
            return Some(self.refuse_for);
        }
        let ready_at = self.ready_at()?;
        if elapsed < ready_at {
            return Some(ready_at);
        }
        let period = self.flap?;
        let periods = (elapsed - ready_at).as_nanos() / period.as_nanos() + 1;
        let since_ready = u32::try_from(periods)
            .ok()
            .and_then(|n| period.checked_mul(n))?;
        ready_at.checked_add(since_ready)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn phases_run_refusing_then_not_ready_then_ready() {
        let t = Timeline {
            refuse_for: 100 * MS,
            not_ready_for: 200 * MS,
            ..Timeline::default()
        };
        assert_eq!(t.phase(Duration::ZERO), Phase::Refusing);
        assert_eq!(t.phase(99 * MS), Phase::Refusing);
        assert_eq!(t.phase(100 * MS), Phase::NotReady);
        assert_eq!(t.phase(299 * MS), Phase::NotReady);
        assert_eq!(t.phase(300 * MS), Phase::Ready);
        assert_eq!(t.phase(Duration::from_secs(3600)), Phase::Ready);
        assert_eq!(t.next_change(Duration::ZERO), Some(100 * MS));
        assert_eq!(t.next_change(100 * MS), Some(300 * MS));
        assert_eq!(t.next_change(300 * MS), None);
    }

    #[test]
    fn a_default_timeline_is_ready_at_once_and_stays_ready() {
        let t = Timeline::default();
        assert_eq!(t.phase(Duration::ZERO), Phase::Ready);
        assert_eq!(t.ready_at(), Some(Duration::ZERO));
        assert_eq!(t.next_change(Duration::ZERO), None);
    }

    #[test]
    fn never_ready_stays_not_ready_after_the_refusing_phase() {
        let t = Timeline {
            refuse_for: 50 * MS,
            never_ready: true,
            ..Timeline::default()
        };
        assert_eq!(t.phase(10 * MS), Phase::Refusing);
        assert_eq!(t.phase(50 * MS), Phase::NotReady);
        assert_eq!(t.phase(Duration::from_secs(86_400)), Phase::NotReady);
        assert_eq!(t.ready_at(), None);
        assert_eq!(t.next_change(50 * MS), None);
    }

    #[test]
    fn flapping_alternates_ready_and_not_ready_every_period_after_the_first_200() {
        let t = Timeline {
            not_ready_for: 100 * MS,
            flap: Some(50 * MS),
            ..Timeline::default()
        };
        assert_eq!(t.phase(99 * MS), Phase::NotReady);
        assert_eq!(t.phase(100 * MS), Phase::Ready);
        assert_eq!(t.phase(149 * MS), Phase::Ready);
        assert_eq!(t.phase(150 * MS), Phase::NotReady);
        assert_eq!(t.phase(200 * MS), Phase::Ready);
        assert_eq!(t.next_change(100 * MS), Some(150 * MS));
        assert_eq!(t.next_change(170 * MS), Some(200 * MS));
    }
}
