//! exec replaces readygate with the command: same PID, argv byte-exact, environment unchanged,
//! no descriptor or signal state leaked; 126 and 127 when it cannot.

mod support;

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::process::Stdio;

use support::endpoint::{Behaviour, Endpoint};
use support::Watched;
use support::{readygate, reporter, run, temp_dir};

fn ready() -> Endpoint {
    Endpoint::start(Behaviour::Status(200, Vec::new()))
}

#[test]
fn the_command_keeps_readygates_pid_argv_env_fds_and_a_clean_signal_state() {
    let ep = ready();
    let dir = temp_dir("exec");
    let report_file = dir.join("report");
    let args: Vec<OsString> = vec![
        OsString::from("plain"),
        OsString::from("with space"),
        OsString::from(""),
        OsString::from("--url"),
        OsString::from_vec(b"non-utf8-\xff\xfe".to_vec()),
    ];
    let child = Watched::spawn(
        readygate()
            .env_clear()
            .env("REPORT_FILE", &report_file)
            .env("KEEP_ME", "value=with=equals")
            .env(
                OsString::from("BYTES"),
                OsString::from_vec(b"\xc3\x28".to_vec()),
            )
            .args(["--url", &ep.url(), "--"])
            .arg(reporter::path())
            .args(&args),
    );
    let pid = child.pid();
    let result = child.finish();
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
    let dir = temp_dir("exec");
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
    let dir = temp_dir("exec");
    let file = dir.join("not-executable");
    std::fs::write(&file, "#!/bin/sh\necho hi\n").expect("write");
    let result = run(readygate().args(["--url", &ep.url(), "--"]).arg(&file));
    result.assert_code(126);
    result.assert_stderr_has("command not executable");
}

#[test]
fn stdout_carries_only_the_commands_output() {
    let ep = Endpoint::after(
        3,
        Behaviour::Status(503, b"warming up".to_vec()),
        Behaviour::Status(200, Vec::new()),
    );
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
    // Errors too: a usage error and a timeout never touch stdout.
    let closed = format!("tcp://127.0.0.1:{}", support::closed_port());
    for args in [vec!["--timeout", "x"], vec!["--url", &closed, "-t", "50ms"]] {
        let result = run(readygate().args(&args));
        assert_ne!(result.code(), 0, "{args:?}");
        assert_eq!(result.stdout, "", "{args:?}");
    }
    // --help and --version are the only output readygate writes there (as every CLI does, so
    // `readygate --version` can be captured), and they write nothing else.
    for flag in ["--help", "--version"] {
        let result = run(readygate().arg(flag));
        result.assert_code(0);
        assert!(!result.stdout.is_empty(), "{flag} prints on stdout");
        assert_eq!(result.stderr, "", "{flag}");
    }
}

/// One option of the help text: its long name (`--timeout`) and the lines that describe it.
struct HelpOption {
    flag: String,
    text: String,
}

/// The options the help lists, read from the help text itself so a new flag is covered without
/// touching this test. An option starts at an indented line beginning with `-`.
fn help_options(help: &str) -> Vec<HelpOption> {
    let mut options: Vec<HelpOption> = Vec::new();
    let mut in_options = false;
    for line in help.lines() {
        if line.starts_with("Options:") {
            in_options = true;
            continue;
        }
        if !in_options {
            continue;
        }
        if !line.is_empty() && !line.starts_with(' ') {
            break; // the prose after the option list
        }
        let heading = line.trim_start();
        if heading.starts_with('-') && line.starts_with("  ") && !line.starts_with("        ") {
            let flag = heading
                .split([' ', ','])
                .find(|w| w.starts_with("--"))
                .unwrap_or_else(|| panic!("no long name in {line:?}"));
            let flag = flag
                .split(['[', '=', '<'])
                .next()
                .expect("name")
                .to_string();
            options.push(HelpOption {
                flag,
                text: String::new(),
            });
        }
        if let Some(option) = options.last_mut() {
            option.text.push_str(line);
            option.text.push('\n');
        }
    }
    options
}

/// The help text (on stdout, as every CLI's).
fn help_text() -> String {
    let result = run(readygate().arg("--help"));
    result.assert_code(0);
    result.stdout.clone()
}

#[test]
fn help_documents_every_flag_with_its_variable_and_default() {
    let help = help_text();
    let options = help_options(&help);
    let flags: Vec<&str> = options.iter().map(|o| o.flag.as_str()).collect();
    for known in ["--url", "--timeout", "--shutdown", "--help", "--version"] {
        assert!(flags.contains(&known), "{known} not found in {flags:?}");
    }
    for option in options {
        let flag = option.flag.as_str();
        if flag == "--help" || flag == "--version" {
            continue;
        }
        let var = format!(
            "READYGATE_{}",
            flag.trim_start_matches('-')
                .replace('-', "_")
                .to_uppercase()
        );
        assert!(
            option.text.contains(&format!("[env: {var}]")),
            "{flag} does not name {var}:\n{}",
            option.text
        );
        assert!(
            option.text.contains("[default: "),
            "{flag} has no default:\n{}",
            option.text
        );
        // The parser knows the flag and its variable, and reads both the same way: a value it
        // rejects for one it rejects for the other, naming whichever was given.
        let scratch = temp_dir("help-values");
        let quick = || {
            // Should the value be taken, the run ends at once; the tested variable overrides.
            // In a scratch directory: a path option's "bogus" (--termination-log) is a file
            // readygate then writes, which must not land in the source tree.
            let mut cmd = readygate();
            cmd.env("READYGATE_URL", "tcp://127.0.0.1:1")
                .env("READYGATE_TIMEOUT", "1ms")
                .current_dir(&scratch);
            cmd
        };
        let by_flag = run(quick().arg(format!("{flag}=bogus")));
        assert!(
            !by_flag.stderr.contains("unknown option"),
            "the help lists {flag}, the parser does not know it:\n{}",
            by_flag.stderr
        );
        let by_var = run(quick().env(&var, "bogus"));
        match by_flag.code() {
            2 => {
                by_flag.assert_stderr_has(flag);
                by_var.assert_code(2).assert_stderr_has(&var);
            }
            code => assert_ne!(by_var.code(), 2, "{var} rejected what {flag} took ({code})"),
        }
    }
}

#[test]
fn help_lists_every_exit_code() {
    let help = help_text();
    let section = help
        .split_once("EXIT CODES:")
        .map(|(_, codes)| codes)
        .expect("an EXIT CODES section");
    let listed: Vec<&str> = section
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    for code in ["0", "<status>", "2", "69", "71", "126", "127", "128+N"] {
        assert!(
            listed.contains(&code),
            "exit code {code} missing: {listed:?}"
        );
    }
}

#[test]
fn version_prints_the_package_version() {
    let result = run(readygate().arg("--version"));
    result.assert_code(0);
    assert_eq!(
        result.stdout,
        format!("readygate {}\n", env!("CARGO_PKG_VERSION"))
    );
}
