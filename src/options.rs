//! The option table: every flag, its READYGATE_* variable, default, help and typed setter, one
//! entry each. The parser (`cli`) and the help (`help`) both read it.
//!
//! Adding a flag is one entry here and one field in [`Options`]: the entry's setter is a
//! function the compiler checks against that field's type, and the default is a value the same
//! setter parses, so neither the help nor a hand-written struct literal can disagree with it.

use std::path::PathBuf;
use std::time::Duration;

use crate::parse::{self, StatusSet};
use crate::preset::Mesh;
use crate::target::{self, Kind, Target};

/// Log line encoding.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// One human-readable line per event.
    #[default]
    Text,
    /// One JSON object per line with `time`, `severity` and `message` (Cloud Logging reads them).
    Json,
}

/// Every option's value. `Default` is only the blank slate the table's defaults are applied to:
/// each entry with a [`Default::Value`] sets its field before flags and variables are read.
#[derive(Debug, Default)]
pub struct Options {
    /// Readiness endpoints and dependencies; without one on this pod, the mesh preset is the
    /// sidecar's.
    pub urls: Vec<Target>,
    pub mesh: Mesh,
    /// With `--mesh auto`: the pod's annotations file; `None` means
    /// `pod::annotations::DEFAULT_PATH`, if it exists.
    pub pod_annotations: Option<PathBuf>,
    pub expect_status: StatusSet,
    /// Zero waits forever.
    pub timeout: Duration,
    pub timeout_exit_code: i32,
    pub timeout_fatal: bool,
    pub request_timeout: Duration,
    pub interval: Duration,
    pub max_interval: Duration,
    /// How long a `file://` target must stay unchanged to count as written.
    pub file_settle: Duration,
    /// How long a `tcp://` connection must stay open (or bring a byte) to count as ready.
    pub tcp_settle: Duration,
    pub disabled: bool,
    /// Job mode.
    pub shutdown: bool,
    /// Job mode's quit endpoints; empty means the mesh preset.
    pub quit_urls: Vec<Target>,
    pub shutdown_on_failure: bool,
    /// preStop mode: wait until only the proxy's users own TCP sockets.
    pub wait_app_exit: bool,
    /// The proxy's uids for `--wait-app-exit`; empty means readygate's own uid.
    pub proxy_uids: Vec<u32>,
    /// Copy readygate's executable into this directory and exit.
    pub install: Option<PathBuf>,
    /// Where readygate's own failure is written for Kubernetes; `None` means
    /// `/dev/termination-log` if it exists.
    pub termination_log: Option<PathBuf>,
    pub quiet: bool,
    pub verbose: bool,
    pub log_format: LogFormat,
}

/// A bad value: why, and which part of a comma-separated list was at fault.
#[derive(Debug, PartialEq, Eq)]
pub struct Invalid {
    /// The list item at fault; `None` when it is the whole value.
    pub item: Option<String>,
    pub reason: String,
}

impl From<String> for Invalid {
    fn from(reason: String) -> Self {
        Invalid { item: None, reason }
    }
}

/// Parses a value into its field.
pub type Setter = fn(&mut Options, &str) -> Result<(), Invalid>;

/// What an option takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Takes {
    /// A value, named so in the help (`--timeout <DUR>`).
    Value(&'static str),
    /// A list: repeatable, and comma-separated in one value or in the variable.
    List(&'static str),
    /// A boolean: `--flag` means true, `--flag=false` sets it.
    Bool,
}

/// An option's default.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Default {
    /// This text, parsed by the option's own setter before flags and variables are read.
    Value(&'static str),
    /// No value: the option is unset unless given, and what that means is derived from other
    /// options when they are used (shown in the help as written here).
    Derived(&'static str),
}

/// A set of modes (see `cli::Mode`): the ones that read an option.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Modes(u8);

impl Modes {
    /// The plain gate: wait, then exec.
    pub const GATE: Modes = Modes(1);
    /// `--shutdown`.
    pub const JOB: Modes = Modes(2);
    /// `--wait-app-exit`.
    pub const WAIT_APP_EXIT: Modes = Modes(4);
    /// `--install`.
    pub const INSTALL: Modes = Modes(8);
    /// The two that wait for the sidecar: the gate and Job mode.
    pub const WAITS: Modes = Modes(1 | 2);
    pub const ALL: Modes = Modes(1 | 2 | 4 | 8);

    pub const fn with(self, other: Modes) -> Modes {
        Modes(self.0 | other.0)
    }

    pub fn contains(self, mode: Modes) -> bool {
        self.0 & mode.0 == mode.0
    }
}

/// One option.
pub struct Spec {
    pub long: &'static str,
    pub short: Option<char>,
    pub env: &'static str,
    pub takes: Takes,
    pub default: Default,
    pub help: &'static str,
    /// The modes that read it; set in any other, it is ignored with a warning, since a forgotten
    /// mode flag otherwise goes unnoticed (a Job's pod that never completes).
    pub read_by: Modes,
    pub set: Setter,
}

/// Sets `slot` from a parse result.
fn put<T>(slot: &mut T, value: Result<T, String>) -> Result<(), Invalid> {
    *slot = value?;
    Ok(())
}

/// Appends every comma-separated item of `text`, naming the item at fault.
fn extend<T>(
    list: &mut Vec<T>,
    text: &str,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<(), Invalid> {
    for item in text.split(',') {
        list.push(parse(item).map_err(|reason| Invalid {
            item: Some(item.to_string()),
            reason,
        })?);
    }
    Ok(())
}

/// [`extend`] for a list of URLs. A comma inside user information (`postgres://app:pa,ss@db`)
/// splits one URL in two, and echoing either piece would print part of the password: when the
/// value holds an `@`, an error echoes the whole value (which the error redacts) instead, and a
/// piece that is no URL but holds an `@` is named for what it is, user information.
fn extend_urls<T>(
    list: &mut Vec<T>,
    text: &str,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<(), Invalid> {
    if !text.contains('@') {
        return extend(list, text, parse);
    }
    if text
        .split(',')
        .any(|piece| !piece.contains("://") && piece.contains('@'))
    {
        return Err(target::USERINFO_REFUSED.to_string().into());
    }
    extend(list, text, parse).map_err(|Invalid { reason, .. }| reason.into())
}

fn positive_duration(text: &str) -> Result<Duration, String> {
    match parse::duration(text)? {
        d if d.is_zero() => Err("must be greater than zero".to_string()),
        d => Ok(d),
    }
}

fn quit_url(text: &str) -> Result<Target, String> {
    // A URL that is no target at all says why (user information, a bad port, ...); one of
    // another scheme is told what a quit endpoint is.
    let target = text.parse::<Target>()?;
    match target.kind() {
        Kind::Http { .. } => Ok(target),
        _ => Err(
            "expected http://host:port/path (a sidecar's quit endpoint is a plain HTTP \
                  POST on localhost)"
                .to_string(),
        ),
    }
}

fn uid(text: &str) -> Result<u32, String> {
    text.trim()
        .parse::<u32>()
        .ok()
        .filter(|&uid| uid != u32::MAX)
        .ok_or_else(|| "expected a numeric uid such as 1337".to_string())
}

fn path(text: &str) -> Result<PathBuf, String> {
    match text.trim() {
        "" => Err("expected a path".to_string()),
        _ => Ok(PathBuf::from(text)),
    }
}

fn log_format(text: &str) -> Result<LogFormat, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "text" => Ok(LogFormat::Text),
        "json" => Ok(LogFormat::Json),
        _ => Err("expected one of text, json".to_string()),
    }
}

/// Every option, in the order the help lists them.
pub const SPECS: &[Spec] = &[
    Spec {
        long: "url",
        short: None,
        env: "READYGATE_URL",
        takes: Takes::List("URL"),
        default: Default::Derived("the --mesh preset"),
        help: "Readiness endpoint or dependency: http://host:port/path (GET until an expected \
               status), tcp://host:port (until a connection is accepted and not dropped at once), \
               file:///path (until the file exists, is not empty and has stopped changing), \
               redis://host[:port] (PING), postgres://host[:port] (a StartupMessage, as \
               pg_isready), mysql://host[:port] (the server's greeting). Repeatable or \
               comma-separated; all must pass. Targets on this pod (localhost, loopback, files) \
               are the sidecar's stage; the others are dependencies, checked once it is ready.",
        read_by: Modes::WAITS,
        set: |o, v| extend_urls(&mut o.urls, v, str::parse),
    },
    Spec {
        long: "mesh",
        short: None,
        env: "READYGATE_MESH",
        takes: Takes::Value("MESH"),
        default: Default::Value("auto"),
        help: "Sidecar whose readiness is checked first when no --url names one on this pod: \
               auto (Istio's, but if it is not ready at the first probe, the pod's annotations \
               and listening ports decide once: a classic or native Istio or Linkerd sidecar is \
               waited for, and a native one is not quit; an ambient or uninjected pod runs \
               COMMAND at once), istio (localhost:15020/healthz/ready), linkerd \
               (localhost:4191/ready), envoy (localhost:15000/ready), or none (no sidecar: only \
               the --url targets, and Job mode quits nothing).",
        read_by: Modes::WAITS,
        set: |o, v| put(&mut o.mesh, v.parse()),
    },
    Spec {
        long: "pod-annotations",
        short: None,
        env: "READYGATE_POD_ANNOTATIONS",
        takes: Takes::Value("PATH"),
        default: Default::Derived("/etc/podinfo/annotations, if it exists"),
        help: "With --mesh auto: the pod's annotations, as a Downward API volume writes them \
               (fieldRef metadata.annotations). Read at most once: if the sidecar is not ready at \
               the first probe, or else, in Job mode, once the command has exited (to decide \
               the quit). A given path that is missing is one warning, and the pod's listeners \
               decide alone; a file that is malformed or too large is one warning and the istio \
               behaviour.",
        read_by: Modes::WAITS,
        set: |o, v| put(&mut o.pod_annotations, path(v).map(Some)),
    },
    Spec {
        long: "expect-status",
        short: None,
        env: "READYGATE_EXPECT_STATUS",
        takes: Takes::Value("LIST"),
        default: Default::Value("200"),
        help: "HTTP statuses that mean ready: 200, 200,204, 2xx or 200-299. Redirects are never \
               followed.",
        read_by: Modes::WAITS,
        set: |o, v| put(&mut o.expect_status, parse::status_set(v)),
    },
    Spec {
        long: "timeout",
        short: Some('t'),
        env: "READYGATE_TIMEOUT",
        takes: Takes::Value("DUR"),
        default: Default::Value("120s"),
        help: "Give up after this long (0 waits forever).",
        read_by: Modes::WAITS.with(Modes::WAIT_APP_EXIT),
        set: |o, v| put(&mut o.timeout, parse::duration(v)),
    },
    Spec {
        long: "timeout-exit-code",
        short: None,
        env: "READYGATE_TIMEOUT_EXIT_CODE",
        takes: Takes::Value("N"),
        default: Default::Value("69"),
        help: "Exit code when not ready in time.",
        read_by: Modes::WAITS.with(Modes::WAIT_APP_EXIT),
        set: |o, v| put(&mut o.timeout_exit_code, parse::exit_code(v)),
    },
    Spec {
        long: "timeout-fatal",
        short: None,
        env: "READYGATE_TIMEOUT_FATAL",
        takes: Takes::Bool,
        default: Default::Value("true"),
        help: "When false, a timeout logs a warning and runs COMMAND anyway (charts used with and \
               without a mesh).",
        read_by: Modes::WAITS,
        set: |o, v| put(&mut o.timeout_fatal, parse::boolean(v)),
    },
    Spec {
        long: "request-timeout",
        short: None,
        env: "READYGATE_REQUEST_TIMEOUT",
        takes: Takes::Value("DUR"),
        default: Default::Value("1s"),
        help: "Bound on one attempt: the connect, then the response head (http://), the \
               server's first reply (redis://, postgres://, mysql://) or the --tcp-settle window \
               (tcp://); a hung endpoint never stalls the gate beyond it.",
        read_by: Modes::WAITS,
        set: |o, v| put(&mut o.request_timeout, positive_duration(v)),
    },
    Spec {
        long: "interval",
        short: None,
        env: "READYGATE_INTERVAL",
        takes: Takes::Value("DUR"),
        default: Default::Value("15ms"),
        help: "First delay between attempts (the first attempt is immediate). The delay grows by \
               20ms per second for 2s, then doubles every 0.5s up to --max-interval; jitter only \
               shortens it.",
        read_by: Modes::WAITS,
        set: |o, v| put(&mut o.interval, positive_duration(v)),
    },
    Spec {
        long: "max-interval",
        short: None,
        env: "READYGATE_MAX_INTERVAL",
        takes: Takes::Value("DUR"),
        default: Default::Value("1s"),
        help: "Longest delay between attempts: how late a proxy that becomes ready during a long \
               wait can be seen.",
        read_by: Modes::WAITS,
        set: |o, v| put(&mut o.max_interval, positive_duration(v)),
    },
    Spec {
        long: "file-settle",
        short: None,
        env: "READYGATE_FILE_SETTLE",
        takes: Takes::Value("DUR"),
        default: Default::Value("200ms"),
        help: "A file:// target counts as written once its size and modification time have not \
               changed for this long, so a file still being written is not taken (0: as soon as \
               it is not empty).",
        read_by: Modes::WAITS,
        set: |o, v| put(&mut o.file_settle, parse::duration(v)),
    },
    Spec {
        long: "tcp-settle",
        short: None,
        env: "READYGATE_TCP_SETTLE",
        takes: Takes::Value("DUR"),
        default: Default::Value("100ms"),
        help: "A tcp:// target counts as ready once a connection is accepted and the peer has \
               neither closed nor reset it for this long (or has sent a byte): a mesh proxy with \
               no upstream accepts, then closes at once (0: the connection alone). Part of the \
               attempt: an attempt whose --request-timeout cannot hold it in full after the \
               connect is not ready, and one at least --request-timeout long is a usage error.",
        read_by: Modes::WAITS,
        set: |o, v| put(&mut o.tcp_settle, parse::duration(v)),
    },
    Spec {
        long: "disabled",
        short: None,
        env: "READYGATE_DISABLED",
        takes: Takes::Bool,
        default: Default::Value("false"),
        help: "Skip the wait (runs without a mesh); never skips the --shutdown quit.",
        read_by: Modes::WAITS,
        set: |o, v| put(&mut o.disabled, parse::boolean(v)),
    },
    Spec {
        long: "shutdown",
        short: Some('S'),
        env: "READYGATE_SHUTDOWN",
        takes: Takes::Bool,
        default: Default::Value("false"),
        help: "Job mode: run COMMAND as a child instead of exec'ing it, forward signals to it, \
               reap orphans, and when it exits POST the sidecar's quit URL, then exit with the \
               child's status (128+N if signal N killed it). The sidecar is also quit if COMMAND \
               never ran.",
        read_by: Modes::ALL,
        set: |o, v| put(&mut o.shutdown, parse::boolean(v)),
    },
    Spec {
        long: "quit-url",
        short: None,
        env: "READYGATE_QUIT_URL",
        takes: Takes::List("URL"),
        default: Default::Derived("the --mesh preset"),
        help: "With --shutdown: the quit URL(s) to POST (istio localhost:15020/quitquitquit, \
               linkerd localhost:4191/shutdown, envoy localhost:15000/quitquitquit). http:// \
               only; repeatable or comma-separated.",
        read_by: Modes::JOB,
        set: |o, v| extend_urls(&mut o.quit_urls, v, quit_url),
    },
    Spec {
        long: "shutdown-on-failure",
        short: None,
        env: "READYGATE_SHUTDOWN_ON_FAILURE",
        takes: Takes::Bool,
        default: Default::Value("true"),
        help: "With --shutdown: when false, leave the sidecar running if COMMAND failed (non-zero \
               exit, killed, or never started), for restartPolicy: OnFailure.",
        read_by: Modes::JOB,
        set: |o, v| put(&mut o.shutdown_on_failure, parse::boolean(v)),
    },
    Spec {
        long: "wait-app-exit",
        short: None,
        env: "READYGATE_WAIT_APP_EXIT",
        takes: Takes::Bool,
        default: Default::Value("false"),
        help: "For the proxy container's preStop hook: wait until no TCP socket of the pod \
               belongs to a user other than the proxy's (--proxy-uid), then exit 0, so the proxy \
               outlives the application. Checks at least 100ms apart (--interval does not \
               apply), bounded by --timeout; takes no COMMAND.",
        read_by: Modes::ALL,
        set: |o, v| put(&mut o.wait_app_exit, parse::boolean(v)),
    },
    Spec {
        long: "proxy-uid",
        short: None,
        env: "READYGATE_PROXY_UID",
        takes: Takes::List("UID"),
        default: Default::Derived("readygate's own uid"),
        help: "With --wait-app-exit: the uid(s) whose sockets are the proxy's (Istio 1337, \
               Linkerd 2102). Repeatable or comma-separated.",
        read_by: Modes::WAIT_APP_EXIT,
        set: |o, v| extend(&mut o.proxy_uids, v, uid),
    },
    Spec {
        long: "install",
        short: None,
        env: "READYGATE_INSTALL",
        takes: Takes::Value("DIR"),
        default: Default::Derived("off"),
        help: "Copy readygate's own executable to DIR/readygate (atomically, mode 0755) and exit: \
               an init container fills an emptyDir that a shell-less container then runs it from.",
        read_by: Modes::ALL,
        set: |o, v| put(&mut o.install, path(v).map(Some)),
    },
    Spec {
        long: "termination-log",
        short: None,
        env: "READYGATE_TERMINATION_LOG",
        takes: Takes::Value("PATH"),
        default: Default::Derived("/dev/termination-log, if it exists"),
        help: "When readygate fails by itself (not ready in time, command not found, a signal \
               while waiting), write its reason here, where Kubernetes shows it in kubectl \
               describe pod. Never written after exec, nor for a Job's child; by \
               --wait-app-exit and --install only when given.",
        read_by: Modes::ALL,
        set: |o, v| put(&mut o.termination_log, path(v).map(Some)),
    },
    Spec {
        long: "quiet",
        short: Some('q'),
        env: "READYGATE_QUIET",
        takes: Takes::Bool,
        default: Default::Value("false"),
        help: "Print errors only (--verbose wins if both are set).",
        read_by: Modes::ALL,
        set: |o, v| put(&mut o.quiet, parse::boolean(v)),
    },
    Spec {
        long: "verbose",
        short: Some('v'),
        env: "READYGATE_VERBOSE",
        takes: Takes::Bool,
        default: Default::Value("false"),
        help: "Print debug logs, including every attempt.",
        read_by: Modes::ALL,
        set: |o, v| put(&mut o.verbose, parse::boolean(v)),
    },
    Spec {
        long: "log-format",
        short: None,
        env: "READYGATE_LOG_FORMAT",
        takes: Takes::Value("FORMAT"),
        default: Default::Value("text"),
        help: "Log line encoding: text, or json (one object per line with time, severity, \
               message).",
        read_by: Modes::ALL,
        set: |o, v| put(&mut o.log_format, log_format(v)),
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_value_parses_with_its_own_setter() {
        for spec in SPECS {
            if let Default::Value(text) = spec.default {
                let mut options = Options::default();
                assert_eq!((spec.set)(&mut options, text), Ok(()), "--{}", spec.long);
            }
        }
    }

    #[test]
    fn names_and_variables_are_unique_and_variables_follow_the_flag_names() {
        for (i, a) in SPECS.iter().enumerate() {
            let expected = format!(
                "READYGATE_{}",
                a.long.to_ascii_uppercase().replace('-', "_")
            );
            assert_eq!(a.env, expected);
            for b in &SPECS[i + 1..] {
                assert_ne!(a.long, b.long);
                assert!(a.short.is_none() || a.short != b.short, "-{:?}", a.short);
            }
        }
    }

    #[test]
    fn list_items_at_fault_are_named() {
        let mut options = Options::default();
        let set = SPECS.iter().find(|s| s.long == "proxy-uid").map(|s| s.set);
        let err = set.map(|set| set(&mut options, "1337,root"));
        assert_eq!(
            err.and_then(Result::err).and_then(|e| e.item),
            Some("root".to_string())
        );
    }

    fn url_error(long: &str, value: &str) -> Option<Invalid> {
        let spec = SPECS.iter().find(|s| s.long == long)?;
        (spec.set)(&mut Options::default(), value).err()
    }

    #[test]
    fn a_url_list_holding_an_at_sign_is_never_echoed_by_piece() {
        for long in ["url", "quit-url"] {
            // The comma splits the password: the piece after it is named as user information.
            let err = url_error(long, "http://app:s3cret,pw@localhost:15020/quit");
            assert_eq!(
                err.map(|e| (e.item, e.reason)),
                Some((None, target::USERINFO_REFUSED.to_string())),
                "--{long}"
            );
            // Some other fault: still no piece, so the error echoes the whole value redacted.
            let err = url_error(long, "http://localhost:99999/q,http://localhost:1/a@b");
            assert_eq!(err.and_then(|e| e.item), None, "--{long}");
        }
        let err = url_error("url", "http://localhost:99999/q,http://localhost:1/ready");
        assert_eq!(
            err.and_then(|e| e.item),
            Some("http://localhost:99999/q".to_string())
        );
    }
}
