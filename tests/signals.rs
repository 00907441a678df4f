//! Signals while waiting end the gate with 128+N without running the command, also when
//! readygate is PID 1 of a PID namespace (where the kernel drops signals without a handler).

mod support;

use std::process::{Command, Stdio};
use std::time::Duration;

use support::endpoint::{Behaviour, Endpoint};
use support::Watched;
use support::{eventually, readygate, sh};

use readygate::signals::{self, Action, POLICY};

/// The signals whose rule says they end the wait: SIGTERM, SIGINT, SIGHUP and SIGQUIT.
fn ending_the_wait() -> Vec<i32> {
    POLICY
        .iter()
        .filter(|rule| rule.action == Action::EndsWait)
        .flat_map(|rule| rule.signals.numbers())
        .collect()
}

#[test]
fn each_stop_signal_while_waiting_exits_128_plus_n_without_running_the_command() {
    let ending = ending_the_wait();
    assert_eq!(ending.len(), 4, "{ending:?}");
    for number in ending {
        let name = signals::name(number);
        let ep = Endpoint::start(Behaviour::Status(503, Vec::new()));
        let child = Watched::spawn(
            readygate()
                .args(["--url", &ep.url(), "-t", "0", "--"])
                .args(sh("echo ran")),
        );
        // The first probe happens after the handlers are installed.
        eventually("the first probe", Duration::from_secs(10), || {
            ep.hits() >= 1
        });
        support::kill(child.pid(), number);
        let result = child.finish();
        result.assert_code(128 + number);
        assert_eq!(result.stdout, "", "{name}: the command must not run");
        result.assert_stderr_has(&name);
    }
}

#[test]
fn as_pid_1_of_a_pid_namespace_sigterm_still_ends_the_wait() {
    if !support::running_as_root("unshare --pid") {
        return;
    }
    for number in [libc::SIGTERM, libc::SIGINT] {
        let ep = Endpoint::start(Behaviour::Status(503, Vec::new()));
        let child = Watched::spawn(
            Command::new("unshare")
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
                .stdin(Stdio::null()),
        );
        eventually("the first probe", Duration::from_secs(10), || {
            ep.hits() >= 1
        });
        // unshare's forked child: readygate as PID 1 of the new namespace.
        let gate = support::first_child(child.pid()).expect("readygate runs under unshare");
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
        support::kill(gate, number);
        let result = child.finish();
        // unshare reports the exit status of its child.
        result.assert_code(128 + number);
    }
}
