//! One attempt against one endpoint: connect (or reuse the open connection), ask, and classify
//! the answer as ready or not.
//!
//! Every failure is a [`Reason`], never an error that ends the gate: the wait loop decides what
//! to do with it. Reading is bounded: the reply head by `net::http1`'s buffer, the body by
//! `REASON_BYTES`, and the whole attempt by the per-request timeout.
//!
//! An HTTP endpoint's connection is kept open between attempts when the endpoint allows it
//! (HTTP/1.1 keep-alive, as pilot-agent, Envoy's admin and Linkerd's admin do). A new
//! connection per attempt cost ~330 us of CPU under musl (TCP set-up and teardown, and hyper's
//! per-connection buffers, which musl's allocator maps and unmaps each time); reusing one costs a
//! fraction of that, which keeps a long wait under 1 ms of CPU per second. A connection the
//! endpoint closed between attempts is replaced within the same attempt.

use std::time::Duration;

use http_body_util::{BodyExt, Empty};
use hyper::body::Body as _;
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper::header::{HOST, USER_AGENT};
use hyper::Request;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::{timeout_at, Instant};

use crate::file_probe::FileProbe;
use crate::net::{self, Driven, QuickAck};
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
    idle: Option<Open<QuickAck>>,
    /// A file:// target's state between attempts; `None` for network targets.
    file: Option<FileProbe>,
}

/// An HTTP/1 connection ready for its next request.
struct Open<S: AsyncRead + AsyncWrite + Unpin + Send + 'static> {
    sender: SendRequest<Empty<Bytes>>,
    connection: Driven<S>,
}

/// An outcome, and the connection if it can carry the next request; or the failure that came
/// before any reply (which, on a reused connection, only means the endpoint closed it while idle).
type Exchanged<S> = Result<(Outcome, Option<Open<S>>), Failed>;

/// A request that got no reply.
enum Failed {
    /// hyper's account of it.
    Http(hyper::Error),
    /// The connection ended with the request still waiting.
    Closed,
}

impl Failed {
    fn reason(&self) -> Reason {
        match self {
            Failed::Http(e) => classify(e),
            Failed::Closed => Reason::ClosedEarly,
        }
    }
}

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

    async fn attempt(&mut self, expect: &StatusSet, deadline: Instant) -> Outcome {
        let path = match self.target.kind() {
            Kind::Http { path } => path,
            // Answered by `self.file` in `probe`, before any connection.
            Kind::File { .. } => {
                return Outcome::NotReady(Reason::Other("not a network target".into()))
            }
            Kind::Tcp => {
                return match net::connect(&self.target).await {
                    Ok(_) => Outcome::Ready,
                    Err(reason) => Outcome::NotReady(reason),
                }
            }
        };
        if let Some(open) = self.idle.take() {
            // On failure before a reply, fall through to a fresh connection.
            if let Ok((outcome, open)) = get(open, &self.authority, path, expect, deadline).await {
                self.idle = open;
                return outcome;
            }
        }
        let stream = match net::connect(&self.target).await {
            Ok(stream) => stream,
            Err(reason) => return Outcome::NotReady(reason),
        };
        let (outcome, open) =
            get_fresh(QuickAck(stream), &self.authority, path, expect, deadline).await;
        self.idle = open;
        outcome
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
    let exchange = get_fresh(stream, authority, path, expect, deadline);
    match timeout_at(deadline, exchange).await {
        Ok((outcome, _)) => outcome,
        Err(_) => Outcome::NotReady(Reason::NoReply { within: limit }),
    }
}

/// One GET on a new connection over `stream`: its outcome, and the connection if it can carry
/// the next request. Unlike a reused connection, a failure here is the endpoint's news.
async fn get_fresh<S>(
    stream: S,
    authority: &str,
    path: &str,
    expect: &StatusSet,
    deadline: Instant,
) -> (Outcome, Option<Open<S>>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    match handshake(stream).await {
        Ok(open) => match get(open, authority, path, expect, deadline).await {
            Ok(exchanged) => exchanged,
            Err(failed) => (Outcome::NotReady(failed.reason()), None),
        },
        Err(reason) => (Outcome::NotReady(reason), None),
    }
}

async fn handshake<S>(stream: S) -> Result<Open<S>, Reason>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (sender, connection) = net::http1(stream).await.map_err(|e| classify(&e))?;
    Ok(Open {
        sender,
        connection: Driven::new(connection),
    })
}

/// One GET on an open connection. The caller bounds it with the attempt's deadline.
async fn get<S>(
    mut open: Open<S>,
    authority: &str,
    path: &str,
    expect: &StatusSet,
    deadline: Instant,
) -> Exchanged<S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let request = match Request::get(path)
        .header(HOST, authority)
        .header(USER_AGENT, net::AGENT)
        .body(Empty::<Bytes>::new())
    {
        Ok(request) => request,
        Err(e) => {
            let reason = Reason::Other(format!("cannot build the request: {e}"));
            return Ok((Outcome::NotReady(reason), None));
        }
    };
    // A connection the peer closed while idle fails here or in the request, before any reply.
    let Some(ready) = open.connection.run(open.sender.ready()).await else {
        return Err(Failed::Closed);
    };
    ready.map_err(Failed::Http)?;
    let Some(response) = open.connection.run(open.sender.send_request(request)).await else {
        return Err(Failed::Closed);
    };
    let response = response.map_err(Failed::Http)?;
    let code = response.status().as_u16();
    if expect.contains(code) {
        return Ok((Outcome::Ready, None));
    }
    // The proxy's own explanation, if it arrives before the deadline; the status stands.
    let (prefix, complete) = open
        .connection
        .run(body_prefix(response.into_body(), deadline))
        .await
        .unwrap_or_default();
    let outcome = Outcome::NotReady(Reason::Status {
        code,
        text: reason::first_line(&prefix),
    });
    // Only a body read to its end leaves the connection in step for the next request.
    let reusable = complete && !open.connection.finished() && !open.sender.is_closed();
    Ok((outcome, reusable.then_some(open)))
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

/// Turns a hyper error into the reason a person would want to read.
fn classify(e: &hyper::Error) -> Reason {
    // `is_parse_too_large` exists only with hyper's server feature; the message is stable.
    if e.is_parse() && e.to_string().contains("too large") {
        return Reason::HeadTooLarge;
    }
    if e.is_parse() || e.is_parse_status() || e.is_parse_version_h2() {
        return Reason::NotHttp;
    }
    let mut source = std::error::Error::source(e);
    while let Some(inner) = source {
        if let Some(io) = inner.downcast_ref::<std::io::Error>() {
            return match io.kind() {
                std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe => {
                    Reason::Reset
                }
                _ => Reason::Other(io.to_string()),
            };
        }
        source = inner.source();
    }
    if e.is_incomplete_message() || e.is_closed() || e.is_canceled() {
        return Reason::ClosedEarly;
    }
    Reason::Other(e.to_string())
}
