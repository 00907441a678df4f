//! The wait's two stages: the sidecar's own readiness first, the dependencies once it is ready,
//! one --timeout across both. Targets on this pod are the sidecar's stage; redis://, postgres://
//! and mysql:// targets, and http:// or tcp:// on another host, are dependencies. Without a
//! --url on this pod, the --mesh preset is the sidecar's stage; --mesh none has none.

mod support;

use support::endpoint::{Behaviour, Endpoint};
use support::netns::Netns;
use support::wire::{Act, Peer, Then};
use support::{readygate, run, sh, EVERY_MS};

/// `PING` as readygate sends it.
const PING: usize = 14;

fn pong() -> Peer {
    Peer::start(Act::answer(PING, b"+PONG\r\n"))
}

#[test]
fn dependencies_are_probed_only_once_the_sidecar_is_ready() {
    let sidecar = Endpoint::after(
        5,
        Behaviour::Status(503, b"PRE_INITIALIZING".to_vec()),
        Behaviour::Status(200, Vec::new()),
    );
    let redis = Peer::scripted(|n| {
        Act::answer(
            PING,
            if n == 0 {
                b"-LOADING Redis is loading the dataset in memory\r\n"
            } else {
                b"+PONG\r\n"
            },
        )
    });
    let result = run(readygate()
        .args(["--url", &sidecar.url(), "--url", &redis.url("redis")])
        .args(EVERY_MS));
    result.assert_code(0);
    let lines: Vec<&str> = result.stderr.lines().collect();
    let at = |needle: &str| {
        lines
            .iter()
            .position(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no {needle:?} in:\n{}", result.stderr))
    };
    // The sidecar's 503, then the stage change, then the dependency's first answer.
    assert!(at("PRE_INITIALIZING") < at("sidecar ready; waiting for the dependencies"));
    assert!(at("sidecar ready; waiting for the dependencies") < at("LOADING"));
    assert_eq!(sidecar.hits(), 6);
    assert_eq!(redis.hits(), 2);
}

#[test]
fn a_sidecar_never_ready_leaves_the_dependencies_unprobed_and_the_summary_says_so() {
    let sidecar = Endpoint::start(Behaviour::Status(503, Vec::new()));
    let redis = pong();
    let result = run(readygate().args([
        "--url",
        &redis.url("redis"),
        "--url",
        &sidecar.url(),
        "-t",
        "300ms",
    ]));
    let line = result.timeout_line();
    assert!(
        line.contains(&format!(
            "the sidecar: {} (503 Service Unavailable); the dependencies were not probed yet: {}",
            sidecar.url(),
            redis.url("redis")
        )),
        "{line}"
    );
    assert_eq!(redis.hits(), 0);
}

#[test]
fn a_dependency_never_ready_times_out_with_the_summary_naming_the_dependency_stage() {
    let sidecar = Endpoint::start(Behaviour::Status(200, Vec::new()));
    let redis = Peer::start(Act::mute(Then::Close));
    let result = run(readygate().args([
        "--url",
        &sidecar.url(),
        "--url",
        &redis.url("redis"),
        "-t",
        "300ms",
    ]));
    let line = result.timeout_line();
    assert!(
        line.contains("the sidecar was ready after ")
            && line.contains(&format!(
                "; the dependencies: {} (accepted, then closed before a Redis reply",
                redis.url("redis")
            )),
        "{line}"
    );
}

#[test]
fn mesh_none_waits_for_the_dependencies_alone() {
    let redis = pong();
    let result = run(readygate().args(["--mesh", "none", "--url", &redis.url("redis")]));
    result.assert_code(0);
    assert!(
        result.stderr.lines().next().is_some_and(|l| {
            l.contains("no sidecar (--mesh none); waiting for the dependencies")
                && l.contains(&redis.url("redis"))
        }),
        "{}",
        result.stderr
    );
}

#[test]
fn mesh_none_with_nothing_to_wait_for_runs_the_command_at_once() {
    let result = run(readygate()
        .args(["--mesh", "none", "--"])
        .args(sh("printf ran")));
    result.assert_code(0);
    assert_eq!(result.stdout, "ran");
    result.assert_stderr_has("nothing to wait for");
}

#[test]
fn in_job_mode_mesh_none_quits_nothing_and_says_so() {
    let redis = pong();
    let result = run(readygate()
        .args(["--mesh", "none", "--url", &redis.url("redis"), "-S", "--"])
        .args(sh("exit 3")));
    result.assert_code(3);
    assert_eq!(
        result
            .stderr_lines_with("no sidecar to quit (--mesh none and no --quit-url)")
            .len(),
        1,
        "{}",
        result.stderr
    );
}

#[test]
fn a_dependency_alone_waits_for_the_mesh_preset_first() {
    // In a namespace of its own, so that nothing answers on localhost:15020.
    let Some(ns) = Netns::new() else { return };
    let result = support::run(ns.readygate().args([
        "--url",
        "redis://127.0.0.1:6379",
        "--url",
        "http://orders.invalid:8080/healthz",
        "-t",
        "300ms",
    ]));
    let line = result.timeout_line();
    assert!(
        line.contains(
            "the sidecar: http://localhost:15020/healthz/ready (nothing listening on \
             localhost:15020 yet); the dependencies were not probed yet: \
             redis://127.0.0.1:6379, http://orders.invalid:8080/healthz"
        ),
        "{line}"
    );
}
