//! HTTP endpoints that keep connections alive carry many probes on one connection, and an
//! endpoint that drops an idle connection costs no attempt: readygate reconnects at once.

mod support;

use support::endpoint::{Behaviour, Endpoint};
use support::{readygate, run, Run};

/// Runs readygate against `url` with a 1 ms backoff, so many attempts happen quickly.
fn run_fast(url: &str, extra: &[&str]) -> Run {
    run(readygate()
        .args(["--url", url, "--interval", "1ms", "--max-interval", "1ms"])
        .args(extra))
}

#[test]
fn a_kept_alive_connection_carries_every_probe() {
    let ep = Endpoint::start(Behaviour::KeepAlive {
        ready_after: 5,
        per_connection: usize::MAX,
    });
    let result = run_fast(&ep.url(), &[]);
    result.assert_code(0);
    assert_eq!(ep.requests().len(), 6, "five 503s, then the 200");
    assert_eq!(ep.hits(), 1, "all on one connection");
    for head in ep.requests() {
        assert!(
            !head.to_ascii_lowercase().contains("connection: close"),
            "{head}"
        );
    }
}

#[test]
fn an_idle_connection_the_endpoint_dropped_is_replaced_within_the_attempt() {
    // Each connection serves one request and is then closed without notice: every later
    // attempt finds its kept connection dead and must reconnect, without reporting it.
    let ep = Endpoint::start(Behaviour::KeepAlive {
        ready_after: 4,
        per_connection: 1,
    });
    let result = run_fast(&ep.url(), &["-v"]);
    result.assert_code(0);
    assert_eq!(ep.requests().len(), 5);
    assert_eq!(ep.hits(), 5, "one connection per request");
    let reasons: Vec<&str> = result
        .stderr
        .lines()
        .filter(|l| l.contains("not ready"))
        .collect();
    assert!(!reasons.is_empty());
    for line in reasons {
        assert!(
            line.contains(r#"503 \"warming up\""#),
            "only the endpoint's own answer: {line}"
        );
    }
}

#[test]
fn a_reply_that_closes_its_connection_is_not_reused() {
    // The scripted endpoint answers with `Connection: close` and then closes.
    let ep = Endpoint::scripted("127.0.0.1:0", |n| {
        if n < 3 {
            Behaviour::Status(503, b"busy".to_vec())
        } else {
            Behaviour::Status(200, Vec::new())
        }
    });
    let result = run_fast(&ep.url(), &["-v"]);
    result.assert_code(0);
    assert_eq!((ep.hits(), ep.requests().len()), (4, 4));
    assert!(
        !result.stderr.contains("closed before a reply"),
        "{}",
        result.stderr
    );
}
