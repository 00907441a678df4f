//! The timeline options, seen from a client: refusing, not ready for a while, flapping, never
//! ready, hanging. Waits end on events (a log line, an answer) or a deadline, never on a sleep.

mod support;

use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use support::{eventually, free_port, http, Mock};

/// Seconds since start, from a log line's `+1.234s` stamp.
fn stamp(line: &str) -> f64 {
    let field = line.split(' ').nth(1).unwrap();
    field
        .trim_start_matches('+')
        .trim_end_matches('s')
        .parse()
        .unwrap()
}

#[test]
fn not_ready_for_answers_503_with_a_reason_then_200() {
    let mock = Mock::start(&["--listen", "127.0.0.1:0", "--not-ready-for", "1s"]);
    let addr = mock.address();
    let first = http(addr, "GET", "/healthz/ready").unwrap();
    assert_eq!(first.0, 503);
    assert!(first.1.contains("config not received"), "{first:?}");
    eventually("a 200", || {
        let (status, _) = http(addr, "GET", "/healthz/ready").unwrap();
        (status == 200).then_some(())
    });
    let ready = mock.wait_for_line(|l| l.contains("state: ready (200)"));
    assert!(stamp(&ready) >= 1.0, "ready before 1s: {ready}");
}

#[test]
fn refuse_for_keeps_the_port_closed_then_listens() {
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let mock = Mock::start(&["--listen", &listen, "--refuse-for", "3s"]);
    let addr: SocketAddr = listen.parse().unwrap();
    mock.wait_for_line(|l| l.contains("state: refusing connections for 3s"));
    let early = TcpStream::connect_timeout(&addr, Duration::from_secs(1));
    let early_kind = early.as_ref().map_err(|e| e.kind()).err();
    // The connect was made before the listener existed unless the log already says it listens.
    if !mock.log().iter().any(|l| l.contains("listening on")) {
        assert_eq!(
            early_kind,
            Some(std::io::ErrorKind::ConnectionRefused),
            "{early:?}"
        );
    }
    let listening = mock.wait_for_line(|l| l.contains("listening on"));
    assert!(stamp(&listening) >= 3.0, "listened before 3s: {listening}");
    assert_eq!(http(addr, "GET", "/healthz/ready").unwrap().0, 200);
}

#[test]
fn flap_alternates_between_ready_and_not_ready() {
    let mock = Mock::start(&["--listen", "127.0.0.1:0", "--flap", "300ms"]);
    let addr = mock.address();
    // Ready at once, then not ready, then ready again: each change seen by a client.
    let mut seen = vec![];
    eventually("200, 503, 200 in turn", || {
        let (status, _) = http(addr, "GET", "/healthz/ready").unwrap();
        if seen.last() != Some(&status) {
            seen.push(status);
        }
        (seen.len() >= 3).then_some(())
    });
    assert_eq!(seen[..3], [200, 503, 200]);
    mock.wait_for_line(|l| l.contains("state: not ready (503) (flapping)"));
}

#[test]
fn never_ready_answers_503_and_says_it_never_will_be_ready() {
    let mock = Mock::start(&["--listen", "127.0.0.1:0", "--never-ready"]);
    let addr = mock.address();
    assert_eq!(http(addr, "GET", "/healthz/ready").unwrap().0, 503);
    mock.wait_for_line(|l| l.contains("state: not ready (503), and never will be"));
    assert!(!mock.log().iter().any(|l| l.contains("state: ready")));
}

#[test]
fn hang_accepts_readiness_requests_and_never_answers_them() {
    let mock = Mock::start(&["--listen", "127.0.0.1:0", "--never-ready", "--hang"]);
    let addr = mock.address();
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    use std::io::{Read, Write};
    stream
        .write_all(b"GET /healthz/ready HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    // The mock logs the request as hanging; the client then still has no byte of an answer.
    mock.wait_for_line(|l| l.contains("\"GET /healthz/ready\"") && l.contains("hanging"));
    let mut buf = [0u8; 1];
    let read = stream.read(&mut buf);
    assert!(
        matches!(&read, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "{read:?}"
    );
}

#[test]
fn the_log_says_ready_before_it_shows_any_200() {
    let mock = Mock::start(&["--listen", "127.0.0.1:0", "--not-ready-for", "300ms"]);
    let addr = mock.address();
    // Requests straddle the change, so one is likely answered right at it.
    eventually("a 200", || {
        let (status, _) = http(addr, "GET", "/healthz/ready").unwrap();
        (status == 200).then_some(())
    });
    mock.wait_for_line(|l| l.contains("\" 200 \""));
    let log = mock.log();
    let ready = log.iter().position(|l| l.contains("state: ready (200)"));
    let first_200 = log.iter().position(|l| l.contains("\" 200 \""));
    assert!(ready.is_some() && ready < first_200, "{log:#?}");
}
