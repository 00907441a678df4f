//! Each preset answers on the real agent's paths with the real agent's bodies.

mod support;

use support::{http, Mock};

/// (ready status and body, not-ready status and body) on `ready_path` for `preset`.
fn replies(preset: &str, ready_path: &str) -> ((u16, String), (u16, String)) {
    let ready = Mock::start(&["--preset", preset, "--listen", "127.0.0.1:0"]);
    let never = Mock::start(&[
        "--preset",
        preset,
        "--listen",
        "127.0.0.1:0",
        "--never-ready",
    ]);
    (
        http(ready.address(), "GET", ready_path).unwrap(),
        http(never.address(), "GET", ready_path).unwrap(),
    )
}

#[test]
fn istio_preset_answers_healthz_ready_200_empty_and_503_with_pilot_agents_reason() {
    let (ready, not_ready) = replies("istio", "/healthz/ready");
    assert_eq!(ready, (200, String::new()));
    assert_eq!(
        not_ready,
        (
            503,
            "config not received from XDS server (is Istiod running?)\n".into()
        )
    );
}

#[test]
fn envoy_preset_answers_ready_live_and_503_pre_initializing() {
    let (ready, not_ready) = replies("envoy", "/ready");
    assert_eq!(ready, (200, "LIVE\n".into()));
    assert_eq!(not_ready, (503, "PRE_INITIALIZING\n".into()));
}

#[test]
fn linkerd_preset_answers_ready_and_503_not_ready() {
    let (ready, not_ready) = replies("linkerd", "/ready");
    assert_eq!(ready, (200, "ready\n".into()));
    assert_eq!(not_ready, (503, "not ready\n".into()));
}
