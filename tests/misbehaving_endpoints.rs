//! Every kind of broken endpoint is "not ready" with a reason a person understands: never a
//! crash, a hang past the per-request timeout, or a busy loop.

mod support;

use std::time::Duration;

use support::endpoint::{Behaviour, Endpoint};
use support::{readygate, run, Run};

/// Waits 600 ms on `behaviour` (one attempt bounded by 200 ms) and returns the run.
fn timed_out_on(behaviour: Behaviour) -> (Run, Endpoint) {
    let ep = Endpoint::start(behaviour);
    let result = run(readygate().args([
        "--url",
        &ep.url(),
        "-t",
        "600ms",
        "--request-timeout",
        "200ms",
        "--",
        "false",
    ]));
    result.assert_code(69);
    (result, ep)
}

fn reason_in_timeout_line(result: &Run, reason: &str) {
    let line = result
        .stderr
        .lines()
        .find(|l| l.contains("not ready after"))
        .unwrap_or_else(|| panic!("no timeout line:\n{}", result.stderr));
    assert!(
        line.contains(reason),
        "timeout line lacks {reason:?}: {line}"
    );
}

#[test]
fn connection_refused_says_nothing_is_listening() {
    let port = support::closed_port();
    let url = format!("http://127.0.0.1:{port}/ready");
    let result = run(readygate().args(["--url", &url, "-t", "300ms"]));
    result.assert_code(69);
    reason_in_timeout_line(
        &result,
        &format!("nothing listening on 127.0.0.1:{port} yet"),
    );
}

#[test]
fn a_reset_connection_is_not_ready() {
    let (result, ep) = timed_out_on(Behaviour::Reset);
    reason_in_timeout_line(&result, "connection reset by the endpoint");
    assert!(ep.hits() >= 2, "kept probing");
}

#[test]
fn accept_then_close_is_not_ready() {
    let (result, _ep) = timed_out_on(Behaviour::Close);
    reason_in_timeout_line(&result, "connection closed before a reply");
}

#[test]
fn a_hung_endpoint_is_bounded_by_the_request_timeout() {
    let (result, ep) = timed_out_on(Behaviour::Hang);
    reason_in_timeout_line(&result, "no reply within 200ms");
    assert!(
        ep.hits() >= 2,
        "a hung attempt must not stall the gate: {} attempts",
        ep.hits()
    );
}

#[test]
fn a_garbage_reply_is_not_http() {
    let (result, _ep) = timed_out_on(Behaviour::Raw(
        b"SSH-2.0-OpenSSH_9.6\r\n\x00\x01garbage".to_vec(),
    ));
    reason_in_timeout_line(&result, "reply was not HTTP");
}

#[test]
fn redirects_are_not_followed_and_not_ready() {
    let ep = Endpoint::start(Behaviour::Raw(
        b"HTTP/1.1 302 Found\r\nlocation: http://127.0.0.1:1/\r\ncontent-length: 0\r\n\r\n"
            .to_vec(),
    ));
    let result = run(readygate().args(["--url", &ep.url(), "-t", "300ms"]));
    result.assert_code(69);
    reason_in_timeout_line(&result, "302 Found (redirects are not followed)");
    assert_eq!(
        ep.requests()
            .iter()
            .filter(|r| r.starts_with("GET /ready"))
            .count(),
        ep.requests().len()
    );
}

#[test]
fn client_and_server_errors_are_not_ready() {
    for code in [404u16, 500, 503] {
        let ep = Endpoint::start(Behaviour::Status(code, Vec::new()));
        let result = run(readygate().args(["--url", &ep.url(), "-t", "300ms"]));
        result.assert_code(69);
        reason_in_timeout_line(&result, &code.to_string());
    }
}

#[test]
fn an_enormous_header_block_is_cut_off() {
    let (result, _ep) = timed_out_on(Behaviour::HugeHead(4 * 1024 * 1024));
    reason_in_timeout_line(&result, "reply head too large");
}

#[test]
fn an_enormous_body_is_not_read_to_the_end() {
    // 64 MiB per attempt would take far longer than the run to transfer if it were read whole.
    let (result, _ep) = timed_out_on(Behaviour::HugeBody(64 * 1024 * 1024));
    reason_in_timeout_line(&result, "503 \"xxxx");
}

#[test]
fn a_reply_dribbled_one_byte_at_a_time_is_read_within_the_request_timeout() {
    let reply = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n".to_vec();
    let ep = Endpoint::start(Behaviour::Dribble(reply, Duration::from_millis(2)));
    run(readygate().args(["--url", &ep.url(), "--request-timeout", "5s"])).assert_code(0);
}

#[test]
fn a_dribble_slower_than_the_request_timeout_is_not_ready() {
    let reply = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n".to_vec();
    let (result, _ep) = timed_out_on(Behaviour::Dribble(reply, Duration::from_millis(50)));
    reason_in_timeout_line(&result, "no reply within 200ms");
}

#[test]
fn a_reset_after_the_status_line_keeps_the_status() {
    let (result, _ep) = timed_out_on(Behaviour::ResetAfterHead);
    reason_in_timeout_line(&result, "503");
}

#[test]
fn an_unresolvable_name_is_not_ready_and_named() {
    // Another host is a dependency: --mesh none leaves it the only target.
    let result = run(readygate().args([
        "--mesh",
        "none",
        "--url",
        "http://readygate-test.invalid:15020/",
        "-t",
        "300ms",
    ]));
    result.assert_code(69);
    reason_in_timeout_line(&result, "cannot resolve readygate-test.invalid");
}

#[test]
fn envoys_own_503s_for_an_upstream_it_cannot_reach_are_worded_for_a_person() {
    let ep = Endpoint::start(Behaviour::Status(503, b"no healthy upstream".to_vec()));
    let result = run(readygate().args(["--url", &ep.url(), "-t", "300ms"]));
    result.assert_code(69);
    reason_in_timeout_line(
        &result,
        &format!("503: the mesh has no healthy upstream for {} yet", ep.addr),
    );
    let body = b"upstream connect error or disconnect/reset before headers. reset reason: \
                 connection failure";
    let ep = Endpoint::start(Behaviour::Status(503, body.to_vec()));
    let result = run(readygate().args(["--url", &ep.url(), "-t", "300ms"]));
    result.assert_code(69);
    reason_in_timeout_line(
        &result,
        &format!(
            "503: the mesh cannot connect to {} yet: upstream connect error or \
             disconnect/reset before headers. reset reason: connection failure",
            ep.addr
        ),
    );
}
