//! A proxy that restarts mid-wait: its port answers 503, then closes (connection refused), then
//! reopens on the same port and answers 200. The gate rides through and runs the command.

mod support;

use std::net::{SocketAddr, TcpListener};
use std::time::{Duration, Instant};

use support::endpoint::{Behaviour, Endpoint};
use support::{readygate, sh, Watched};

const WAIT: Duration = Duration::from_secs(10);

/// Binds `addr` again, retrying while the old listener is still being torn down.
fn rebind(addr: SocketAddr) -> TcpListener {
    let start = Instant::now();
    loop {
        match TcpListener::bind(addr) {
            Ok(listener) => return listener,
            Err(_) if start.elapsed() < WAIT => std::thread::yield_now(),
            Err(e) => panic!("cannot bind {addr} again: {e}"),
        }
    }
}

fn unavailable() -> Endpoint {
    Endpoint::start(Behaviour::Status(503, Vec::new()))
}

#[test]
fn the_gate_waits_through_a_proxy_restart_on_the_same_port() {
    let before = unavailable();
    let (addr, url) = (before.addr, before.url());
    let mut watched = Watched::spawn(
        readygate()
            .args(["--url", &url, "-t", "15s", "--interval", "5ms"])
            .args(["--max-interval", "20ms", "--"])
            .args(sh("echo ran")),
    );
    watched.wait_for_line("a 503 logged", WAIT, |l| l.contains("reason=\"503"));
    // The proxy goes away: the port is closed, so connections are refused.
    before.close();
    watched.wait_for_line("the refusal logged", WAIT, |l| {
        l.contains(&format!("nothing listening on {addr}"))
    });
    // It comes back on the same port, ready.
    let after = Endpoint::on(rebind(addr), |_| Behaviour::Status(200, Vec::new()));
    let result = watched.finish();
    result.assert_code(0);
    assert_eq!(result.stdout, "ran\n");
    assert_eq!(after.hits(), 1, "one probe after the restart is enough");
}

#[test]
fn a_proxy_that_closes_its_port_for_good_times_out_naming_the_refusal() {
    let before = unavailable();
    let mut watched = Watched::spawn(
        readygate()
            .args([
                "--url",
                &before.url(),
                "-t",
                "1500ms",
                "--interval",
                "5ms",
                "--",
            ])
            .args(sh("echo ran")),
    );
    watched.wait_for_line("a 503 logged", WAIT, |l| l.contains("reason=\"503"));
    before.close();
    let result = watched.finish();
    result.assert_code(69);
    assert_eq!(result.stdout, "", "the command must not run");
    assert!(
        result
            .stderr
            .lines()
            .any(|l| l.contains("not ready after") && l.contains("nothing listening")),
        "the last outcome is the refusal:\n{}",
        result.stderr
    );
}
