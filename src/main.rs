//! readygate's entry point: parse, set up logging, wait, then exec (or exit with a code).
//!
//! `main` reads as the table of contents and is the only place that decides the exit code.

use std::process::ExitCode;

use tracing::{debug, error, info, warn};

use readygate::backoff::Backoff;
use readygate::cli::{self, Cli, Parsed};
use readygate::wait::{self, Plan};
use readygate::{exec, exit, log, signals};

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
    if cli.disabled {
        debug!("READYGATE_DISABLED is set: not waiting for the sidecar");
    } else {
        match runtime.block_on(gate(&plan(cli))) {
            Gate::Ready => {}
            Gate::TimedOut(summary) if !cli.timeout_fatal => {
                warn!("{summary}; running the command anyway (--timeout-fatal=false)");
            }
            Gate::TimedOut(summary) => {
                error!("{summary}");
                return cli.timeout_exit_code;
            }
            Gate::Interrupted(signal) => {
                info!(
                    signal = signals::name(signal),
                    "interrupted while waiting; the command was not run"
                );
                return exit::for_signal(signal);
            }
            Gate::SignalSetupFailed(e) => {
                error!("cannot install signal handlers: {e}");
                return exit::OS_ERROR;
            }
        }
    }
    if cli.command.is_empty() {
        return exit::READY;
    }
    drop(runtime);
    let err = exec::exec(&cli.command);
    let program = cli.command[0].to_string_lossy();
    let status = exit::for_exec_error(&err);
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

fn code(status: i32) -> ExitCode {
    ExitCode::from(u8::try_from(status).unwrap_or(u8::MAX))
}
