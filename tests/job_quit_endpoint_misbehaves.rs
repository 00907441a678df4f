//! A quit endpoint that is down, hangs, answers 404 or drops the connection never changes the
//! exit code, and never delays readygate beyond the quit's own bound (2 s, retries included).

mod support;

use std::time::Duration;

use support::proxy::{Proxy, QuitReply};
use support::{closed_port, readygate, run, sh, Run};

/// The quit bound plus generous slack for a loaded CI machine.
const BOUND: Duration = Duration::from_secs(5);

fn job(ready: &Proxy, quit_url: &str) -> Run {
    run(readygate()
        .args([
            "--url",
            &ready.ready_url(),
            "--quit-url",
            quit_url,
            "-S",
            "--",
        ])
        .args(sh("exit 3")))
}

#[test]
fn a_quit_endpoint_that_is_down_keeps_the_status_and_is_retried_briefly() {
    let ready = Proxy::start(true, QuitReply::Ok);
    let result = job(
        &ready,
        &format!("http://127.0.0.1:{}/quitquitquit", closed_port()),
    );
    result
        .assert_code(3)
        .assert_stderr_has("could not quit the sidecar");
    result.assert_stderr_has("nothing listening");
    assert!(result.elapsed < BOUND, "took {:?}", result.elapsed);
}

#[test]
fn a_hanging_quit_endpoint_is_abandoned_within_its_bound() {
    let proxy = Proxy::start(true, QuitReply::Hang);
    let result = job(&proxy, &proxy.quit_url());
    result.assert_code(3).assert_stderr_has("no reply within");
    assert!(result.elapsed < BOUND, "took {:?}", result.elapsed);
    assert_eq!(proxy.quits().len(), 1, "a hang is not retried");
}

#[test]
fn a_disabled_quit_endpoint_404_is_a_warning_and_keeps_the_status() {
    let proxy = Proxy::start(true, QuitReply::Status(404));
    let result = job(&proxy, &proxy.quit_url());
    result
        .assert_code(3)
        .assert_stderr_has("WARN")
        .assert_stderr_has("disabled");
    assert_eq!(proxy.quits().len(), 1, "an answer is not retried");
}

#[test]
fn a_quit_endpoint_that_resets_counts_as_the_proxy_exiting() {
    let proxy = Proxy::start(true, QuitReply::Reset);
    let result = job(&proxy, &proxy.quit_url());
    result.assert_code(3).assert_stderr_has("quit the sidecar");
    assert!(result.elapsed < BOUND, "took {:?}", result.elapsed);
    assert_eq!(
        proxy.quits().len(),
        1,
        "a dropped connection is not retried"
    );
}

#[test]
fn a_quit_endpoint_that_closes_without_a_reply_counts_as_the_proxy_exiting() {
    let proxy = Proxy::start(true, QuitReply::Close);
    let result = job(&proxy, &proxy.quit_url());
    result.assert_code(3).assert_stderr_has("quit the sidecar");
    assert_eq!(
        proxy.quits().len(),
        1,
        "a dropped connection is not retried"
    );
}

#[test]
fn a_quit_url_that_is_not_http_is_a_usage_error() {
    for bad in [
        "tcp://127.0.0.1:15020",
        "https://127.0.0.1:15020/quitquitquit",
    ] {
        let result = run(readygate().args(["--quit-url", bad, "-S", "--", "true"]));
        result.assert_code(2).assert_stderr_has("http://");
        let result = run(readygate()
            .args(["-S", "--", "true"])
            .env("READYGATE_QUIT_URL", bad));
        result
            .assert_code(2)
            .assert_stderr_has("READYGATE_QUIT_URL");
    }
}
