//! The HTTP/1 exchange shared by the readiness probe and the quit call: connect to a target,
//! build a request, run it over a connection driven inline, and classify what went wrong
//! before a reply as a [`Failure`]. Each caller adds only what is its own: the probe its GET,
//! connection reuse and expected statuses; the quit its POST, `Connection: close` and retries.

use std::fmt;
use std::future::{poll_fn, Future};
use std::io;
use std::net::SocketAddr;
use std::pin::{pin, Pin};
use std::task::{Context, Poll};

use http_body_util::Empty;
use hyper::body::{Bytes, Incoming};
use hyper::client::conn::http1::{Connection, SendRequest};
use hyper::header::{HeaderName, HOST, USER_AGENT};
use hyper::{Method, Request, Response};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use crate::target::Target;

/// The User-Agent of every request readygate sends.
pub const AGENT: &str = concat!("readygate/", env!("CARGO_PKG_VERSION"));

/// Largest reply head read; hyper's minimum buffer. Sidecar replies are a few hundred bytes.
const MAX_HEAD_BYTES: usize = 8 * 1024;

/// Why an exchange got no reply: connecting failed, or the connection did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// Connection refused on every address: nothing has bound the port (yet).
    NothingListening { authority: String },
    /// The system resolver could not resolve the host.
    Unresolved { host: String, detail: String },
    /// Connecting failed for another reason.
    ConnectFailed { authority: String, detail: String },
    /// The peer reset (or aborted) the connection.
    Reset,
    /// The peer closed the connection before a complete reply head.
    Closed,
    /// The reply did not parse as HTTP/1.x.
    NotHttp,
    /// The reply head was larger than readygate reads.
    HeadTooLarge,
    /// Anything else, with its description.
    Other(String),
}

impl Failure {
    /// Whether the peer ended the connection (reset or closed) rather than failing to speak.
    pub fn peer_went_away(&self) -> bool {
        matches!(self, Failure::Reset | Failure::Closed)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::NothingListening { authority } => {
                write!(f, "nothing listening on {authority} yet")
            }
            Failure::Unresolved { host, detail } => write!(f, "cannot resolve {host}: {detail}"),
            Failure::ConnectFailed { authority, detail } => {
                write!(f, "cannot connect to {authority}: {detail}")
            }
            Failure::Reset => f.write_str("connection reset by the endpoint"),
            Failure::Closed => f.write_str("connection closed before a reply"),
            Failure::NotHttp => f.write_str("reply was not HTTP"),
            Failure::HeadTooLarge => f.write_str("reply head too large"),
            Failure::Other(detail) => f.write_str(detail),
        }
    }
}

/// Connects to the first of the target's addresses that accepts, trying each in order.
pub async fn connect(target: &Target) -> Result<TcpStream, Failure> {
    let addresses: Vec<SocketAddr> = match target.addresses() {
        Ok(addresses) => addresses,
        Err(name) => tokio::net::lookup_host((name, target.port()))
            .await
            .map_err(|e| Failure::Unresolved {
                host: name.to_string(),
                detail: e.to_string(),
            })?
            .collect(),
    };
    let (mut refused, mut reset) = (false, false);
    let mut last_error = None;
    for address in addresses {
        match TcpStream::connect(address).await {
            Ok(stream) => return Ok(stream),
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => refused = true,
            // A peer that accepts and resets at once can do so before connect() returns.
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => reset = true,
            Err(e) => last_error = Some(e),
        }
    }
    let authority = target.authority();
    Err(match (refused, reset, last_error) {
        (_, true, _) => Failure::Reset,
        // An unreachable ::1 on an IPv4-only host says nothing: the refusal is the news.
        (true, _, _) => Failure::NothingListening { authority },
        (false, false, Some(e)) => Failure::ConnectFailed {
            authority,
            detail: e.to_string(),
        },
        (false, false, None) => Failure::Unresolved {
            host: target.host_text().to_string(),
            detail: "no addresses".into(),
        },
    })
}

/// Runs `futures` concurrently in the caller's task and returns their outputs in order. No task
/// is spawned: as with the inline-driven connection, nothing outlives the caller.
pub async fn join_all<F: Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let mut futures: Vec<Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in futures.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    Poll::Ready(out) => *output = Some(out),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}

/// A bodiless request for `path` with the headers every readygate request carries (`Host`,
/// `User-Agent`) and the caller's own.
pub fn request(
    method: Method,
    authority: &str,
    path: &str,
    headers: &[(HeaderName, &'static str)],
) -> Result<Request<Empty<Bytes>>, Failure> {
    let mut builder = Request::builder()
        .method(method)
        .uri(path)
        .header(HOST, authority)
        .header(USER_AGENT, AGENT);
    for (name, value) in headers {
        builder = builder.header(name, *value);
    }
    builder
        .body(Empty::new())
        .map_err(|e| Failure::Other(format!("cannot build the request: {e}")))
}

/// An HTTP/1 client connection: the request half, and the connection half that moves bytes,
/// driven inline by whoever awaits work on it.
///
/// Driving the connection in the caller's task instead of spawning it saves a task allocation
/// and the runtime wake-ups that come with it on every probe, and nothing can outlive the
/// exchange: the connection is dropped with its owner.
pub struct Exchange<S: AsyncRead + AsyncWrite + Unpin + Send + 'static> {
    sender: SendRequest<Empty<Bytes>>,
    driver: Driver<S>,
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send + 'static> Exchange<S> {
    /// Starts HTTP/1 over `stream`.
    ///
    /// The read buffer has one fixed size, the reply-head limit: hyper's default adaptive buffer
    /// would let a peer grow it to ~400 KB, and one size means the allocator hands the same
    /// block back on every probe.
    pub async fn open(stream: S) -> Result<Self, Failure> {
        let (sender, connection) = hyper::client::conn::http1::Builder::new()
            .read_buf_exact_size(Some(MAX_HEAD_BYTES))
            .handshake(TokioIo::new(stream))
            .await
            .map_err(|e| classify(&e))?;
        Ok(Exchange {
            sender,
            driver: Driver {
                connection,
                finished: false,
            },
        })
    }

    /// Sends `request` and waits for the reply head. On a connection the peer closed while
    /// idle this fails before any reply: with [`Failure::Closed`], or hyper's account of it.
    pub async fn send(
        &mut self,
        request: Request<Empty<Bytes>>,
    ) -> Result<Response<Incoming>, Failure> {
        let driver = &mut self.driver;
        driver
            .drive(self.sender.ready())
            .await
            .ok_or(Failure::Closed)?
            .map_err(|e| classify(&e))?;
        driver
            .drive(self.sender.send_request(request))
            .await
            .ok_or(Failure::Closed)?
            .map_err(|e| classify(&e))
    }

    /// Runs `work` (such as reading a reply body) while driving the connection; `None` when
    /// the connection ended and `work` could not finish without it.
    pub async fn drive<F: Future>(&mut self, work: F) -> Option<F::Output> {
        self.driver.drive(work).await
    }

    /// Whether the connection can carry another request: it has not ended, and hyper has not
    /// closed its request half.
    pub fn reusable(&self) -> bool {
        !self.driver.finished && !self.sender.is_closed()
    }
}

/// The connection half of an exchange, and whether it has ended.
struct Driver<S: AsyncRead + AsyncWrite + Unpin + Send + 'static> {
    connection: Connection<TokioIo<S>, Empty<Bytes>>,
    /// The connection ended (closed by either side, or failed); a finished connection future
    /// must never be polled again.
    finished: bool,
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send + 'static> Driver<S> {
    /// Runs `work` while driving the connection. `None` when the connection ended and `work`
    /// could not finish without it (a request waiting on a connection the peer closed would
    /// otherwise wait forever: hyper keeps the request queue alive as long as the finished
    /// connection is not dropped).
    async fn drive<F: Future>(&mut self, work: F) -> Option<F::Output> {
        let mut work = pin!(work);
        poll_fn(|cx| {
            if let Poll::Ready(out) = work.as_mut().poll(cx) {
                return Poll::Ready(Some(out));
            }
            if self.finished || Pin::new(&mut self.connection).poll(cx).is_ready() {
                self.finished = true;
                // The work learns the connection's fate now, or never.
                return Poll::Ready(match work.as_mut().poll(cx) {
                    Poll::Ready(out) => Some(out),
                    Poll::Pending => None,
                });
            }
            Poll::Pending
        })
        .await
    }
}

/// Turns a hyper error into the failure a person would want to read.
fn classify(e: &hyper::Error) -> Failure {
    // `is_parse_too_large` exists only with hyper's server feature; the message is stable.
    if e.is_parse() && e.to_string().contains("too large") {
        return Failure::HeadTooLarge;
    }
    if e.is_parse() || e.is_parse_status() || e.is_parse_version_h2() {
        return Failure::NotHttp;
    }
    let mut source = std::error::Error::source(e);
    while let Some(inner) = source {
        if let Some(io) = inner.downcast_ref::<io::Error>() {
            return match io.kind() {
                io::ErrorKind::ConnectionReset
                | io::ErrorKind::ConnectionAborted
                | io::ErrorKind::BrokenPipe => Failure::Reset,
                io::ErrorKind::UnexpectedEof => Failure::Closed,
                _ => Failure::Other(io.to_string()),
            };
        }
        source = inner.source();
    }
    if e.is_incomplete_message() || e.is_closed() || e.is_canceled() {
        return Failure::Closed;
    }
    Failure::Other(e.to_string())
}

/// A TCP stream that asks the kernel for an immediate ACK after each write.
///
/// Why: after our request, a server that writes its reply head and body in two writes without
/// TCP_NODELAY (Python's http.server, many stubs) holds the body back until the head is ACKed
/// (Nagle), while our kernel delays that ACK by up to 40 ms. On a kept-alive connection that
/// stall would add 40 ms to every not-ready probe. TCP_QUICKACK is not sticky, so it is set again
/// after each write: one cheap setsockopt per request.
pub struct QuickAck(pub TcpStream);

impl AsyncRead for QuickAck {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for QuickAck {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.0).poll_write(cx, buf);
        self.after_write(&written);
        written
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.0).poll_write_vectored(cx, bufs);
        self.after_write(&written);
        written
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

impl QuickAck {
    fn after_write(&self, written: &Poll<io::Result<usize>>) {
        if let Poll::Ready(Ok(_)) = written {
            // Best effort: without it a reply may only arrive later, never wrongly.
            let _ = socket2::SockRef::from(&self.0).set_tcp_quickack(true);
        }
    }
}
