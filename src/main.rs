//! readygate's entry point: parse, set up logging, then run the mode the command line asks for
//! (wait then exec, Job mode, the preStop wait, or install), and exit with a code.
//!
//! `main` reads as the table of contents and is the only place that decides the exit code. When
//! readygate fails by itself, the reason is logged and written to the termination log here, once.

use std::ffi::OsString;
use std::io::Write as _;
use std::process::ExitCode;

use tokio::runtime::Runtime;
use tracing::{debug, error, info, warn};

use readygate::appexit::{self, Exited, Watch};
use readygate::backoff::Backoff;
use readygate::cli::{self, Cli, Mode, Parsed};
use readygate::exit::{self, Failure};
use readygate::pod::gather;
use readygate::pod::mode::{Decision, JobQuit, Mesh as PodMesh, PodMode};
use readygate::preset::Mesh;
use readygate::probe::Settle;
use readygate::quit::Refusal;
use readygate::signalfd::Listener;
use readygate::signals::Phase;
use readygate::supervise::{self, Ended, Supervisor};
use readygate::wait::{self, Auto, Gate, Gated, Plan};
use readygate::{exec, install, log, quit, signals, sys, termination};

/// On musl (the shipped static binaries), dlmalloc instead of musl's allocator, which returns
/// freed memory to the kernel at once, so every probe paid for mmap, munmap and page faults on
/// the same few buffers (measured in bench/README.md, "Investigation notes"). dlmalloc keeps
/// freed memory for reuse, as glibc does.
#[cfg(target_env = "musl")]
#[global_allocator]
static ALLOCATOR: dlmalloc::GlobalDlmalloc = dlmalloc::GlobalDlmalloc;

/// Descriptors readygate opens before its first probe (the runtime's two epoll instances and its
/// waker, the signalfd) plus one more: the probe socket, or, when `--mesh auto` gathers the
/// pod's facts, the annotations file and then the netlink socket, one at a time, once the first
/// attempt's connection is closed (`wait/sidecar.rs`). So 4 + 1 above stdin, stdout and stderr:
/// `ulimit -n 8`. Checking first turns a `ulimit -n` too low into a clear error and exit 71
/// rather than a failure deep inside the runtime.
const RUNTIME_DESCRIPTORS: usize = 5;

fn main() -> ExitCode {
    let cli = match cli::parse(std::env::args_os()) {
        Parsed::Run(cli) => cli,
        Parsed::Info(text) => return print_info(&text),
        Parsed::Usage(message) => {
            eprintln!("readygate: {message}");
            return code(exit::USAGE);
        }
    };
    if let Err(message) = log::init(
        cli.options.log_format,
        cli.options.quiet,
        cli.options.verbose,
    ) {
        eprintln!("readygate: {message}");
        return code(exit::USAGE);
    }
    for unused in &cli.unused {
        warn!("{unused}");
    }
    let status = match &cli.mode {
        Mode::Install(dir) => install::install(dir).map(|()| exit::READY),
        Mode::Gate | Mode::Job | Mode::WaitAppExit => runtime().and_then(|rt| run(&cli, &rt)),
    };
    code(status.unwrap_or_else(|failure| fail(&cli, &failure)))
}

/// `--help` and `--version` go to stdout, as every CLI's do. A closed pipe (`| head`) is fine.
fn print_info(text: &str) -> ExitCode {
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            eprintln!("readygate: cannot write to stdout: {e}");
            code(exit::OS_ERROR)
        }
        _ => ExitCode::SUCCESS,
    }
}

/// The tokio runtime every mode but `--install` runs on.
fn runtime() -> Result<Runtime, Failure> {
    if let Err(e) = sys::reserve_descriptors(RUNTIME_DESCRIPTORS) {
        return Err(Failure::error(
            exit::OS_ERROR,
            format!(
                "too few file descriptors to start (ulimit -n); readygate needs \
                 {RUNTIME_DESCRIPTORS} more than stdin, stdout and stderr: {e}"
            ),
        ));
    }
    tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .map_err(|e| {
            Failure::error(
                exit::OS_ERROR,
                format!("cannot start the async runtime: {e}"),
            )
        })
}

/// Runs the mode; `Ok` holds the exit code when readygate exits by itself without failing.
fn run(cli: &Cli, runtime: &Runtime) -> Result<i32, Failure> {
    // The signal listener registers with the runtime, and blocks signals before any of the
    // runtime's threads start (they inherit the mask).
    let _inside = runtime.enter();
    match cli.mode {
        Mode::Job => job(cli, runtime),
        Mode::WaitAppExit => wait_app_exit(cli, runtime, &mut listen(Phase::Gate)?),
        Mode::Gate | Mode::Install(_) => {
            pass_gate(cli, runtime, &mut listen(Phase::Gate)?, &mut None)?;
            if cli.command.is_empty() {
                return Ok(exit::READY);
            }
            let err = exec::exec(&cli.command);
            Err(not_run(&cli.command, &err))
        }
    }
}

/// The signal listener for `phase`, made before the first probe: when readygate is PID 1, the
/// kernel drops any signal it neither handles nor blocks.
fn listen(phase: Phase) -> Result<Listener, Failure> {
    Listener::new(phase).map_err(|e| {
        Failure::error(
            exit::OS_ERROR,
            format!("cannot set up the signal listener (block signals, open a signalfd): {e}"),
        )
    })
}

/// Job mode (--shutdown): the same wait, then the command as a supervised child. The sidecar is
/// told to quit however that ends, even if the command never ran (unless it failed and
/// --shutdown-on-failure=false, or the pod's mode says there is nothing to quit); a quit failure
/// never changes the exit code.
fn job(cli: &Cli, runtime: &Runtime) -> Result<i32, Failure> {
    let mut pod = None;
    let mut ran = false;
    // Before the wait, so a signal between the wait and the spawn is held for the child.
    let outcome = match listen(Phase::JobWait) {
        Err(failure) => Err(failure),
        Ok(mut signals) => pass_gate(cli, runtime, &mut signals, &mut pod).and_then(|()| {
            ran = true;
            let mut supervisor = Supervisor::new(&mut signals);
            match runtime.block_on(supervisor.run(&cli.command)) {
                Ended::Exited(status) => Ok(supervise::exit_code(status)),
                Ended::NotStarted(err) => Err(not_run(&cli.command, &err)),
                Ended::Lost(err) => Err(Failure::error(
                    exit::OS_ERROR,
                    format!("lost track of the command: {err}"),
                )),
            }
        }),
    };
    let status = match &outcome {
        Ok(status) => *status,
        Err(failure) => failure.code,
    };
    if status == exit::READY || cli.options.shutdown_on_failure {
        quit_sidecar(cli, runtime, pod, ran);
    } else {
        info!(
            status,
            "the command failed; leaving the sidecar running (--shutdown-on-failure=false)"
        );
    }
    outcome
}

/// Job mode's quit. With `--mesh auto` (and no --quit-url) it follows the pod's mode: decided
/// during the wait, or, when the command ran without the wait needing one (the sidecar was
/// ready at once, or the wait was disabled), decided now; a native sidecar, an ambient or an
/// uninjected pod get no quit. A wait cut short before any decision quits as before.
fn quit_sidecar(cli: &Cli, runtime: &Runtime, decided: Option<Decision>, ran: bool) {
    if !cli.stages().auto || !cli.options.quit_urls.is_empty() {
        runtime.block_on(quit::quit_all(&cli.quit_targets(), Refusal::Warn));
        return;
    }
    let decision = match decided {
        Some(decision) => {
            // The wait's line promised a quit; one that will not come is said again here.
            if !decision.mode.quits() {
                info!("{}", decision.quit_line());
            }
            decision
        }
        None if ran => {
            let decision = gather::gather(&cli.pod_annotations());
            decision.log(&decision.quit_line(), None);
            decision
        }
        None => {
            runtime.block_on(quit::quit_all(&cli.quit_targets(), Refusal::Warn));
            return;
        }
    };
    if !decision.mode.quits() {
        return;
    }
    let mesh = decision.mode.mesh().map_or(Mesh::Auto, Mesh::from);
    // Linkerd's shutdown endpoint answers 404 unless enabled, and a native Linkerd sidecar
    // needs no quit: when the pod did not say which it is, a refusal is no surprise.
    let refusal = match decision.mode {
        PodMode::Sidecar(PodMesh::Linkerd) => Refusal::Expected,
        _ => Refusal::Warn,
    };
    runtime.block_on(quit::quit_all(&cli.quit_targets_of(mesh), refusal));
}

/// The wait, unless disabled: `Err` when readygate must not run the command. What `--mesh auto`
/// decided about the pod on the way, if anything, is left in `pod`.
fn pass_gate(
    cli: &Cli,
    runtime: &Runtime,
    signals: &mut Listener,
    pod: &mut Option<Decision>,
) -> Result<(), Failure> {
    if cli.options.disabled {
        debug!("READYGATE_DISABLED is set: not waiting for the sidecar");
        return Ok(());
    }
    let Gated { gate, pod: decided } = runtime.block_on(wait::gate(&plan(cli), signals));
    *pod = decided;
    match gate {
        Gate::Ready => Ok(()),
        Gate::TimedOut(summary) if !cli.options.timeout_fatal => {
            warn!("{summary}; running the command anyway (--timeout-fatal=false)");
            Ok(())
        }
        Gate::TimedOut(summary) => Err(Failure::error(cli.options.timeout_exit_code, summary)),
        Gate::Interrupted(signal) => Err(Failure {
            code: exit::for_signal(signal),
            message: format!(
                "interrupted by {} while waiting; the command was not run",
                signals::name(signal)
            ),
            serious: false,
        }),
    }
}

/// The preStop wait (--wait-app-exit): 0 once the application's sockets are gone.
fn wait_app_exit(cli: &Cli, runtime: &Runtime, signals: &mut Listener) -> Result<i32, Failure> {
    let options = &cli.options;
    let timeout = (!options.timeout.is_zero()).then_some(options.timeout);
    let watch = Watch::new(&options.proxy_uids, timeout);
    match runtime.block_on(appexit::wait_app_exit(&watch, signals)) {
        Exited::Gone => Ok(exit::READY),
        Exited::TimedOut(summary) => Err(Failure::error(options.timeout_exit_code, summary)),
        Exited::Interrupted(signal) => Err(Failure {
            code: exit::for_signal(signal),
            message: format!(
                "interrupted by {} while waiting for the application to exit",
                signals::name(signal)
            ),
            serious: false,
        }),
        Exited::Unreadable(message) => Err(Failure::error(exit::OS_ERROR, message)),
    }
}

/// Why the command could not be run (exec'd or spawned), and the exit code for it.
fn not_run(command: &[OsString], err: &std::io::Error) -> Failure {
    let program = command
        .first()
        .map_or_else(String::new, |p| p.to_string_lossy().into_owned());
    let code = exit::for_exec_error(err);
    let message = match code {
        exit::NOT_FOUND => format!("command not found: {program}: {err}"),
        exit::NOT_EXECUTABLE => format!("command not executable: {program}: {err}"),
        _ => format!("cannot run {program}: {err}"),
    };
    Failure::error(code, message)
}

fn plan(cli: &Cli) -> Plan {
    let options = &cli.options;
    let stages = cli.stages();
    Plan {
        sidecar: stages.sidecar,
        auto: stages.auto.then(|| Auto {
            annotations: cli.pod_annotations(),
            quit: job_quit(cli),
        }),
        dependencies: stages.dependencies,
        expect: options.expect_status.clone(),
        timeout: (!options.timeout.is_zero()).then_some(options.timeout),
        request_timeout: options.request_timeout,
        backoff: Backoff::new(options.interval, options.max_interval),
        settle: Settle {
            file: options.file_settle,
            tcp: options.tcp_settle,
        },
    }
}

/// What the decision's line may promise of Job mode's quit. A --quit-url is quit as given
/// whatever the pod: the line promises nothing of it.
fn job_quit(cli: &Cli) -> JobQuit {
    if cli.mode != Mode::Job || !cli.options.quit_urls.is_empty() {
        JobQuit::Unsaid
    } else if cli.options.shutdown_on_failure {
        JobQuit::Always
    } else {
        JobQuit::OnSuccess
    }
}

/// Logs the failure and writes it where Kubernetes shows it; returns its exit code.
fn fail(cli: &Cli, failure: &Failure) -> i32 {
    if failure.serious {
        error!("{}", failure.message);
    } else {
        info!("{}", failure.message);
    }
    let explicit = cli.options.termination_log.as_deref();
    // A preStop hook or an install step runs inside another program's container (the proxy's,
    // an init container's image): the default file is that program's to write, not ours.
    let own_container = matches!(cli.mode, Mode::Gate | Mode::Job);
    if explicit.is_some() || own_container {
        termination::record(explicit, &failure.message);
    }
    failure.code
}

/// Every status readygate produces is 0-255 by construction; anything else would be a bug,
/// reported as an OS failure rather than the 255 the conventions avoid.
fn code(status: i32) -> ExitCode {
    ExitCode::from(u8::try_from(status).unwrap_or(exit::OS_ERROR as u8))
}
