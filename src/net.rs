//! Connection plumbing shared by the readiness probe and the quit call: connect to a target,
//! start an HTTP/1 exchange whose connection task cannot outlive it.

use std::io;
use std::net::SocketAddr;

use http_body_util::Empty;
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
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

/// An HTTP/1 client over `stream`, with its connection task; the task is aborted when the
/// returned guard drops, whatever the peer does.
pub async fn http1<S>(
    stream: S,
) -> Result<(SendRequest<Empty<Bytes>>, AbortOnDrop<()>), hyper::Error>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (sender, connection) = hyper::client::conn::http1::Builder::new()
        .max_buf_size(MAX_HEAD_BYTES)
        .handshake(TokioIo::new(stream))
        .await?;
    let driver = tokio::spawn(async move {
        // Its error, if any, reaches the caller through the request it fails.
        let _ = connection.await;
    });
    Ok((sender, AbortOnDrop(driver)))
}

/// Aborts a spawned task when dropped, so no connection outlives its exchange.
pub struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}
