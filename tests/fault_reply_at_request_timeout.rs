//! Replies timed against --request-timeout: well inside it counts, well past it does not (the
//! attempt is abandoned and the next one made), and exactly at it either way, but never a hang,
//! a crash or a stalled gate.

mod support;

use std::time::Duration;

use support::endpoint::{Behaviour, Endpoint};
use support::{readygate, run, sh, Run};

const REQUEST_TIMEOUT: Duration = Duration::from_millis(1000);

/// Answers 200 `delay` after accepting, for the first `slow` connections; then at once.
fn delayed(delay: Duration, slow: usize) -> Endpoint {
    Endpoint::scripted("127.0.0.1:0", move |n| {
        let ok = Behaviour::Status(200, Vec::new());
        if n < slow {
            Behaviour::Late(delay, Box::new(ok))
        } else {
            ok
        }
    })
}

/// Attempts that ended at the request timeout: one verbose line each.
fn abandoned(stderr: &str) -> usize {
    stderr
        .lines()
        .filter(|l| l.contains("DEBUG") && l.contains("no reply within 1s"))
        .count()
}

fn gate(server: &Endpoint) -> Run {
    run(readygate()
        .args(["-v", "--url", &server.url(), "-t", "15s"])
        .args(["--request-timeout", "1s", "--interval", "10ms", "--"])
        .args(sh("echo ran")))
}

#[test]
fn a_reply_well_inside_the_request_timeout_counts() {
    let server = delayed(REQUEST_TIMEOUT / 2, usize::MAX);
    let ended = gate(&server);
    ended.assert_code(0);
    assert_eq!(ended.stdout, "ran\n");
    assert_eq!(server.hits(), 1);
}

#[test]
fn a_reply_well_past_the_request_timeout_is_abandoned_and_the_next_attempt_made() {
    let server = delayed(REQUEST_TIMEOUT * 3 / 2, 2);
    let ended = gate(&server);
    ended.assert_code(0);
    assert_eq!(ended.stdout, "ran\n");
    assert_eq!(
        server.hits(),
        3,
        "two abandoned attempts, then the prompt one"
    );
    assert_eq!(abandoned(&ended.stderr), 2, "{}", ended.stderr);
    // Each abandoned attempt ended at the request timeout, not when the late reply came.
    assert!(
        ended.elapsed < REQUEST_TIMEOUT * 2 + Duration::from_millis(900),
        "{:?}",
        ended.elapsed
    );
}

#[test]
fn a_reply_exactly_at_the_request_timeout_is_taken_or_retried_never_a_hang() {
    // Five attempts whose reply lands on the deadline (as measured from the accept, which is a
    // hair after readygate starts its clock): each is either taken or abandoned; the gate ends
    // by the sixth attempt at the latest.
    let server = delayed(REQUEST_TIMEOUT, 5);
    let ended = gate(&server);
    ended.assert_code(0);
    assert_eq!(ended.stdout, "ran\n");
    let abandoned = abandoned(&ended.stderr);
    assert!(server.hits() <= 6, "{} attempts", server.hits());
    assert!(
        abandoned < server.hits(),
        "{abandoned} abandoned of {} attempts:\n{}",
        server.hits(),
        ended.stderr
    );
    assert!(
        ended.elapsed < REQUEST_TIMEOUT * 6 + Duration::from_secs(2),
        "{:?}",
        ended.elapsed
    );
}
