//! Bad input never crashes readygate and never loses the user's intent: one clear line naming
//! the flag or variable at fault, and exit 2. A flag beats its variable.

mod support;

use support::endpoint::{Behaviour, Endpoint};
use support::{readygate, run};

/// (flag, variable, a bad value, words the message must contain)
const BAD_VALUES: &[(&str, &str, &str, &str)] = &[
    (
        "--url",
        "READYGATE_URL",
        "https://localhost:15021/healthz/ready",
        "https:// (TLS) is not supported",
    ),
    (
        "--url",
        "READYGATE_URL",
        "rediss://cache:6380",
        "rediss:// (TLS) is not supported",
    ),
    (
        "--url",
        "READYGATE_URL",
        "postgres://db:5432/orders",
        "remove the path (from /)",
    ),
    (
        "--url",
        "READYGATE_URL",
        "redis://cache:6379?db=0",
        "remove the query",
    ),
    (
        "--url",
        "READYGATE_URL",
        "ftp://localhost/",
        "unsupported scheme",
    ),
    ("--url", "READYGATE_URL", "localhost:15020", "no scheme"),
    ("--url", "READYGATE_URL", "tcp://localhost", "needs a port"),
    (
        "--url",
        "READYGATE_URL",
        "http://localhost:99999/",
        "invalid port",
    ),
    (
        "--mesh",
        "READYGATE_MESH",
        "consul",
        "istio, linkerd, envoy, none",
    ),
    (
        "--pod-annotations",
        "READYGATE_POD_ANNOTATIONS",
        " ",
        "expected a path",
    ),
    (
        "--expect-status",
        "READYGATE_EXPECT_STATUS",
        "700",
        "expected statuses",
    ),
    (
        "--timeout",
        "READYGATE_TIMEOUT",
        "soon",
        "expected a duration",
    ),
    (
        "--timeout-exit-code",
        "READYGATE_TIMEOUT_EXIT_CODE",
        "256",
        "0 to 255",
    ),
    (
        "--request-timeout",
        "READYGATE_REQUEST_TIMEOUT",
        "0",
        "greater than zero",
    ),
    (
        "--interval",
        "READYGATE_INTERVAL",
        "-1s",
        "expected a duration",
    ),
    (
        "--max-interval",
        "READYGATE_MAX_INTERVAL",
        "5x",
        "unknown unit",
    ),
    ("--log-format", "READYGATE_LOG_FORMAT", "xml", "text, json"),
    (
        "--quit-url",
        "READYGATE_QUIT_URL",
        "tcp://localhost:15020",
        "expected http://",
    ),
    (
        "--tcp-settle",
        "READYGATE_TCP_SETTLE",
        "soon",
        "expected a duration",
    ),
    (
        "--file-settle",
        "READYGATE_FILE_SETTLE",
        "soon",
        "expected a duration",
    ),
    (
        "--proxy-uid",
        "READYGATE_PROXY_UID",
        "1337,istio-proxy",
        "expected a numeric uid",
    ),
    ("--install", "READYGATE_INSTALL", " ", "expected a path"),
    (
        "--termination-log",
        "READYGATE_TERMINATION_LOG",
        " ",
        "expected a path",
    ),
];

/// Boolean flags take `--flag=VALUE`.
const BAD_BOOLEANS: &[(&str, &str)] = &[
    ("--timeout-fatal", "READYGATE_TIMEOUT_FATAL"),
    ("--disabled", "READYGATE_DISABLED"),
    ("--quiet", "READYGATE_QUIET"),
    ("--verbose", "READYGATE_VERBOSE"),
    ("--shutdown", "READYGATE_SHUTDOWN"),
    ("--shutdown-on-failure", "READYGATE_SHUTDOWN_ON_FAILURE"),
    ("--wait-app-exit", "READYGATE_WAIT_APP_EXIT"),
];

#[test]
fn every_option_in_the_help_has_a_bad_value_case_here() {
    let help = run(readygate().arg("--help")).stdout;
    let options: Vec<&str> = help
        .lines()
        // An option's own line starts `  -x, --name` or `      --name`; its description is
        // indented by ten spaces (and may itself mention a flag).
        .filter(|l| l.starts_with("  -") || l.starts_with("      --"))
        .filter_map(|l| l.trim_start().split_once("--"))
        .filter(|(short, _)| short.is_empty() || short.ends_with(", "))
        .filter_map(|(_, rest)| rest.split(['[', ' ', '=']).next())
        .filter(|name| !name.is_empty() && *name != "help" && *name != "version")
        .collect();
    assert!(options.len() >= 20, "options found in --help: {options:?}");
    for name in options {
        let flag = format!("--{name}");
        assert!(
            BAD_VALUES.iter().any(|(f, ..)| *f == flag)
                || BAD_BOOLEANS.iter().any(|(f, _)| *f == flag),
            "{flag} has no bad-value case"
        );
    }
}

fn assert_one_line_usage_error(result: &support::Run, names: &[&str]) {
    result.assert_code(2);
    assert_eq!(result.stdout, "");
    let lines: Vec<&str> = result.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line:\n{}", result.stderr);
    assert!(lines[0].starts_with("readygate: "), "{}", lines[0]);
    for name in names {
        assert!(lines[0].contains(name), "{name} missing from: {}", lines[0]);
    }
}

#[test]
fn a_bad_flag_value_is_one_line_naming_the_flag_and_exits_2() {
    for (flag, _, value, words) in BAD_VALUES {
        let result = run(readygate().arg(format!("{flag}={value}")));
        assert_one_line_usage_error(&result, &[flag, words]);
    }
    for (flag, _) in BAD_BOOLEANS {
        let result = run(readygate().arg(format!("{flag}=maybe")));
        assert_one_line_usage_error(&result, &[flag, "1, true, yes, on, 0, false, no, off"]);
    }
}

#[test]
fn a_bad_variable_is_one_line_naming_the_variable_and_exits_2() {
    for (_, var, value, words) in BAD_VALUES {
        let result = run(readygate().env(var, value));
        assert_one_line_usage_error(&result, &[var, words]);
    }
    for (_, var) in BAD_BOOLEANS {
        let result = run(readygate().env(var, "maybe"));
        assert_one_line_usage_error(&result, &[var, "maybe"]);
    }
    let result = run(readygate().env("READYGATE_LOG", "readygate=loud"));
    assert_one_line_usage_error(&result, &["READYGATE_LOG"]);
}

#[test]
fn an_unknown_flag_is_a_usage_error() {
    let result = run(readygate().arg("--bogus"));
    assert_one_line_usage_error(&result, &["--bogus"]);
}

#[test]
fn a_flag_beats_its_variable_even_an_invalid_one() {
    let ep = Endpoint::start(Behaviour::Status(200, Vec::new()));
    run(readygate()
        .args(["--url", &ep.url()])
        .env("READYGATE_URL", "https://nope/"))
    .assert_code(0);
    run(readygate()
        .args(["--url", &ep.url(), "--timeout", "5s"])
        .env("READYGATE_TIMEOUT", "soon"))
    .assert_code(0);
}

#[test]
fn variables_apply_when_their_flag_is_absent() {
    let ep = Endpoint::start(Behaviour::Status(503, Vec::new()));
    // The variable's 7 beats the default 69, the flag's 9 beats the variable.
    run(readygate()
        .args(["--url", &ep.url(), "-t", "100ms"])
        .env("READYGATE_TIMEOUT_EXIT_CODE", "7"))
    .assert_code(7);
    run(readygate()
        .args([
            "--url",
            &ep.url(),
            "-t",
            "100ms",
            "--timeout-exit-code",
            "9",
        ])
        .env("READYGATE_TIMEOUT_EXIT_CODE", "7"))
    .assert_code(9);
    // READYGATE_TIMEOUT alone bounds the wait.
    run(readygate()
        .args(["--url", &ep.url()])
        .env("READYGATE_TIMEOUT", "100ms"))
    .assert_code(69);
}

#[test]
fn boolean_words_are_accepted_in_any_case() {
    let ep = Endpoint::start(Behaviour::Status(503, Vec::new()));
    for word in ["1", "TRUE", "Yes", "on"] {
        run(readygate()
            .args(["--url", &ep.url()])
            .env("READYGATE_DISABLED", word))
        .assert_code(0);
    }
    for word in ["0", "False", "NO", "off"] {
        run(readygate()
            .args(["--url", &ep.url(), "-t", "50ms"])
            .env("READYGATE_DISABLED", word))
        .assert_code(69);
    }
}

#[test]
fn the_command_may_follow_without_a_double_dash_and_keeps_its_own_flags() {
    let ep = Endpoint::start(Behaviour::Status(200, Vec::new()));
    let result = run(readygate().args(["--url", &ep.url(), "printf", "%s", "--url"]));
    result.assert_code(0);
    assert_eq!(result.stdout, "--url");
}

#[test]
fn an_option_of_a_mode_not_chosen_is_one_warning_and_the_gate_still_runs() {
    let ep = Endpoint::start(Behaviour::Status(200, Vec::new()));
    // Forgetting --shutdown: the sidecar would never be quit, so say so instead of staying silent.
    let result = run(readygate()
        .args(["--url", &ep.url(), "--quit-url", "http://127.0.0.1:1/quit"])
        .env("READYGATE_PROXY_UID", "1337")
        .args(["--", "printf", "ran"]));
    result.assert_code(0);
    assert_eq!(result.stdout, "ran");
    assert_eq!(
        result
            .stderr_lines_with("--quit-url has no effect without --shutdown")
            .len(),
        1,
        "{}",
        result.stderr
    );
    assert_eq!(
        result
            .stderr_lines_with("READYGATE_PROXY_UID has no effect without --wait-app-exit")
            .len(),
        1,
        "{}",
        result.stderr
    );
}

#[test]
fn a_password_in_a_url_is_refused_and_never_printed_from_the_flag_or_the_variable() {
    for url in [
        "redis://:s3cret-pw@cache:6379",
        "postgres://app:s3cret-pw@db:5432",
        "mysql://app:s3cret-pw@db",
        "redis://:s3cret/pw@cache",
        "http://app:s3cret-pw@localhost:15020/healthz/ready",
        "http://localhost:15020/ready,redis://:s3cret-pw@cache",
        // A comma in the password splits the list inside the user information.
        "postgres://app:s3cret,pw@db:5432",
        "redis://:s3cret,pw@cache",
        "http://localhost:15020/ready,mysql://app:s3cret,pw@db",
    ] {
        let flag = run(readygate().args(["--url", url]));
        assert_one_line_usage_error(&flag, &["--url", "user information", "<redacted>@"]);
        let var = run(readygate().env("READYGATE_URL", url));
        assert_one_line_usage_error(&var, &["READYGATE_URL", "user information", "<redacted>@"]);
        for result in [&flag, &var] {
            assert!(
                !result.stderr.contains("s3cret") && !result.stderr.contains("app:"),
                "{url}: {}",
                result.stderr
            );
        }
    }
}

#[test]
fn a_password_in_a_quit_url_is_refused_as_user_information_and_never_printed() {
    for url in [
        "http://app:s3cret-pw@localhost:15020/quitquitquit",
        "http://app:s3cret,pw@localhost:15020/quitquitquit",
    ] {
        let result = run(readygate().args(["--quit-url", url, "-S", "--", "true"]));
        assert_one_line_usage_error(&result, &["--quit-url", "user information", "<redacted>@"]);
        assert!(
            !result.stderr.contains("s3cret"),
            "{url}: {}",
            result.stderr
        );
    }
}

#[test]
fn a_query_in_a_bad_url_is_never_printed() {
    let result = run(readygate().args(["--url", "postgres://db/?password=s3cret-pw"]));
    assert_one_line_usage_error(
        &result,
        &["--url", "remove the query", "postgres://db/<redacted>"],
    );
    assert!(!result.stderr.contains("s3cret"), "{}", result.stderr);
}
