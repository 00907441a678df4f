//! The happy paths: wait until every endpoint answers as expected, then exec or exit 0.

mod support;

use support::endpoint::{Behaviour, Endpoint};
use support::{readygate, run, sh};

fn ok() -> Behaviour {
    Behaviour::Status(200, b"ok".to_vec())
}

fn unavailable() -> Behaviour {
    Behaviour::Status(503, b"not yet".to_vec())
}

#[test]
fn wait_only_mode_exits_0_once_the_endpoint_answers_200() {
    let ep = Endpoint::start(ok());
    run(readygate().args(["--url", &ep.url()])).assert_code(0);
    assert_eq!(ep.hits(), 1);
}

#[test]
fn the_gate_keeps_probing_through_503s_and_then_runs_the_command() {
    let ep = Endpoint::after(3, unavailable(), ok());
    let result = run(readygate()
        .args(["--url", &ep.url(), "--"])
        .args(sh("echo started; exit 5")));
    result.assert_code(5);
    assert_eq!(result.stdout, "started\n");
    assert_eq!(ep.hits(), 4, "three 503s, then the 200");
}

#[test]
fn the_probe_is_a_plain_get_with_the_host_header_and_no_body() {
    let ep = Endpoint::start(ok());
    let url = format!("http://{}/healthz/ready?full=1", ep.addr);
    run(readygate().args(["--url", &url])).assert_code(0);
    let head = &ep.requests()[0];
    assert!(
        head.starts_with("GET /healthz/ready?full=1 HTTP/1.1\r\n"),
        "{head}"
    );
    assert!(
        head.to_ascii_lowercase()
            .contains(&format!("host: {}\r\n", ep.addr)),
        "{head}"
    );
    assert!(
        !head.to_ascii_lowercase().contains("content-length"),
        "{head}"
    );
    assert!(
        !head.to_ascii_lowercase().contains("authorization"),
        "{head}"
    );
}

#[test]
fn every_url_must_pass_before_the_command_runs() {
    let first = Endpoint::start(ok());
    let second = Endpoint::after(2, unavailable(), ok());
    let result = run(readygate()
        .args(["--url", &first.url(), "--url", &second.url(), "--"])
        .args(sh("echo go")));
    result.assert_code(0);
    assert_eq!(result.stdout, "go\n");
    assert_eq!(first.hits(), 1, "a passed endpoint is not probed again");
    assert_eq!(second.hits(), 3);
}

#[test]
fn urls_can_come_comma_separated_from_readygate_url() {
    let first = Endpoint::start(ok());
    let second = Endpoint::start(ok());
    run(readygate().env("READYGATE_URL", format!("{},{}", first.url(), second.url())))
        .assert_code(0);
    assert_eq!((first.hits(), second.hits()), (1, 1));
}

#[test]
fn a_tcp_target_is_ready_once_a_connection_is_accepted() {
    let ep = Endpoint::start(Behaviour::Hang);
    let url = format!("tcp://{}", ep.addr);
    run(readygate().args(["--url", &url])).assert_code(0);
    assert_eq!(ep.hits(), 1);
}

#[test]
fn expect_status_accepts_lists_and_classes() {
    let ep = Endpoint::start(Behaviour::Status(204, Vec::new()));
    run(readygate().args(["--url", &ep.url(), "--expect-status", "200,204"])).assert_code(0);
    let ep = Endpoint::start(Behaviour::Status(299, Vec::new()));
    run(readygate().args(["--url", &ep.url(), "--expect-status", "2xx"])).assert_code(0);
    let ep = Endpoint::start(Behaviour::Status(204, Vec::new()));
    run(readygate().args(["--url", &ep.url(), "-t", "300ms"])).assert_code(69);
}

#[test]
fn localhost_reaches_an_ipv6_only_endpoint_without_a_resolver() {
    let ep = Endpoint::scripted("[::1]:0", |_| ok());
    let url = ep.localhost_url();
    let result = run(readygate()
        .args(["--url", &url])
        .env("LOCALDOMAIN", "invalid.")
        .env("RES_OPTIONS", "attempts:0"));
    result.assert_code(0);
    assert_eq!(ep.hits(), 1);
}

#[test]
fn the_mesh_preset_is_the_default_target() {
    // Whatever the host runs on 15020, the preset URL must be the one probed and logged.
    let result = run(readygate().args(["-t", "200ms", "--mesh", "linkerd"]));
    result.assert_stderr_has("http://localhost:4191/ready");
}

#[test]
fn readygate_disabled_skips_the_wait_entirely() {
    let port = support::closed_port();
    let url = format!("http://127.0.0.1:{port}/ready");
    let result = run(readygate()
        .args(["--url", &url, "--"])
        .args(sh("echo ran"))
        .env("READYGATE_DISABLED", "true"));
    result.assert_code(0);
    assert_eq!(result.stdout, "ran\n");
    assert!(!result.stderr.contains("waiting"), "{}", result.stderr);
}

#[test]
fn readygate_disabled_false_still_waits() {
    let ep = Endpoint::start(unavailable());
    run(readygate()
        .args(["--url", &ep.url(), "-t", "200ms"])
        .env("READYGATE_DISABLED", "false"))
    .assert_code(69);
    assert!(ep.hits() >= 1);
}
