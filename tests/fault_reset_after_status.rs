//! A peer that resets the connection after (or in the middle of) its status line: a 200 that
//! arrived stands, a cut head is a reset, and the gate goes on probing. (A 503 head then a
//! reset is tests/misbehaving_endpoints.rs.)

mod support;

use support::endpoint::{Behaviour, Endpoint};
use support::{readygate, run, sh, Run};

/// Answers the n-th connection with `replies[n]` and then a reset; later ones get a clean 200.
fn resetting(replies: &'static [&'static [u8]]) -> Endpoint {
    Endpoint::scripted("127.0.0.1:0", |n| match replies.get(n) {
        Some(bytes) => Behaviour::ResetAfter(bytes.to_vec()),
        None => Behaviour::Status(200, Vec::new()),
    })
}

fn gate(ep: &Endpoint) -> Run {
    run(readygate()
        .args([
            "-v",
            "--url",
            &ep.url(),
            "-t",
            "10s",
            "--interval",
            "5ms",
            "--",
        ])
        .args(sh("echo ran")))
}

#[test]
fn a_head_cut_by_a_reset_is_a_reset_and_probing_goes_on() {
    let ep = resetting(&[b"HTTP/1.1 20", b"HTTP/1.1 503 Service Unavailable\r\n"]);
    let result = gate(&ep);
    result.assert_code(0);
    assert_eq!(result.stdout, "ran\n");
    assert_eq!(ep.hits(), 3, "{}", result.stderr);
    result.assert_stderr_has("connection reset by the endpoint");
}

#[test]
fn a_200_head_then_a_reset_is_ready() {
    // The proxy said 200; what happens to the connection afterwards does not change that.
    let ep = resetting(&[b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n"]);
    let result = gate(&ep);
    result.assert_code(0);
    assert_eq!(result.stdout, "ran\n");
    assert_eq!(ep.hits(), 1, "{}", result.stderr);
}
