//! The HTTP side: each listener's connections served by hyper (HTTP/1), each request answered
//! from the preset and the timeline, and logged as one line.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, CONNECTION, USER_AGENT};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use crate::log::Clock;
use crate::preset::Endpoints;
use crate::timeline::{Phase, Timeline};

/// What every connection needs to answer and log.
pub struct Sidecar {
    pub clock: Clock,
    pub endpoints: &'static Endpoints,
    pub timeline: Timeline,
    pub hang: bool,
    /// The phase the log last announced.
    announced: Mutex<Option<Phase>>,
}

impl Sidecar {
    pub fn new(
        clock: Clock,
        endpoints: &'static Endpoints,
        timeline: Timeline,
        hang: bool,
    ) -> Self {
        let announced = Mutex::new(None);
        Sidecar {
            clock,
            endpoints,
            timeline,
            hang,
            announced,
        }
    }

    /// The phase now, announced in the log first if it changed: the timer task and every answer
    /// go through here, so a log never shows a 200 before the line saying the sidecar is ready.
    pub fn phase(&self) -> Phase {
        let mut announced = self.announced.lock().unwrap_or_else(|e| e.into_inner());
        let at = self.clock.elapsed();
        let phase = self.timeline.phase(at);
        if *announced != Some(phase) {
            let hang = if self.hang && phase == Phase::NotReady {
                ", but requests hang (--hang)"
            } else {
                ""
            };
            crate::log!(
                self.clock,
                "state: {}{hang}",
                describe(&self.timeline, phase, at)
            );
            *announced = Some(phase);
        }
        phase
    }
}

fn describe(t: &Timeline, phase: Phase, at: Duration) -> String {
    match phase {
        Phase::Refusing => format!(
            "refusing connections for {:?} (not listening yet)",
            t.refuse_for
        ),
        Phase::NotReady if t.never_ready => {
            "not ready (503), and never will be (--never-ready)".into()
        }
        Phase::NotReady if at < t.refuse_for + t.not_ready_for => {
            format!("not ready (503) for {:?}", t.not_ready_for)
        }
        Phase::NotReady => "not ready (503) (flapping)".into(),
        Phase::Ready => "ready (200)".into(),
    }
}

/// Accepts connections for ever; `quit` hears once a quit request's answer has been sent.
pub async fn serve(listener: TcpListener, sidecar: Arc<Sidecar>, quit: mpsc::Sender<()>) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                crate::log!(sidecar.clock, "accept failed: {e}");
                // Out of descriptors, say: do not spin on the same error.
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let (sidecar, quit) = (sidecar.clone(), quit.clone());
        tokio::spawn(async move {
            let quit_asked = Arc::new(AtomicBool::new(false));
            let service = {
                let (sidecar, quit_asked) = (sidecar.clone(), quit_asked.clone());
                service_fn(move |req| answer(req, peer, sidecar.clone(), quit_asked.clone()))
            };
            let served = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
            if let Err(e) = served {
                crate::log!(sidecar.clock, "{peer} connection error: {e}");
            }
            // The connection is over, so the quit's 200 has been written: only now exit.
            if quit_asked.load(Ordering::SeqCst) {
                let _ = quit.send(()).await;
            }
        });
    }
}

fn reply(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    response
}

async fn answer(
    req: Request<Incoming>,
    peer: SocketAddr,
    sidecar: Arc<Sidecar>,
    quit_asked: Arc<AtomicBool>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let ep = sidecar.endpoints;
    let (method, path) = (req.method(), req.uri().path());
    // Quoted with escapes: a client's text never breaks a log line.
    let agent = req
        .headers()
        .get(USER_AGENT)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .unwrap_or_default();
    let response = if path == ep.ready_path {
        if method != Method::GET && method != Method::HEAD {
            reply(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n")
        } else if sidecar.phase() == Phase::Ready {
            reply(StatusCode::OK, ep.ready_body)
        } else if sidecar.hang {
            crate::log!(
                sidecar.clock,
                "{peer} \"{method} {path}\" - {agent:?} (hanging: never answered)"
            );
            // Never completes: Infallible has no value to return.
            match std::future::pending::<Infallible>().await {}
        } else {
            reply(StatusCode::SERVICE_UNAVAILABLE, ep.not_ready_body)
        }
    } else if path == ep.quit_path {
        if method != Method::POST {
            reply(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n")
        } else if ep.quit_loopback_only && !peer.ip().to_canonical().is_loopback() {
            reply(
                StatusCode::FORBIDDEN,
                "only requests from localhost are allowed\n",
            )
        } else {
            quit_asked.store(true, Ordering::SeqCst);
            let mut response = reply(StatusCode::OK, ep.quit_body);
            // hyper closes the connection after this answer, and serve() exits after that.
            response
                .headers_mut()
                .insert(CONNECTION, HeaderValue::from_static("close"));
            response
        }
    } else {
        reply(StatusCode::NOT_FOUND, "not found\n")
    };
    crate::log!(
        sidecar.clock,
        "{peer} \"{method} {path}\" {} {agent:?}",
        response.status().as_u16()
    );
    Ok(response)
}
