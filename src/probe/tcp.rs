//! A `tcp://` target: ready once a connection is accepted and the peer keeps it for the settle
//! time (--tcp-settle), or sends a byte first. The settle time is watched in full or not at all:
//! when the attempt's --request-timeout ends before it (a slow connect, or a settle time longer
//! than the request timeout), the attempt is not ready, since the peer might have dropped the
//! connection just after.
//!
//! Why not the connect alone: once a mesh captures outbound traffic, every connect succeeds,
//! because the local proxy accepts it; Envoy then closes the connection within a fraction of a
//! millisecond when it has no upstream for it (no cluster, no healthy endpoint, a refused
//! upstream), and Linkerd's proxy fails fast the same way. A peer that closes or resets before
//! sending a byte is therefore not ready. A server that sends a banner, or holds the connection
//! open and silent for the settle time, is. Nothing is read: the first byte is only peeked at,
//! and nothing is sent.
//!
//! What this still cannot prove through a mesh: a proxy that holds the connection while it
//! retries its upstream (a black-holed address is closed only after the cluster's connect
//! timeout), or Linkerd's proxy waiting up to 10 s for the client's first bytes before it
//! connects upstream. The protocol schemes (`redis://`, `postgres://`, `mysql://`) read a reply
//! only the real server sends.

use std::io;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::time::{timeout_at, Instant};

use crate::net;
use crate::probe::reason::{Outcome, Reason};
use crate::probe::wire;
use crate::target::Target;

/// Connects, then watches the connection for `settle`; `deadline` (the attempt's, `limit` after
/// its start) bounds both.
pub async fn probe(
    target: &Target,
    settle: Duration,
    deadline: Instant,
    limit: Duration,
) -> Outcome {
    let stream = match timeout_at(deadline, net::connect(target)).await {
        Ok(Ok(stream)) => stream,
        // With no settle time the connect alone decides: a reset is a failed connect.
        Ok(Err(failure)) if settle.is_zero() => return Outcome::NotReady(failure.into()),
        Ok(Err(failure)) => return wire::connect_failed(target, None, failure),
        Err(_) => return Outcome::NotReady(Reason::NoReply { within: limit }),
    };
    if settle.is_zero() {
        return Outcome::Ready;
    }
    let settled = Instant::now() + settle;
    let until = deadline.min(settled);
    match timeout_at(until, first_news(&stream)).await {
        // The attempt's time ran out first: open and silent so far proves nothing yet.
        Err(_) if until < settled => Outcome::NotReady(Reason::SettleCut { settle, limit }),
        // Still open and silent at the end of the settle time: a server that waits for its
        // client to speak first.
        Err(_) => Outcome::Ready,
        Ok(News::Byte) => Outcome::Ready,
        Ok(News::Dropped) => wire::dropped(target, None),
        Ok(News::Failed(e)) => Outcome::NotReady(Reason::Transport(net::Failure::Other(format!(
            "connection failed after it was accepted: {e}"
        )))),
    }
}

/// The first thing the peer does with the connection.
enum News {
    /// A byte arrived (a banner): someone real is speaking.
    Byte,
    /// End of stream or a reset before any byte.
    Dropped,
    /// Any other error.
    Failed(io::Error),
}

/// Waits for the peer's first byte, its close or its reset, without consuming anything.
async fn first_news(stream: &TcpStream) -> News {
    let mut byte = [0u8; 1];
    match stream.peek(&mut byte).await {
        Ok(0) => News::Dropped,
        Ok(_) => News::Byte,
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted
            ) =>
        {
            News::Dropped
        }
        Err(e) => News::Failed(e),
    }
}
