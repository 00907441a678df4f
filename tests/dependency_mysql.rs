//! `mysql://` and `mariadb://` targets: readygate sends nothing and judges the server's first
//! packet. Against a real MariaDB (in a private network namespace, on its default port) for a
//! server started later and one with too many connections (1040); against scripted peers for a
//! blocked host (1129), a half packet, another protocol and a peer that drops the connection.

mod support;

use std::time::Duration;

use support::db::{self, Mariadb};
use support::netns::Netns;
use support::process::Watched;
use support::wire::{assert_not_ready_with, captured, Act, Peer, Then};
use support::{eventually, readygate, run, EVERY_MS};

#[test]
fn a_mariadb_started_later_is_ready_on_its_greeting() {
    let Some(ns) = Netns::new() else { return };
    let Some(mariadb) = Mariadb::install("mariadb-later") else {
        return;
    };
    // No port: 3306 is the default.
    let mut gate = Watched::spawn(&mut db::gate(
        &ns,
        "mariadb://127.0.0.1",
        &["-v", "-t", "30s"],
    ));
    gate.wait_for_line("refused", db::SERVER_DEADLINE, |l| {
        l.contains("not ready yet") && l.contains("nothing listening on 127.0.0.1:3306 yet")
    });
    let server = mariadb.start(&ns, &[]);
    let result = gate.finish();
    result.assert_code(0);
    result.assert_stderr_has("reply=\"a greeting from 10.");
    result.assert_stderr_has("MariaDB");
    // What the server sees of it (README, "What the servers see"): one handshake closed after the
    // greeting, a warning at the default log_warnings=2, and nothing worse.
    server.wait_for_log("This connection closed normally without authentication");
    assert!(!server.log().contains("[ERROR]"), "{}", server.log());
}

#[test]
fn a_mariadb_with_too_many_connections_is_not_ready_with_1040() {
    let Some(ns) = Netns::new() else { return };
    let Some(mariadb) = Mariadb::install("mariadb-full") else {
        return;
    };
    let server = mariadb.start(&ns, &["--max-connections=10", "--connect-timeout=60"]);
    server.wait_for_log("ready for connections");
    // Eleven connections that never log in fill max_connections and the one slot kept for an
    // administrator; each has had its greeting before the next opens.
    let mut held = ns.command("bash");
    held.args([
        "-c",
        "for fd in $(seq 3 13); do eval \"exec $fd<>/dev/tcp/127.0.0.1/3306\" && \
         head -c 4 <&$fd >/dev/null || exit 1; done; echo held >&2; exec sleep 60",
    ]);
    let mut held = Watched::spawn(&mut held);
    let _ = held.wait_for_line("held", db::SERVER_DEADLINE, |l| l == "held");
    let result = run(&mut db::gate(&ns, "mysql://127.0.0.1:3306", &["-t", "1s"]));
    let line = result.timeout_line();
    assert!(
        line.contains(r#"mysql://127.0.0.1:3306 (MySQL answered 1040 "Too many connections")"#),
        "{line}"
    );
}

#[test]
fn a_blocked_host_is_not_ready_until_the_server_greets() {
    let blocked = captured("my-blocked");
    let greeting = captured("my-greeting");
    let peer = Peer::scripted(move |n| Act::answer(0, if n < 3 { &blocked } else { &greeting }));
    let result = run(readygate()
        .args(["--mesh", "none", "--url", &peer.url("mariadb")])
        .args(EVERY_MS));
    result.assert_code(0);
    let reasons = result.stderr_lines_with("not ready yet");
    assert_eq!(reasons.len(), 1, "{}", result.stderr);
    assert!(
        reasons[0].contains(
            r#"MySQL answered 1129 \"Host '10.21.0.1' is blocked because of many connection errors; unblock with 'mariadb-admin flush-hosts'\""#
        ),
        "{}",
        reasons[0]
    );
    assert_eq!(peer.hits(), 4);
}

#[test]
fn readygate_sends_nothing_to_a_mysql_server() {
    let peer = Peer::start(Act::answer(0, &captured("my-greeting")));
    run(readygate().args(["--mesh", "none", "--url", &peer.url("mysql")])).assert_code(0);
    // The peer records until readygate closes the connection.
    eventually("the connection to end", Duration::from_secs(10), || {
        peer.ended() == 1
    });
    assert_eq!(peer.sent(), [Vec::<u8>::new()]);
}

#[test]
fn a_half_packet_an_oversized_one_and_another_protocol_are_not_a_greeting() {
    let greeting = captured("my-greeting");
    assert_not_ready_with(
        "mysql",
        Act {
            read: 0,
            say: greeting[..20].to_vec(),
            then: Then::Close,
        },
        "connection closed after 20 bytes of a MySQL greeting",
    );
    assert_not_ready_with(
        "mysql",
        Act::answer(0, b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"),
        r#"not a MySQL greeting: "SSH-2.0-OpenSSH_9.2p1 Debian-2""#,
    );
    assert_not_ready_with(
        "mysql",
        Act::answer(0, b"\xff\xff\x00\x00\x0a"),
        "not a MySQL greeting",
    );
}

#[test]
fn a_peer_that_drops_the_connection_at_once_is_a_mesh_proxy_without_an_upstream() {
    for then in [Then::Close, Then::Reset] {
        let peer = Peer::start(Act::mute(then));
        let result =
            run(readygate().args(["--mesh", "none", "--url", &peer.url("mysql"), "-t", "300ms"]));
        let line = result.timeout_line();
        let expected = format!(
            "accepted, then closed before a MySQL reply: a mesh proxy with no upstream for {} \
             yet?",
            peer.addr
        );
        assert!(line.contains(&expected), "{then:?}: {line}");
    }
}
