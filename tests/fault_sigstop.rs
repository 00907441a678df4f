//! SIGSTOP and SIGCONT while waiting: a stopped readygate resumes where it was, sees the now
//! ready endpoint and runs the command. (Job control and debuggers stop processes; a node under
//! memory pressure can freeze a cgroup; none of it may lose the gate's state.)

mod support;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use support::endpoint::{Behaviour, Endpoint};
use support::{eventually, kill, readygate, sh, state, Watched};

/// Stops `pid` with SIGSTOP and waits until the kernel reports it stopped.
fn stop(pid: u32) {
    kill(pid, libc::SIGSTOP);
    eventually("readygate stopped", Duration::from_secs(10), || {
        state(pid) == 'T'
    });
}

#[test]
fn a_stopped_and_continued_gate_still_becomes_ready_and_runs_the_command() {
    let ready = Arc::new(AtomicBool::new(false));
    let served_200 = Arc::new(AtomicUsize::new(0));
    let (flag, served) = (ready.clone(), served_200.clone());
    // The answer is chosen when a connection is served, not when it was made: an attempt in
    // flight as readygate is stopped can be answered 200 and read once it runs again.
    let server = Endpoint::scripted("127.0.0.1:0", move |_| {
        if flag.load(Ordering::SeqCst) {
            served.fetch_add(1, Ordering::SeqCst);
            Behaviour::Status(200, Vec::new())
        } else {
            Behaviour::Status(503, Vec::new())
        }
    });
    let mut watched = Watched::spawn(
        readygate()
            .args(["--url", &server.url(), "-t", "0", "--interval", "5ms"])
            .args(["--max-interval", "20ms", "--"])
            .args(sh("echo ran")),
    );
    let pid = watched.pid();
    eventually("a few probes", Duration::from_secs(10), || {
        server.hits() >= 3
    });
    stop(pid);
    // While it is stopped, the endpoint becomes ready; readygate cannot have seen a 200 yet.
    ready.store(true, Ordering::SeqCst);
    assert_eq!(state(pid), 'T');
    kill(pid, libc::SIGCONT);
    let line = watched.wait_for_line("the ready line", Duration::from_secs(10), |l| {
        l.contains("readygate: ready")
    });
    let ended = watched.finish();
    ended.assert_code(0);
    assert_eq!(ended.stdout, "ran\n", "{line}");
    // The command ran on a 200 the endpoint served after the stop.
    assert!(served_200.load(Ordering::SeqCst) >= 1);
    assert!(!ended.stderr.contains("SIG"), "no signal ended the wait");
}

#[test]
fn a_stop_during_an_attempt_in_flight_does_not_wedge_it() {
    // The first connection is held open without a reply while readygate is stopped and
    // continued; the request timeout still ends that attempt and the next one finds 200.
    let server = Endpoint::scripted("127.0.0.1:0", |n| match n {
        0 => Behaviour::Hang,
        _ => Behaviour::Status(200, Vec::new()),
    });
    let mut watched = Watched::spawn(
        readygate()
            .args([
                "--url",
                &server.url(),
                "-t",
                "20s",
                "--request-timeout",
                "1s",
                "--",
            ])
            .args(sh("echo ran")),
    );
    let pid = watched.pid();
    eventually("the first attempt", Duration::from_secs(10), || {
        server.hits() >= 1
    });
    stop(pid);
    kill(pid, libc::SIGCONT);
    watched.wait_for_line("the abandoned attempt", Duration::from_secs(10), |l| {
        l.contains("no reply within 1s")
    });
    let ended = watched.finish();
    ended.assert_code(0);
    assert_eq!(ended.stdout, "ran\n");
    assert_eq!(server.hits(), 2);
}
