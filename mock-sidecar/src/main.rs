//! mock-sidecar: a stand-in Istio / Linkerd / Envoy sidecar for testing readygate locally, as a
//! process or as the `readygate-mock-sidecar` image (examples/compose).
//!
//! ```text
//! src/main.rs      parse -> runtime -> listen after --refuse-for -> run until quit or signal
//! src/cli.rs       options and MOCK_SIDECAR_* variables (clap), one-line usage errors
//! src/preset.rs    the imitated sidecars: ports, paths, bodies
//! src/timeline.rs  refusing -> not ready -> ready (-> flapping), a pure function of time
//! src/serve.rs     HTTP/1 answers from the preset and the timeline, one log line per request
//! src/log.rs       stdout log lines stamped with the time since start
//! ```

mod cli;
mod log;
mod preset;
mod serve;
mod timeline;

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;
use tokio::time::sleep_until;

use crate::log::Clock;
use crate::serve::Sidecar;

/// The sidecar cannot serve: an address cannot be bound (in use, not local), or the runtime or
/// the signal handlers cannot start.
const EXIT_CANNOT_SERVE: u8 = 1;

fn main() -> ExitCode {
    let args = match cli::parse(std::env::args_os().collect()) {
        Ok(args) => args,
        Err((text, code)) => {
            // Help and version (code 0) on stdout; a closed pipe (`| head`) is not an error.
            let _ = match code {
                0 => write!(std::io::stdout(), "{text}"),
                _ => writeln!(std::io::stderr(), "{text}"),
            };
            return ExitCode::from(u8::try_from(code).unwrap_or(2));
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("mock-sidecar: cannot start the async runtime: {e}");
            return ExitCode::from(EXIT_CANNOT_SERVE);
        }
    };
    runtime.block_on(run(args))
}

enum Event {
    Quit,
    CannotListen(String),
}

async fn run(args: cli::Args) -> ExitCode {
    let sidecar = Arc::new(Sidecar::new(
        Clock::start(),
        args.preset.endpoints(),
        args.timeline(),
        args.hang,
    ));
    let (events, mut event) = mpsc::channel(4);
    let (mut term, mut int) = match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(term), Ok(int)) => (term, int),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("mock-sidecar: cannot handle SIGTERM/SIGINT: {e}");
            return ExitCode::from(EXIT_CANNOT_SERVE);
        }
    };
    tokio::spawn(announce(sidecar.clone()));
    tokio::spawn(listen(args.listen, sidecar.clone(), events));
    let ep = sidecar.endpoints;
    tokio::select! {
        Some(event) = event.recv() => match event {
            Event::Quit => {
                log!(sidecar.clock, "quit requested (POST {}): exiting 0", ep.quit_path);
                ExitCode::SUCCESS
            }
            Event::CannotListen(why) => {
                eprintln!("mock-sidecar: {why}");
                ExitCode::from(EXIT_CANNOT_SERVE)
            }
        },
        _ = term.recv() => {
            log!(sidecar.clock, "SIGTERM: exiting 0");
            ExitCode::SUCCESS
        }
        _ = int.recv() => {
            log!(sidecar.clock, "SIGINT: exiting 0");
            ExitCode::SUCCESS
        }
    }
}

/// Binds every address once the refusing phase is over (until then a connect is refused).
async fn listen(addresses: Vec<cli::Listen>, sidecar: Arc<Sidecar>, events: mpsc::Sender<Event>) {
    sleep_until(sidecar.clock.at(sidecar.timeline.refuse_for)).await;
    let ep = sidecar.endpoints;
    let (quit_tx, mut quit_rx) = mpsc::channel(1);
    for address in addresses {
        let addr = SocketAddr::new(address.ip, address.port.unwrap_or(ep.port));
        let listener = match TcpListener::bind(addr).await {
            Ok(listener) => listener,
            Err(e) => {
                let why = format!("cannot listen on {addr}: {e}");
                let _ = events.send(Event::CannotListen(why)).await;
                return;
            }
        };
        let local = listener.local_addr().unwrap_or(addr);
        log!(
            sidecar.clock,
            "listening on {local} ({}: GET {}, POST {})",
            ep.name,
            ep.ready_path,
            ep.quit_path
        );
        tokio::spawn(serve::serve(listener, sidecar.clone(), quit_tx.clone()));
    }
    if quit_rx.recv().await.is_some() {
        let _ = events.send(Event::Quit).await;
    }
}

/// Logs each change of phase when it is due, so a log shows the timeline next to the requests
/// even when no request comes (answers announce a change they see first: `Sidecar::phase`).
async fn announce(sidecar: Arc<Sidecar>) {
    let mut at = std::time::Duration::ZERO;
    loop {
        sidecar.phase();
        let Some(next) = sidecar.timeline.next_change(at) else {
            return;
        };
        sleep_until(sidecar.clock.at(next)).await;
        at = next;
    }
}
