//! Flapping endpoints: ready, then not ready, then ready again, and every kind of failure in
//! between. Each endpoint must pass once; the gate proceeds at the first pass of the last one.

mod fault_support;
mod support;

use std::io::Write;

use fault_support::{answer, read_head, reset, Server, Watched};
use support::{readygate, sh};

/// A gate that runs `echo ran` once every URL has passed.
fn gate(urls: &[String]) -> Watched {
    let mut cmd = readygate();
    for url in urls {
        cmd.args(["--url", url]);
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
    Watched::spawn(&mut cmd)
}

#[test]
fn a_single_flapping_endpoint_lets_the_command_run_at_its_first_200() {
    // 503, 200, 503, 200, ...: the first 200 (the second connection) opens the gate.
    let server = Server::start(|n, mut stream| {
        read_head(&mut stream);
        answer(&mut stream, if n % 2 == 1 { 200 } else { 503 });
    });
    let ended = gate(&[server.url()]).finish();
    ended.assert_code(0);
    assert_eq!(ended.stdout, "ran\n");
    assert_eq!(server.hits(), 2, "no probe after the first 200");
}

#[test]
fn an_endpoint_that_passed_is_not_probed_again_while_another_is_still_pending() {
    // A is ready once, then not ready forever; B is not ready for 20 probes, then ready.
    let a = Server::start(|n, mut stream| {
        read_head(&mut stream);
        answer(&mut stream, if n == 0 { 200 } else { 503 });
    });
    let b = Server::start(|n, mut stream| {
        read_head(&mut stream);
        answer(&mut stream, if n >= 20 { 200 } else { 503 });
    });
    let ended = gate(&[a.url(), b.url()]).finish();
    ended.assert_code(0);
    assert_eq!(ended.stdout, "ran\n");
    assert_eq!(a.hits(), 1, "A passed once and was not asked again");
    assert_eq!(b.hits(), 21);
}

#[test]
fn every_kind_of_failure_in_a_row_then_ready() {
    // One attempt each: 503, reset, close, garbage, 404, 302, a 200 on HTTP/0.9-ish garbage,
    // a head cut in the middle, and finally a real 200.
    let server = Server::start(|n, mut stream| {
        if n != 1 && n != 2 {
            read_head(&mut stream);
        }
        match n {
            0 => answer(&mut stream, 503),
            1 => reset(stream),
            2 => drop(stream),
            3 => {
                let _ = stream.write_all(b"\x16\x03\x01\x00\xa5 not http");
            }
            4 => answer(&mut stream, 404),
            5 => {
                let _ = stream.write_all(b"HTTP/1.1 302 Found\r\nlocation: /x\r\n\r\n");
            }
            6 => {
                let _ = stream.write_all(b"200 OK\r\n\r\n");
            }
            7 => {
                let _ = stream.write_all(b"HTTP/1.1 20");
            }
            _ => answer(&mut stream, 200),
        }
    });
    let ended = gate(&[server.url()]).finish();
    ended.assert_code(0);
    assert_eq!(ended.stdout, "ran\n");
    assert_eq!(
        server.hits(),
        9,
        "exactly one probe per failure, then the 200"
    );
    for reason in [
        "503",
        "connection reset",
        "connection closed before a reply",
        "reply was not HTTP",
        "404",
        "302",
    ] {
        assert!(
            ended.stderr.contains(reason),
            "no {reason:?} logged:\n{}",
            ended.stderr
        );
    }
}
