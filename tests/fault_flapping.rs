//! Flapping endpoints: ready, then not ready, then ready again, and every kind of failure in
//! between. Each endpoint must pass once; the gate proceeds at the first pass of the last one.
//! (Probing through 503s up to the first 200 is tests/ready.rs.)

mod support;

use support::endpoint::{Behaviour, Endpoint};
use support::{readygate, run, sh, Run};

fn ok() -> Behaviour {
    Behaviour::Status(200, Vec::new())
}

fn unavailable() -> Behaviour {
    Behaviour::Status(503, Vec::new())
}

/// Runs a gate that runs `echo ran` once every endpoint has passed.
fn gate(endpoints: &[&Endpoint]) -> Run {
    let mut cmd = readygate();
    for ep in endpoints {
        cmd.args(["--url", &ep.url()]);
    }
    cmd.args([
        "-t",
        "10s",
        "--interval",
        "5ms",
        "--max-interval",
        "5ms",
        "--",
    ])
    .args(sh("echo ran"));
    let result = run(&mut cmd);
    result.assert_code(0);
    assert_eq!(result.stdout, "ran\n");
    result
}

#[test]
fn an_endpoint_that_passed_is_not_probed_again_while_another_is_still_pending() {
    // A is ready once, then not ready forever; B is not ready for 20 probes, then ready.
    let a = Endpoint::after(1, ok(), unavailable());
    let b = Endpoint::after(20, unavailable(), ok());
    gate(&[&a, &b]);
    assert_eq!(a.hits(), 1, "A passed once and was not asked again");
    assert_eq!(b.hits(), 21);
}

#[test]
fn every_kind_of_failure_in_a_row_then_ready() {
    // One attempt each: 503, reset, close, garbage, 404, 302, a 200 on HTTP/0.9-ish garbage,
    // a head cut in the middle, and finally a real 200.
    let ep = Endpoint::scripted("127.0.0.1:0", |n| match n {
        0 => unavailable(),
        1 => Behaviour::Reset,
        2 => Behaviour::Close,
        3 => Behaviour::Raw(b"\x16\x03\x01\x00\xa5 not http".to_vec()),
        4 => Behaviour::Status(404, Vec::new()),
        5 => Behaviour::Raw(b"HTTP/1.1 302 Found\r\nlocation: /x\r\n\r\n".to_vec()),
        6 => Behaviour::Raw(b"200 OK\r\n\r\n".to_vec()),
        7 => Behaviour::Raw(b"HTTP/1.1 20".to_vec()),
        _ => ok(),
    });
    let result = gate(&[&ep]);
    assert_eq!(ep.hits(), 9, "exactly one probe per failure, then the 200");
    for reason in [
        "503",
        "connection reset",
        "connection closed before a reply",
        "reply was not HTTP",
        "404",
        "302",
    ] {
        result.assert_stderr_has(reason);
    }
}
