//! The command line: clap derive, every option also a `MOCK_SIDECAR_*` variable (a flag beats
//! its variable), durations and listen addresses parsed like readygate's.

use std::ffi::OsString;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use clap::builder::BoolishValueParser;
use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{ArgAction, CommandFactory, Parser};

use crate::preset::Preset;
use crate::timeline::Timeline;

/// Stand-in service-mesh sidecar for testing readygate locally: serves the readiness and
/// quit endpoints of Istio, Linkerd or Envoy, and can be told to be slow, absent, flapping
/// or never ready. Logs every request on stdout, one line each; exits 0 after a quit request.
#[derive(Parser, Debug)]
#[command(name = "mock-sidecar", version, verbatim_doc_comment)]
#[command(
    after_help = "Phases run in order: refusing connections for --refuse-for, then 503 for\n\
--not-ready-for, then ready (flapping every --flap if set).\n\
Durations: 500ms, 1.5s, 2m, 1m30s; a bare number means seconds.\n\
Booleans: true/false, yes/no, on/off, 1/0.\n\
Exit codes: 0 after a quit request or SIGTERM/SIGINT; 1 if an address cannot be bound;\n\
2 usage error."
)]
pub struct Args {
    /// Which sidecar to imitate: its port, paths and replies.
    #[arg(
        long,
        verbatim_doc_comment,
        hide_env_values = true,
        env = "MOCK_SIDECAR_PRESET",
        value_enum,
        default_value = "istio"
    )]
    pub preset: Preset,

    /// Address to listen on: IP (the preset's port), IP:PORT or [IPv6]:PORT; port 0 picks
    /// a free one (logged). Repeatable or comma-separated. 0.0.0.0 can be reached from
    /// outside the container's network namespace.
    #[arg(long, verbatim_doc_comment, hide_env_values = true, env = "MOCK_SIDECAR_LISTEN", value_name = "ADDR", value_delimiter = ',',
          default_value = "127.0.0.1", value_parser = parse_listen)]
    pub listen: Vec<Listen>,

    /// Refuse connections (do not listen yet) for this long after start, like a sidecar
    /// whose process has not started.
    #[arg(long, verbatim_doc_comment, hide_env_values = true, env = "MOCK_SIDECAR_REFUSE_FOR", value_name = "DUR", default_value = "0",
          value_parser = parse_duration)]
    pub refuse_for: Duration,

    /// Then answer readiness probes 503, with the real agent's reason as the body, for
    /// this long.
    #[arg(long, verbatim_doc_comment, hide_env_values = true, env = "MOCK_SIDECAR_NOT_READY_FOR", value_name = "DUR", default_value = "0",
          value_parser = parse_duration)]
    pub not_ready_for: Duration,

    /// Never turn ready: readiness answers 503 for as long as the sidecar runs.
    #[arg(long, verbatim_doc_comment, hide_env_values = true, env = "MOCK_SIDECAR_NEVER_READY", value_name = "BOOL", num_args = 0..=1,
          require_equals = true, default_value = "false", default_missing_value = "true",
          action = ArgAction::Set, value_parser = BoolishValueParser::new(),
          conflicts_with_all = ["not_ready_for", "flap"])]
    pub never_ready: bool,

    /// Once ready, alternate between ready and not ready every DUR (a flapping proxy).
    #[arg(long, verbatim_doc_comment, hide_env_values = true, env = "MOCK_SIDECAR_FLAP", value_name = "DUR", value_parser = parse_period)]
    pub flap: Option<Duration>,

    /// While not ready, accept readiness requests and never answer them (a wedged proxy)
    /// instead of answering 503.
    #[arg(long, verbatim_doc_comment, hide_env_values = true, env = "MOCK_SIDECAR_HANG", value_name = "BOOL", num_args = 0..=1,
          require_equals = true, default_value = "false", default_missing_value = "true",
          action = ArgAction::Set, value_parser = BoolishValueParser::new())]
    pub hang: bool,
}

/// One `--listen` value: the port is the preset's unless given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Listen {
    pub ip: IpAddr,
    pub port: Option<u16>,
}

impl Args {
    pub fn timeline(&self) -> Timeline {
        Timeline {
            refuse_for: self.refuse_for,
            not_ready_for: self.not_ready_for,
            never_ready: self.never_ready,
            flap: self.flap,
        }
    }
}

/// Parses the command line and environment. `Err` carries what to print and the exit code:
/// help and version go to stdout with 0, a usage error is one line for stderr with 2.
pub fn parse(args: Vec<OsString>) -> Result<Args, (String, i32)> {
    Args::try_parse_from(&args).map_err(|err| match err.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => (err.to_string(), 0),
        _ => (usage_line(&err, &args), 2),
    })
}

/// clap's message on one line, naming the variable when the bad value came from one (clap
/// names only the flag, which the user may never have typed).
fn usage_line(err: &clap::Error, args: &[OsString]) -> String {
    let text = err.to_string();
    let first = text.lines().next().unwrap_or("invalid usage");
    let mut line = format!("mock-sidecar: {}", first.trim_start_matches("error: "));
    let flag = match err.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(s)) => s.split(['=', ' ']).next().unwrap_or("").to_owned(),
        _ => return line,
    };
    let typed = args.iter().any(|a| {
        let a = a.to_string_lossy();
        a == flag || a.starts_with(&format!("{flag}="))
    });
    let cmd = Args::command();
    let env = cmd
        .get_arguments()
        .find(|a| a.get_long().is_some_and(|l| flag == format!("--{l}")))
        .and_then(|a| a.get_env());
    if let (false, Some(env)) = (typed, env) {
        if std::env::var_os(env).is_some() {
            line.push_str(&format!(" (from {})", env.to_string_lossy()));
        }
    }
    line
}

/// `IP`, `IP:PORT` or `[IPv6]:PORT`.
fn parse_listen(s: &str) -> Result<Listen, String> {
    if let Ok(addr) = s.parse::<SocketAddr>() {
        return Ok(Listen {
            ip: addr.ip(),
            port: Some(addr.port()),
        });
    }
    match s.parse::<IpAddr>() {
        Ok(ip) => Ok(Listen { ip, port: None }),
        Err(_) => Err("expected IP, IP:PORT or [IPv6]:PORT (e.g. 0.0.0.0, 127.0.0.1:15020)".into()),
    }
}

/// A duration like readygate's: `500ms`, `1.5s`, `2m`, `1m30s`, `1h`; a bare number is seconds.
fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = || "expected a duration such as 500ms, 2s or 1m30s".to_owned();
    if let Ok(secs) = s.parse::<f64>() {
        return Duration::try_from_secs_f64(secs).map_err(|_| bad());
    }
    let mut rest = s;
    let mut total = Duration::ZERO;
    while !rest.is_empty() {
        let split = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .ok_or_else(bad)?;
        let (number, tail) = rest.split_at(split);
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        let scale = match unit {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        let n: f64 = number.parse().map_err(|_| bad())?;
        total = Duration::try_from_secs_f64(n * scale)
            .ok()
            .and_then(|d| total.checked_add(d))
            .ok_or_else(bad)?;
        rest = tail;
    }
    if s.is_empty() {
        return Err(bad());
    }
    Ok(total)
}

/// A duration that must not be zero (a zero flap period would divide by zero).
fn parse_period(s: &str) -> Result<Duration, String> {
    match parse_duration(s)? {
        Duration::ZERO => Err("must be longer than 0".into()),
        d => Ok(d),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_readygates() {
        assert_eq!(parse_duration("2"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        for bad in ["", "s", "2x", "-1", "1.2.3s", "ms5"] {
            assert!(parse_duration(bad).is_err(), "{bad:?} accepted");
        }
        assert!(parse_period("0s").is_err());
    }

    #[test]
    fn listen_takes_an_ip_or_a_socket_address() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(
            parse_listen("0.0.0.0"),
            Ok(Listen {
                ip: ip("0.0.0.0"),
                port: None
            })
        );
        assert_eq!(
            parse_listen("[::1]:0"),
            Ok(Listen {
                ip: ip("::1"),
                port: Some(0)
            })
        );
        assert!(parse_listen("localhost:15020").is_err());
    }

    #[test]
    fn the_command_definition_is_consistent() {
        Args::command().debug_assert();
    }
}
