//! Job mode quits the sidecar even when the command never ran: a signal while waiting, a fatal
//! timeout, or a command that cannot be started. Otherwise the Job's pod would hang forever.

mod support;

use std::time::Duration;

use support::proxy::{Proxy, QuitReply};
use support::Watched;
use support::{eventually, readygate, run};

#[test]
fn sigterm_while_waiting_exits_143_and_quits_the_sidecar() {
    let proxy = Proxy::start(false, QuitReply::Ok);
    // The command would create this file: a directory that exists, a name that does not yet.
    let ran = std::env::temp_dir().join(format!("readygate-never-ran-{}", std::process::id()));
    let _ = std::fs::remove_file(&ran);
    let child = Watched::spawn(
        readygate()
            .args(proxy.args())
            .args(["-t", "0", "-S", "--", "touch"])
            .arg(&ran),
    );
    // Probes start after the handlers are installed.
    eventually("the first probe", Duration::from_secs(10), || {
        proxy.probes() >= 1
    });
    support::send_signal("TERM", child.pid());
    let result = child.finish();
    result
        .assert_code(143)
        .assert_stderr_has("quit the sidecar");
    assert!(!ran.exists(), "the command must not run");
    assert_eq!(
        proxy.quits().len(),
        1,
        "one quit POST; stderr:\n{}",
        result.stderr
    );
}

#[test]
fn a_fatal_timeout_exits_69_and_quits_the_sidecar() {
    let proxy = Proxy::start(false, QuitReply::Ok);
    let result = run(readygate()
        .args(proxy.args())
        .args(["-t", "300ms", "-S", "--", "true"]));
    result.assert_code(69).assert_stderr_has("not ready after");
    assert_eq!(
        proxy.quits().len(),
        1,
        "one quit POST; stderr:\n{}",
        result.stderr
    );
}

#[test]
fn a_custom_timeout_exit_code_is_kept_and_the_sidecar_quit() {
    let proxy = Proxy::start(false, QuitReply::Ok);
    let result = run(readygate().args(proxy.args()).args([
        "-t",
        "300ms",
        "--timeout-exit-code",
        "9",
        "-S",
        "--",
        "true",
    ]));
    result.assert_code(9);
    assert_eq!(
        proxy.quits().len(),
        1,
        "one quit POST; stderr:\n{}",
        result.stderr
    );
}

#[test]
fn a_command_not_found_exits_127_and_quits_the_sidecar() {
    let proxy = Proxy::start(true, QuitReply::Ok);
    let result =
        run(readygate()
            .args(proxy.args())
            .args(["-S", "--", "/nonexistent/readygate-job"]));
    result
        .assert_code(127)
        .assert_stderr_has("command not found");
    assert_eq!(
        proxy.quits().len(),
        1,
        "one quit POST; stderr:\n{}",
        result.stderr
    );
}

#[test]
fn a_command_not_executable_exits_126_and_quits_the_sidecar() {
    let proxy = Proxy::start(true, QuitReply::Ok);
    // A directory exists but cannot be executed.
    let result = run(readygate().args(proxy.args()).args(["-S", "--", "/"]));
    result.assert_code(126).assert_stderr_has("not executable");
    assert_eq!(
        proxy.quits().len(),
        1,
        "one quit POST; stderr:\n{}",
        result.stderr
    );
}

#[test]
fn a_non_fatal_timeout_runs_the_command_and_then_quits() {
    let proxy = Proxy::start(false, QuitReply::Ok);
    let result = run(readygate().args(proxy.args()).args([
        "-t",
        "300ms",
        "--timeout-fatal=false",
        "-S",
        "--",
        "sh",
        "-c",
        "exit 4",
    ]));
    result
        .assert_code(4)
        .assert_stderr_has("running the command anyway");
    assert_eq!(
        proxy.quits().len(),
        1,
        "one quit POST; stderr:\n{}",
        result.stderr
    );
}
