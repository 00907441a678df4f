//! The command line: clap derive, every flag also read from a READYGATE_* variable.
//!
//! A flag beats its variable (clap reads the variable only when the flag is absent). Errors are
//! rendered as one line that names the flag, or the variable when the bad value came from one.

use std::ffi::OsString;
use std::time::Duration;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{CommandFactory, Parser, ValueEnum};

use crate::backoff;
use crate::parse::{self, StatusSet};
use crate::preset::Mesh;
use crate::target::Target;

const ABOUT: &str = "\
Wait until the service-mesh sidecar is ready, then exec COMMAND in readygate's place.
In a meshed pod, iptables sends every outbound connection to the sidecar proxy: an application
that dials out before the proxy is ready gets ECONNREFUSED. readygate polls the proxy's readiness
endpoint until it answers 200, so the application never starts too early.";

const AFTER_HELP: &str = "\
Without COMMAND, readygate exits 0 once ready: `readygate && exec \"$@\"`.
Every flag can also be set by its READYGATE_* variable; a flag beats its variable.
READYGATE_LOG sets a level filter (error, warn, info, debug, trace, or target=level lists).
READYGATE_DISABLED=true skips the wait (for runs without a mesh).
Durations: 500ms, 1.5s, 2m, 1m30s; a bare number means seconds. Booleans: 1/true/yes/on, 0/false/no/off.";

/// Log line encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One human-readable line per event.
    Text,
    /// One JSON object per line with `time`, `severity` and `message` (Cloud Logging reads them).
    Json,
}

/// readygate's command line.
#[derive(Debug, Parser)]
#[command(
    name = "readygate",
    version,
    about = ABOUT,
    after_help = format!("{AFTER_HELP}\n\n{}", crate::exit::TABLE),
    override_usage = "readygate [OPTIONS] [-- COMMAND [ARGS...]]",
    max_term_width = 100
)]
pub struct Cli {
    /// Readiness endpoint: http://host:port/path (GET until an expected status) or tcp://host:port
    /// (until a connection is accepted). Repeatable or comma-separated; all must pass.
    /// [default: the --mesh preset]
    #[arg(long = "url", value_name = "URL", env = "READYGATE_URL", value_delimiter = ',',
          value_parser = parse_target)]
    pub urls: Vec<Target>,

    /// Sidecar whose readiness endpoint is used when no --url is given: istio
    /// (localhost:15020/healthz/ready), linkerd (localhost:4191/ready), envoy (localhost:15000/ready).
    #[arg(
        long,
        value_name = "MESH",
        env = "READYGATE_MESH",
        default_value = "istio",
        ignore_case = true
    )]
    pub mesh: Mesh,

    /// HTTP statuses that mean ready: 200, 200,204, 2xx or 200-299. Redirects are never followed.
    #[arg(long, value_name = "LIST", env = "READYGATE_EXPECT_STATUS", default_value = "200",
          value_parser = parse::status_set)]
    pub expect_status: StatusSet,

    /// Give up after this long (0 waits forever).
    #[arg(short = 't', long, value_name = "DUR", env = "READYGATE_TIMEOUT", default_value = "120s",
          value_parser = parse::duration)]
    pub timeout: Duration,

    /// Exit code when not ready in time.
    #[arg(long, value_name = "N", env = "READYGATE_TIMEOUT_EXIT_CODE",
          default_value_t = crate::exit::UNAVAILABLE,
          value_parser = parse::exit_code)]
    pub timeout_exit_code: i32,

    /// When false, a timeout logs a warning and runs COMMAND anyway (charts used with and without
    /// a mesh).
    #[arg(long, value_name = "BOOL", env = "READYGATE_TIMEOUT_FATAL", default_value = "true",
          num_args = 0..=1, require_equals = true, default_missing_value = "true",
          value_parser = parse::boolean)]
    pub timeout_fatal: bool,

    /// Bound on one attempt (connect and response head); a hung endpoint never stalls the gate
    /// beyond it.
    #[arg(long, value_name = "DUR", env = "READYGATE_REQUEST_TIMEOUT", default_value = "1s",
          value_parser = parse_positive_duration)]
    pub request_timeout: Duration,

    /// First delay between attempts; delays grow 2% per attempt with jitter, up to --max-interval.
    #[arg(long, value_name = "DUR", env = "READYGATE_INTERVAL",
          default_value = duration_default(backoff::DEFAULT_INTERVAL),
          value_parser = parse_positive_duration)]
    pub interval: Duration,

    /// Longest delay between attempts.
    #[arg(long, value_name = "DUR", env = "READYGATE_MAX_INTERVAL",
          default_value = duration_default(backoff::DEFAULT_MAX_INTERVAL),
          value_parser = parse_positive_duration)]
    pub max_interval: Duration,

    /// Skip the wait entirely (local runs, namespaces without a mesh).
    #[arg(long, value_name = "BOOL", env = "READYGATE_DISABLED", default_value = "false",
          num_args = 0..=1, require_equals = true, default_missing_value = "true",
          value_parser = parse::boolean)]
    pub disabled: bool,

    /// Print errors only (--verbose wins if both are set).
    #[arg(short = 'q', long, value_name = "BOOL", env = "READYGATE_QUIET", default_value = "false",
          num_args = 0..=1, require_equals = true, default_missing_value = "true",
          value_parser = parse::boolean)]
    pub quiet: bool,

    /// Print debug logs, including every attempt.
    #[arg(short = 'v', long, value_name = "BOOL", env = "READYGATE_VERBOSE", default_value = "false",
          num_args = 0..=1, require_equals = true, default_missing_value = "true",
          value_parser = parse::boolean)]
    pub verbose: bool,

    /// Log line encoding.
    #[arg(
        long,
        value_name = "FORMAT",
        env = "READYGATE_LOG_FORMAT",
        default_value = "text",
        ignore_case = true
    )]
    pub log_format: LogFormat,

    /// Job mode: run COMMAND as a child instead of exec'ing it, forward signals to it, reap
    /// orphans, and when it exits POST the sidecar's quit URL, then exit with the child's status
    /// (128+N if signal N killed it). The sidecar is also quit if COMMAND never ran.
    #[arg(short = 'S', long, value_name = "BOOL", env = "READYGATE_SHUTDOWN", default_value = "false",
          num_args = 0..=1, require_equals = true, default_missing_value = "true",
          value_parser = parse::boolean)]
    pub shutdown: bool,

    /// With --shutdown: the quit URL(s) to POST instead of the --mesh preset's (istio
    /// localhost:15020/quitquitquit, linkerd localhost:4191/shutdown, envoy
    /// localhost:15000/quitquitquit). http:// only; repeatable or comma-separated.
    #[arg(long = "quit-url", value_name = "URL", env = "READYGATE_QUIT_URL", value_delimiter = ',',
          value_parser = parse_quit_url)]
    pub quit_urls: Vec<Target>,

    /// With --shutdown: when false, leave the sidecar running if COMMAND failed (non-zero exit,
    /// killed, or never started), for restartPolicy: OnFailure, which restarts it in place.
    #[arg(long, value_name = "BOOL", env = "READYGATE_SHUTDOWN_ON_FAILURE", default_value = "true",
          num_args = 0..=1, require_equals = true, default_missing_value = "true",
          value_parser = parse::boolean)]
    pub shutdown_on_failure: bool,

    /// The command to exec once ready, with its arguments. Without it, exit 0 once ready.
    #[arg(value_name = "COMMAND", trailing_var_arg = true,
          value_parser = clap::value_parser!(OsString))]
    pub command: Vec<OsString>,
}

impl Cli {
    /// The endpoints to wait for: the --url list, or the mesh preset.
    pub fn targets(&self) -> Vec<Target> {
        if !self.urls.is_empty() {
            return self.urls.clone();
        }
        match self.mesh.preset().ready_url.parse() {
            Ok(target) => vec![target],
            // The preset table is tested to parse; this arm exists so no input can panic.
            Err(_) => Vec::new(),
        }
    }
}

impl Cli {
    /// Job mode's quit endpoints: the --quit-url list, or the mesh preset's.
    pub fn quit_targets(&self) -> Vec<Target> {
        if !self.quit_urls.is_empty() {
            return self.quit_urls.clone();
        }
        match self.mesh.preset().quit_url.parse() {
            Ok(target) => vec![target],
            // The preset table is tested to parse; this arm exists so no input can panic.
            Err(_) => Vec::new(),
        }
    }
}

const fn duration_default(d: Duration) -> &'static str {
    // Kept in step with backoff.rs by the `help_defaults_match_the_backoff_constants` test.
    match d.as_millis() {
        15 => "15ms",
        500 => "500ms",
        _ => "?",
    }
}

fn parse_target(text: &str) -> Result<Target, String> {
    text.parse()
}

fn parse_quit_url(text: &str) -> Result<Target, String> {
    const HINT: &str = "expected http://host:port/path (a sidecar's quit endpoint is a plain \
                        HTTP POST on localhost)";
    let scheme = text
        .trim()
        .split_once("://")
        .map(|(s, _)| s.to_ascii_lowercase());
    if scheme.as_deref() != Some("http") {
        return Err(HINT.to_string());
    }
    text.parse()
}

fn parse_positive_duration(text: &str) -> Result<Duration, String> {
    match parse::duration(text)? {
        d if d.is_zero() => Err("must be greater than zero".to_string()),
        d => Ok(d),
    }
}

/// What parsing the command line led to.
pub enum Parsed {
    /// Go on with these options.
    Run(Box<Cli>),
    /// --help or --version: print this on stderr and exit 0.
    Info(String),
    /// A usage error, already worded as one line.
    Usage(String),
}

/// Parses `args` (the process's arguments) against the environment.
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Parsed {
    let args: Vec<OsString> = args.into_iter().collect();
    match Cli::try_parse_from(&args) {
        Ok(cli) if cli.shutdown && cli.command.is_empty() => Parsed::Usage(
            "--shutdown needs a COMMAND to supervise: readygate --shutdown -- COMMAND [ARGS...]"
                .to_string(),
        ),
        Ok(cli) => Parsed::Run(Box::new(cli)),
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            Parsed::Info(e.render().to_string())
        }
        Err(e) => Parsed::Usage(one_line(&e, &args)),
    }
}

/// Words a clap error as one line, naming the variable when the bad value came from one.
fn one_line(e: &clap::Error, args: &[OsString]) -> String {
    let rendered = e.render().to_string();
    let first = rendered
        .lines()
        .next()
        .unwrap_or("invalid command line")
        .trim_start_matches("error: ")
        .to_string();
    let first = match e.get(ContextKind::ValidValue) {
        Some(ContextValue::Strings(valid)) => {
            format!("{first} (expected one of: {})", valid.join(", "))
        }
        _ => first,
    };
    let (Some(ContextValue::String(arg)), Some(ContextValue::String(value))) = (
        e.get(ContextKind::InvalidArg),
        e.get(ContextKind::InvalidValue),
    ) else {
        return format!("{first} (see readygate --help)");
    };
    match env_source(arg, value, args) {
        Some(var) => {
            let reason = match (first.split_once("': "), first.find(" (expected")) {
                (Some((_, reason)), _) => format!(": {reason}"),
                (None, Some(at)) => first[at..].to_string(),
                (None, None) => String::new(),
            };
            format!("invalid value {value:?} in {var}{reason}")
        }
        None => first,
    }
}

/// The variable that supplied `value` for `arg` (such as `--timeout <DUR>`), if the flag itself
/// was not on the command line.
fn env_source(arg: &str, value: &str, args: &[OsString]) -> Option<String> {
    // `arg` reads `--timeout <DUR>` or `--timeout-fatal[=<BOOL>]`.
    let long = arg
        .trim_start_matches("--")
        .split(|c: char| c.is_whitespace() || c == '[' || c == '=')
        .next()?;
    let cmd = Cli::command();
    let spec = cmd.get_arguments().find(|a| a.get_long() == Some(long))?;
    let var = spec.get_env()?.to_str()?.to_string();
    let flag_given = args.iter().skip(1).any(|a| {
        let a = a.to_string_lossy();
        a == format!("--{long}")
            || a.starts_with(&format!("--{long}="))
            || spec
                .get_short()
                .is_some_and(|s| a.starts_with(&format!("-{s}")))
    });
    let from_env = std::env::var(&var).is_ok_and(|v| v.contains(value));
    (from_env && !flag_given).then_some(var)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    fn parse_ok(args: &[&str]) -> Box<Cli> {
        match parse(args.iter().map(OsString::from)) {
            Parsed::Run(cli) => cli,
            Parsed::Usage(m) | Parsed::Info(m) => panic!("{args:?}: {m}"),
        }
    }

    fn usage(args: &[&str]) -> String {
        match parse(args.iter().map(OsString::from)) {
            Parsed::Usage(m) => m,
            _ => panic!("{args:?} should be a usage error"),
        }
    }

    #[test]
    fn quit_targets_default_to_the_mesh_preset_and_are_overridden_by_quit_url() {
        let cli = parse_ok(&["readygate", "--mesh", "linkerd", "-S", "--", "true"]);
        assert!(cli.shutdown && cli.shutdown_on_failure);
        let urls: Vec<String> = cli.quit_targets().iter().map(ToString::to_string).collect();
        assert_eq!(urls, ["http://localhost:4191/shutdown"]);
        let cli = parse_ok(&[
            "readygate",
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
            let message = usage(&["readygate", "--quit-url", bad, "-S", "--", "true"]);
            assert!(message.contains("expected http://"), "{bad}: {message}");
        }
    }

    #[test]
    fn shutdown_without_a_command_is_a_usage_error() {
        assert!(usage(&["readygate", "--shutdown"]).contains("needs a COMMAND"));
    }

    #[test]
    fn help_defaults_match_the_backoff_constants() {
        assert_eq!(
            parse::duration(duration_default(backoff::DEFAULT_INTERVAL)),
            Ok(backoff::DEFAULT_INTERVAL)
        );
        assert_eq!(
            parse::duration(duration_default(backoff::DEFAULT_MAX_INTERVAL)),
            Ok(backoff::DEFAULT_MAX_INTERVAL)
        );
    }
}
