//! One attempt against one endpoint: connect (or reuse the open connection), ask, and classify
//! the answer as ready or not.
//!
//! Every failure is a [`Reason`], never an error that ends the gate: the wait loop decides what
//! to do with it. Reading is bounded: the reply head by `net::Exchange`'s fixed buffer, the body by
//! `REASON_BYTES`, and the whole attempt by the per-request timeout.
//!
//! An HTTP endpoint's connection is kept open between attempts when the endpoint allows it
//! (HTTP/1.1 keep-alive, as pilot-agent, Envoy's admin and Linkerd's admin do): a new connection
//! per attempt costs TCP set-up and teardown and hyper's per-connection buffers each time, which
//! is most of a probe's CPU (measured in bench/README.md, "Investigation notes"). A connection
//! the endpoint closed between attempts is replaced within the same attempt.

use std::time::Duration;

use http_body_util::BodyExt;
use hyper::body::Body as _;
use hyper::Method;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::{timeout_at, Instant};

use crate::file_probe::FileProbe;
use crate::net::{self, Exchange, Failure, QuickAck};
use crate::parse::StatusSet;
use crate::reason::{self, Reason};
use crate::target::{Kind, Target};

/// How much of a not-ready body is read for its reason.
const REASON_BYTES: usize = 256;

/// The result of one attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The endpoint is ready.
    Ready,
    /// The endpoint is not ready, and why.
    NotReady(Reason),
}

/// Probes one endpoint, attempt after attempt, keeping its HTTP connection open when it can.
pub struct Prober {
    target: Target,
    /// The `Host` header, computed once.
    authority: String,
    /// The kept-alive connection, ready for the next request.
    idle: Option<Exchange<QuickAck>>,
    /// A file:// target's state between attempts; `None` for network targets.
    file: Option<FileProbe>,
}

/// An outcome, and the connection if it can carry the next request; or the failure that came
/// before any reply (which, on a reused connection, only means the endpoint closed it while idle).
type Exchanged<S> = Result<(Outcome, Option<Exchange<S>>), Failure>;

impl Prober {
    /// A prober for `target`; nothing is opened until the first attempt. A file target counts
    /// as written once unchanged for `file_settle`.
    pub fn new(target: Target, file_settle: Duration) -> Self {
        let file = match target.kind() {
            Kind::File { path } => Some(FileProbe::new(path.clone(), file_settle)),
            Kind::Http { .. } | Kind::Tcp => None,
        };
        Prober {
            authority: target.authority(),
            target,
            idle: None,
            file,
        }
    }

    /// For a file target seen changing: how soon it will have settled if it changes no more.
    pub fn settles_in(&self) -> Option<Duration> {
        self.file.as_ref()?.settles_in(Instant::now())
    }

    /// The endpoint this prober probes.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// Probes once; the whole attempt ends within `limit`.
    pub async fn probe(&mut self, expect: &StatusSet, limit: Duration) -> Outcome {
        if let Some(file) = &mut self.file {
            // One stat: nothing to time out on a local filesystem.
            return file.probe();
        }
        let deadline = Instant::now() + limit;
        let outcome = timeout_at(deadline, self.attempt(expect, deadline)).await;
        outcome.unwrap_or_else(|_| {
            // Whatever was in flight on the connection is abandoned with it.
            self.idle = None;
            Outcome::NotReady(Reason::NoReply { within: limit })
        })
    }

    /// One attempt, by the kind of target.
    async fn attempt(&mut self, expect: &StatusSet, deadline: Instant) -> Outcome {
        let Prober {
            target,
            authority,
            idle,
            file,
        } = self;
        match target.kind() {
            Kind::Http { path } => {
                let ask = Get {
                    authority,
                    path,
                    expect,
                    deadline,
                };
                ask.on(target, idle).await
            }
            Kind::Tcp => match net::connect(target).await {
                Ok(_) => Outcome::Ready,
                Err(failure) => Outcome::NotReady(failure.into()),
            },
            // `new` made the state of every file target; `probe` answers it before this.
            Kind::File { .. } => match file {
                Some(file) => file.probe(),
                None => Outcome::NotReady(Reason::NotProbedYet),
            },
        }
    }
}

/// Sends one GET for `path` over a fresh `stream` and classifies the reply; public so the fuzz
/// target can feed it arbitrary bytes through an in-memory stream.
pub async fn http_get<S>(
    stream: S,
    authority: &str,
    path: &str,
    expect: &StatusSet,
    deadline: Instant,
    limit: Duration,
) -> Outcome
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let ask = Get {
        authority,
        path,
        expect,
        deadline,
    };
    match timeout_at(deadline, ask.fresh(stream)).await {
        Ok((outcome, _)) => outcome,
        Err(_) => Outcome::NotReady(Reason::NoReply { within: limit }),
    }
}

/// One readiness GET: what to ask, what counts as ready, and when to stop reading. The caller
/// bounds the whole attempt with the same deadline.
struct Get<'a> {
    authority: &'a str,
    path: &'a str,
    expect: &'a StatusSet,
    deadline: Instant,
}

impl Get<'_> {
    /// Asks on the kept-alive connection in `idle` if there is one, else on a new connection;
    /// leaves in `idle` the connection that can carry the next request, if any.
    async fn on(&self, target: &Target, idle: &mut Option<Exchange<QuickAck>>) -> Outcome {
        if let Some(exchange) = idle.take() {
            // On failure before a reply, fall through to a fresh connection.
            if let Ok((outcome, exchange)) = self.ask(exchange).await {
                *idle = exchange;
                return outcome;
            }
        }
        let stream = match net::connect(target).await {
            Ok(stream) => stream,
            Err(failure) => return Outcome::NotReady(failure.into()),
        };
        let (outcome, exchange) = self.fresh(QuickAck(stream)).await;
        *idle = exchange;
        outcome
    }

    /// Asks on a new connection over `stream`. Unlike on a reused connection, a failure here is
    /// the endpoint's news.
    async fn fresh<S>(&self, stream: S) -> (Outcome, Option<Exchange<S>>)
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let exchanged = match Exchange::open(stream).await {
            Ok(exchange) => self.ask(exchange).await,
            Err(failure) => Err(failure),
        };
        exchanged.unwrap_or_else(|failure| (Outcome::NotReady(failure.into()), None))
    }

    /// Asks on an open connection and classifies the reply.
    async fn ask<S>(&self, mut exchange: Exchange<S>) -> Exchanged<S>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let request = match net::request(Method::GET, self.authority, self.path, &[]) {
            Ok(request) => request,
            Err(failure) => return Ok((Outcome::NotReady(failure.into()), None)),
        };
        let response = exchange.send(request).await?;
        let code = response.status().as_u16();
        if self.expect.contains(code) {
            return Ok((Outcome::Ready, None));
        }
        // The proxy's own explanation, if it arrives before the deadline; the status stands.
        let (prefix, complete) = exchange
            .drive(body_prefix(response.into_body(), self.deadline))
            .await
            .unwrap_or_default();
        let outcome = Outcome::NotReady(Reason::Status {
            code,
            text: reason::first_line(&prefix),
        });
        // Only a body read to its end leaves the connection in step for the next request.
        let reusable = complete && exchange.reusable();
        Ok((outcome, reusable.then_some(exchange)))
    }
}

/// Reads at most `REASON_BYTES` of a body; stops at its end, the first error, or `deadline`
/// (keeping what it has: a slow body must not cost the status it came with). Returns the prefix
/// and whether the body ended within it.
async fn body_prefix(mut body: hyper::body::Incoming, deadline: Instant) -> (Vec<u8>, bool) {
    let mut prefix = Vec::new();
    loop {
        if body.is_end_stream() {
            return (prefix, true);
        }
        if prefix.len() >= REASON_BYTES {
            return (prefix, false);
        }
        match timeout_at(deadline, body.frame()).await {
            Ok(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    let room = REASON_BYTES - prefix.len();
                    if data.len() > room {
                        prefix.extend_from_slice(&data[..room]);
                        return (prefix, false);
                    }
                    prefix.extend_from_slice(data);
                }
            }
            Ok(None) => return (prefix, true),
            Ok(Some(Err(_))) | Err(_) => return (prefix, false),
        }
    }
}
