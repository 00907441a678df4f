//! The termination message: readygate's own failures are written where Kubernetes shows them
//! (`kubectl describe pod`), in both log formats; nothing is written after an exec or for a Job's
//! child; a file that cannot be written never changes the exit code.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use support::endpoint::{Behaviour, Endpoint};
use support::proxy::{Proxy, QuitReply};
use support::Watched;
use support::{closed_port, eventually, readygate, run, sh};

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("termination-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("mkdir");
    dir
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The message readygate logged last, at ERROR, in text format.
fn last_error_line(stderr: &str) -> String {
    let line = stderr
        .lines()
        .rev()
        .find(|l| l.contains(" ERROR "))
        .unwrap_or_else(|| panic!("no error line:\n{stderr}"));
    line.split_once("readygate: ")
        .map(|(_, message)| message.to_string())
        .unwrap_or_default()
}

#[test]
fn a_timeout_writes_the_same_line_as_the_final_error_log_in_text_and_json() {
    let dir = scratch("timeout");
    let url = format!("tcp://127.0.0.1:{}", closed_port());
    for format in ["text", "json"] {
        let log = dir.join(format!("log-{format}"));
        let result = run(readygate()
            .args(["--url", &url, "-t", "100ms", "--log-format", format])
            .arg("--termination-log")
            .arg(&log)
            .args(["--", "true"]));
        result.assert_code(69);
        let written = read(&log);
        assert!(
            written.starts_with("readygate: not ready after ") && written.contains(&url),
            "{format}: {written:?}"
        );
        assert!(!written.contains('\n'), "one line: {written:?}");
        if format == "text" {
            assert_eq!(
                written,
                format!("readygate: {}", last_error_line(&result.stderr))
            );
        } else {
            // The same message as the JSON log's last object.
            let last = result.stderr.lines().last().unwrap_or_default();
            let value: serde_json::Value = serde_json::from_str(last).expect("json line");
            assert_eq!(
                Some(written.trim_start_matches("readygate: ")),
                value["message"].as_str()
            );
        }
    }
}

#[test]
fn a_command_that_cannot_run_is_reported_with_its_exit_code() {
    let dir = scratch("not-run");
    let ep = Endpoint::start(Behaviour::Status(200, Vec::new()));
    let not_executable = dir.join("not-executable");
    std::fs::write(&not_executable, "#!/bin/sh\n").expect("write");
    let cases: [(&Path, i32, &str); 2] = [
        (
            Path::new("/no/such/command"),
            127,
            "command not found: /no/such/command",
        ),
        (&not_executable, 126, "command not executable"),
    ];
    for (command, code, needle) in cases {
        let log = dir.join(format!("log-{code}"));
        let result = run(readygate()
            .args(["--url", &ep.url(), "--termination-log"])
            .arg(&log)
            .arg("--")
            .arg(command));
        result.assert_code(code);
        assert!(read(&log).contains(needle), "{code}: {}", read(&log));
    }
}

#[test]
fn a_signal_while_waiting_is_reported() {
    let dir = scratch("signal");
    let log = dir.join("log");
    let ep = Endpoint::start(Behaviour::Status(503, Vec::new()));
    let child = Watched::spawn(
        readygate()
            .args(["--url", &ep.url(), "-t", "0", "--termination-log"])
            .arg(&log)
            .args(["--", "true"]),
    );
    eventually("the first probe", Duration::from_secs(10), || {
        ep.hits() >= 1
    });
    support::send_signal("TERM", child.pid());
    child.finish().assert_code(143);
    assert_eq!(
        read(&log),
        "readygate: interrupted by SIGTERM while waiting; the command was not run"
    );
}

#[test]
fn nothing_is_written_when_the_command_is_execed() {
    let dir = scratch("exec");
    let log = dir.join("log");
    std::fs::write(&log, "the application's own message").expect("write");
    let ep = Endpoint::start(Behaviour::Status(200, Vec::new()));
    let result = run(readygate()
        .args(["--url", &ep.url(), "--termination-log"])
        .arg(&log)
        .arg("--")
        .args(sh("exit 5")));
    result.assert_code(5);
    assert_eq!(read(&log), "the application's own message");
}

#[test]
fn in_job_mode_the_childs_failure_is_its_own_but_a_command_never_run_is_reported() {
    let dir = scratch("job");
    let proxy = Proxy::start(true, QuitReply::Ok);
    let log = dir.join("child-failed");
    let result = run(readygate()
        .args(proxy.args())
        .args(["-S", "--termination-log"])
        .arg(&log)
        .arg("--")
        .args(sh("exit 3")));
    result.assert_code(3);
    assert!(!log.exists(), "nothing written for the child's own exit");
    assert_eq!(proxy.quits().len(), 1);

    let log = dir.join("never-ran");
    let result = run(readygate()
        .args(proxy.args())
        .args(["-S", "--termination-log"])
        .arg(&log)
        .args(["--", "/no/such/job"]));
    result.assert_code(127);
    assert!(read(&log).contains("command not found: /no/such/job"));
    assert_eq!(proxy.quits().len(), 2, "the sidecar is still quit");
}

#[test]
fn an_unwritable_termination_log_is_a_warning_and_never_changes_the_exit_code() {
    let url = format!("tcp://127.0.0.1:{}", closed_port());
    // /dev/full refuses every write with ENOSPC, whoever runs the test.
    for path in ["/dev/full", "/no/such/dir/termination-log"] {
        let result =
            run(readygate().args(["--url", &url, "-t", "50ms", "--termination-log", path]));
        result.assert_code(69);
        result.assert_stderr_has("cannot write the termination message");
    }
}

#[test]
fn without_kubernetes_the_missing_default_file_is_silently_skipped() {
    if Path::new("/dev/termination-log").exists() {
        panic!("this test expects no /dev/termination-log outside a pod");
    }
    let url = format!("tcp://127.0.0.1:{}", closed_port());
    let result = run(readygate().args(["--url", &url, "-t", "50ms", "-v"]));
    result.assert_code(69);
    assert!(
        !result.stderr.contains("termination"),
        "no line about it, even in debug:\n{}",
        result.stderr
    );
}

/// In a private mount namespace, a /dev that has a termination-log file, as a pod's does.
#[test]
fn the_default_file_is_written_when_it_exists_as_in_a_pod_but_not_by_a_step_in_another_container() {
    if !support::running_as_root("a private mount namespace") {
        return;
    }
    let dir = scratch("default");
    let dev = dir.join("dev");
    std::fs::create_dir_all(&dev).expect("mkdir");
    std::fs::write(dev.join("termination-log"), "").expect("write");
    let url = format!("tcp://127.0.0.1:{}", closed_port());
    // readygate needs nothing else from /dev: its stdio are the inherited pipes. First a failing
    // `--install` (a step in another program's container: the default file is not written), then
    // a timeout (the gate: it is).
    let script = format!(
        "mount --bind {dev} /dev && \"$0\" --install /no/such/dir; \
         test \"$?\" = 71 && test ! -s /dev/termination-log && exec \"$0\" --url {url} -t 50ms",
        dev = dev.display()
    );
    let result = run(Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c", &script])
        .arg(env!("CARGO_BIN_EXE_readygate")));
    result.assert_code(69);
    let written = read(&dev.join("termination-log"));
    assert!(
        written.starts_with("readygate: not ready after "),
        "{written:?}"
    );
}
