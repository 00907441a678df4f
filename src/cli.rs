//! The command line: lexes flags (lexopt), resolves each option from its flag, its READYGATE_*
//! variable or its default (the table in `options`), and decides the mode readygate runs in.
//!
//! A flag beats its variable, and a variable beats the default. Errors are one line that names
//! the flag, or the variable when the bad value came from one, and says what would be accepted.
//!
//! Why not clap: with clap (derive + env) the static binary measured 1,053,456 bytes, over the
//! 1 MiB budget, and its peak RSS 1,044 KiB, over the 1 MiB target (clap_builder alone is ~106 KB
//! of code, and building its `Command` allocates ~60 KB). lexopt (a small, well-kept argument
//! lexer) plus the option table does the same job for users, generates the help from the same
//! table the parser uses, and keeps both targets with room to spare; see `.cargo/config.toml`.

use std::ffi::OsString;
use std::path::PathBuf;

use crate::help;
use crate::log;
use crate::options::{self, Invalid, Modes, Options, Spec, Takes, SPECS};
use crate::parse::format_duration;
use crate::pod::gather::AnnotationsFile;
use crate::preset::Mesh;
use crate::target::{self, Kind, Target};

pub use crate::options::LogFormat;

/// What readygate does once the options are resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Wait, then exec COMMAND (or exit 0 when there is none).
    Gate,
    /// `--shutdown`: wait, run COMMAND as a child, then quit the sidecar(s).
    Job,
    /// `--wait-app-exit`: wait until only the proxy's users own TCP sockets (a preStop hook).
    WaitAppExit,
    /// `--install DIR`: copy readygate's executable into DIR and exit.
    Install(PathBuf),
}

impl Mode {
    /// The option that selects this mode; `None` for the plain gate.
    fn option(&self) -> Option<&'static str> {
        match self {
            Mode::Gate => None,
            Mode::Job => Some("shutdown"),
            Mode::WaitAppExit => Some("wait-app-exit"),
            Mode::Install(_) => Some("install"),
        }
    }

    /// This mode, as the option table names modes.
    fn kind(&self) -> Modes {
        match self {
            Mode::Gate => Modes::GATE,
            Mode::Job => Modes::JOB,
            Mode::WaitAppExit => Modes::WAIT_APP_EXIT,
            Mode::Install(_) => Modes::INSTALL,
        }
    }
}

/// The resolved command line.
#[derive(Debug)]
pub struct Cli {
    pub mode: Mode,
    pub options: Options,
    /// The command and its arguments, exactly as given.
    pub command: Vec<OsString>,
    /// Options the user set that the chosen mode does not use, each worded as one warning
    /// (`--quit-url has no effect without --shutdown`): a forgotten mode flag otherwise goes
    /// unnoticed until a Job's pod never completes.
    pub unused: Vec<String>,
}

/// What the wait checks, in two stages: the sidecar's own readiness, then the dependencies
/// reached through it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stages {
    /// The --url targets on this pod, or else the mesh preset's readiness URL (none for
    /// `--mesh none`).
    pub sidecar: Vec<Target>,
    /// Every other --url target, in the order given.
    pub dependencies: Vec<Target>,
    /// `--mesh auto` with the preset as the sidecar stage: the pod's facts may replace it. A
    /// --url on this pod names the sidecar's endpoint itself, so nothing is detected then.
    pub auto: bool,
}

impl Cli {
    /// The endpoints to wait for, split into the sidecar stage and the dependencies.
    pub fn stages(&self) -> Stages {
        let (dependencies, sidecar): (Vec<Target>, Vec<Target>) = self
            .options
            .urls
            .iter()
            .cloned()
            .partition(Target::is_dependency);
        let auto = self.options.mesh == Mesh::Auto && sidecar.is_empty();
        let preset = self.options.mesh.preset().ready_url;
        Stages {
            sidecar: given_or_preset(sidecar, preset),
            dependencies,
            auto,
        }
    }

    /// Where `--mesh auto` reads the pod's annotations.
    pub fn pod_annotations(&self) -> AnnotationsFile {
        match &self.options.pod_annotations {
            Some(path) => AnnotationsFile {
                path: path.clone(),
                explicit: true,
            },
            None => AnnotationsFile::default_path(),
        }
    }

    /// Every endpoint to wait for, the sidecar's first. The wait reads [`Cli::stages`]; this
    /// flat list is for the unit tests and the `cli_parse` fuzz target.
    pub fn targets(&self) -> Vec<Target> {
        let Stages {
            mut sidecar,
            dependencies,
            ..
        } = self.stages();
        sidecar.extend(dependencies);
        sidecar
    }

    /// Job mode's quit endpoints: the --quit-url list, or the mesh preset's (none for
    /// `--mesh none`).
    pub fn quit_targets(&self) -> Vec<Target> {
        self.quit_targets_of(self.options.mesh)
    }

    /// Job mode's quit endpoints once the pod's facts chose `mesh`: the --quit-url list still
    /// wins over its preset.
    pub fn quit_targets_of(&self, mesh: Mesh) -> Vec<Target> {
        given_or_preset(self.options.quit_urls.clone(), mesh.preset().quit_url)
    }
}

/// The targets the user gave, or else the preset's URL, if any. The preset table is tested to
/// parse; an error there cannot happen and would yield no target.
fn given_or_preset(given: Vec<Target>, preset: Option<&str>) -> Vec<Target> {
    if given.is_empty() {
        preset
            .and_then(|url| url.parse().ok())
            .into_iter()
            .collect()
    } else {
        given
    }
}

/// What parsing the command line led to.
pub enum Parsed {
    /// Go on with these options.
    Run(Box<Cli>),
    /// --help or --version: print this on stdout and exit 0.
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
        Err(message) => return Parsed::Usage(log::one_line(&message)),
    };
    let command = given.command.clone();
    let resolved = resolve(&given, env).and_then(|(options, set)| {
        let mode = mode(&options, &command, &set)?;
        settle_fits(&options, &mode, &set)?;
        let unused = unused(&mode, &set);
        let mut cli = Cli {
            mode,
            options,
            command,
            unused,
        };
        cli.unused.extend(not_detecting(&cli, &set));
        cli.unused.extend(settle_unused(&cli, &set));
        Ok(cli)
    });
    match resolved {
        Ok(cli) => Parsed::Run(Box::new(cli)),
        Err(message) => Parsed::Usage(log::one_line(&message)),
    }
}

/// The modes an option can be alone in, with the option that selects each.
const SOLE_MODES: [(Modes, &str); 3] = [
    (Modes::JOB, "shutdown"),
    (Modes::WAIT_APP_EXIT, "wait-app-exit"),
    (Modes::INSTALL, "install"),
];

/// One warning for each option the user set that `mode` does not read: "without --shutdown"
/// when one mode alone reads it, else "with" the chosen mode as the user set it.
fn unused(mode: &Mode, set: &SetBy) -> Vec<String> {
    set.0
        .iter()
        .filter(|source| !source.spec().read_by.contains(mode.kind()))
        .map(|source| {
            let sole = SOLE_MODES.iter().find(|(m, _)| *m == source.spec().read_by);
            let why = match (sole, mode.option()) {
                (Some((_, needs)), _) => format!("without --{needs}"),
                (None, Some(chosen)) => format!("with {}", set.named(chosen)),
                // Every option the gate does not read belongs to one other mode alone.
                (None, None) => "here".to_string(),
            };
            format!("{} has no effect {why}; it is ignored", source.name())
        })
        .collect()
}

/// The warning for a `--pod-annotations` that a mode which waits will not read, because no
/// mesh is detected: another `--mesh` was chosen, or a --url names the sidecar's endpoint.
fn not_detecting(cli: &Cli, set: &SetBy) -> Option<String> {
    let source = set.find("pod-annotations")?;
    if !source.spec().read_by.contains(cli.mode.kind()) || cli.stages().auto {
        return None;
    }
    let mesh = cli.options.mesh.name();
    let why = match set.find("mesh") {
        _ if cli.options.mesh == Mesh::Auto => {
            format!(
                "with a {} on this pod (the sidecar's own endpoint: no mesh is detected)",
                set.named("url")
            )
        }
        Some(Source::Env(spec)) => format!("with {}={mesh}", spec.env),
        _ => format!("with --mesh {mesh}"),
    };
    Some(format!(
        "{} has no effect {why}; it is ignored",
        source.name()
    ))
}

/// The warning for a `--tcp-settle` the user set in a mode that waits, with no tcp:// target to
/// apply it to (the other modes' warning is [`unused`]'s).
fn settle_unused(cli: &Cli, set: &SetBy) -> Option<String> {
    let source = set.find("tcp-settle")?;
    let waits = source.spec().read_by.contains(cli.mode.kind());
    let tcp = cli.options.urls.iter().any(|t| *t.kind() == Kind::Tcp);
    (waits && !tcp).then(|| {
        format!(
            "{} has no effect without a tcp:// target; it is ignored",
            source.name()
        )
    })
}

/// The mode the options ask for, or why they contradict each other or the command. Errors name
/// each mode option as the user set it (`set`): `--shutdown`, or `READYGATE_SHUTDOWN`.
fn mode(options: &Options, command: &[OsString], set: &SetBy) -> Result<Mode, String> {
    let modes = [
        ("shutdown", options.shutdown),
        ("wait-app-exit", options.wait_app_exit),
        ("install", options.install.is_some()),
    ];
    let chosen: Vec<String> = modes
        .iter()
        .filter(|m| m.1)
        .map(|m| set.named(m.0))
        .collect();
    if chosen.len() > 1 {
        return Err(format!(
            "{} cannot be used together: each is a mode of its own",
            chosen.join(" and ")
        ));
    }
    if let Some(dir) = &options.install {
        if !command.is_empty() {
            return Err(format!(
                "{} takes no COMMAND: readygate --install DIR",
                set.named("install")
            ));
        }
        return Ok(Mode::Install(dir.clone()));
    }
    if options.wait_app_exit {
        if !command.is_empty() {
            return Err(format!(
                "{} takes no COMMAND: it is meant for a preStop hook, readygate --wait-app-exit",
                set.named("wait-app-exit")
            ));
        }
        return Ok(Mode::WaitAppExit);
    }
    if options.shutdown {
        if command.is_empty() {
            return Err(format!(
                "{} needs a COMMAND to supervise: readygate --shutdown -- COMMAND [ARGS...]",
                set.named("shutdown")
            ));
        }
        return Ok(Mode::Job);
    }
    Ok(Mode::Gate)
}

/// A tcp:// attempt watches its connection for `--tcp-settle` within `--request-timeout`: a
/// settle time that does not fit could never be judged ready, so the wait would run out its
/// whole `--timeout` on a dependency that is there. Refused at once instead, naming both as set.
fn settle_fits(options: &Options, mode: &Mode, set: &SetBy) -> Result<(), String> {
    let waits = Modes::WAITS.contains(mode.kind());
    let tcp = options.urls.iter().any(|t| *t.kind() == Kind::Tcp);
    if !waits || !tcp || options.tcp_settle < options.request_timeout {
        return Ok(());
    }
    Err(format!(
        "{} {} does not fit in {} {}: a tcp:// attempt must watch the connection that long \
         within the request timeout, so it could never be ready; shorten the one or lengthen \
         the other",
        set.named("tcp-settle"),
        format_duration(options.tcp_settle),
        set.named("request-timeout"),
        format_duration(options.request_timeout),
    ))
}

/// Flags as given: (spec, value) in order, and the command.
struct Given {
    flags: Vec<(&'static Spec, OsString)>,
    command: Vec<OsString>,
}

/// Where each option the user set came from: its flag, or its variable when no flag was given.
/// Errors and warnings about an option name what the user actually wrote (an image's
/// `ENV READYGATE_SHUTDOWN=true` is not a `--shutdown` anyone typed).
#[derive(Default)]
struct SetBy(Vec<Source<'static>>);

impl SetBy {
    fn find(&self, long: &str) -> Option<&Source<'static>> {
        self.0.iter().find(|source| source.spec().long == long)
    }

    /// How the user set `long`; `--long` if they did not set it.
    fn named(&self, long: &str) -> String {
        self.find(long)
            .map_or_else(|| format!("--{long}"), Source::name)
    }
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
        let (spec, long_form) = match arg {
            Arg::Long("help") | Arg::Short('h') => return Ok(Lexed::Info(help::help())),
            Arg::Long("version") | Arg::Short('V') => return Ok(Lexed::Info(help::version())),
            Arg::Long(name) => match SPECS.iter().find(|s| s.long == name) {
                Some(spec) => (spec, true),
                None => return Err(format!("unknown option --{name} (see readygate --help)")),
            },
            Arg::Short(c) => match SPECS.iter().find(|s| s.short == Some(c)) {
                Some(spec) => (spec, false),
                None => return Err(format!("unknown option -{c} (see readygate --help)")),
            },
            Arg::Value(first) => {
                // The command starts here; everything after it is its own, flags included.
                given.command.push(first);
                given.command.extend(parser.raw_args().map_err(lex_error)?);
                break;
            }
        };
        let value = match spec.takes {
            Takes::Value(name) | Takes::List(name) => parser.value().map_err(|_| {
                format!(
                    "--{} needs a value: {name} (see readygate --help)",
                    spec.long
                )
            })?,
            // `--flag` alone means true; `--flag=false` sets it. Short flags take no value, so
            // `-qv` stays two flags.
            Takes::Bool if long_form => parser
                .optional_value()
                .unwrap_or_else(|| OsString::from("true")),
            Takes::Bool => OsString::from("true"),
        };
        given.flags.push((spec, value));
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
    fn spec(&self) -> &Spec {
        let (Source::Flag(spec) | Source::Env(spec) | Source::Default(spec)) = self;
        spec
    }

    /// The flag or variable, as the user wrote it.
    fn name(&self) -> String {
        match self {
            Source::Env(spec) => spec.env.to_string(),
            Source::Flag(spec) | Source::Default(spec) => format!("--{}", spec.long),
        }
    }

    /// The error for a bad `value`, echoed with any URL's user information and query redacted.
    fn error(&self, value: &str, reason: &str) -> String {
        let value = target::redacted(value);
        match self {
            Source::Flag(spec) => format!("invalid value {value:?} for --{}: {reason}", spec.long),
            Source::Env(spec) => format!("invalid value {value:?} in {}: {reason}", spec.env),
            Source::Default(spec) => {
                format!("invalid default {value:?} for --{}: {reason}", spec.long)
            }
        }
    }
}

/// Every option from its flags, else its variable, else its default; and which the user set.
fn resolve(
    given: &Given,
    env: impl Fn(&str) -> Option<OsString>,
) -> Result<(Options, SetBy), String> {
    let mut options = Options::default();
    let mut set = SetBy::default();
    for spec in SPECS {
        let from_flags: Vec<&OsString> = given
            .flags
            .iter()
            .filter(|(s, _)| std::ptr::eq(*s, spec))
            .map(|(_, v)| v)
            .collect();
        if let Some(last) = from_flags.last() {
            // Lists accumulate; for anything else the last flag wins, as in most tools.
            let values = match spec.takes {
                Takes::List(_) => from_flags.clone(),
                _ => vec![*last],
            };
            for value in values {
                apply(&mut options, value, &Source::Flag(spec))?;
            }
            set.0.push(Source::Flag(spec));
        } else if let Some(value) = env(spec.env).filter(|v| !v.is_empty()) {
            apply(&mut options, &value, &Source::Env(spec))?;
            set.0.push(Source::Env(spec));
        } else if let options::Default::Value(text) = spec.default {
            apply(&mut options, &OsString::from(text), &Source::Default(spec))?;
        }
    }
    Ok((options, set))
}

/// Parses one value with its spec's setter, wording any error for its source.
fn apply(options: &mut Options, value: &OsString, source: &Source<'_>) -> Result<(), String> {
    let spec = source.spec();
    let Some(text) = value.to_str() else {
        return Err(source.error(&value.to_string_lossy(), "not valid UTF-8"));
    };
    (spec.set)(options, text)
        .map_err(|Invalid { item, reason }| source.error(item.as_deref().unwrap_or(text), &reason))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::StatusSet;
    use crate::preset::Mesh;
    use std::time::Duration;

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
        assert_eq!(cli.options.mesh, Mesh::Auto);
        assert!(cli.stages().auto && cli.options.pod_annotations.is_none());
        assert_eq!(cli.pod_annotations(), AnnotationsFile::default_path());
        assert_eq!(cli.options.timeout, Duration::from_secs(120));
        assert_eq!(cli.options.request_timeout, Duration::from_secs(1));
        assert_eq!(
            (cli.options.interval, cli.options.max_interval),
            (Duration::from_millis(15), Duration::from_secs(1))
        );
        assert_eq!(cli.options.file_settle, Duration::from_millis(200));
        assert_eq!(cli.mode, Mode::Gate);
        assert!(cli.options.proxy_uids.is_empty() && cli.options.termination_log.is_none());
        assert_eq!(cli.options.timeout_exit_code, 69);
        assert!(
            cli.options.timeout_fatal
                && !cli.options.disabled
                && !(cli.mode == Mode::Job)
                && cli.options.shutdown_on_failure
        );
        assert_eq!(cli.options.expect_status, StatusSet::default());
        assert_eq!(cli.options.log_format, LogFormat::Text);
        assert_eq!(
            cli.targets()[0].to_string(),
            "http://localhost:15020/healthz/ready"
        );
    }

    #[test]
    fn a_flag_beats_its_variable_and_a_variable_beats_the_default() {
        let env = [("READYGATE_TIMEOUT", "5s"), ("READYGATE_MESH", "linkerd")];
        let Parsed::Run(cli) = parse_env(&["-t", "7s"], &env) else {
            panic!()
        };
        assert_eq!(cli.options.timeout, Duration::from_secs(7));
        assert_eq!(cli.options.mesh, Mesh::Linkerd);
        // The flag's value wins even over an invalid variable, which is then never read.
        let Parsed::Run(cli) = parse_env(&["--timeout=7s"], &[("READYGATE_TIMEOUT", "soon")])
        else {
            panic!()
        };
        assert_eq!(cli.options.timeout, Duration::from_secs(7));
    }

    #[test]
    fn empty_variables_count_as_unset() {
        let Parsed::Run(cli) = parse_env(&[], &[("READYGATE_TIMEOUT", "")]) else {
            panic!()
        };
        assert_eq!(cli.options.timeout, Duration::from_secs(120));
    }

    #[test]
    fn boolean_flags_take_an_optional_value_and_short_flags_cluster() {
        assert!(!ok(&["--timeout-fatal=false"]).options.timeout_fatal);
        assert!(ok(&["--disabled"]).options.disabled);
        let cli = ok(&["-qv"]);
        assert!(cli.options.quiet && cli.options.verbose);
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
        let Parsed::Info(text) = parse_env(&["--help"], &[]) else {
            panic!("--help is info")
        };
        assert_eq!(text, help::help());
    }

    #[test]
    fn quit_targets_default_to_the_mesh_preset_and_are_overridden_by_quit_url() {
        let cli = ok(&["--mesh", "linkerd", "-S", "--", "true"]);
        assert!((cli.mode == Mode::Job) && cli.options.shutdown_on_failure);
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
        assert!(!cli.options.shutdown_on_failure);
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

    fn stage_urls(list: &[&str]) -> (Vec<String>, Vec<String>) {
        let stages = ok(list).stages();
        let show = |targets: Vec<Target>| targets.iter().map(ToString::to_string).collect();
        (show(stages.sidecar), show(stages.dependencies))
    }

    #[test]
    fn dependencies_alone_wait_for_the_mesh_preset_first() {
        let (sidecar, dependencies) = stage_urls(&["--url", "redis://cache:6379"]);
        assert_eq!(sidecar, ["http://localhost:15020/healthz/ready"]);
        assert_eq!(dependencies, ["redis://cache:6379"]);
        // An http:// URL on another host is a dependency too: it no longer replaces the preset.
        let (sidecar, dependencies) =
            stage_urls(&["--mesh", "linkerd", "--url", "http://orders:8080/healthz"]);
        assert_eq!(sidecar, ["http://localhost:4191/ready"]);
        assert_eq!(dependencies, ["http://orders:8080/healthz"]);
    }

    #[test]
    fn targets_on_this_pod_replace_the_preset_as_the_sidecar_stage() {
        let (sidecar, dependencies) = stage_urls(&[
            "--url",
            "postgres://db,http://localhost:15021/healthz/ready",
            "--url",
            "file:///vault/secrets/db",
        ]);
        assert_eq!(
            sidecar,
            [
                "http://localhost:15021/healthz/ready",
                "file:///vault/secrets/db"
            ]
        );
        assert_eq!(dependencies, ["postgres://db"]);
    }

    #[test]
    fn mesh_none_has_no_sidecar_stage_and_nothing_to_quit() {
        let (sidecar, dependencies) = stage_urls(&["--mesh", "none", "--url", "mysql://db"]);
        assert!(sidecar.is_empty());
        assert_eq!(dependencies, ["mysql://db"]);
        let cli = ok(&["--mesh", "none", "-S", "--", "true"]);
        assert!(cli.targets().is_empty() && cli.quit_targets().is_empty());
    }

    #[test]
    fn the_pod_is_detected_only_with_mesh_auto_and_the_preset_as_the_sidecar_stage() {
        let auto = |list: &[&str]| ok(list).stages().auto;
        assert!(auto(&[]));
        assert!(auto(&["--mesh", "AUTO"]));
        // Dependencies are not the sidecar's endpoint: the preset is still its stage.
        assert!(auto(&["--url", "redis://cache,http://orders:8080/healthz"]));
        for explicit in ["istio", "linkerd", "envoy", "none"] {
            assert!(!auto(&["--mesh", explicit]), "{explicit}");
        }
        assert!(!auto(&["--url", "http://localhost:15021/healthz/ready"]));
        assert!(!auto(&[
            "--url",
            "redis://cache",
            "--url",
            "file:///vault/secrets/db"
        ]));
        assert!(!auto(&["--url", "tcp://127.0.0.1:15020"]));
    }

    #[test]
    fn a_given_annotations_file_is_explicit_and_ignored_with_a_warning_when_nothing_is_detected() {
        let cli = ok(&["--pod-annotations", "/podinfo/a", "--", "app"]);
        assert_eq!(
            cli.pod_annotations(),
            AnnotationsFile {
                path: "/podinfo/a".into(),
                explicit: true
            }
        );
        assert!(cli.unused.is_empty(), "{:?}", cli.unused);
        let cli = ok(&["--pod-annotations=/a", "--mesh=linkerd", "--", "app"]);
        assert_eq!(
            cli.unused,
            ["--pod-annotations has no effect with --mesh linkerd; it is ignored"]
        );
        let Parsed::Run(cli) = parse_env(
            &["--", "app"],
            &[
                ("READYGATE_POD_ANNOTATIONS", "/a"),
                ("READYGATE_MESH", "istio"),
            ],
        ) else {
            panic!()
        };
        assert_eq!(
            cli.unused,
            ["READYGATE_POD_ANNOTATIONS has no effect with READYGATE_MESH=istio; it is ignored"]
        );
        let cli = ok(&["--pod-annotations=/a", "--url=http://localhost:1/r"]);
        assert_eq!(
            cli.unused,
            [
                "--pod-annotations has no effect with a --url on this pod (the sidecar's own \
              endpoint: no mesh is detected); it is ignored"
            ]
        );
        let Parsed::Run(cli) = parse_env(
            &["--", "app"],
            &[
                ("READYGATE_POD_ANNOTATIONS", "/a"),
                ("READYGATE_URL", "http://localhost:1/r"),
            ],
        ) else {
            panic!()
        };
        assert_eq!(
            cli.unused,
            [
                "READYGATE_POD_ANNOTATIONS has no effect with a READYGATE_URL on this pod (the \
                 sidecar's own endpoint: no mesh is detected); it is ignored"
            ]
        );
        // The modes that do not wait name it as theirs to ignore, once.
        let cli = ok(&["--pod-annotations=/a", "--wait-app-exit"]);
        assert_eq!(
            cli.unused,
            ["--pod-annotations has no effect with --wait-app-exit; it is ignored"]
        );
    }

    #[test]
    fn a_settle_time_without_a_tcp_target_is_warned_about_once() {
        let cli = ok(&["--tcp-settle=5s", "--url=redis://db", "--", "app"]);
        assert_eq!(
            cli.unused,
            ["--tcp-settle has no effect without a tcp:// target; it is ignored"]
        );
        let Parsed::Run(cli) = parse_env(&["--", "app"], &[("READYGATE_TCP_SETTLE", "1s")]) else {
            panic!()
        };
        assert_eq!(
            cli.unused,
            ["READYGATE_TCP_SETTLE has no effect without a tcp:// target; it is ignored"]
        );
        assert!(ok(&["--tcp-settle=50ms", "--url=tcp://db:1", "--", "app"])
            .unused
            .is_empty());
    }

    #[test]
    fn quit_targets_follow_the_mesh_the_pod_names_unless_quit_url_was_given() {
        let cli = ok(&["-S", "--", "true"]);
        let urls = |targets: Vec<Target>| -> Vec<String> {
            targets.iter().map(ToString::to_string).collect()
        };
        assert_eq!(
            urls(cli.quit_targets()),
            ["http://localhost:15020/quitquitquit"]
        );
        assert_eq!(
            urls(cli.quit_targets_of(Mesh::Linkerd)),
            ["http://localhost:4191/shutdown"]
        );
        let cli = ok(&["--quit-url", "http://127.0.0.1:1/q", "-S", "--", "true"]);
        assert_eq!(
            urls(cli.quit_targets_of(Mesh::Linkerd)),
            ["http://127.0.0.1:1/q"]
        );
    }

    #[test]
    fn shutdown_without_a_command_is_a_usage_error() {
        assert!(usage(&["--shutdown"], &[]).contains("needs a COMMAND"));
    }
}

#[cfg(test)]
mod mode_tests {
    use super::*;

    fn parse(list: &[&str]) -> Parsed {
        let args = std::iter::once("readygate").chain(list.iter().copied());
        parse_with_env(args.map(OsString::from), |_| None)
    }

    fn mode_of(list: &[&str]) -> Mode {
        match parse(list) {
            Parsed::Run(cli) => cli.mode,
            Parsed::Usage(m) | Parsed::Info(m) => panic!("{list:?}: {m}"),
        }
    }

    fn usage(list: &[&str]) -> String {
        match parse(list) {
            Parsed::Usage(m) => m,
            _ => panic!("{list:?} should be a usage error"),
        }
    }

    #[test]
    fn each_mode_flag_selects_its_mode() {
        assert_eq!(mode_of(&["--", "app"]), Mode::Gate);
        assert_eq!(mode_of(&[]), Mode::Gate);
        assert_eq!(mode_of(&["-S", "--", "app"]), Mode::Job);
        assert_eq!(mode_of(&["--wait-app-exit"]), Mode::WaitAppExit);
        assert_eq!(
            mode_of(&["--install", "/shared/bin"]),
            Mode::Install("/shared/bin".into())
        );
    }

    #[test]
    fn modes_that_take_no_command_refuse_one() {
        assert!(
            usage(&["--wait-app-exit", "--", "app"]).contains("--wait-app-exit takes no COMMAND")
        );
        assert!(usage(&["--install", "/d", "app"]).contains("--install takes no COMMAND"));
    }

    #[test]
    fn two_modes_at_once_are_a_usage_error_naming_both() {
        let m = usage(&["--wait-app-exit", "-S", "--", "app"]);
        assert!(m.contains("--shutdown and --wait-app-exit"), "{m}");
        let m = usage(&["--install", "/d", "--wait-app-exit"]);
        assert!(m.contains("--wait-app-exit and --install"), "{m}");
    }

    #[test]
    fn mode_errors_name_the_variable_when_no_flag_set_the_mode() {
        let parse_env = |list: &[&str], var: &'static str| {
            let args = std::iter::once("readygate").chain(list.iter().copied());
            parse_with_env(args.map(OsString::from), move |name| {
                (name == var).then(|| OsString::from("true"))
            })
        };
        let Parsed::Usage(m) = parse_env(&["--install", "/d"], "READYGATE_SHUTDOWN") else {
            panic!("two modes")
        };
        assert!(m.contains("READYGATE_SHUTDOWN and --install"), "{m}");
        let Parsed::Usage(m) = parse_env(&[], "READYGATE_SHUTDOWN") else {
            panic!("no command")
        };
        assert!(m.starts_with("READYGATE_SHUTDOWN needs a COMMAND"), "{m}");
        let Parsed::Usage(m) = parse_env(&["--", "app"], "READYGATE_WAIT_APP_EXIT") else {
            panic!("a command")
        };
        assert!(
            m.starts_with("READYGATE_WAIT_APP_EXIT takes no COMMAND"),
            "{m}"
        );
        // A flag given on the command line is named as the flag, even with its variable set.
        let Parsed::Usage(m) = parse_env(&["--shutdown"], "READYGATE_SHUTDOWN") else {
            panic!("no command")
        };
        assert!(m.starts_with("--shutdown needs a COMMAND"), "{m}");
    }

    #[test]
    fn options_of_another_mode_are_named_as_unused() {
        let unused = |list: &[&str], var: Option<&'static str>| {
            let args = std::iter::once("readygate").chain(list.iter().copied());
            let parsed = parse_with_env(args.map(OsString::from), move |name| {
                (Some(name) == var).then(|| OsString::from("2102"))
            });
            match parsed {
                Parsed::Run(cli) => cli.unused,
                _ => panic!("{list:?} should parse"),
            }
        };
        assert_eq!(
            unused(&["--quit-url", "http://127.0.0.1:1/q", "--", "app"], None),
            ["--quit-url has no effect without --shutdown; it is ignored"]
        );
        assert_eq!(
            unused(&["--shutdown-on-failure=false", "--wait-app-exit"], None),
            ["--shutdown-on-failure has no effect without --shutdown; it is ignored"]
        );
        assert_eq!(
            unused(&["--", "app"], Some("READYGATE_PROXY_UID")),
            ["READYGATE_PROXY_UID has no effect without --wait-app-exit; it is ignored"]
        );
        // In their own mode, and when left at their defaults, nothing is said.
        let job = ["--quit-url", "http://127.0.0.1:1/q", "-S", "--", "app"];
        assert!(unused(&job, None).is_empty());
        assert!(unused(&["--wait-app-exit"], Some("READYGATE_PROXY_UID")).is_empty());
        assert!(unused(&["--", "app"], None).is_empty());
    }

    #[test]
    fn waiting_options_are_named_as_unused_by_the_modes_that_do_not_wait() {
        let warnings = |list: &[&str]| match parse(list) {
            Parsed::Run(cli) => cli.unused,
            _ => panic!("{list:?} should parse"),
        };
        let install = [
            "--url=http://127.0.0.1:1/r",
            "--expect-status=204",
            "--interval=5ms",
            "--max-interval=2s",
            "--request-timeout=3s",
            "--install=/d",
        ];
        assert_eq!(
            warnings(&install),
            [
                "--url has no effect with --install; it is ignored",
                "--expect-status has no effect with --install; it is ignored",
                "--request-timeout has no effect with --install; it is ignored",
                "--interval has no effect with --install; it is ignored",
                "--max-interval has no effect with --install; it is ignored",
            ]
        );
        assert_eq!(
            warnings(&["--interval=5ms", "--max-interval=2s", "--wait-app-exit"]),
            [
                "--interval has no effect with --wait-app-exit; it is ignored",
                "--max-interval has no effect with --wait-app-exit; it is ignored",
            ]
        );
        // --timeout is read by the preStop wait too; logging options by every mode.
        assert!(warnings(&["-t", "5s", "-q", "--wait-app-exit"]).is_empty());
        assert_eq!(
            warnings(&["-t", "5s", "--install", "/d"]),
            ["--timeout has no effect with --install; it is ignored"]
        );
    }

    #[test]
    fn every_option_is_read_by_some_mode_and_the_mode_options_by_all() {
        for spec in SPECS {
            let modes = [
                Modes::GATE,
                Modes::JOB,
                Modes::WAIT_APP_EXIT,
                Modes::INSTALL,
            ];
            assert!(
                modes.iter().any(|m| spec.read_by.contains(*m)),
                "--{}",
                spec.long
            );
            if ["shutdown", "wait-app-exit", "install"].contains(&spec.long) {
                assert_eq!(spec.read_by, Modes::ALL, "--{}", spec.long);
            }
        }
    }

    #[test]
    fn proxy_uids_accumulate_and_bad_ones_are_named() {
        let Parsed::Run(cli) = parse(&[
            "--proxy-uid",
            "1337,2102",
            "--proxy-uid=0",
            "--wait-app-exit",
        ]) else {
            panic!()
        };
        assert_eq!(cli.options.proxy_uids, [1337, 2102, 0]);
        let m = usage(&["--proxy-uid", "1337,istio"]);
        assert!(m.contains("\"istio\"") && m.contains("--proxy-uid"), "{m}");
    }

    #[test]
    fn empty_paths_are_refused() {
        assert!(usage(&["--install="]).contains("--install"));
        assert!(usage(&["--termination-log", " "]).contains("--termination-log"));
    }
}
