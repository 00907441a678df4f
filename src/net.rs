//! Connection plumbing shared by the readiness probe and the quit call: connect to a target,
//! run an HTTP/1 exchange that cannot outlive its caller.

use std::future::{poll_fn, Future};
use std::io;
use std::net::SocketAddr;
use std::pin::{pin, Pin};
use std::task::{Context, Poll};

use http_body_util::Empty;
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use crate::reason::Reason;
use crate::target::Target;

/// The User-Agent of every request readygate sends.
pub const AGENT: &str = concat!("readygate/", env!("CARGO_PKG_VERSION"));

/// Largest reply head read; hyper's minimum buffer. Sidecar replies are a few hundred bytes.
const MAX_HEAD_BYTES: usize = 8 * 1024;

/// Connects to the first of the target's addresses that accepts, trying each in order.
pub async fn connect(target: &Target) -> Result<TcpStream, Reason> {
    let addresses: Vec<SocketAddr> = match target.addresses() {
        Ok(addresses) => addresses,
        Err(name) => tokio::net::lookup_host((name, target.port()))
            .await
            .map_err(|e| Reason::Unresolved {
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
        (_, true, _) => Reason::Reset,
        // An unreachable ::1 on an IPv4-only host says nothing: the refusal is the news.
        (true, _, _) => Reason::NothingListening { authority },
        (false, false, Some(e)) => Reason::ConnectFailed {
            authority,
            detail: e.to_string(),
        },
        (false, false, None) => Reason::Unresolved {
            host: target.host_text().to_string(),
            detail: "no addresses".into(),
        },
    })
}

/// The HTTP/1 connection half that moves bytes; see [`exchange`].
pub type Connection<S> = hyper::client::conn::http1::Connection<TokioIo<S>, Empty<Bytes>>;

/// An HTTP/1 client over `stream`: the request half, and the connection half that moves bytes.
///
/// The read buffer has one fixed size, the reply-head limit: hyper's default adaptive buffer
/// would let a peer grow it to ~400 KB, and one size means the allocator hands the same block
/// back on every probe.
pub async fn http1<S>(stream: S) -> Result<(SendRequest<Empty<Bytes>>, Connection<S>), hyper::Error>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    hyper::client::conn::http1::Builder::new()
        .read_buf_exact_size(Some(MAX_HEAD_BYTES))
        .handshake(TokioIo::new(stream))
        .await
}

/// The connection half of an HTTP/1 exchange, driven inline by whoever awaits work on it.
///
/// Driving the connection in the caller's task instead of spawning it saves a task allocation
/// and the runtime wake-ups that come with it on every probe, and nothing can outlive the
/// exchange: the connection is dropped with its owner.
pub struct Driven<S: AsyncRead + AsyncWrite + Unpin + Send + 'static> {
    connection: Connection<S>,
    finished: bool,
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send + 'static> Driven<S> {
    /// Wraps a connection from [`http1`].
    pub fn new(connection: Connection<S>) -> Self {
        Driven {
            connection,
            finished: false,
        }
    }

    /// Whether the connection has ended (closed by either side, or failed); it then carries
    /// nothing more, and a finished future must never be polled again.
    pub fn finished(&self) -> bool {
        self.finished
    }

    /// Runs `work` (a request, or reading a body) while driving the connection. `None` when
    /// the connection ended and `work` could not finish without it (a request waiting on a
    /// connection the peer closed would otherwise wait forever: hyper keeps the request queue
    /// alive as long as the finished connection is not dropped).
    pub async fn run<F: Future>(&mut self, work: F) -> Option<F::Output> {
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
