//! The overall deadline: exit 69 (or the chosen code) with one line naming what is not ready,
//! or, with --timeout-fatal=false, a warning and the command anyway.

mod support;

use std::process::Command;

use support::endpoint::{Behaviour, Endpoint};
use support::{readygate, run, sh, EVERY_MS};

fn unavailable() -> Endpoint {
    Endpoint::start(Behaviour::Status(
        503,
        b"config not received from XDS server".to_vec(),
    ))
}

/// A readygate that gives up on `ep` after 200 ms.
fn gives_up_soon(ep: &Endpoint) -> Command {
    let mut cmd = readygate();
    cmd.args(["--url", &ep.url(), "-t", "200ms"]);
    cmd
}

#[test]
fn not_ready_in_time_exits_69_without_running_the_command() {
    let ep = unavailable();
    let result = run(gives_up_soon(&ep).arg("--").args(sh("echo ran")));
    result.assert_code(69);
    assert_eq!(result.stdout, "", "the command must not run");
}

#[test]
fn the_timeout_line_names_every_pending_endpoint_its_last_outcome_and_the_time_waited() {
    let ready = Endpoint::start(Behaviour::Status(200, Vec::new()));
    let pending = unavailable();
    let port = support::closed_port();
    let closed = format!("tcp://127.0.0.1:{port}");
    let result = run(readygate().args([
        "--url",
        &ready.url(),
        "--url",
        &pending.url(),
        "--url",
        &closed,
        "-t",
        "400ms",
    ]));
    result.assert_code(69);
    let lines = result.stderr_lines_with("not ready after");
    assert_eq!(lines.len(), 1, "{}", result.stderr);
    let line = lines[0];
    assert!(line.contains("not ready after 4"), "time waited: {line}");
    assert!(
        line.contains(&format!(
            "{} (503 \"config not received from XDS server\")",
            pending.url()
        )),
        "{line}"
    );
    assert!(
        line.contains(&format!(
            "{closed} (nothing listening on 127.0.0.1:{port} yet)"
        )),
        "{line}"
    );
    assert!(
        !line.contains(&ready.url()),
        "a ready endpoint is not listed: {line}"
    );
}

#[test]
fn timeout_exit_code_changes_the_code() {
    let ep = unavailable();
    run(gives_up_soon(&ep).args(["--timeout-exit-code", "3"])).assert_code(3);
    run(gives_up_soon(&ep).env("READYGATE_TIMEOUT_EXIT_CODE", "4")).assert_code(4);
}

#[test]
fn timeout_fatal_false_warns_and_runs_the_command_anyway() {
    let ep = unavailable();
    let result = run(gives_up_soon(&ep)
        .args(["--timeout-fatal=false", "--"])
        .args(sh("echo ran anyway; exit 9")));
    result.assert_code(9);
    assert_eq!(result.stdout, "ran anyway\n");
    result
        .assert_stderr_has("WARN")
        .assert_stderr_has("running the command anyway");
}

#[test]
fn timeout_fatal_false_in_wait_only_mode_exits_0() {
    let ep = unavailable();
    run(gives_up_soon(&ep).env("READYGATE_TIMEOUT_FATAL", "no")).assert_code(0);
}

#[test]
fn timeout_0_sets_no_deadline_and_waits_until_ready() {
    // With -t 0 there is no deadline at all (not the 120 s default, which a test cannot wait
    // out): the start line says so, and the endpoint becomes ready only after many attempts.
    let ep = Endpoint::after(
        30,
        Behaviour::Status(503, Vec::new()),
        Behaviour::Status(200, Vec::new()),
    );
    let result = run(readygate()
        .args(["--url", &ep.url(), "-t", "0"])
        .args(EVERY_MS));
    result.assert_code(0);
    let start = result.stderr.lines().next().unwrap_or_default();
    assert!(start.contains("timeout=none"), "{start}");
    assert_eq!(ep.hits(), 31);
}
