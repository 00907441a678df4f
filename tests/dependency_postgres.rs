//! `postgres://` targets: readygate sends one StartupMessage (user and database `readygate`) and
//! judges the first reply as `pg_isready` does. Against a real PostgreSQL (in a private network
//! namespace, on its default port) for what it shows on demand: not running then started, an
//! unknown user, too many clients, a smart shutdown (57P03); against scripted peers for a server
//! starting up, a half reply, another protocol, and a peer that drops the connection.

mod support;

use std::time::Duration;

use support::db::{self, Postgres};
use support::netns::Netns;
use support::process::Watched;
use support::wire::{assert_not_ready_with, captured, Act, Peer, Then};
use support::{eventually, readygate, run, EVERY_MS};

/// The StartupMessage readygate sends: protocol 3.0, user and database `readygate`.
const STARTUP: &[u8] =
    b"\x00\x00\x00\x2b\x00\x03\x00\x00user\x00readygate\x00database\x00readygate\x00\x00";

/// readygate inside `ns`, with no sidecar, waiting for PostgreSQL on its default port.
fn gate_in(ns: &Netns, extra: &[&str]) -> std::process::Command {
    let mut cmd = db::gate(ns, "postgres://127.0.0.1", &["-v"]);
    cmd.args(extra);
    cmd
}

#[test]
fn a_postgres_not_running_yet_is_waited_for_and_its_password_request_is_ready() {
    let Some(ns) = Netns::new() else { return };
    let Some(pg) = Postgres::init("pg-later", "scram-sha-256") else {
        return;
    };
    let mut gate = Watched::spawn(&mut gate_in(&ns, &["-t", "30s"]));
    gate.wait_for_line("refused", db::SERVER_DEADLINE, |l| {
        l.contains("not ready yet") && l.contains("nothing listening on 127.0.0.1:5432 yet")
    });
    let server = pg.start(&ns, &[]);
    let result = gate.finish();
    result.assert_code(0);
    result.assert_stderr_has("reply=\"an authentication request (SASL)\"");
    // readygate left at the password request, which the server expects and does not log
    // (attempts while it was starting up got 57P03, which it does log). Its last attempt is
    // the server's last connection: nothing after it may be a FATAL. (Not "nothing after the
    // ready line": a backend forked just before that line can log its 57P03 after it.)
    server.wait_for_log("ready to accept connections");
    let log = server.log();
    let last = log
        .rsplit_once("connection received: host=127.0.0.1")
        .map(|(_, after)| after);
    assert!(last.is_some_and(|after| !after.contains("FATAL")), "{log}");
}

#[test]
fn a_user_that_does_not_exist_is_still_a_server_taking_sessions() {
    let Some(ns) = Netns::new() else { return };
    let Some(pg) = Postgres::init("pg-no-role", "trust") else {
        return;
    };
    let server = pg.start(&ns, &[]);
    let result = run(&mut gate_in(&ns, &["-t", "30s"]));
    result.assert_code(0);
    // Trust: AuthenticationOk comes first, and the server then rejects the user.
    result.assert_stderr_has("reply=\"an authentication request (none needed)\"");
    server.wait_for_log("role \"readygate\" does not exist");
}

#[test]
fn a_server_with_too_many_clients_is_still_taking_sessions() {
    let Some(ns) = Netns::new() else { return };
    let Some(pg) = Postgres::init("pg-full", "scram-sha-256") else {
        return;
    };
    let server = pg.start(
        &ns,
        &["max_connections=1", "superuser_reserved_connections=0"],
    );
    server.wait_for_log("ready to accept connections");
    let mut session = pg.session(&ns, "select pg_sleep(60)");
    server.wait_for_log("connection authorized: user=postgres");
    let result = run(&mut gate_in(&ns, &["-t", "30s"]));
    let _ = session.kill();
    let _ = session.wait();
    result.assert_code(0);
    result.assert_stderr_has(
        r#"53300 \"sorry, too many clients already\": a server taking sessions"#,
    );
}

#[test]
fn a_server_shutting_down_is_not_ready_with_57p03() {
    let Some(ns) = Netns::new() else { return };
    let Some(pg) = Postgres::init("pg-stopping", "scram-sha-256") else {
        return;
    };
    let server = pg.start(&ns, &[]);
    // A smart shutdown waits for the open session and refuses new ones meanwhile.
    server.wait_for_log("ready to accept connections");
    let mut session = pg.session(&ns, "select pg_sleep(60)");
    server.wait_for_log("connection authorized: user=postgres");
    server.signal(libc::SIGTERM);
    server.wait_for_log("received smart shutdown request");
    let result = run(&mut gate_in(&ns, &["-t", "1s"]));
    let _ = session.kill();
    let _ = session.wait();
    let line = result.timeout_line();
    assert!(
        line.contains(
            r#"postgres://127.0.0.1 (PostgreSQL answered 57P03 "the database system is shutting down")"#
        ),
        "{line}"
    );
}

#[test]
fn a_server_starting_up_is_waited_for_until_it_asks_for_authentication() {
    let starting = captured("pg-starting-up");
    let scram = captured("pg-scram");
    let peer =
        Peer::scripted(move |n| Act::answer(STARTUP.len(), if n < 3 { &starting } else { &scram }));
    let result = run(readygate()
        .args(["--mesh", "none", "--url", &peer.url("postgres")])
        .args(EVERY_MS));
    result.assert_code(0);
    let reasons = result.stderr_lines_with("not ready yet");
    assert_eq!(reasons.len(), 1, "{}", result.stderr);
    assert!(
        reasons[0].contains(r#"PostgreSQL answered 57P03 \"the database system is starting up\""#),
        "{}",
        reasons[0]
    );
    assert_eq!(peer.hits(), 4);
}

#[test]
fn readygate_sends_one_startup_message_and_no_password_or_terminate() {
    let peer = Peer::start(Act::answer(STARTUP.len(), &captured("pg-scram")));
    run(readygate().args(["--mesh", "none", "--url", &peer.url("postgres")])).assert_code(0);
    // The peer records until readygate closes the connection.
    eventually("the connection to end", Duration::from_secs(10), || {
        peer.ended() == 1
    });
    assert_eq!(peer.sent(), [STARTUP.to_vec()]);
}

#[test]
fn a_half_reply_an_oversized_message_and_another_protocol_are_not_ready() {
    let starting = captured("pg-starting-up");
    assert_not_ready_with(
        "postgres",
        Act {
            read: STARTUP.len(),
            say: starting[..10].to_vec(),
            then: Then::Close,
        },
        "connection closed after 10 bytes of a PostgreSQL reply",
    );
    assert_not_ready_with(
        "postgres",
        Act::answer(STARTUP.len(), b"E\x00\x01\x00\x00SFATAL\x00"),
        "not a PostgreSQL reply",
    );
    assert_not_ready_with(
        "postgres",
        Act::answer(STARTUP.len(), b"HTTP/1.1 400 Bad Request\r\n\r\n"),
        "not a PostgreSQL reply: \"HTTP/1.1 400 Bad Request\"",
    );
}

#[test]
fn a_peer_that_drops_the_connection_at_once_is_a_mesh_proxy_without_an_upstream() {
    for then in [Then::Close, Then::Reset] {
        let peer = Peer::start(Act::mute(then));
        let result = run(readygate().args([
            "--mesh",
            "none",
            "--url",
            &peer.url("postgres"),
            "-t",
            "300ms",
        ]));
        let line = result.timeout_line();
        let expected = format!(
            "accepted, then closed before a PostgreSQL reply: a mesh proxy with no upstream for \
             {} yet?",
            peer.addr
        );
        assert!(line.contains(&expected), "{then:?}: {line}");
    }
}
