//! Logs: stderr only, quiet when all is well, throttled while waiting, valid JSON with the
//! fields collectors read, the proxy's own reason (sanitised and bounded) when it gives one, and
//! with dependencies, which stage is waiting.

mod support;

use serde_json::Value;
use support::endpoint::{Behaviour, Endpoint};
use support::wire::{Act, Peer};
use support::{readygate, run, EVERY_MS};

fn json_lines(stderr: &str) -> Vec<Value> {
    stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

fn ok() -> Behaviour {
    Behaviour::Status(200, Vec::new())
}

#[test]
fn a_ready_endpoint_logs_one_line_to_start_and_one_when_ready() {
    let ep = Endpoint::start(ok());
    let result = run(readygate().args(["--url", &ep.url()]));
    result.assert_code(0);
    let lines: Vec<&str> = result.stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{}", result.stderr);
    assert!(
        lines[0].contains("waiting for the sidecar to be ready") && lines[0].contains(&ep.url())
    );
    assert!(lines[0].contains("timeout=2m"));
    assert!(lines[1].contains("ready") && lines[1].contains("attempts=1"));
}

#[test]
fn quiet_prints_nothing_on_success_and_only_the_error_on_timeout() {
    let ep = Endpoint::start(ok());
    let result = run(readygate().args(["--url", &ep.url(), "-q"]));
    result.assert_code(0);
    assert_eq!(result.stderr, "");
    let ep = Endpoint::start(Behaviour::Status(503, Vec::new()));
    let result = run(readygate().args(["--url", &ep.url(), "-q", "-t", "200ms"]));
    result.assert_code(69);
    assert_eq!(result.stderr.lines().count(), 1, "{}", result.stderr);
    result
        .assert_stderr_has("ERROR")
        .assert_stderr_has("not ready after");
}

#[test]
fn json_lines_carry_time_severity_message_and_structured_fields() {
    let ep = Endpoint::after(
        3,
        Behaviour::Status(503, b"PRE_INITIALIZING\n".to_vec()),
        ok(),
    );
    let result = run(readygate().args(["--url", &ep.url(), "--log-format", "json"]));
    result.assert_code(0);
    let lines = json_lines(&result.stderr);
    assert_eq!(lines.len(), 3, "start, reason, ready:\n{}", result.stderr);
    for line in &lines {
        assert!(
            line["time"].as_str().is_some_and(|t| t.ends_with('Z')),
            "{line}"
        );
        assert_eq!(line["severity"], "INFO", "{line}");
        assert!(line["message"].is_string(), "{line}");
    }
    assert_eq!(lines[1]["reason"], "503 \"PRE_INITIALIZING\"");
    assert_eq!(lines[1]["url"], ep.url().as_str());
    assert_eq!(lines[2]["message"], "ready");
    assert_eq!(lines[2]["attempts"], 4);
    assert!(lines[2]["elapsed_ms"].is_u64());
}

#[test]
fn json_severity_uses_cloud_logging_names_for_warnings_and_errors() {
    let ep = Endpoint::start(Behaviour::Status(503, Vec::new()));
    let result = run(readygate().args(["--url", &ep.url(), "--log-format", "json", "-t", "100ms"]));
    result.assert_code(69);
    let last = json_lines(&result.stderr).pop().expect("a line");
    assert_eq!(last["severity"], "ERROR");
    let result = run(readygate()
        .args(["--url", &ep.url(), "-t", "100ms", "--timeout-fatal=false"])
        .env("READYGATE_LOG_FORMAT", "json"));
    result.assert_code(0);
    let last = json_lines(&result.stderr).pop().expect("a line");
    assert_eq!(last["severity"], "WARNING");
}

#[test]
fn a_line_is_logged_when_the_reason_changes_not_on_every_probe() {
    let ep = Endpoint::scripted("127.0.0.1:0", |n| match n {
        0..=4 => Behaviour::Status(503, b"PRE_INITIALIZING".to_vec()),
        5..=9 => Behaviour::Status(503, b"INITIALIZING".to_vec()),
        _ => Behaviour::Status(200, b"LIVE".to_vec()),
    });
    let result = run(readygate().args(["--url", &ep.url()]).args(EVERY_MS));
    result.assert_code(0);
    let changes = result.stderr_lines_with("not ready yet");
    assert_eq!(changes.len(), 2, "{}", result.stderr);
    assert!(
        changes[0].contains(r#"reason="503 \"PRE_INITIALIZING\"""#),
        "{}",
        changes[0]
    );
    assert!(
        changes[1].contains(r#"reason="503 \"INITIALIZING\"""#),
        "{}",
        changes[1]
    );
    assert_eq!(ep.hits(), 11);
}

#[test]
fn progress_lines_are_throttled_while_waiting() {
    let ep = Endpoint::start(Behaviour::Status(
        503,
        b"config not received from XDS server (is Istiod running?)".to_vec(),
    ));
    let result = run(readygate().args([
        "--url",
        &ep.url(),
        "-t",
        "3s",
        "--interval",
        "5ms",
        "--max-interval",
        "5ms",
    ]));
    result.assert_code(69);
    let progress = result.stderr_lines_with("still waiting");
    assert_eq!(
        progress.len(),
        1,
        "one progress line in 3 s (at 2 s):\n{}",
        result.stderr
    );
    assert!(
        progress[0].contains("(is Istiod running?)") && progress[0].contains("attempt="),
        "{}",
        progress[0]
    );
    assert!(
        ep.hits() > 50,
        "probing went on between progress lines: {}",
        ep.hits()
    );
    assert!(result.stderr.lines().count() <= 4, "{}", result.stderr);
}

#[test]
fn the_proxys_reason_is_stripped_of_escapes_and_controls_in_text_and_json() {
    let body =
        b"\x1b[31mconfig\x1b[0m not\x07 received\x1b]0;pwned\x07 \x00from XDS\r\nsecond line"
            .to_vec();
    let ep = Endpoint::start(Behaviour::Status(503, body));
    let result = run(readygate().args(["--url", &ep.url(), "-t", "200ms"]));
    result.assert_code(69);
    result.assert_stderr_has(r#"503 \"config not received from XDS\""#);
    assert!(!result.stderr.contains('\u{1b}') && !result.stderr.contains('\u{7}'));
    assert!(!result.stderr.contains("second line") && !result.stderr.contains("pwned"));
    let result = run(readygate().args(["--url", &ep.url(), "-t", "200ms", "--log-format", "json"]));
    let lines = json_lines(&result.stderr);
    assert!(
        lines
            .iter()
            .any(|l| l["reason"] == "503 \"config not received from XDS\""),
        "{}",
        result.stderr
    );
}

#[test]
fn a_megabyte_body_yields_a_bounded_reason() {
    let ep = Endpoint::start(Behaviour::HugeBody(1024 * 1024));
    let result = run(readygate().args(["--url", &ep.url(), "-t", "500ms"]));
    result.assert_code(69);
    let line = result.stderr_lines_with("not ready after")[0];
    assert!(line.len() < 400, "bounded: {} bytes", line.len());
    assert!(line.contains("xxx…"), "{line}");
}

#[test]
fn readygate_log_sets_the_level_and_the_quiet_and_verbose_flags_beat_it() {
    let ep = Endpoint::start(Behaviour::Status(503, Vec::new()));
    let debug_lines = |result: &support::Run| {
        result
            .stderr
            .lines()
            .filter(|l| l.contains("DEBUG"))
            .count()
    };
    for filter in ["debug", "readygate=debug"] {
        let result = run(readygate()
            .args(["--url", &ep.url(), "-t", "100ms"])
            .env("READYGATE_LOG", filter));
        assert!(debug_lines(&result) > 0, "{filter}:\n{}", result.stderr);
    }
    let result = run(readygate()
        .args(["--url", &ep.url(), "-t", "100ms", "-q"])
        .env("READYGATE_LOG", "debug"));
    assert_eq!(result.stderr.lines().count(), 1, "{}", result.stderr);
    let result = run(readygate()
        .args(["--url", &ep.url(), "-t", "100ms"])
        .env("READYGATE_LOG", "error")
        .env("READYGATE_VERBOSE", "true"));
    assert!(debug_lines(&result) > 0, "{}", result.stderr);
    let result = run(readygate()
        .args(["--url", &ep.url(), "-t", "100ms"])
        .env("READYGATE_LOG", "warn"));
    assert!(!result.stderr.contains(" INFO "), "{}", result.stderr);
    result.assert_stderr_has("ERROR");
}

#[test]
fn without_dependencies_no_line_names_a_stage() {
    let ep = Endpoint::after(2, Behaviour::Status(503, Vec::new()), ok());
    let result = run(readygate().args(["--url", &ep.url()]).args(EVERY_MS));
    result.assert_code(0);
    assert_eq!(result.stderr.lines().count(), 3, "{}", result.stderr);
    for word in ["stage=", "dependencies", "sidecar ready"] {
        assert!(!result.stderr.contains(word), "{word}: {}", result.stderr);
    }
}

#[test]
fn a_wait_with_dependencies_says_which_stage_is_waiting() {
    let sidecar = Endpoint::start(ok());
    let redis = Peer::scripted(|n| {
        Act::answer(
            14,
            if n < 2 {
                b"-LOADING Redis is loading the dataset in memory\r\n"
            } else {
                b"+PONG\r\n"
            },
        )
    });
    let url = redis.url("redis");
    let result = run(readygate()
        .args(["--url", &sidecar.url(), "--url", &url])
        .args(EVERY_MS));
    result.assert_code(0);
    let lines: Vec<&str> = result.stderr.lines().collect();
    assert_eq!(lines.len(), 4, "{}", result.stderr);
    assert!(
        lines[0].contains("waiting for the sidecar to be ready")
            && lines[0].contains(&format!("url={}", sidecar.url()))
            && lines[0].contains(&format!("dependencies={url}")),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].contains(&format!(
            "sidecar ready; waiting for the dependencies: {url}"
        )),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].contains("not ready yet")
            && lines[2].contains("stage=dependencies")
            && lines[2].contains("LOADING"),
        "{}",
        lines[2]
    );
    assert!(
        lines[3].contains("ready") && lines[3].contains("attempts=4"),
        "{}",
        lines[3]
    );
}

#[test]
fn progress_lines_name_the_stage_that_is_waiting() {
    let sidecar = Endpoint::start(ok());
    let redis = Peer::start(Act::answer(
        14,
        b"-LOADING Redis is loading the dataset in memory\r\n",
    ));
    let result = run(readygate().args([
        "--url",
        &sidecar.url(),
        "--url",
        &redis.url("redis"),
        "-t",
        "2500ms",
    ]));
    result.assert_code(69);
    let progress = result.stderr_lines_with("still waiting");
    assert_eq!(progress.len(), 1, "{}", result.stderr);
    assert!(
        progress[0].contains("stage=dependencies") && progress[0].contains("LOADING"),
        "{}",
        progress[0]
    );
}

#[test]
fn a_token_in_an_http_query_is_never_logged_in_text_or_json() {
    let ep = Endpoint::start(Behaviour::Status(503, Vec::new()));
    let url = format!("{}?token=s3cret-token#s3cret-fragment", ep.url());
    for format in ["text", "json"] {
        let result = run(readygate()
            .args(["--url", &url, "-v", "-t", "200ms"])
            .args(["--log-format", format]));
        result.timeout_line();
        assert!(
            !result.stderr.contains("s3cret"),
            "{format}:\n{}",
            result.stderr
        );
        result.assert_stderr_has(&format!("{}?<redacted>", ep.url()));
    }
}
