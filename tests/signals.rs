//! Signals while waiting end the gate with 128+N without running the command, also when
//! readygate is PID 1 of a PID namespace (where the kernel drops signals without a handler).

mod support;

use std::process::{Command, Stdio};
use std::time::Duration;

use support::endpoint::{Behaviour, Endpoint};
use support::{eventually, finish, readygate, sh};

const SIGNALS: [(&str, i32); 4] = [("TERM", 15), ("INT", 2), ("HUP", 1), ("QUIT", 3)];

#[test]
fn each_stop_signal_while_waiting_exits_128_plus_n_without_running_the_command() {
    for (name, number) in SIGNALS {
        let ep = Endpoint::start(Behaviour::Status(503, Vec::new()));
        let child = readygate()
            .args(["--url", &ep.url(), "-t", "0", "--"])
            .args(sh("echo ran"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        // The first probe happens after the handlers are installed.
        eventually("the first probe", Duration::from_secs(10), || {
            ep.hits() >= 1
        });
        support::send_signal(name, child.id());
        let result = finish(child);
        result.assert_code(128 + number);
        assert_eq!(result.stdout, "", "SIG{name}: the command must not run");
        result.assert_stderr_has(&format!("SIG{name}"));
    }
}

/// The PID of unshare's forked child: readygate as PID 1 of the new namespace.
fn child_of(pid: u32) -> Option<u32> {
    let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).ok()?;
    children.split_whitespace().next()?.parse().ok()
}

#[test]
fn as_pid_1_of_a_pid_namespace_sigterm_still_ends_the_wait() {
    if !support::running_as_root("unshare --pid") {
        return;
    }
    for (name, number) in [("TERM", 15), ("INT", 2)] {
        let ep = Endpoint::start(Behaviour::Status(503, Vec::new()));
        let child = Command::new("unshare")
            .args([
                "--pid",
                "--fork",
                "--kill-child",
                env!("CARGO_BIN_EXE_readygate"),
                "--url",
                &ep.url(),
                "-t",
                "0",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("unshare");
        eventually("the first probe", Duration::from_secs(10), || {
            ep.hits() >= 1
        });
        let gate = child_of(child.id()).expect("readygate runs under unshare");
        let ns_pid = std::fs::read_to_string(format!("/proc/{gate}/status"))
            .expect("status")
            .lines()
            .find(|l| l.starts_with("NSpid:"))
            .and_then(|l| l.split_whitespace().last().map(str::to_string));
        assert_eq!(
            ns_pid.as_deref(),
            Some("1"),
            "readygate is PID 1 in its namespace"
        );
        support::send_signal(name, gate);
        let result = finish(child);
        // unshare reports the exit status of its child.
        result.assert_code(128 + number);
    }
}
