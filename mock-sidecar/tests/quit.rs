//! The quit endpoint: a POST is answered 200 and then the sidecar exits 0; anything else keeps it
//! running. Signals end it with 0 too, as a sidecar under `podman stop` should.

mod support;

use support::{http, Mock};

#[test]
fn post_quitquitquit_is_answered_200_then_the_sidecar_exits_0() {
    let mut mock = Mock::start(&["--listen", "127.0.0.1:0", "--never-ready"]);
    let addr = mock.address();
    assert_eq!(
        http(addr, "POST", "/quitquitquit").unwrap(),
        (200, "OK".into())
    );
    assert!(mock.wait_exit().success());
    mock.wait_for_line(|l| l.contains("quit requested (POST /quitquitquit): exiting 0"));
}

#[test]
fn linkerd_quits_on_post_shutdown() {
    let mut mock = Mock::start(&["--preset", "linkerd", "--listen", "127.0.0.1:0"]);
    assert_eq!(http(mock.address(), "POST", "/shutdown").unwrap().0, 200);
    assert!(mock.wait_exit().success());
}

#[test]
fn get_on_the_quit_path_is_405_and_the_sidecar_keeps_running() {
    let mut mock = Mock::start(&["--listen", "127.0.0.1:0"]);
    let addr = mock.address();
    assert_eq!(http(addr, "GET", "/quitquitquit").unwrap().0, 405);
    // Still serving after the request was handled (its log line proves it was).
    mock.wait_for_line(|l| l.contains("\"GET /quitquitquit\" 405"));
    assert_eq!(http(addr, "GET", "/healthz/ready").unwrap().0, 200);
    assert!(mock.running());
}

#[test]
fn sigterm_ends_the_sidecar_with_0() {
    let mut mock = Mock::start(&["--listen", "127.0.0.1:0"]);
    mock.address();
    let pid = mock.pid().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    assert!(mock.wait_exit().success());
    mock.wait_for_line(|l| l.contains("SIGTERM: exiting 0"));
}
