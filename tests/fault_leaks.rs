//! Thousands of attempts in a long wait leak neither descriptors nor memory: the descriptor count
//! and resident memory of readygate are sampled early and late in a wait of 1 ms intervals,
//! against a refusing port and against an endpoint that answers 503.
//!
//! Resolution, stated honestly: RSS is compared between attempt 1000 and attempt 5000, so a leak
//! of more than ~64 bytes per attempt (256 KiB over 4000 attempts) fails the test; descriptors
//! are exact (a single leaked socket per attempt would add thousands).

mod support;

use std::time::Duration;

use support::endpoint::{Behaviour, Endpoint};
use support::{attempt_of, fd_count, kill, readygate, status_kib, Watched, EVERY_MS};

const EARLY: u64 = 1_000;
const LATE: u64 = 5_000;
/// Largest RSS growth tolerated between EARLY and LATE.
const RSS_SLACK_KIB: u64 = 256;

/// Largest descriptor count over a few samples (a probe socket may or may not be open at the
/// instant of a sample, so compare maxima).
fn max_fds(pid: u32) -> usize {
    (0..50).map(|_| fd_count(pid)).max().expect("samples")
}

/// Waits a long time on `url` at 1 ms intervals; returns (fds, RSS KiB) at EARLY and at LATE.
fn sample(url: &str) -> ((usize, u64), (usize, u64)) {
    let mut watched = Watched::spawn(
        readygate()
            .args(["-v", "--url", url, "-t", "0", "--request-timeout", "1s"])
            .args(EVERY_MS),
    );
    let pid = watched.pid();
    let mut at = |n: u64| {
        watched.wait_for_line(&format!("attempt {n}"), Duration::from_secs(60), |l| {
            attempt_of(l).is_some_and(|a| a >= n)
        });
        (max_fds(pid), status_kib(pid, "VmRSS"))
    };
    let early = at(EARLY);
    let late = at(LATE);
    kill(pid, libc::SIGTERM);
    watched.finish().assert_code(128 + libc::SIGTERM);
    (early, late)
}

fn assert_no_leak(what: &str, (early, late): ((usize, u64), (usize, u64))) {
    eprintln!("{what}: attempt {EARLY}: {early:?}, attempt {LATE}: {late:?} (fds, RSS KiB)");
    assert!(
        late.0 <= early.0,
        "{what}: descriptors grew from {} to {}",
        early.0,
        late.0
    );
    assert!(
        late.1 <= early.1 + RSS_SLACK_KIB,
        "{what}: RSS grew from {} KiB to {} KiB over {} attempts",
        early.1,
        late.1,
        LATE - EARLY
    );
}

#[test]
fn thousands_of_refused_attempts_leak_nothing() {
    let port = support::closed_port();
    assert_no_leak("refused", sample(&format!("http://127.0.0.1:{port}/ready")));
}

#[test]
fn thousands_of_503_attempts_leak_nothing() {
    let server = Endpoint::start(Behaviour::Status(503, Vec::new()));
    assert_no_leak("503", sample(&server.url()));
    assert!(server.hits() as u64 >= LATE);
}
