//! The command line: every flag, its READYGATE_* variable, default and help, in one table.
//!
//! A flag beats its variable, and a variable beats the default. Errors are one line that names
//! the flag, or the variable when the bad value came from one, and says what would be accepted.
//!
//! Why not clap: with clap (derive + env) the static binary measured 1,053,456 bytes, over the
//! 1 MiB budget, and its peak RSS 1,044 KiB, over the 1 MiB target (clap_builder alone is ~106 KB
//! of code, and building its `Command` allocates ~60 KB). lexopt (a small, well-kept argument
//! lexer) plus this table does the same job for users, generates the help from the same table the
//! parser uses, and keeps both targets with room to spare; see `.cargo/config.toml` for sizes.

use std::ffi::{OsStr, OsString};
use std::fmt::Write as _;
use std::time::Duration;

use crate::backoff;
use crate::parse::{self, StatusSet};
use crate::preset::Mesh;
use crate::target::{Kind, Target};

const ABOUT: &str = "\
Wait until the service-mesh sidecar is ready, then exec COMMAND in readygate's place.
In a meshed pod, iptables sends every outbound connection to the sidecar proxy: an application
that dials out before the proxy is ready gets ECONNREFUSED. readygate polls the proxy's readiness
endpoint until it answers 200, so the application never starts too early.";

const USAGE: &str = "readygate [OPTIONS] [-- COMMAND [ARGS...]]";

const AFTER_HELP: &str = "\
Without COMMAND, readygate exits 0 once ready: `readygate && exec \"$@\"`.
Every flag can also be set by its READYGATE_* variable; a flag beats its variable.
READYGATE_LOG sets a level filter (error, warn, info, debug, trace, or target=level lists).
Durations: 500ms, 1.5s, 2m, 1m30s; a bare number means seconds.
Booleans: 1/true/yes/on, 0/false/no/off (flags take them as --flag=false).";

/// Log line encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// One human-readable line per event.
    Text,
    /// One JSON object per line with `time`, `severity` and `message` (Cloud Logging reads them).
    Json,
}

/// readygate's options, resolved from flags, variables and defaults.
#[derive(Debug)]
pub struct Cli {
    /// Readiness endpoints; empty means the mesh preset.
    pub urls: Vec<Target>,
    pub mesh: Mesh,
    pub expect_status: StatusSet,
    /// Zero waits forever.
    pub timeout: Duration,
    pub timeout_exit_code: i32,
    pub timeout_fatal: bool,
    pub request_timeout: Duration,
    pub interval: Duration,
    pub max_interval: Duration,
    pub disabled: bool,
    pub quiet: bool,
    pub verbose: bool,
    pub log_format: LogFormat,
    /// Job mode.
    pub shutdown: bool,
    /// Job mode's quit endpoints; empty means the mesh preset.
    pub quit_urls: Vec<Target>,
    pub shutdown_on_failure: bool,
    /// The command and its arguments, exactly as given.
    pub command: Vec<OsString>,
}

impl Cli {
    /// The endpoints to wait for: the --url list, or the mesh preset.
    pub fn targets(&self) -> Vec<Target> {
        if !self.urls.is_empty() {
            return self.urls.clone();
        }
        // The preset table is tested to parse; an error here cannot happen and yields no target.
        self.mesh.preset().ready_url.parse().into_iter().collect()
    }

    /// Job mode's quit endpoints: the --quit-url list, or the mesh preset's.
    pub fn quit_targets(&self) -> Vec<Target> {
        if !self.quit_urls.is_empty() {
            return self.quit_urls.clone();
        }
        self.mesh.preset().quit_url.parse().into_iter().collect()
    }
}

/// One option: its names, variable, default and help, used by the parser and the help alike.
struct Spec {
    long: &'static str,
    short: Option<char>,
    env: &'static str,
    /// The value's name in the help; empty for booleans (`--flag` or `--flag=BOOL`).
    value: &'static str,
    default: &'static str,
    help: &'static str,
    /// Repeatable, and comma-separated in the variable.
    list: bool,
}

const fn opt(
    long: &'static str,
    env: &'static str,
    value: &'static str,
    default: &'static str,
    help: &'static str,
) -> Spec {
    Spec {
        long,
        short: None,
        env,
        value,
        default,
        help,
        list: false,
    }
}

const SPECS: &[Spec] = &[
    Spec {
        list: true,
        ..opt("url", "READYGATE_URL", "URL", "the --mesh preset",
            "Readiness endpoint: http://host:port/path (GET until an expected status) or \
             tcp://host:port (until a connection is accepted). Repeatable or comma-separated; \
             all must pass.")
    },
    opt("mesh", "READYGATE_MESH", "MESH", "istio",
        "Sidecar whose endpoints are used when no --url is given: istio \
         (localhost:15020/healthz/ready), linkerd (localhost:4191/ready), envoy \
         (localhost:15000/ready)."),
    opt("expect-status", "READYGATE_EXPECT_STATUS", "LIST", "200",
        "HTTP statuses that mean ready: 200, 200,204, 2xx or 200-299. Redirects are never followed."),
    Spec { short: Some('t'), ..opt("timeout", "READYGATE_TIMEOUT", "DUR", "120s",
        "Give up after this long (0 waits forever).") },
    opt("timeout-exit-code", "READYGATE_TIMEOUT_EXIT_CODE", "N", "69",
        "Exit code when not ready in time."),
    opt("timeout-fatal", "READYGATE_TIMEOUT_FATAL", "", "true",
        "When false, a timeout logs a warning and runs COMMAND anyway (charts used with and \
         without a mesh)."),
    opt("request-timeout", "READYGATE_REQUEST_TIMEOUT", "DUR", "1s",
        "Bound on one attempt (connect and response head); a hung endpoint never stalls the gate \
         beyond it."),
    opt("interval", "READYGATE_INTERVAL", "DUR", "15ms",
        "First delay between attempts (the first attempt is immediate). The delay grows by 20ms \
         per second for 2s, then doubles every 0.5s up to --max-interval; jitter only shortens it."),
    opt("max-interval", "READYGATE_MAX_INTERVAL", "DUR", "1s",
        "Longest delay between attempts: how late a proxy that becomes ready during a long wait \
         can be seen."),
    opt("disabled", "READYGATE_DISABLED", "", "false",
        "Skip the wait (runs without a mesh); never skips the --shutdown quit."),
    Spec { short: Some('S'), ..opt("shutdown", "READYGATE_SHUTDOWN", "", "false",
        "Job mode: run COMMAND as a child instead of exec'ing it, forward signals to it, reap \
         orphans, and when it exits POST the sidecar's quit URL, then exit with the child's \
         status (128+N if signal N killed it). The sidecar is also quit if COMMAND never ran.") },
    Spec {
        list: true,
        ..opt("quit-url", "READYGATE_QUIT_URL", "URL", "the --mesh preset",
            "With --shutdown: the quit URL(s) to POST (istio localhost:15020/quitquitquit, \
             linkerd localhost:4191/shutdown, envoy localhost:15000/quitquitquit). http:// \
             only; repeatable or comma-separated.")
    },
    opt("shutdown-on-failure", "READYGATE_SHUTDOWN_ON_FAILURE", "", "true",
        "With --shutdown: when false, leave the sidecar running if COMMAND failed (non-zero \
         exit, killed, or never started), for restartPolicy: OnFailure."),
    Spec { short: Some('q'), ..opt("quiet", "READYGATE_QUIET", "", "false",
        "Print errors only (--verbose wins if both are set).") },
    Spec { short: Some('v'), ..opt("verbose", "READYGATE_VERBOSE", "", "false",
        "Print debug logs, including every attempt.") },
    opt("log-format", "READYGATE_LOG_FORMAT", "FORMAT", "text",
        "Log line encoding: text, or json (one object per line with time, severity, message)."),
];

/// What parsing the command line led to.
pub enum Parsed {
    /// Go on with these options.
    Run(Box<Cli>),
    /// --help or --version: print this on stderr and exit 0.
    Info(String),
    /// A usage error, already worded as one line.
    Usage(String),
}

/// Parses the process's arguments (`args[0]` is the program name) against its environment.
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Parsed {
    parse_with_env(args, |name| std::env::var_os(name))
}

/// Parses `args` with `env` as the environment: pure, for tests and fuzzing.
pub fn parse_with_env(
    args: impl IntoIterator<Item = OsString>,
    env: impl Fn(&str) -> Option<OsString>,
) -> Parsed {
    let given = match lex(args) {
        Ok(Lexed::Info(text)) => return Parsed::Info(text),
        Ok(Lexed::Given(given)) => given,
        Err(message) => return Parsed::Usage(printable(&message)),
    };
    match resolve(given, env) {
        Ok(cli) if cli.shutdown && cli.command.is_empty() => Parsed::Usage(
            "--shutdown needs a COMMAND to supervise: readygate --shutdown -- COMMAND [ARGS...]"
                .to_string(),
        ),
        Ok(cli) => Parsed::Run(Box::new(cli)),
        Err(message) => Parsed::Usage(printable(&message)),
    }
}

/// Escapes control characters, so a usage error stays one line of printable text whatever the
/// user typed (a newline or a terminal escape in an argument would otherwise reach the logs raw).
fn printable(message: &str) -> String {
    message
        .chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Flags as given: (spec index, value) in order, and the command.
struct Given {
    flags: Vec<(usize, OsString)>,
    command: Vec<OsString>,
}

enum Lexed {
    Given(Given),
    Info(String),
}

fn lex(args: impl IntoIterator<Item = OsString>) -> Result<Lexed, String> {
    use lexopt::Arg;
    let mut parser = lexopt::Parser::from_iter(args);
    let mut given = Given {
        flags: Vec::new(),
        command: Vec::new(),
    };
    let lex_error = |e: lexopt::Error| format!("{e} (see readygate --help)");
    while let Some(arg) = parser.next().map_err(lex_error)? {
        let (index, long_form) = match arg {
            Arg::Long("help") | Arg::Short('h') => return Ok(Lexed::Info(help())),
            Arg::Long("version") | Arg::Short('V') => {
                return Ok(Lexed::Info(format!(
                    "readygate {}\n",
                    env!("CARGO_PKG_VERSION")
                )))
            }
            Arg::Long(name) => match SPECS.iter().position(|s| s.long == name) {
                Some(index) => (index, true),
                None => return Err(format!("unknown option --{name} (see readygate --help)")),
            },
            Arg::Short(c) => match SPECS.iter().position(|s| s.short == Some(c)) {
                Some(index) => (index, false),
                None => return Err(format!("unknown option -{c} (see readygate --help)")),
            },
            Arg::Value(first) => {
                // The command starts here; everything after it is its own, flags included.
                given.command.push(first);
                given.command.extend(parser.raw_args().map_err(lex_error)?);
                break;
            }
        };
        let spec = &SPECS[index];
        let value = if !spec.value.is_empty() {
            parser.value().map_err(|_| {
                format!(
                    "--{} needs a value: {} (see readygate --help)",
                    spec.long, spec.value
                )
            })?
        } else if long_form {
            // `--flag` alone means true; `--flag=false` sets it. Short flags take no value, so
            // `-qv` stays two flags.
            parser
                .optional_value()
                .unwrap_or_else(|| OsString::from("true"))
        } else {
            OsString::from("true")
        };
        given.flags.push((index, value));
    }
    Ok(Lexed::Given(given))
}

/// Where a value came from, for error messages.
enum Source<'a> {
    Flag(&'a Spec),
    Env(&'a Spec),
    Default(&'a Spec),
}

impl Source<'_> {
    fn error(&self, value: &str, reason: &str) -> String {
        match self {
            Source::Flag(spec) => format!("invalid value {value:?} for --{}: {reason}", spec.long),
            Source::Env(spec) => format!("invalid value {value:?} in {}: {reason}", spec.env),
            Source::Default(spec) => {
                format!("invalid default {value:?} for --{}: {reason}", spec.long)
            }
        }
    }
}

fn resolve(given: Given, env: impl Fn(&str) -> Option<OsString>) -> Result<Cli, String> {
    let mut cli = Cli {
        urls: Vec::new(),
        mesh: Mesh::Istio,
        expect_status: StatusSet::default(),
        timeout: Duration::ZERO,
        timeout_exit_code: crate::exit::UNAVAILABLE,
        timeout_fatal: true,
        request_timeout: Duration::ZERO,
        interval: backoff::DEFAULT_INTERVAL,
        max_interval: backoff::DEFAULT_MAX_INTERVAL,
        disabled: false,
        quiet: false,
        verbose: false,
        log_format: LogFormat::Text,
        shutdown: false,
        quit_urls: Vec::new(),
        shutdown_on_failure: true,
        command: given.command,
    };
    for (index, spec) in SPECS.iter().enumerate() {
        let from_flags: Vec<&OsString> = given
            .flags
            .iter()
            .filter(|(i, _)| *i == index)
            .map(|(_, v)| v)
            .collect();
        if !from_flags.is_empty() {
            // Lists accumulate; for anything else the last flag wins, as in most tools.
            let values = if spec.list {
                from_flags
            } else {
                from_flags[from_flags.len() - 1..].to_vec()
            };
            for value in values {
                apply(&mut cli, spec, value, &Source::Flag(spec))?;
            }
        } else if let Some(value) = env(spec.env).filter(|v| !v.is_empty()) {
            apply(&mut cli, spec, &value, &Source::Env(spec))?;
        } else if !spec.list {
            apply(
                &mut cli,
                spec,
                OsStr::new(spec.default),
                &Source::Default(spec),
            )?;
        }
    }
    Ok(cli)
}

/// Parses one value for `spec` into `cli`.
fn apply(cli: &mut Cli, spec: &Spec, value: &OsStr, source: &Source<'_>) -> Result<(), String> {
    let Some(text) = value.to_str() else {
        return Err(source.error(&value.to_string_lossy(), "not valid UTF-8"));
    };
    let fail = |reason: String| source.error(text, &reason);
    match spec.long {
        "url" => {
            for item in text.split(',') {
                cli.urls
                    .push(item.parse().map_err(|e: String| source.error(item, &e))?);
            }
        }
        "quit-url" => {
            for item in text.split(',') {
                cli.quit_urls
                    .push(parse_quit_url(item).map_err(|e| source.error(item, &e))?);
            }
        }
        "mesh" => cli.mesh = text.parse().map_err(fail)?,
        "expect-status" => cli.expect_status = parse::status_set(text).map_err(fail)?,
        "timeout" => cli.timeout = parse::duration(text).map_err(fail)?,
        "timeout-exit-code" => cli.timeout_exit_code = parse::exit_code(text).map_err(fail)?,
        "timeout-fatal" => cli.timeout_fatal = parse::boolean(text).map_err(fail)?,
        "request-timeout" => cli.request_timeout = positive_duration(text).map_err(fail)?,
        "interval" => cli.interval = positive_duration(text).map_err(fail)?,
        "max-interval" => cli.max_interval = positive_duration(text).map_err(fail)?,
        "disabled" => cli.disabled = parse::boolean(text).map_err(fail)?,
        "shutdown" => cli.shutdown = parse::boolean(text).map_err(fail)?,
        "shutdown-on-failure" => cli.shutdown_on_failure = parse::boolean(text).map_err(fail)?,
        "quiet" => cli.quiet = parse::boolean(text).map_err(fail)?,
        "verbose" => cli.verbose = parse::boolean(text).map_err(fail)?,
        "log-format" => {
            cli.log_format = match text.trim().to_ascii_lowercase().as_str() {
                "text" => LogFormat::Text,
                "json" => LogFormat::Json,
                _ => return Err(fail("expected one of text, json".to_string())),
            }
        }
        other => return Err(format!("internal error: option --{other} has no parser")),
    }
    Ok(())
}

fn positive_duration(text: &str) -> Result<Duration, String> {
    match parse::duration(text)? {
        d if d.is_zero() => Err("must be greater than zero".to_string()),
        d => Ok(d),
    }
}

fn parse_quit_url(text: &str) -> Result<Target, String> {
    const HINT: &str = "expected http://host:port/path (a sidecar's quit endpoint is a plain \
                        HTTP POST on localhost)";
    match text.parse::<Target>() {
        Ok(target) if matches!(target.kind(), Kind::Http { .. }) => Ok(target),
        _ => Err(HINT.to_string()),
    }
}

/// The help text, generated from the same table the parser uses.
pub fn help() -> String {
    let mut out = format!("{ABOUT}\n\nUsage: {USAGE}\n\nOptions:\n");
    for spec in SPECS {
        let short = spec.short.map_or("    ".to_string(), |c| format!("-{c}, "));
        let value = if spec.value.is_empty() {
            "[=BOOL]".to_string()
        } else {
            format!(" <{}>", spec.value)
        };
        let _ = writeln!(out, "  {short}--{}{value}", spec.long);
        for line in wrap(spec.help, 88) {
            let _ = writeln!(out, "          {line}");
        }
        let _ = writeln!(
            out,
            "          [env: {}] [default: {}]\n",
            spec.env, spec.default
        );
    }
    out.push_str("  -h, --help     Print this help\n  -V, --version  Print the version\n\n");
    let _ = writeln!(out, "{AFTER_HELP}\n\n{}", crate::exit::TABLE);
    out
}

/// Splits `text` into lines of at most `width` characters, at spaces.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in text.split_whitespace() {
        let line = lines.last_mut().map_or(0, |l| l.len());
        if line > 0 && line + 1 + word.len() > width {
            lines.push(String::new());
        }
        if let Some(line) = lines.last_mut() {
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<OsString> {
        std::iter::once("readygate")
            .chain(list.iter().copied())
            .map(OsString::from)
            .collect()
    }

    fn parse_env(list: &[&str], env: &[(&str, &str)]) -> Parsed {
        let env: Vec<(String, OsString)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), OsString::from(v)))
            .collect();
        parse_with_env(args(list), move |name| {
            env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        })
    }

    fn ok(list: &[&str]) -> Box<Cli> {
        match parse_env(list, &[]) {
            Parsed::Run(cli) => cli,
            Parsed::Usage(m) | Parsed::Info(m) => panic!("{list:?}: {m}"),
        }
    }

    fn usage(list: &[&str], env: &[(&str, &str)]) -> String {
        match parse_env(list, env) {
            Parsed::Usage(m) => m,
            _ => panic!("{list:?} should be a usage error"),
        }
    }

    #[test]
    fn defaults_apply_without_flags_or_variables() {
        let cli = ok(&[]);
        assert_eq!(cli.mesh, Mesh::Istio);
        assert_eq!(cli.timeout, Duration::from_secs(120));
        assert_eq!(cli.request_timeout, Duration::from_secs(1));
        assert_eq!(
            (cli.interval, cli.max_interval),
            (backoff::DEFAULT_INTERVAL, backoff::DEFAULT_MAX_INTERVAL)
        );
        assert_eq!(cli.timeout_exit_code, 69);
        assert!(cli.timeout_fatal && !cli.disabled && !cli.shutdown && cli.shutdown_on_failure);
        assert_eq!(cli.expect_status, StatusSet::default());
        assert_eq!(cli.log_format, LogFormat::Text);
        assert_eq!(
            cli.targets()[0].to_string(),
            "http://localhost:15020/healthz/ready"
        );
    }

    #[test]
    fn every_default_in_the_table_parses() {
        for spec in SPECS {
            if !spec.list {
                let mut cli = ok(&[]);
                apply(
                    &mut cli,
                    spec,
                    OsStr::new(spec.default),
                    &Source::Default(spec),
                )
                .unwrap_or_else(|e| panic!("{}: {e}", spec.long));
            }
        }
    }

    #[test]
    fn help_defaults_match_the_backoff_constants() {
        let default = |long: &str| SPECS.iter().find(|s| s.long == long).map(|s| s.default);
        assert_eq!(
            default("interval").map(parse::duration),
            Some(Ok(backoff::DEFAULT_INTERVAL))
        );
        assert_eq!(
            default("max-interval").map(parse::duration),
            Some(Ok(backoff::DEFAULT_MAX_INTERVAL))
        );
    }

    #[test]
    fn a_flag_beats_its_variable_and_a_variable_beats_the_default() {
        let env = [("READYGATE_TIMEOUT", "5s"), ("READYGATE_MESH", "linkerd")];
        let Parsed::Run(cli) = parse_env(&["-t", "7s"], &env) else {
            panic!()
        };
        assert_eq!(cli.timeout, Duration::from_secs(7));
        assert_eq!(cli.mesh, Mesh::Linkerd);
        // The flag's value wins even over an invalid variable, which is then never read.
        let Parsed::Run(cli) = parse_env(&["--timeout=7s"], &[("READYGATE_TIMEOUT", "soon")])
        else {
            panic!()
        };
        assert_eq!(cli.timeout, Duration::from_secs(7));
    }

    #[test]
    fn empty_variables_count_as_unset() {
        let Parsed::Run(cli) = parse_env(&[], &[("READYGATE_TIMEOUT", "")]) else {
            panic!()
        };
        assert_eq!(cli.timeout, Duration::from_secs(120));
    }

    #[test]
    fn boolean_flags_take_an_optional_value_and_short_flags_cluster() {
        assert!(!ok(&["--timeout-fatal=false"]).timeout_fatal);
        assert!(ok(&["--disabled"]).disabled);
        let cli = ok(&["-qv"]);
        assert!(cli.quiet && cli.verbose);
        assert!(usage(&["--quiet=maybe"], &[]).contains("--quiet"));
    }

    #[test]
    fn urls_accumulate_from_flags_and_split_on_commas() {
        let cli = ok(&[
            "--url",
            "tcp://127.0.0.1:1,tcp://127.0.0.1:2",
            "--url=http://[::1]:3/r",
        ]);
        let urls: Vec<String> = cli.targets().iter().map(ToString::to_string).collect();
        assert_eq!(
            urls,
            ["tcp://127.0.0.1:1", "tcp://127.0.0.1:2", "http://[::1]:3/r"]
        );
    }

    #[test]
    fn the_command_starts_at_the_first_value_and_keeps_its_own_flags() {
        let cli = ok(&["-t", "1s", "app", "--url", "-t"]);
        assert_eq!(cli.command, ["app", "--url", "-t"]);
        let cli = ok(&["--", "--url", "x"]);
        assert_eq!(cli.command, ["--url", "x"]);
    }

    #[test]
    fn errors_name_the_flag_or_the_variable() {
        let m = usage(&["--timeout", "soon"], &[]);
        assert!(
            m.contains("--timeout") && m.contains("expected a duration"),
            "{m}"
        );
        let m = usage(&[], &[("READYGATE_TIMEOUT", "soon")]);
        assert!(
            m.contains("READYGATE_TIMEOUT") && m.contains("\"soon\""),
            "{m}"
        );
        let m = usage(&["--mesh", "consul"], &[]);
        assert!(m.contains("istio, linkerd, envoy"), "{m}");
        assert!(usage(&["--bogus"], &[]).contains("--bogus"));
        assert!(usage(&["-x"], &[]).contains("-x"));
        assert!(usage(&["--timeout"], &[]).contains("--timeout needs a value"));
    }

    #[test]
    fn usage_errors_escape_control_characters() {
        for arg in [
            "--\u{4}-x\u{1}\nsl",
            "--url-\u{1b}[31m",
            "-\n",
            "--x=\u{1b}]0;t\u{7}",
        ] {
            let m = usage(&[arg], &[]);
            assert!(!m.chars().any(char::is_control), "{arg:?}: {m:?}");
        }
        let m = usage(&["--timeout", "5\n\u{1b}[2J"], &[]);
        assert!(
            !m.chars().any(char::is_control) && m.contains("--timeout"),
            "{m:?}"
        );
    }

    #[test]
    fn help_and_version_are_info() {
        for flag in ["--help", "-h", "--version", "-V"] {
            assert!(matches!(parse_env(&[flag], &[]), Parsed::Info(_)), "{flag}");
        }
        let text = help();
        for spec in SPECS {
            assert!(
                text.contains(&format!("--{}", spec.long)) && text.contains(spec.env),
                "{}",
                spec.long
            );
        }
    }

    #[test]
    fn quit_targets_default_to_the_mesh_preset_and_are_overridden_by_quit_url() {
        let cli = ok(&["--mesh", "linkerd", "-S", "--", "true"]);
        assert!(cli.shutdown && cli.shutdown_on_failure);
        let urls: Vec<String> = cli.quit_targets().iter().map(ToString::to_string).collect();
        assert_eq!(urls, ["http://localhost:4191/shutdown"]);
        let cli = ok(&[
            "--quit-url",
            "http://127.0.0.1:1/a,http://127.0.0.1:2/b",
            "--shutdown-on-failure=false",
            "-S",
            "--",
            "true",
        ]);
        assert!(!cli.shutdown_on_failure);
        let urls: Vec<String> = cli.quit_targets().iter().map(ToString::to_string).collect();
        assert_eq!(urls, ["http://127.0.0.1:1/a", "http://127.0.0.1:2/b"]);
    }

    #[test]
    fn quit_urls_must_be_http() {
        for bad in [
            "tcp://localhost:15020",
            "https://localhost:15020/quitquitquit",
            "x",
        ] {
            let message = usage(&["--quit-url", bad, "-S", "--", "true"], &[]);
            assert!(message.contains("expected http://"), "{bad}: {message}");
        }
    }

    #[test]
    fn shutdown_without_a_command_is_a_usage_error() {
        assert!(usage(&["--shutdown"], &[]).contains("needs a COMMAND"));
    }
}
