//! A stand-in service-mesh sidecar for trying readygate locally (used by `scripts/demo.sh`).
//!
//! It serves the readiness and quit endpoints of the real proxies on loopback:
//!
//! | `--mesh`  | port  | readiness              | quit                  |
//! |-----------|-------|------------------------|-----------------------|
//! | `istio`   | 15020 | `GET /healthz/ready`   | `POST /quitquitquit`  |
//! | `linkerd` | 4191  | `GET /ready`           | `POST /shutdown`      |
//! | `envoy`   | 15000 | `GET /ready` (`LIVE`)  | `POST /quitquitquit`  |
//!
//! `--mesh all` (the default) serves all three. Examples:
//!
//! ```text
//! cargo run --example mock_proxy                                   # ready at once, all meshes
//! cargo run --example mock_proxy -- --mesh istio --ready-after 5s  # 503 for 5 s, then 200
//! cargo run --example mock_proxy -- --mesh envoy --port 0 --bind ::1 --before hang --ready-after never
//! cargo run --example mock_proxy -- --mesh linkerd --ready-after 1s --flap 2s --before refuse
//! ```
//!
//! Options: `--port N` (single mesh only; 0 picks a free port, logged on stderr),
//! `--bind IP` (repeatable, default 127.0.0.1), `--ready-after DUR|never` (500ms, 2s, 1m30s; default 0),
//! `--before 503|refuse|hang` says what a readiness probe sees before then: 503 with the real proxy's
//! body, no listener at all (connection refused), or a connection that never gets an answer.
//! `--flap DUR` alternates ready / not ready every DUR once ready (with `refuse`, the not-ready phases
//! answer 503: the listener stays open once bound). Quit endpoints answer POST with 200 `OK`, even
//! before readiness, then the mock exits 0; other methods get 405, unknown paths 404.
//! Everything is logged on stderr; nothing is written to stdout.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use clap::error::ErrorKind;
use clap::{CommandFactory, Parser, ValueEnum};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, CONNECTION};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::time::{sleep_until, Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Mesh {
    Istio,
    Linkerd,
    Envoy,
    All,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Before {
    /// Do not listen until ready (the sidecar process has not started yet).
    Refuse,
    /// Answer 503 with the real proxy's body (the proxy is up but has no config yet).
    #[value(name = "503")]
    Unavailable,
    /// Accept the connection and never answer (a wedged proxy).
    Hang,
}

/// `--ready-after`: `None` means never.
#[derive(Clone, Copy, Debug)]
struct ReadyAfter(Option<Duration>);

#[derive(Parser, Debug)]
#[command(
    name = "mock_proxy",
    about = "Stand-in Istio / Linkerd / Envoy sidecar for testing readygate"
)]
struct Args {
    /// Which sidecar to imitate.
    #[arg(long, value_enum, default_value = "all")]
    mesh: Mesh,
    /// Port to listen on instead of the mesh's own (only with a single --mesh; 0 = any free port).
    #[arg(long)]
    port: Option<u16>,
    /// Address to listen on; repeat for several (e.g. --bind 127.0.0.1 --bind ::1).
    #[arg(long, default_value = "127.0.0.1")]
    bind: Vec<IpAddr>,
    /// How long after start the proxy becomes ready (500ms, 2s, 1m30s), or `never`.
    #[arg(long, default_value = "0", value_parser = parse_ready_after)]
    ready_after: ReadyAfter,
    /// What readiness probes see before the proxy is ready.
    #[arg(long, value_enum, default_value = "503")]
    before: Before,
    /// Once ready, alternate between ready and not ready every DUR.
    #[arg(long, value_parser = parse_duration)]
    flap: Option<Duration>,
}

/// One imitated sidecar: where it listens and what it says.
struct Endpoint {
    name: &'static str,
    port: u16,
    ready_path: &'static str,
    quit_path: &'static str,
    ready_body: &'static str,
    not_ready_body: &'static str,
}

const ISTIO: Endpoint = Endpoint {
    name: "istio",
    port: 15020,
    ready_path: "/healthz/ready",
    quit_path: "/quitquitquit",
    ready_body: "",
    not_ready_body: "config not received from XDS server (is Istiod running?)\n",
};
const LINKERD: Endpoint = Endpoint {
    name: "linkerd",
    port: 4191,
    ready_path: "/ready",
    quit_path: "/shutdown",
    ready_body: "ready\n",
    not_ready_body: "not ready\n",
};
const ENVOY: Endpoint = Endpoint {
    name: "envoy",
    port: 15000,
    ready_path: "/ready",
    quit_path: "/quitquitquit",
    ready_body: "LIVE\n",
    not_ready_body: "PRE_INITIALIZING\n",
};

/// The readiness timeline, shared by every listener.
struct State {
    start: Instant,
    ready_at: Option<Instant>,
    flap: Option<Duration>,
    before: Before,
}

impl State {
    fn is_ready(&self) -> bool {
        let Some(ready_at) = self.ready_at else {
            return false;
        };
        let now = Instant::now();
        if now < ready_at {
            return false;
        }
        match self.flap {
            // Even-numbered flap periods are ready, odd ones are not.
            Some(period) => ((now - ready_at).as_nanos() / period.as_nanos()) % 2 == 0,
            None => true,
        }
    }
}

macro_rules! log {
    ($st:expr, $($arg:tt)*) => {
        eprintln!("mock_proxy +{:.3}s: {}", $st.start.elapsed().as_secs_f64(), format_args!($($arg)*))
    };
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("invalid duration {s:?} (examples: 500ms, 2s, 1m30s)");
    let mut rest = s.trim();
    if rest.is_empty() {
        return Err(bad());
    }
    let mut total = Duration::ZERO;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(rest.len());
        let (number, tail) = rest.split_at(digits);
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        let n: f64 = number.parse().map_err(|_| bad())?;
        let scale = match unit {
            "ms" => 0.001,
            "s" | "" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        total += Duration::try_from_secs_f64(n * scale).map_err(|_| bad())?;
        rest = tail;
    }
    Ok(total)
}

fn parse_ready_after(s: &str) -> Result<ReadyAfter, String> {
    if s == "never" {
        return Ok(ReadyAfter(None));
    }
    parse_duration(s).map(|d| ReadyAfter(Some(d)))
}

fn respond(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *resp.status_mut() = status;
    resp
}

async fn handle(
    req: Request<Incoming>,
    ep: &'static Endpoint,
    label: Arc<str>,
    st: Arc<State>,
    quit: Arc<AtomicBool>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (method, path) = (req.method().clone(), req.uri().path().to_owned());
    let resp = if path == ep.ready_path {
        if method != Method::GET && method != Method::HEAD {
            respond(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n")
        } else if st.is_ready() {
            respond(StatusCode::OK, ep.ready_body)
        } else if st.before == Before::Hang {
            log!(st, "{label} {method} {path} -> (hanging, never answers)");
            std::future::pending::<()>().await;
            unreachable!()
        } else {
            respond(StatusCode::SERVICE_UNAVAILABLE, ep.not_ready_body)
        }
    } else if path == ep.quit_path {
        if method == Method::POST {
            quit.store(true, Ordering::SeqCst);
            let mut resp = respond(StatusCode::OK, "OK");
            // Makes hyper close the connection after writing, so the mock exits only once the
            // client has its answer (see serve()).
            resp.headers_mut()
                .insert(CONNECTION, HeaderValue::from_static("close"));
            resp
        } else {
            respond(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n")
        }
    } else {
        respond(StatusCode::NOT_FOUND, "not found\n")
    };
    log!(st, "{label} {method} {path} -> {}", resp.status().as_u16());
    Ok(resp)
}

async fn serve(
    listener: TcpListener,
    ep: &'static Endpoint,
    label: Arc<str>,
    st: Arc<State>,
    quit_tx: mpsc::Sender<()>,
) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _peer)) => stream,
            Err(e) => {
                log!(st, "{label} accept failed: {e}");
                continue;
            }
        };
        let (label, st, quit_tx) = (label.clone(), st.clone(), quit_tx.clone());
        tokio::spawn(async move {
            let quit = Arc::new(AtomicBool::new(false));
            let svc = {
                let (label, st, quit) = (label.clone(), st.clone(), quit.clone());
                service_fn(move |req| handle(req, ep, label.clone(), st.clone(), quit.clone()))
            };
            let result = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .await;
            if let Err(e) = result {
                log!(st, "{label} connection error: {e}");
            }
            // The connection is finished, so the quit answer has been flushed: now exit.
            if quit.load(Ordering::SeqCst) {
                let _ = quit_tx.send(()).await;
            }
        });
    }
}

/// Logs each readiness change as it happens, so test logs show the timeline.
async fn announce(st: Arc<State>) {
    let Some(ready_at) = st.ready_at else {
        log!(
            st,
            "state: not ready, and never will be (--ready-after never)"
        );
        return;
    };
    if ready_at > Instant::now() {
        let mode = st.before.to_possible_value().expect("no skipped variants");
        log!(st, "state: not ready (--before {})", mode.get_name());
    }
    sleep_until(ready_at).await;
    log!(st, "state: ready");
    let Some(period) = st.flap else { return };
    let (mut ready, mut next) = (true, ready_at + period);
    loop {
        sleep_until(next).await;
        ready = !ready;
        log!(
            st,
            "state: {}",
            if ready { "ready" } else { "not ready (flap)" }
        );
        next += period;
    }
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    if args.port.is_some() && args.mesh == Mesh::All {
        Args::command()
            .error(ErrorKind::ArgumentConflict, "--port needs a single --mesh")
            .exit();
    }
    if args.flap == Some(Duration::ZERO) {
        Args::command()
            .error(ErrorKind::InvalidValue, "--flap must be > 0")
            .exit();
    }
    let endpoints: Vec<&'static Endpoint> = match args.mesh {
        Mesh::Istio => vec![&ISTIO],
        Mesh::Linkerd => vec![&LINKERD],
        Mesh::Envoy => vec![&ENVOY],
        Mesh::All => vec![&ISTIO, &LINKERD, &ENVOY],
    };
    let start = Instant::now();
    let st = Arc::new(State {
        start,
        ready_at: args.ready_after.0.map(|d| start + d),
        flap: args.flap,
        before: args.before,
    });
    tokio::spawn(announce(st.clone()));

    if st.before == Before::Refuse {
        match st.ready_at {
            Some(at) => sleep_until(at).await,
            None => std::future::pending::<()>().await, // refuse forever: never listen
        }
    }
    let (quit_tx, mut quit_rx) = mpsc::channel(1);
    for ep in endpoints {
        for ip in &args.bind {
            let addr = SocketAddr::new(*ip, args.port.unwrap_or(ep.port));
            let listener = TcpListener::bind(addr).await.unwrap_or_else(|e| {
                log!(st, "cannot listen on {addr} ({}): {e}", ep.name);
                std::process::exit(1);
            });
            let local = listener.local_addr().expect("bound socket has an address");
            log!(st, "{} listening on {local}", ep.name);
            let label: Arc<str> = format!("{}@{local}", ep.name).into();
            tokio::spawn(serve(listener, ep, label, st.clone(), quit_tx.clone()));
        }
    }
    quit_rx.recv().await;
    log!(st, "quit requested: exiting 0");
    std::process::exit(0);
}
