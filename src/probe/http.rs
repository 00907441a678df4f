//! An `http://` target: GET the path until the status is one of --expect-status. The proxy's
//! own explanation of a not-ready status (the first line of its body) becomes the reason; Envoy's
//! replies for an upstream it cannot reach are worded for a person.
//!
//! Reading is bounded: the reply head by `net::Exchange`'s fixed buffer, the body by
//! `REASON_BYTES`, and the whole attempt by the per-request timeout.
//!
//! The connection is kept open between attempts when the endpoint allows it (HTTP/1.1
//! keep-alive, as pilot-agent, Envoy's admin and Linkerd's admin do): a new connection per
//! attempt costs TCP set-up and teardown and hyper's per-connection buffers each time, which is
//! most of a probe's CPU (measured in bench/README.md, "Investigation notes"). A connection the
//! endpoint closed between attempts is replaced within the same attempt.

use std::time::Duration;

use http_body_util::BodyExt;
use hyper::body::Body as _;
use hyper::Method;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::{timeout_at, Instant};

use crate::net::{self, Exchange, Failure, QuickAck};
use crate::parse::StatusSet;
use crate::probe::reason::{self, Outcome, Reason};
use crate::target::Target;

/// How much of a not-ready body is read for its reason.
const REASON_BYTES: usize = 256;

/// Envoy's body for a 503 when the cluster has no healthy endpoint (flag UH; a STRICT_DNS
/// cluster not resolved yet, Istio's BlackHoleCluster).
const NO_HEALTHY_UPSTREAM: &[u8] = b"no healthy upstream";
/// Envoy's body for a 503 when connecting upstream failed (flags UF, URX): `upstream connect
/// error or disconnect/reset before headers. reset reason: connection failure ...`.
const UPSTREAM_CONNECT_ERROR: &[u8] = b"upstream connect error";

/// One HTTP target's state between attempts: what to ask, and its kept-alive connection.
pub struct Http {
    /// The `Host` header, computed once; also names the upstream in Envoy's reasons.
    authority: String,
    path: String,
    /// The kept-alive connection, ready for the next request.
    idle: Option<Exchange<QuickAck>>,
}

/// An outcome, and the connection if it can carry the next request; or the failure that came
/// before any reply (which, on a reused connection, only means the endpoint closed it while idle).
type Exchanged<S> = Result<(Outcome, Option<Exchange<S>>), Failure>;

impl Http {
    /// The state of a GET for `path` on `target`, with nothing opened yet.
    pub fn new(target: &Target, path: &str) -> Self {
        Http {
            authority: target.authority(),
            path: path.to_string(),
            idle: None,
        }
    }

    /// One GET, on the kept-alive connection if there is one; bounded by `deadline`.
    pub async fn probe(
        &mut self,
        target: &Target,
        expect: &StatusSet,
        deadline: Instant,
        limit: Duration,
    ) -> Outcome {
        let ask = Get {
            authority: &self.authority,
            path: &self.path,
            expect,
            deadline,
        };
        match timeout_at(deadline, ask.on(target, &mut self.idle)).await {
            Ok(outcome) => outcome,
            Err(_) => {
                // Whatever was in flight on the connection is abandoned with it.
                self.idle = None;
                Outcome::NotReady(Reason::NoReply { within: limit })
            }
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

/// Why a status not in --expect-status is not ready: Envoy's own replies for an upstream it
/// cannot reach, worded for a person, or else the status and the first line of the body.
pub fn status_reason(code: u16, body: &[u8], authority: &str) -> Reason {
    let body = body.trim_ascii_start();
    if body.starts_with(NO_HEALTHY_UPSTREAM) {
        return Reason::NoUpstream {
            code,
            authority: authority.to_string(),
            detail: None,
        };
    }
    if body.starts_with(UPSTREAM_CONNECT_ERROR) {
        return Reason::NoUpstream {
            code,
            authority: authority.to_string(),
            detail: reason::first_line(body),
        };
    }
    Reason::Status {
        code,
        text: reason::first_line(body),
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
        let outcome = Outcome::NotReady(status_reason(code, &prefix, self.authority));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envoys_no_healthy_upstream_is_worded_for_a_person_with_its_status() {
        let r = status_reason(503, b"no healthy upstream", "orders:8080");
        assert_eq!(
            r.to_string(),
            "503: the mesh has no healthy upstream for orders:8080 yet"
        );
    }

    #[test]
    fn envoys_upstream_connect_error_keeps_its_first_line_sanitised_and_capped() {
        // Envoy 1.40's body for a refused upstream (flag UF), as tests/e2e/envoy scenario 10
        // sees it.
        let body = b"upstream connect error or disconnect/reset before headers. reset reason: \
                     remote connection failure";
        assert_eq!(
            status_reason(503, body, "orders:8081").to_string(),
            "503: the mesh cannot connect to orders:8081 yet: upstream connect error or \
             disconnect/reset before headers. reset reason: remote connection failure"
        );
        let long = [
            &body[..],
            b", transport failure reason: delayed connect error: 111\x1b[2J",
        ]
        .concat();
        let text = status_reason(503, &long, "orders:8081").to_string();
        assert!(!text.contains('\u{1b}') && text.ends_with('…'), "{text}");
    }

    #[test]
    fn other_bodies_stay_the_status_and_their_first_line() {
        assert_eq!(
            status_reason(503, b"PRE_INITIALIZING\n", "localhost:15000"),
            Reason::Status {
                code: 503,
                text: Some("PRE_INITIALIZING".into())
            }
        );
        assert_eq!(
            status_reason(404, b"", "x:1"),
            Reason::Status {
                code: 404,
                text: None
            }
        );
    }
}
