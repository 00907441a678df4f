//! Job mode: once the command exits (0, non-zero, or killed), the sidecar's quit URL is POSTed
//! exactly once, after the command is gone, and readygate exits with the command's status.

mod support;

use support::proxy::{Proxy, QuitReply};
use support::{readygate, run, sh};

/// Runs `script` under `readygate -S` against a fresh ready proxy; returns the run and the proxy.
fn job(test: &str, script: &str) -> (support::Run, Proxy) {
    let marker =
        std::env::temp_dir().join(format!("readygate-exited-{}-{test}", std::process::id()));
    let _ = std::fs::remove_file(&marker);
    let proxy = Proxy::with_marker(true, QuitReply::Ok, Some(marker.clone()));
    // The command marks its end just before exiting; the proxy notes whether the mark exists.
    let script = format!("touch '{}'; {script}", marker.display());
    let result = run(readygate()
        .args(proxy.args())
        .arg("-S")
        .arg("--")
        .args(sh(&script)));
    let _ = std::fs::remove_file(&marker);
    (result, proxy)
}

fn assert_quit_once_after_exit(proxy: &Proxy, result: &support::Run) {
    let quits = proxy.quits();
    assert_eq!(
        quits.len(),
        1,
        "exactly one quit POST; stderr:\n{}",
        result.stderr
    );
    assert!(
        quits[0].marker_existed,
        "the quit came before the command exited"
    );
    assert_eq!(
        proxy.non_post_quits(),
        0,
        "the quit endpoint is only POSTed"
    );
}

#[test]
fn a_command_exiting_0_exits_0_and_the_sidecar_is_quit_once() {
    let (result, proxy) = job("exit0", "exit 0");
    result
        .assert_code(0)
        .assert_stderr_has("started the command")
        .assert_stderr_has("exit code 0")
        .assert_stderr_has("quit the sidecar");
    assert_quit_once_after_exit(&proxy, &result);
    assert_eq!(result.stdout, "", "readygate writes nothing to stdout");
}

#[test]
fn a_command_exiting_3_exits_3_and_the_sidecar_is_quit_once() {
    let (result, proxy) = job("exit3", "exit 3");
    result.assert_code(3).assert_stderr_has("exit code 3");
    assert_quit_once_after_exit(&proxy, &result);
}

#[test]
fn a_command_killed_by_sigkill_exits_137_and_the_sidecar_is_quit_once() {
    let (result, proxy) = job("sigkill", "kill -KILL $$");
    result
        .assert_code(137)
        .assert_stderr_has("killed by SIGKILL");
    assert_quit_once_after_exit(&proxy, &result);
}

#[test]
fn every_quit_url_is_posted_once() {
    let (first, second) = (
        Proxy::start(true, QuitReply::Ok),
        Proxy::start(true, QuitReply::Ok),
    );
    let quit_urls = format!("{},{}", first.quit_url(), second.quit_url());
    let result = run(readygate()
        .args(["--url", &first.ready_url(), "-S", "--"])
        .args(sh("exit 0"))
        .env("READYGATE_QUIT_URL", &quit_urls));
    result.assert_code(0);
    assert_eq!(first.quits().len(), 1, "{}", result.stderr);
    assert_eq!(second.quits().len(), 1, "{}", result.stderr);
}
