//! Properties of the backoff schedule (`Backoff::delay`), over random inputs with proptest, and
//! the end-to-end view of them: the first probe does not wait for the interval, and no sleep
//! outlasts the deadline.

mod support;

use std::time::Duration;

use proptest::prelude::*;
use readygate::backoff::Backoff;
use support::endpoint::{Behaviour, Endpoint};
use support::{readygate, run};

/// Intervals from 1 µs to 10 min, as users could write them.
fn interval() -> impl Strategy<Value = Duration> {
    (1u64..=600_000_000).prop_map(Duration::from_micros)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn never_exceeds_the_cap(
        first in interval(), cap in interval(), elapsed in any::<u64>().prop_map(Duration::from_nanos), unit in 0.0f64..1.0,
    ) {
        let delay = Backoff::new(first, cap).delay(elapsed, unit, None);
        // The cap is raised to the first interval when lower.
        prop_assert!(delay <= cap.max(first), "{delay:?} > cap {cap:?} (first {first:?})");
    }

    #[test]
    fn never_exceeds_the_time_left_before_the_deadline(
        first in interval(), cap in interval(), elapsed in any::<u64>().prop_map(Duration::from_nanos), unit in 0.0f64..1.0,
        left in (0u64..=600_000_000).prop_map(Duration::from_micros),
    ) {
        let delay = Backoff::new(first, cap).delay(elapsed, unit, Some(left));
        prop_assert!(delay <= left, "{delay:?} > {left:?} left");
    }

    #[test]
    fn the_first_delay_is_the_interval_and_jitter_only_shortens_by_up_to_10_percent(
        first in interval(), cap in interval(), unit in 0.0f64..1.0,
    ) {
        let backoff = Backoff::new(first, cap);
        prop_assert_eq!(backoff.delay(Duration::ZERO, 0.0, None), first);
        let jittered = backoff.delay(Duration::ZERO, unit, None);
        prop_assert!(jittered <= first);
        // 1 ns of slack for float rounding.
        prop_assert!(jittered.as_secs_f64() >= first.as_secs_f64() * 0.9 - 1e-9);
    }

    #[test]
    fn without_jitter_delays_never_shrink(
        first in interval(), cap in interval(),
        elapsed in (0u64..=u64::MAX / 4).prop_map(Duration::from_nanos),
        later in (0u64..=1_000_000_000_000).prop_map(Duration::from_nanos),
    ) {
        let backoff = Backoff::new(first, cap);
        prop_assert!(backoff.delay(elapsed + later, 0.0, None) >= backoff.delay(elapsed, 0.0, None));
    }

    #[test]
    fn garbage_jitter_units_still_give_a_bounded_delay(
        first in interval(), cap in interval(), elapsed in any::<u64>().prop_map(Duration::from_nanos),
        unit in prop_oneof![Just(f64::NAN), Just(f64::INFINITY), Just(-1.0), Just(2.0), any::<f64>()],
    ) {
        let delay = Backoff::new(first, cap).delay(elapsed, unit, None);
        prop_assert!(delay <= cap.max(first));
    }
}

#[test]
fn an_hour_long_interval_is_cut_short_by_the_deadline() {
    // With an hour between probes, the endpoint sees exactly the first probe in a 1 s wait, and
    // the hour-long delay that follows ends at the deadline.
    let ep = Endpoint::start(Behaviour::Status(503, Vec::new()));
    let result = run(readygate().args([
        "--url",
        &ep.url(),
        "--interval",
        "1h",
        "--max-interval",
        "1h",
        "-t",
        "1s",
    ]));
    result.assert_code(69);
    assert_eq!(ep.hits(), 1, "exactly one probe");
    result.assert_stderr_has("not ready after 1");
}

#[test]
fn the_first_probe_does_not_wait_for_the_interval() {
    // No deadline and an hour between probes: had the first probe waited for the interval, the
    // run would outlast the harness's bound on any run and fail as a hang.
    let ep = Endpoint::start(Behaviour::Status(200, Vec::new()));
    let result = run(readygate().args(["--url", &ep.url(), "-t", "0", "--interval", "1h"]));
    result.assert_code(0);
    assert_eq!(ep.hits(), 1);
}
