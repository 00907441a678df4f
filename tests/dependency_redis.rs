//! `redis://` targets: readygate sends one PING and judges the first reply line. Against a real
//! redis-server (in a private network namespace, on its default port) for what it shows on
//! demand; against scripted peers for LOADING, BUSY, TRYAGAIN, a half reply, a reply over the
//! size bound, another protocol and a peer that drops the connection.

mod support;

use std::time::Duration;

use support::db;
use support::netns::Netns;
use support::process::Watched;
use support::wire::{assert_not_ready_with, captured, Act, Peer, Then};
use support::{eventually, readygate, run, Run, EVERY_MS};

/// `PING` as readygate sends it.
const PING: &[u8] = b"*1\r\n$4\r\nPING\r\n";

/// readygate with no sidecar, waiting for the dependency at `url`.
fn gate(url: &str, extra: &[&str]) -> Run {
    run(readygate()
        .args(["--mesh", "none", "--url", url])
        .args(extra))
}

#[test]
fn a_redis_not_started_yet_is_waited_for_and_its_pong_is_ready() {
    let Some(ns) = Netns::new() else { return };
    // No port: 6379 is the default.
    let mut gate = Watched::spawn(&mut db::gate(
        &ns,
        "redis://127.0.0.1",
        &["-v", "-t", "15s"],
    ));
    gate.wait_for_line("refused", db::SERVER_DEADLINE, |l| {
        l.contains("not ready yet") && l.contains("nothing listening on 127.0.0.1:6379 yet")
    });
    let Some(_redis) = db::redis(&ns, "redis-later", "127.0.0.1", &[]) else {
        return;
    };
    let result = gate.finish();
    result.assert_code(0);
    result
        .assert_stderr_has("the server answered")
        .assert_stderr_has("reply=+PONG");
}

#[test]
fn a_redis_that_wants_a_password_is_ready_on_noauth_without_being_given_one() {
    let Some(ns) = Netns::new() else { return };
    let Some(redis) = db::redis(&ns, "redis-auth", "127.0.0.1", &["--requirepass", "s3cret"])
    else {
        return;
    };
    let result = support::run(&mut db::gate(
        &ns,
        "redis://127.0.0.1:6379",
        &["-v", "-t", "15s"],
    ));
    result.assert_code(0);
    result
        .assert_stderr_has("reply=\"-NOAUTH: a live Redis that wants the client to authenticate\"");
    drop(redis);
}

#[test]
fn protected_modes_denied_to_a_client_not_on_127_0_0_1_is_not_ready_in_the_servers_words() {
    let Some(ns) = Netns::new() else { return };
    // Redis counts only 127.0.0.1 and ::1 as local. Through a mesh it sees 127.0.0.6 or the
    // pod's address; here, a route that makes connections to 127.0.0.3 come from 127.0.0.3.
    ns.run(
        "ip",
        &[
            "route",
            "add",
            "local",
            "127.0.0.3/32",
            "dev",
            "lo",
            "table",
            "local",
            "src",
            "127.0.0.3",
        ],
    );
    // No password and protected mode on (the default; the helper turns it off).
    let Some(redis) = db::redis(
        &ns,
        "redis-denied",
        "127.0.0.3",
        &["--protected-mode", "yes"],
    ) else {
        return;
    };
    redis.wait_for_log("Ready to accept connections");
    let result = support::run(&mut db::gate(&ns, "redis://127.0.0.3", &["-t", "1s"]));
    // The reply is 1,067 bytes: more than the probe reads, and judged on what it read.
    let line = result.timeout_line();
    assert!(
        line.contains(
            "(Redis answered \"DENIED Redis is running in protected mode because protected \
             mode is enabled and no password is set for the default user…\")"
        ),
        "{line}"
    );
}

#[test]
fn a_replica_cut_off_from_its_master_is_not_ready_until_the_master_is_up() {
    let Some(ns) = Netns::new() else { return };
    let Some(_replica) = db::redis(
        &ns,
        "redis-replica",
        "127.0.0.1",
        &[
            "--replicaof",
            "127.0.0.2",
            "6379",
            "--replica-serve-stale-data",
            "no",
        ],
    ) else {
        return;
    };
    let mut gate = Watched::spawn(&mut db::gate(&ns, "redis://127.0.0.1", &["-t", "15s"]));
    gate.wait_for_line("MASTERDOWN", db::SERVER_DEADLINE, |l| {
        l.contains("not ready yet")
            && l.contains("Redis answered \\\"MASTERDOWN Link with MASTER is down")
    });
    let Some(_master) = db::redis(&ns, "redis-master", "127.0.0.2", &[]) else {
        return;
    };
    gate.finish().assert_code(0);
}

#[test]
fn loading_busy_and_tryagain_are_not_ready_in_the_servers_own_words() {
    for (reply, words) in [
        (
            captured("redis-loading"),
            r#"Redis answered "LOADING Redis is loading the dataset in memory""#,
        ),
        (
            captured("redis-busy"),
            r#"Redis answered "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.""#,
        ),
        (
            b"-TRYAGAIN Multiple keys request during rehashing of slot\r\n".to_vec(),
            r#"Redis answered "TRYAGAIN Multiple keys request during rehashing of slot""#,
        ),
    ] {
        assert_not_ready_with("redis", Act::answer(PING.len(), &reply), words);
    }
}

#[test]
fn a_loading_redis_is_waited_for_until_it_answers_pong() {
    let loading = captured("redis-loading");
    let pong = captured("redis-pong");
    let peer =
        Peer::scripted(move |n| Act::answer(PING.len(), if n < 3 { &loading } else { &pong }));
    let result = gate(&peer.url("redis"), &EVERY_MS);
    result.assert_code(0);
    assert_eq!(
        result.stderr_lines_with("LOADING").len(),
        1,
        "{}",
        result.stderr
    );
    assert_eq!(peer.hits(), 4);
}

#[test]
fn readygate_sends_one_ping_and_nothing_else() {
    let peer = Peer::start(Act::answer(PING.len(), &captured("redis-noauth")));
    gate(&peer.url("redis"), &[]).assert_code(0);
    // The peer records until readygate closes the connection.
    eventually("the connection to end", Duration::from_secs(10), || {
        peer.ended() == 1
    });
    assert_eq!(peer.sent(), [PING.to_vec()]);
}

#[test]
fn a_half_reply_a_reply_over_the_bound_and_another_protocol_are_not_ready() {
    assert_not_ready_with(
        "redis",
        Act {
            read: PING.len(),
            say: b"-LOAD".to_vec(),
            then: Then::Close,
        },
        "connection closed after 5 bytes of a Redis reply",
    );
    let mut long = b"+".to_vec();
    long.extend(std::iter::repeat_n(b'x', 600));
    assert_not_ready_with(
        "redis",
        Act::answer(PING.len(), &long),
        "no complete Redis reply within 512 bytes",
    );
    assert_not_ready_with(
        "redis",
        Act::answer(PING.len(), b"HTTP/1.1 400 Bad Request\r\n\r\n"),
        r#"not a Redis reply: "HTTP/1.1 400 Bad Request""#,
    );
}

#[test]
fn a_peer_that_drops_the_connection_at_once_is_a_mesh_proxy_without_an_upstream() {
    for then in [Then::Close, Then::Reset] {
        let peer = Peer::start(Act::mute(then));
        let url = peer.url("redis");
        let result = gate(&url, &["-t", "300ms"]);
        let line = result.timeout_line();
        let expected = format!(
            "accepted, then closed before a Redis reply: a mesh proxy with no upstream for {} yet?",
            peer.addr
        );
        assert!(line.contains(&expected), "{then:?}: {line}");
    }
}

#[test]
fn a_silent_peer_is_not_ready_within_the_request_timeout() {
    assert_not_ready_with("redis", Act::mute(Then::Hold), "no reply within 100ms");
}
