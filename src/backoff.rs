//! The delay schedule between probes: pure, so it is unit-tested without sleeping.
//!
//! Shape, as a function of the time `t` since the gate started (the first probe is immediate):
//! - for the first `FAST_WINDOW` (2 s), `interval + 20 ms × t/s`: 15 ms at first, 55 ms at 2 s;
//! - after it, that delay doubles every `DOUBLING` (0.5 s), up to `max_interval`;
//! - then each delay is shortened at random by up to `JITTER` (never lengthened, so the cap is a
//!   hard bound on detection latency), and never runs past the overall deadline.
//!
//! Why: sidecars usually become ready within a second or two of the gate starting, and that is
//! when a fast answer matters (a proxy ready after 1.5 s is seen within ~45 ms). A proxy still not
//! ready after 2 s is waiting for its control plane, which takes seconds more, so the schedule
//! backs off quickly to its 1 s cap. Measured (docs/benchmarks.md): each probe costs ~150 to
//! 300 us of CPU, and this schedule makes ~100 probes in a 30 s wait, which keeps the wait under
//! 1 ms of CPU per second; a schedule still probing every 50 ms after 2 s would cost 3 to 6 times
//! as much.

use std::time::Duration;

/// How long the delay stays short.
pub const FAST_WINDOW: Duration = Duration::from_secs(2);
/// Growth of the delay during the fast window, in seconds of delay per second waited.
const FAST_SLOPE: f64 = 0.02;
/// After the fast window, the delay doubles this often.
const DOUBLING: Duration = Duration::from_millis(500);
/// Largest fraction by which a delay is shortened at random, so pods started together drift apart.
const JITTER: f64 = 0.1;

/// The delay schedule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    interval: Duration,
    max_interval: Duration,
}

impl Backoff {
    /// A schedule starting at `interval` and capped at `max_interval` (raised to `interval` if
    /// lower).
    pub fn new(interval: Duration, max_interval: Duration) -> Self {
        Backoff {
            interval,
            max_interval: max_interval.max(interval),
        }
    }

    /// The delay before the next probe, `elapsed` after the gate started, given `unit`, a random
    /// number in [0, 1), and the time `remaining` before the deadline.
    pub fn delay(&self, elapsed: Duration, unit: f64, remaining: Option<Duration>) -> Duration {
        let t = elapsed.as_secs_f64();
        let fast = FAST_WINDOW.as_secs_f64();
        let base = self.interval.as_secs_f64() + FAST_SLOPE * t.min(fast);
        // Past ~64 doublings any delay is far beyond the cap; the bound keeps powi finite.
        let doublings = ((t - fast).max(0.0) / DOUBLING.as_secs_f64()).min(64.0);
        let grown = base * 2f64.powf(doublings);
        let capped = grown.min(self.max_interval.as_secs_f64());
        let unit = if unit.is_finite() {
            unit.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let jittered = capped * (1.0 - JITTER * unit);
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

    /// The shipped defaults, `--interval 15ms --max-interval 1s` (set in `src/options.rs`).
    fn default() -> Backoff {
        Backoff::new(ms(15), ms(1000))
    }

    #[test]
    fn the_first_delay_is_the_interval_and_later_ones_grow() {
        let b = default();
        assert_eq!(b.delay(Duration::ZERO, 0.0, None), ms(15));
        assert!(b.delay(ms(500), 0.0, None) > b.delay(Duration::ZERO, 0.0, None));
        assert!(b.delay(ms(3_000), 0.0, None) > b.delay(ms(2_000), 0.0, None));
    }

    #[test]
    fn the_fast_window_grows_20ms_per_second_then_doubles_every_half_second() {
        let b = default();
        assert_eq!(b.delay(ms(1_000), 0.0, None), ms(35));
        assert_eq!(b.delay(ms(2_000), 0.0, None), ms(55));
        assert_eq!(b.delay(ms(2_500), 0.0, None), ms(110));
        assert_eq!(b.delay(ms(3_000), 0.0, None), ms(220));
        assert_eq!(b.delay(ms(10_000), 0.0, None), ms(1_000));
    }

    #[test]
    fn delays_never_exceed_the_cap_whatever_the_jitter() {
        let b = default();
        for elapsed in [0, 1_000, 2_000, 5_000, 60_000, u64::MAX / 2] {
            for unit in [0.0, 0.5, 0.999_999, f64::NAN, f64::INFINITY, -3.0] {
                assert!(b.delay(ms(elapsed), unit, None) <= ms(1_000));
            }
        }
        assert_eq!(b.delay(Duration::MAX, 0.0, None), ms(1_000));
    }

    #[test]
    fn jitter_only_shortens_a_delay_by_at_most_ten_percent() {
        let b = Backoff::new(ms(100), ms(100));
        assert_eq!(b.delay(Duration::ZERO, 0.0, None), ms(100));
        let shortest = b.delay(Duration::ZERO, 0.999_999, None);
        assert!(shortest >= ms(90) && shortest < ms(100), "{shortest:?}");
    }

    #[test]
    fn a_delay_never_runs_past_the_deadline() {
        let b = default();
        assert_eq!(b.delay(ms(60_000), 0.0, Some(ms(7))), ms(7));
        assert_eq!(
            b.delay(Duration::ZERO, 0.0, Some(Duration::ZERO)),
            Duration::ZERO
        );
    }

    #[test]
    fn a_cap_below_the_interval_is_raised_to_it() {
        let b = Backoff::new(ms(200), ms(50));
        assert_eq!(b.delay(ms(10_000), 0.0, None), ms(200));
    }

    /// Simulates the default schedule with instant probes and no jitter.
    fn simulate(until: Duration) -> (u32, Duration) {
        let b = default();
        let (mut t, mut probes, mut early_max) = (Duration::ZERO, 1, Duration::ZERO);
        while t < until {
            let d = b.delay(t, 0.0, None);
            if t < ms(1_500) {
                early_max = early_max.max(d);
            }
            t += d;
            probes += 1;
        }
        (probes, early_max)
    }

    #[test]
    fn defaults_keep_detection_fast_early_and_waiting_cheap_later() {
        // At most 45 ms between probes in the first 1.5 s (detection latency), and about 100
        // probes in a 30 s wait (CPU): see the module comment and docs/benchmarks.md.
        let (probes, early_max) = simulate(Duration::from_secs(30));
        assert!(early_max <= ms(45), "{early_max:?}");
        assert!((90..=110).contains(&probes), "{probes} probes in 30 s");
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
