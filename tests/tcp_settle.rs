//! `tcp://` targets through a mesh: a connection the peer closes or resets at once, before a
//! byte, is a proxy with no upstream and not ready; a peer that keeps the connection for
//! --tcp-settle, or sends a banner, is ready. readygate sends nothing on a tcp:// connection.

mod support;

use std::time::Duration;

use support::wire::{Act, Peer, Then};
use support::{eventually, readygate, run, Run};

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
fn a_banner_is_ready_without_waiting_out_the_settle_time() {
    // An hour of settle time would outlast the 10 s timeout: only the banner can end it.
    let peer = Peer::start(Act::answer(0, b"220 smtp.example ESMTP\r\n"));
    tcp(&peer, &["--tcp-settle", "1h", "-t", "10s"]).assert_code(0);
}

#[test]
fn the_settle_time_is_cut_short_by_the_request_timeout_and_still_ready() {
    let peer = Peer::start(Act::mute(Then::Hold));
    tcp(
        &peer,
        &[
            "--tcp-settle",
            "1h",
            "--request-timeout",
            "200ms",
            "-t",
            "10s",
        ],
    )
    .assert_code(0);
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
