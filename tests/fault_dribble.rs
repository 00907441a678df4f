//! A dribbled reply whose status arrived: the per-request timeout bounds the whole attempt, not
//! the gap between bytes, so a 503 whose body trickles in forever still counts as a 503 and the
//! gate goes on probing. (A dribbled 200 and a dribbled head are tests/misbehaving_endpoints.rs.)

mod support;

use std::time::Duration;

use support::endpoint::{Behaviour, Endpoint};
use support::{readygate, run, sh};

#[test]
fn a_503_whose_body_never_ends_is_still_a_503_and_probing_goes_on() {
    // The head takes ~90 ms at 2 ms a byte; the body would take half an hour.
    let mut endless = b"HTTP/1.1 503 X\r\ncontent-length: 1000000\r\n\r\n".to_vec();
    endless.resize(endless.len() + 1_000_000, b'z');
    let ep = Endpoint::scripted("127.0.0.1:0", move |n| match n {
        0 => Behaviour::Dribble(endless.clone(), Duration::from_millis(2)),
        _ => Behaviour::Status(200, Vec::new()),
    });
    let result = run(readygate()
        .args(["--url", &ep.url(), "-t", "0"])
        .args(["--request-timeout", "400ms", "--interval", "5ms", "--"])
        .args(sh("echo ran")));
    result.assert_code(0);
    assert_eq!(result.stdout, "ran\n");
    assert_eq!(ep.hits(), 2, "{}", result.stderr);
    result.assert_stderr_has("reason=\"503");
}
