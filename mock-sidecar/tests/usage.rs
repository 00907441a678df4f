//! Usage errors: one line on stderr naming the flag or the variable at fault, exit 2; help on
//! stdout with 0; an address that cannot be bound is exit 1.

use std::net::TcpListener;
use std::process::{Command, Output};

fn mock(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mock-sidecar"))
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_bad_flag_value_is_one_line_naming_the_flag_and_exit_2() {
    let out = mock(&["--preset", "consul"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("'consul' for '--preset"),
        "{}",
        stderr(&out)
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn a_bad_variable_is_named_as_the_variable() {
    let out = mock(&[], &[("MOCK_SIDECAR_NOT_READY_FOR", "soon")]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("(from MOCK_SIDECAR_NOT_READY_FOR)"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_flag_beats_its_variable() {
    // The variable is bad, the flag good: the flag's value is used and no error is raised
    // (--help ends the run at once with 0 after parsing everything).
    let out = mock(&["--flap", "1s", "--help"], &[("MOCK_SIDECAR_FLAP", "0")]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn never_ready_with_flap_is_a_usage_error() {
    let out = mock(&["--never-ready", "--flap", "1s"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--flap"), "{}", stderr(&out));
}

#[test]
fn a_zero_flap_period_is_a_usage_error() {
    let out = mock(&["--flap", "0"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--flap"), "{}", stderr(&out));
}

#[test]
fn help_goes_to_stdout_with_0_and_names_every_variable() {
    let out = mock(&["--help"], &[]);
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8(out.stdout).unwrap();
    for var in [
        "PRESET",
        "LISTEN",
        "REFUSE_FOR",
        "NOT_READY_FOR",
        "NEVER_READY",
        "FLAP",
        "HANG",
    ] {
        assert!(
            help.contains(&format!("[env: MOCK_SIDECAR_{var}]")),
            "{var}: {help}"
        );
    }
}

#[test]
fn an_address_in_use_is_exit_1_naming_it() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = mock(&["--listen", &addr], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(&format!("cannot listen on {addr}")),
        "{}",
        stderr(&out)
    );
}
