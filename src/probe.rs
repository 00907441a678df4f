//! One attempt against one endpoint: connect, ask, and classify the answer as ready or not.
//!
//! Every failure is a [`Reason`], never an error that ends the gate: the wait loop decides what
//! to do with it. Reading is bounded: the reply head by `net::http1`'s buffer, the body by
//! `REASON_BYTES`, and the whole attempt by the per-request timeout.

use std::io;
use std::time::Duration;

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::header::{CONNECTION, HOST, USER_AGENT};
use hyper::Request;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::{timeout_at, Instant};

use crate::net;
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

/// Probes `target` once; the whole attempt ends within `limit`.
pub async fn probe(target: &Target, expect: &StatusSet, limit: Duration) -> Outcome {
    let deadline = Instant::now() + limit;
    let stream = match timeout_at(deadline, net::connect(target)).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(reason)) => return Outcome::NotReady(reason),
        Err(_) => return Outcome::NotReady(Reason::NoReply { within: limit }),
    };
    match target.kind() {
        Kind::Tcp => Outcome::Ready,
        Kind::Http { path } => {
            http_get(stream, &target.authority(), path, expect, deadline, limit).await
        }
    }
}

/// Sends one GET for `path` over `stream` and classifies the reply; public so the fuzz target can
/// feed it arbitrary bytes through an in-memory stream.
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
    let exchange = async {
        let (mut sender, driver) = net::http1(stream).await.map_err(|e| classify(&e))?;
        let request = Request::get(path)
            .header(HOST, authority)
            .header(USER_AGENT, net::AGENT)
            // One request per connection: nothing is left open between attempts.
            .header(CONNECTION, "close")
            .body(Empty::<Bytes>::new())
            .map_err(|e| Reason::Other(format!("cannot build the request: {e}")))?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| classify(&e))?;
        Ok::<_, Reason>((response, driver))
    };
    let (response, _driver) = match timeout_at(deadline, exchange).await {
        Ok(Ok(exchanged)) => exchanged,
        Ok(Err(reason)) => return Outcome::NotReady(reason),
        Err(_) => return Outcome::NotReady(Reason::NoReply { within: limit }),
    };
    let code = response.status().as_u16();
    if expect.contains(code) {
        return Outcome::Ready;
    }
    // The proxy's own explanation, if it arrives before the deadline; the status stands anyway.
    let prefix = timeout_at(deadline, body_prefix(response.into_body()))
        .await
        .unwrap_or_default();
    Outcome::NotReady(Reason::Status {
        code,
        text: reason::first_line(&prefix),
    })
}

/// Reads at most `REASON_BYTES` of a body; stops at its end or at the first error.
async fn body_prefix(mut body: hyper::body::Incoming) -> Vec<u8> {
    let mut prefix = Vec::new();
    while prefix.len() < REASON_BYTES {
        let Some(Ok(frame)) = body.frame().await else {
            break;
        };
        if let Some(data) = frame.data_ref() {
            let room = REASON_BYTES - prefix.len();
            prefix.extend_from_slice(&data[..data.len().min(room)]);
        }
    }
    prefix
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
        if let Some(io) = inner.downcast_ref::<io::Error>() {
            return match io.kind() {
                io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe => Reason::Reset,
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
