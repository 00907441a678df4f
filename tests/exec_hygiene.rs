//! exec replaces readygate with the command: same PID, argv byte-exact, environment unchanged,
//! no descriptor or signal state leaked; 126 and 127 when it cannot.

mod support;

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::process::Stdio;

use support::endpoint::{Behaviour, Endpoint};
use support::{finish, readygate, reporter, run};

fn ready() -> Endpoint {
    Endpoint::start(Behaviour::Status(200, Vec::new()))
}

#[test]
fn the_command_keeps_readygates_pid_argv_env_fds_and_a_clean_signal_state() {
    let ep = ready();
    let dir = tempdir();
    let report_file = dir.join("report");
    let args: Vec<OsString> = vec![
        OsString::from("plain"),
        OsString::from("with space"),
        OsString::from(""),
        OsString::from("--url"),
        OsString::from_vec(b"non-utf8-\xff\xfe".to_vec()),
    ];
    let child = readygate()
        .env_clear()
        .env("REPORT_FILE", &report_file)
        .env("KEEP_ME", "value=with=equals")
        .env(
            OsString::from("BYTES"),
            OsString::from_vec(b"\xc3\x28".to_vec()),
        )
        .args(["--url", &ep.url(), "--"])
        .arg(reporter::path())
        .args(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let pid = child.id();
    let result = finish(child);
    result.assert_code(0);
    let report = reporter::read(&report_file);

    assert_eq!(report.pid, pid, "exec keeps the PID");
    let mut expected_argv = vec![reporter::path().as_os_str().as_bytes().to_vec()];
    expected_argv.extend(args.iter().map(|a| a.as_bytes().to_vec()));
    assert_eq!(report.args, expected_argv, "argv byte-exact");
    let mut env = report.env.clone();
    env.sort();
    let mut expected_env = vec![
        b"BYTES=\xc3\x28".to_vec(),
        b"KEEP_ME=value=with=equals".to_vec(),
        [
            b"REPORT_FILE=".as_slice(),
            report_file.as_os_str().as_bytes(),
        ]
        .concat(),
    ];
    expected_env.sort();
    assert_eq!(env, expected_env, "environment unchanged, nothing added");
    // Whatever the test process itself inherits (CI runners leave some open) is the baseline.
    let baseline_file = dir.join("baseline");
    let baseline = std::process::Command::new(reporter::path())
        .env_clear()
        .env("REPORT_FILE", &baseline_file)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .expect("run the reporter directly");
    assert!(baseline.status.success());
    let baseline = reporter::read(&baseline_file);
    assert!(baseline.fds.starts_with(&[0, 1, 2]), "{:?}", baseline.fds);
    assert_eq!(
        report.fds, baseline.fds,
        "only the descriptors readygate inherited"
    );
    assert_eq!(report.blocked, "0000000000000000", "signal mask empty");
    assert_eq!(
        report.ignored, baseline.ignored,
        "no signal ignored that was not ignored at start"
    );
}

#[test]
fn a_command_without_a_slash_is_found_in_path() {
    let ep = ready();
    let dir = tempdir();
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).expect("mkdir");
    std::fs::copy(reporter::path(), bin.join("my-app")).expect("copy");
    let report_file = dir.join("report");
    let result = run(readygate()
        .env("PATH", &bin)
        .env("REPORT_FILE", &report_file)
        .args(["--url", &ep.url(), "--", "my-app", "exit7"]));
    result.assert_code(7);
    assert_eq!(reporter::read(&report_file).args[0], b"my-app");
}

#[test]
fn a_missing_command_exits_127_with_its_name() {
    let ep = ready();
    let result = run(readygate().args(["--url", &ep.url(), "--", "readygate-no-such-command"]));
    result.assert_code(127);
    result.assert_stderr_has("command not found: readygate-no-such-command");
}

#[test]
fn a_command_that_is_not_executable_exits_126() {
    let ep = ready();
    let dir = tempdir();
    let file = dir.join("not-executable");
    std::fs::write(&file, "#!/bin/sh\necho hi\n").expect("write");
    let result = run(readygate().args(["--url", &ep.url(), "--"]).arg(&file));
    result.assert_code(126);
    result.assert_stderr_has("command not executable");
}

#[test]
fn stdout_carries_only_the_commands_output() {
    let ep = Endpoint::scripted("127.0.0.1:0", |n| {
        if n < 3 {
            Behaviour::Status(503, b"warming up".to_vec())
        } else {
            Behaviour::Status(200, Vec::new())
        }
    });
    for format in ["text", "json"] {
        let result = run(readygate().args([
            "--url",
            &ep.url(),
            "-v",
            "--log-format",
            format,
            "--",
            "printf",
            "app-output",
        ]));
        result.assert_code(0);
        assert_eq!(result.stdout, "app-output", "{format}");
        assert!(!result.stderr.is_empty(), "logs went to stderr");
    }
    // Errors never touch stdout; --help and --version are the only output readygate writes
    // there (as every CLI does, so `readygate --version` can be captured), and nothing else.
    let result = run(readygate().args(["--timeout", "x"]));
    assert_eq!(result.stdout, "");
    for flag in ["--help", "--version"] {
        let result = run(readygate().arg(flag));
        result.assert_code(0);
        assert!(!result.stdout.is_empty(), "{flag} prints on stdout");
        assert_eq!(result.stderr, "", "{flag}");
    }
}

#[test]
fn help_lists_every_flag_variable_and_exit_code() {
    let result = run(readygate().arg("--help"));
    result.assert_code(0);
    for needle in [
        "ECONNREFUSED",
        "READYGATE_URL",
        "READYGATE_MESH",
        "READYGATE_TIMEOUT",
        "READYGATE_EXPECT_STATUS",
        "READYGATE_REQUEST_TIMEOUT",
        "READYGATE_INTERVAL",
        "READYGATE_MAX_INTERVAL",
        "READYGATE_DISABLED",
        "READYGATE_LOG_FORMAT",
        "READYGATE_LOG",
        "69",
        "126",
        "127",
        "128+N",
        "[default: 120s]",
    ] {
        assert!(result.stdout.contains(needle), "{needle}");
    }
    let version = run(readygate().arg("--version"));
    version.assert_code(0);
    assert_eq!(
        version.stdout,
        format!("readygate {}\n", env!("CARGO_PKG_VERSION"))
    );
}

fn tempdir() -> std::path::PathBuf {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "exec-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::create_dir_all(&dir).expect("mkdir");
    dir
}
