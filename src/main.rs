//! readygate's entry point: parse, set up logging, wait, then exec (or, in Job mode, supervise
//! the command and quit the sidecar), or exit with a code.
//!
//! `main` reads as the table of contents and is the only place that decides the exit code.

use std::ffi::OsString;
use std::process::ExitCode;

use tokio::runtime::Runtime;
use tracing::{debug, error, info, warn};

use readygate::backoff::Backoff;
use readygate::cli::{self, Cli, Parsed};
use readygate::supervise::{self, Ended, Supervisor};
use readygate::wait::{self, Plan};
use readygate::{exec, exit, log, quit, signals, sys};

/// On musl (the shipped static binaries), dlmalloc instead of musl's allocator: musl's returns
/// freed memory to the kernel at once, so every probe paid for mmap, munmap and page faults on
/// the same few buffers (measured in bench/README.md, "Investigation notes"). dlmalloc keeps
/// freed memory for reuse, as glibc does.
#[cfg(target_env = "musl")]
#[global_allocator]
static ALLOCATOR: dlmalloc::GlobalDlmalloc = dlmalloc::GlobalDlmalloc;

/// Descriptors the runtime opens (epoll, its waker, the signal driver's socket pair and their
/// duplicates: six) plus one probe socket. tokio panics (so, with panic=abort, aborts) when it
/// cannot open its signal pipe; checking first turns that into a clear error and exit 71.
const RUNTIME_DESCRIPTORS: usize = 7;

fn main() -> ExitCode {
    let cli = match cli::parse(std::env::args_os()) {
        Parsed::Run(cli) => cli,
        Parsed::Info(text) => {
            // Even --help stays off stdout: readygate never writes there.
            eprint!("{text}");
            return ExitCode::SUCCESS;
        }
        Parsed::Usage(message) => {
            eprintln!("readygate: {message}");
            return code(exit::USAGE);
        }
    };
    if let Err(message) = log::init(cli.log_format, cli.quiet, cli.verbose) {
        eprintln!("readygate: {message}");
        return code(exit::USAGE);
    }
    code(run(&cli))
}

/// Waits, then hands over to the command; returns the exit code when readygate itself exits.
fn run(cli: &Cli) -> i32 {
    if let Err(e) = sys::reserve_descriptors(RUNTIME_DESCRIPTORS) {
        error!(
            "too few file descriptors to start (ulimit -n); readygate needs {} more than stdin, \
             stdout and stderr: {e}",
            RUNTIME_DESCRIPTORS
        );
        return exit::OS_ERROR;
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            error!("cannot start the async runtime: {e}");
            return exit::OS_ERROR;
        }
    };
    if cli.shutdown {
        return job(cli, &runtime);
    }
    if let Err(status) = pass_gate(cli, &runtime) {
        return status;
    }
    if cli.command.is_empty() {
        return exit::READY;
    }
    drop(runtime);
    let err = exec::exec(&cli.command);
    not_run(&cli.command, &err)
}

/// Job mode (--shutdown): the same wait, then the command as a supervised child. The sidecar is
/// told to quit however that ends, even if the command never ran (unless it failed and
/// --shutdown-on-failure=false); a quit failure never changes the exit code.
fn job(cli: &Cli, runtime: &Runtime) -> i32 {
    // Before the wait, so a signal between the wait and the spawn is held for the child.
    let status = match runtime.block_on(async { Supervisor::install() }) {
        Err(e) => {
            error!("cannot install signal handlers: {e}");
            exit::OS_ERROR
        }
        Ok(mut supervisor) => match pass_gate(cli, runtime) {
            Err(status) => status,
            Ok(()) => match runtime.block_on(supervisor.run(&cli.command)) {
                Ended::Exited(status) => supervise::exit_code(status),
                Ended::NotStarted(err) => not_run(&cli.command, &err),
                Ended::Lost(err) => {
                    error!("lost track of the command: {err}");
                    exit::OS_ERROR
                }
            },
        },
    };
    if status == exit::READY || cli.shutdown_on_failure {
        runtime.block_on(quit::quit_all(&cli.quit_targets()));
    } else {
        info!(
            status,
            "the command failed; leaving the sidecar running (--shutdown-on-failure=false)"
        );
    }
    status
}

/// The wait, unless disabled: `Err` holds the exit code when readygate must not run the command.
fn pass_gate(cli: &Cli, runtime: &Runtime) -> Result<(), i32> {
    if cli.disabled {
        debug!("READYGATE_DISABLED is set: not waiting for the sidecar");
        return Ok(());
    }
    match runtime.block_on(gate(&plan(cli))) {
        Gate::Ready => Ok(()),
        Gate::TimedOut(summary) if !cli.timeout_fatal => {
            warn!("{summary}; running the command anyway (--timeout-fatal=false)");
            Ok(())
        }
        Gate::TimedOut(summary) => {
            error!("{summary}");
            Err(cli.timeout_exit_code)
        }
        Gate::Interrupted(signal) => {
            info!(
                signal = signals::name(signal),
                "interrupted while waiting; the command was not run"
            );
            Err(exit::for_signal(signal))
        }
        Gate::SignalSetupFailed(e) => {
            error!("cannot install signal handlers: {e}");
            Err(exit::OS_ERROR)
        }
    }
}

/// Logs why the command could not be run (exec'd or spawned); returns the exit code for it.
fn not_run(command: &[OsString], err: &std::io::Error) -> i32 {
    let program = command
        .first()
        .map_or_else(String::new, |p| p.to_string_lossy().into_owned());
    let status = exit::for_exec_error(err);
    match status {
        exit::NOT_FOUND => error!("command not found: {program}: {err}"),
        exit::NOT_EXECUTABLE => error!("command not executable: {program}: {err}"),
        _ => error!("cannot run {program}: {err}"),
    }
    status
}

fn plan(cli: &Cli) -> Plan {
    Plan {
        targets: cli.targets(),
        expect: cli.expect_status.clone(),
        timeout: (!cli.timeout.is_zero()).then_some(cli.timeout),
        request_timeout: cli.request_timeout,
        backoff: Backoff::new(cli.interval, cli.max_interval),
    }
}

/// How the gate ended.
enum Gate {
    Ready,
    TimedOut(String),
    Interrupted(i32),
    SignalSetupFailed(std::io::Error),
}

/// The wait, raced against the signals that end it.
async fn gate(plan: &Plan) -> Gate {
    let mut signals = match signals::WaitSignals::install() {
        Ok(signals) => signals,
        Err(e) => return Gate::SignalSetupFailed(e),
    };
    let waited = tokio::select! {
        biased;
        signal = signals.recv() => return Gate::Interrupted(signal),
        waited = wait::wait(plan) => waited,
    };
    if let Some(signal) = signals.pending() {
        return Gate::Interrupted(signal);
    }
    match waited.timeout_summary() {
        Some(summary) => Gate::TimedOut(summary),
        None => Gate::Ready,
    }
}

/// Every status readygate produces is 0-255 by construction; anything else would be a bug,
/// reported as an OS failure rather than the 255 the conventions avoid.
fn code(status: i32) -> ExitCode {
    ExitCode::from(u8::try_from(status).unwrap_or(exit::OS_ERROR as u8))
}
