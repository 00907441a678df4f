//! While a gate waits, every sent signal whose default action would end readygate ends the wait
//! instead: exit 128+N, a log line naming it, and the command never runs. That holds for the
//! requests to stop and for the ones that used to kill readygate outright (SIGUSR1, a sent
//! SIGSEGV, real-time signals), also when readygate is PID 1 of a PID namespace (where the kernel
//! drops signals it neither handles nor blocks). Signals ignored by default change nothing.

mod support;

use std::process::{Command, Stdio};
use std::time::Duration;

use support::endpoint::{Behaviour, Endpoint};
use support::Watched;
use support::{eventually, readygate, sh};

use readygate::signals::{self, Phase};

const DEADLINE: Duration = Duration::from_secs(10);

/// Every signal a waiting gate catches and ends on.
fn ending_the_wait() -> Vec<i32> {
    (1..=libc::SIGRTMAX())
        .filter(|&n| Phase::Gate.read().contains(n))
        .collect()
}

/// readygate waiting on a 503 endpoint in front of `echo ran`, once its first probe is in.
fn waiting(ep: &Endpoint) -> Watched {
    let child = Watched::spawn(
        readygate()
            .args(["--url", &ep.url(), "-t", "0", "--"])
            .args(sh("echo ran")),
    );
    // The first probe happens after the signals are blocked and the listener is in place.
    eventually("the first probe", DEADLINE, || ep.hits() >= 1);
    child
}

#[test]
fn every_sent_signal_that_would_end_readygate_ends_the_wait_with_128_plus_n() {
    let ending = ending_the_wait();
    // The four requests to stop, the standard signals that used to kill readygate outright (a
    // sent SIGSEGV among them), libc's reserved real-time signals and every application one.
    for n in [
        libc::SIGTERM,
        libc::SIGUSR1,
        libc::SIGSEGV,
        libc::SIGABRT,
        libc::SIGPIPE,
        libc::SIGRTMIN(),
    ] {
        assert!(ending.contains(&n), "{}", signals::name(n));
    }
    for number in ending {
        let name = signals::name(number);
        let ep = Endpoint::start(Behaviour::Status(503, Vec::new()));
        let result = {
            let child = waiting(&ep);
            support::kill(child.pid(), number);
            child.finish()
        };
        result.assert_code(128 + number);
        assert_eq!(result.stdout, "", "{name}: the command must not run");
        result.assert_stderr_has(&format!("interrupted by {name} while waiting"));
    }
}

#[test]
fn signals_ignored_by_default_leave_the_wait_running() {
    let ep = Endpoint::start(Behaviour::Status(503, Vec::new()));
    let child = waiting(&ep);
    for number in [libc::SIGWINCH, libc::SIGURG, libc::SIGCHLD, libc::SIGCONT] {
        support::kill(child.pid(), number);
        // Still waiting, so still probing after it.
        let probes = ep.hits();
        eventually(
            &format!("a probe after {}", signals::name(number)),
            DEADLINE,
            || ep.hits() > probes,
        );
    }
    support::kill(child.pid(), libc::SIGTERM);
    let result = child.finish();
    result.assert_code(143);
    assert_eq!(result.stdout, "");
}

#[test]
fn as_pid_1_of_a_pid_namespace_sent_signals_still_end_the_wait() {
    if !support::running_as_root("unshare --pid") {
        return;
    }
    for number in [libc::SIGTERM, libc::SIGINT, libc::SIGSEGV, libc::SIGUSR1] {
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
        eventually("the first probe", DEADLINE, || ep.hits() >= 1);
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
        result.assert_stderr_has(&format!(
            "interrupted by {} while waiting",
            signals::name(number)
        ));
    }
}
