//! The delay schedule between probes: pure, so it is unit-tested without sleeping.
//!
//! Shape: the first probe is immediate; the delay before attempt n+1 is
//! `min(interval * GROWTH^n, max_interval)`, then shortened by up to `JITTER` (never lengthened,
//! so the cap is a hard bound on detection latency). Never longer than the time left before the
//! overall deadline.
//!
//! Why these defaults: sidecars usually become ready within a second or two of the gate starting,
//! so the schedule starts fast (15 ms) and grows slowly (2% per attempt, which makes the delay grow
//! by about 20 ms per second of waiting): a proxy ready after 1.5 s is seen within ~45 ms, yet the
//! delay reaches its 500 ms cap (Istio's own `pilot-agent wait` period) after ~24 s, so a long wait
//! averages ~6 probes per second over its first 30 s and 2 per second after that.

use std::time::Duration;

/// Default delay before the second probe.
pub const DEFAULT_INTERVAL: Duration = Duration::from_millis(15);
/// Default cap on the delay between probes.
pub const DEFAULT_MAX_INTERVAL: Duration = Duration::from_millis(500);
/// Growth of the delay per attempt.
const GROWTH: f64 = 1.02;
/// Largest fraction by which a delay is shortened at random, so pods started together drift apart.
const JITTER: f64 = 0.1;

/// The delay schedule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    interval: Duration,
    max_interval: Duration,
}

impl Backoff {
    /// A schedule starting at `interval` and capped at `max_interval` (raised to `interval` if lower).
    pub fn new(interval: Duration, max_interval: Duration) -> Self {
        Backoff {
            interval,
            max_interval: max_interval.max(interval),
        }
    }

    /// The delay after attempt number `attempt` (1-based: the first probe happens at once),
    /// given `unit`, a random number in [0, 1), and the time `remaining` before the deadline.
    pub fn delay(&self, attempt: u32, unit: f64, remaining: Option<Duration>) -> Duration {
        let exponent = attempt.saturating_sub(1).min(10_000) as i32;
        let grown = self.interval.as_secs_f64() * GROWTH.powi(exponent);
        let capped = grown.min(self.max_interval.as_secs_f64());
        let jittered = capped * (1.0 - JITTER * unit.clamp(0.0, 1.0));
        let delay = Duration::from_secs_f64(jittered.max(0.0));
        match remaining {
            Some(left) => delay.min(left),
            None => delay,
        }
    }
}

/// A small xorshift generator for jitter: no dependency, and quality does not matter here.
pub struct Jitter(u64);

impl Jitter {
    /// Seeded from the clock and the PID, so pods started in the same instant differ.
    pub fn from_entropy() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        Jitter((nanos ^ (u64::from(std::process::id()) << 32)) | 1)
    }

    /// The next number in [0, 1).
    pub fn next_unit(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn the_first_delay_is_the_interval_and_later_ones_grow() {
        let b = Backoff::new(ms(15), ms(500));
        assert_eq!(b.delay(1, 0.0, None), ms(15));
        assert!(b.delay(2, 0.0, None) > b.delay(1, 0.0, None));
        assert!(b.delay(50, 0.0, None) > b.delay(20, 0.0, None));
    }

    #[test]
    fn delays_never_exceed_the_cap_whatever_the_jitter() {
        let b = Backoff::new(ms(15), ms(500));
        for attempt in [1, 10, 100, 200, 1_000, u32::MAX] {
            for unit in [0.0, 0.5, 0.999_999] {
                assert!(b.delay(attempt, unit, None) <= ms(500));
            }
        }
        assert_eq!(b.delay(u32::MAX, 0.0, None), ms(500));
    }

    #[test]
    fn jitter_only_shortens_a_delay_by_at_most_ten_percent() {
        let b = Backoff::new(ms(100), ms(100));
        assert_eq!(b.delay(1, 0.0, None), ms(100));
        let shortest = b.delay(1, 0.999_999, None);
        assert!(shortest >= ms(90) && shortest < ms(100), "{shortest:?}");
    }

    #[test]
    fn a_delay_never_runs_past_the_deadline() {
        let b = Backoff::new(ms(15), ms(500));
        assert_eq!(b.delay(500, 0.0, Some(ms(7))), ms(7));
        assert_eq!(b.delay(1, 0.0, Some(Duration::ZERO)), Duration::ZERO);
    }

    #[test]
    fn a_cap_below_the_interval_is_raised_to_it() {
        let b = Backoff::new(ms(200), ms(50));
        assert_eq!(b.delay(10, 0.0, None), ms(200));
    }

    #[test]
    fn defaults_keep_detection_fast_early_and_cheap_later() {
        // Simulates the default schedule (no jitter, instant probes): at most ~45 ms between
        // probes in the first 1.5 s, and at most 20 probes per second averaged over 30 s.
        let b = Backoff::new(DEFAULT_INTERVAL, DEFAULT_MAX_INTERVAL);
        let (mut t, mut attempt, mut early_max) = (Duration::ZERO, 1, Duration::ZERO);
        while t < Duration::from_secs(30) {
            let d = b.delay(attempt, 0.0, None);
            if t < ms(1_500) {
                early_max = early_max.max(d);
            }
            t += d;
            attempt += 1;
        }
        assert!(early_max <= ms(50), "{early_max:?}");
        assert!(attempt <= 600, "{attempt} probes in 30 s");
    }

    #[test]
    fn jitter_units_stay_in_range() {
        let mut j = Jitter::from_entropy();
        for _ in 0..10_000 {
            let u = j.next_unit();
            assert!((0.0..1.0).contains(&u));
        }
    }
}
