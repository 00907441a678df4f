//! `tcp://` targets through a mesh: a connection the peer closes or resets at once, before a
//! byte, is a proxy with no upstream and not ready; a peer that keeps the connection for
//! --tcp-settle, or sends a banner, is ready; a settle time the request timeout cuts short is
//! not, and one that cannot fit in it is a usage error. readygate sends nothing on a tcp:// connection.

mod support;

use std::process::Command;
use std::time::Duration;

use support::netns::{in_private_netns, which};
use support::wire::{Act, Peer, Then};
use support::{can_run, eventually, readygate, run, Run};

fn tcp(peer: &Peer, extra: &[&str]) -> Run {
    run(readygate().args(["--url", &peer.url("tcp")]).args(extra))
}

#[test]
fn a_peer_that_closes_or_resets_at_once_is_not_ready() {
    for then in [Then::Close, Then::Reset] {
        let peer = Peer::start(Act::mute(then));
        let result = tcp(&peer, &["-t", "300ms"]);
        result.assert_code(69);
        let expected = format!(
            "{} (accepted, then closed at once: a mesh proxy with no upstream for {} yet?)",
            peer.url("tcp"),
            peer.addr
        );
        assert_eq!(
            result.stderr_lines_with(&expected).len(),
            1,
            "{then:?}: {}",
            result.stderr
        );
    }
}

#[test]
fn a_peer_that_keeps_the_connection_silent_for_the_settle_time_is_ready() {
    let peer = Peer::start(Act::mute(Then::Hold));
    tcp(&peer, &["--tcp-settle", "50ms"]).assert_code(0);
    // Nothing was sent on it.
    eventually("the connection to end", Duration::from_secs(10), || {
        peer.ended() == 1
    });
    assert_eq!(peer.sent(), [Vec::<u8>::new()]);
}

#[test]
fn a_peer_that_drops_the_connection_within_the_settle_time_is_not_ready() {
    // It keeps each connection 200 ms: within a 3 s settle time (so never ready), though past
    // the default 100 ms one, which is what a settle time cut short would wrongly accept.
    let peer = Peer::start(Act::mute(Then::CloseAfter(Duration::from_millis(200))));
    let result = tcp(
        &peer,
        &[
            "--tcp-settle",
            "3s",
            "--request-timeout",
            "5s",
            "-t",
            "1500ms",
        ],
    );
    let line = result.timeout_line();
    assert!(
        line.contains(&format!("{} (accepted, then closed", peer.url("tcp"))),
        "{line}"
    );
}

#[test]
fn a_banner_is_ready_without_waiting_out_the_settle_time() {
    // A settle time far beyond the 5 s timeout, and a request timeout beyond the settle time:
    // neither can end an attempt in time, only the banner can.
    let args = ["--tcp-settle", "1m", "--request-timeout", "2m", "-t", "5s"];
    let peer = Peer::start(Act::answer(0, b"220 smtp.example ESMTP\r\n"));
    tcp(&peer, &args).assert_code(0);
    // The same wait on a silent peer times out: what made the first one ready was the banner.
    let silent = Peer::start(Act::mute(Then::Hold));
    let mut quick = args;
    quick[5] = "300ms";
    tcp(&silent, &quick).assert_code(69);
}

#[test]
fn a_settle_time_that_does_not_fit_in_the_request_timeout_is_a_usage_error_naming_both() {
    let peer = Peer::start(Act::mute(Then::Hold));
    let flags = tcp(&peer, &["--tcp-settle", "2s", "--request-timeout", "2s"]);
    let vars = run(readygate()
        .args(["--url", &peer.url("tcp")])
        .env("READYGATE_TCP_SETTLE", "3s"));
    for (result, names) in [
        (
            &flags,
            "--tcp-settle 2s does not fit in --request-timeout 2s",
        ),
        (
            &vars,
            "READYGATE_TCP_SETTLE 3s does not fit in --request-timeout 1s",
        ),
    ] {
        result.assert_code(2);
        assert_eq!(result.stderr.lines().count(), 1, "{}", result.stderr);
        result.assert_stderr_has(names);
    }
    // Without a tcp:// target the settle time is not used, so nothing is refused: one warning,
    // and the wait runs (here it times out on a port nobody serves).
    let http = run(readygate().args([
        "--url",
        "http://127.0.0.1:1/ready",
        "--tcp-settle",
        "5s",
        "-t",
        "100ms",
    ]));
    http.timeout_line();
    http.assert_stderr_has("--tcp-settle has no effect without a tcp:// target; it is ignored");
}

#[test]
fn a_connect_that_takes_most_of_the_request_timeout_leaves_the_settle_time_unwatched() {
    if !in_private_netns(
        "a_connect_that_takes_most_of_the_request_timeout_leaves_the_settle_time_unwatched",
    ) || !can_run(
        "iptables (scripts/install-e2e.sh)",
        which("iptables").is_some(),
    ) {
        return;
    }
    let peer = Peer::start(Act::mute(Then::Hold));
    // Every other SYN to the peer is dropped: each connect waits for the kernel's retransmit,
    // one second later (the initial retransmission timeout), so it takes about 1 s of 1.5 s.
    let port = peer.addr.port().to_string();
    let status = Command::new("iptables")
        .args(["-A", "INPUT", "-p", "tcp", "--syn", "--dport", &port])
        .args([
            "-m",
            "statistic",
            "--mode",
            "nth",
            "--every",
            "2",
            "--packet",
            "0",
        ])
        .args(["-j", "DROP"])
        .status()
        .expect("run iptables");
    assert!(status.success(), "iptables: {status}");
    let result = tcp(
        &peer,
        &[
            "--tcp-settle",
            "700ms",
            "--request-timeout",
            "1500ms",
            "-t",
            "3s",
        ],
    );
    let line = result.timeout_line();
    assert!(
        line.contains(
            "(the connect took most of --request-timeout 1.5s: the --tcp-settle window (700ms) \
             could not be watched in full)"
        ),
        "{line}"
    );
}

#[test]
fn a_settle_time_of_zero_takes_the_connect_alone_as_before() {
    let peer = Peer::start(Act::mute(Then::Close));
    tcp(&peer, &["--tcp-settle", "0", "-t", "5s"]).assert_code(0);
    let result = run(readygate()
        .args(["--url", &peer.url("tcp"), "-t", "5s"])
        .env("READYGATE_TCP_SETTLE", "0"));
    result.assert_code(0);
}
