//! Job mode confirms each quit: a sidecar that took its quit must stop accepting connections
//! within a short bound, or readygate says, once and naming the URL, that it did not go away.
//! Either way the exit code is the command's.

mod support;

use support::endpoint::{Behaviour, Endpoint, ExitingSidecar};
use support::{readygate, run, sh};

/// The warning for a sidecar that is still there.
const NOT_GONE: &str = "did not go away";

#[test]
fn a_sidecar_that_exits_after_its_quit_draws_no_warning() {
    let sidecar = ExitingSidecar::start();
    let result = run(readygate()
        .args(["--url", &sidecar.url(), "--quit-url", &sidecar.quit_url()])
        .args(["-S", "--"])
        .args(sh("exit 3")));
    result.assert_code(3).assert_stderr_has("quit the sidecar");
    assert_eq!(
        sidecar.quits(),
        1,
        "one quit POST; stderr:\n{}",
        result.stderr
    );
    assert!(
        !result.stderr.contains(NOT_GONE) && !result.stderr.contains("WARN"),
        "no warning for a sidecar that went away:\n{}",
        result.stderr
    );
}

#[test]
fn a_sidecar_that_answers_200_and_keeps_running_draws_one_warning_naming_it() {
    // Answers 200 to the readiness probe and to the quit alike, and never goes away.
    let sidecar = Endpoint::start(Behaviour::Status(200, b"OK\n".to_vec()));
    let quit_url = format!("http://{}/quitquitquit", sidecar.addr);
    let result = run(readygate()
        .args(["--url", &sidecar.url(), "--quit-url", &quit_url])
        .args(["-S", "--"])
        .args(sh("exit 3")));
    // `run` ends it within its deadline or fails: the confirmation is bounded.
    result.assert_code(3);
    let warnings: Vec<&str> = result
        .stderr
        .lines()
        .filter(|l| l.contains(NOT_GONE))
        .collect();
    assert_eq!(warnings.len(), 1, "one warning:\n{}", result.stderr);
    assert!(
        warnings[0].contains("WARN") && warnings[0].contains(&quit_url),
        "the warning names the URL: {}",
        warnings[0]
    );
    let posts = sidecar
        .requests()
        .iter()
        .filter(|r| r.starts_with("POST /quitquitquit "))
        .count();
    assert_eq!(posts, 1, "one quit POST, not retried");
}
