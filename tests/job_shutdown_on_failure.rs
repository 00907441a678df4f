//! Job mode with --shutdown-on-failure=false: a failed command leaves the sidecar running (for
//! restartPolicy: OnFailure); a successful one still quits it.

mod support;

use support::proxy::{Proxy, QuitReply};
use support::{readygate, run, sh};

fn job(script: &str) -> (support::Run, Proxy) {
    let proxy = Proxy::start(true, QuitReply::Ok);
    let result = run(readygate()
        .args(proxy.args())
        .args(["-S", "--shutdown-on-failure=false", "--"])
        .args(sh(script)));
    (result, proxy)
}

#[test]
fn a_failing_command_does_not_quit_the_sidecar() {
    let (result, proxy) = job("exit 3");
    result
        .assert_code(3)
        .assert_stderr_has("leaving the sidecar running");
    assert!(proxy.probes() >= 1, "the wait ran");
    assert_eq!(
        proxy.quits().len(),
        0,
        "no quit POST; stderr:\n{}",
        result.stderr
    );
}

#[test]
fn a_killed_command_does_not_quit_the_sidecar() {
    let (result, proxy) = job("kill -KILL $$");
    result.assert_code(137);
    assert_eq!(
        proxy.quits().len(),
        0,
        "no quit POST; stderr:\n{}",
        result.stderr
    );
}

#[test]
fn a_successful_command_still_quits_the_sidecar() {
    let (result, proxy) = job("exit 0");
    result.assert_code(0);
    assert_eq!(
        proxy.quits().len(),
        1,
        "one quit POST; stderr:\n{}",
        result.stderr
    );
}

#[test]
fn the_variable_works_like_the_flag() {
    let proxy = Proxy::start(true, QuitReply::Ok);
    let result = run(readygate()
        .args(proxy.args())
        .args(["--", "false"])
        .env("READYGATE_SHUTDOWN", "true")
        .env("READYGATE_SHUTDOWN_ON_FAILURE", "false"));
    result.assert_code(1);
    assert_eq!(
        proxy.quits().len(),
        0,
        "no quit POST; stderr:\n{}",
        result.stderr
    );
}
