//! One round trip of a wire protocol, shared by `redis://`, `postgres://` and `mysql://`:
//! connect, send the protocol's first message (if the client speaks first), read the first
//! reply into a bounded buffer, and let the protocol's pure judge say what it means. One
//! connection per attempt, closed after the first reply; nothing else is sent. Also how a
//! connection dropped at once is reported, which `tcp://` shares.

use std::io;

use tokio::net::TcpStream;
use tracing::debug;

use crate::net;
use crate::probe::reason::{Garbled, Outcome, Reason, Verdict};
use crate::target::Target;

/// What readygate says to one protocol's server, and how it judges the answer.
pub struct Protocol {
    /// The protocol's name in reasons: "Redis", "PostgreSQL", "MySQL".
    pub name: &'static str,
    /// What the reply is, as a phrase: "a Redis reply", "a MySQL greeting".
    pub reply: &'static str,
    /// Sent once connected; empty when the server speaks first.
    pub hello: &'static [u8],
    /// The most reply bytes read: enough for every reply the judge must read whole.
    pub max_reply: usize,
    /// The pure judge of the bytes read so far.
    pub judge: fn(&[u8]) -> Verdict,
}

/// One attempt against `target` in `protocol`. The caller bounds it with the per-request timeout.
pub async fn round_trip(target: &Target, protocol: &Protocol) -> Outcome {
    let name = Some(protocol.name);
    let stream = match net::connect(target).await {
        Ok(stream) => stream,
        Err(failure) => return connect_failed(target, name, failure),
    };
    let outcome = match exchange(&stream, protocol).await {
        Ok(Verdict::Ready(what)) => {
            debug!(url = %target, reply = %what, "the server answered");
            Outcome::Ready
        }
        Ok(Verdict::NotReady(reason)) => Outcome::NotReady(reason),
        // `exchange` reads until the judge decides or the buffer is full.
        Ok(Verdict::NeedMore) => Outcome::NotReady(Reason::Garbled {
            expected: protocol.reply,
            problem: Garbled::TooLong {
                limit: protocol.max_reply,
            },
        }),
        Err(Ended::Dropped) => dropped(target, name),
        Err(Ended::Cut(after)) => Outcome::NotReady(Reason::Garbled {
            expected: protocol.reply,
            problem: Garbled::Cut { after },
        }),
        Err(Ended::Failed(e)) => Outcome::NotReady(net::Failure::Other(e.to_string()).into()),
    };
    // Closed here, at once: after the greeting or an authentication request the server only
    // waits for the client, and a client that leaves is something every server expects
    // (PostgreSQL logs nothing for it; see the README for MySQL).
    drop(stream);
    outcome
}

/// A connection to `target` accepted, then closed or reset before a byte of `protocol`'s reply
/// (`None`: of anything, for tcp://): what a mesh proxy with no upstream does.
pub fn dropped(target: &Target, protocol: Option<&'static str>) -> Outcome {
    Outcome::NotReady(Reason::DroppedAtOnce {
        authority: target.authority(),
        protocol,
    })
}

/// What a failed connect to `target` says. Accepted and reset before connect() returned is the
/// same news as a reset after it: [`dropped`].
pub fn connect_failed(
    target: &Target,
    protocol: Option<&'static str>,
    failure: net::Failure,
) -> Outcome {
    match failure {
        net::Failure::Reset => dropped(target, protocol),
        failure => Outcome::NotReady(failure.into()),
    }
}

/// How a connection ended before the judge decided.
enum Ended {
    /// Closed or reset before any byte of the reply.
    Dropped,
    /// Closed after this many bytes, in the middle of a reply.
    Cut(usize),
    /// Any other failure.
    Failed(io::Error),
}

/// Sends the hello, then reads until the judge decides or `max_reply` bytes have come.
async fn exchange(stream: &TcpStream, protocol: &Protocol) -> Result<Verdict, Ended> {
    write_all(stream, protocol.hello).await.map_err(ended(0))?;
    let mut reply = vec![0u8; protocol.max_reply];
    let mut len = 0;
    while len < reply.len() {
        let n = read(stream, &mut reply[len..]).await.map_err(ended(len))?;
        if n == 0 {
            return Err(if len == 0 {
                Ended::Dropped
            } else {
                Ended::Cut(len)
            });
        }
        len += n;
        match (protocol.judge)(&reply[..len]) {
            Verdict::NeedMore => continue,
            decided => return Ok(decided),
        }
    }
    Ok(Verdict::NeedMore)
}

/// Classifies an I/O error after `len` reply bytes: a reset is the peer dropping the connection.
fn ended(len: usize) -> impl Fn(io::Error) -> Ended {
    move |e| match e.kind() {
        io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe
            if len == 0 =>
        {
            Ended::Dropped
        }
        io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted => Ended::Cut(len),
        _ => Ended::Failed(e),
    }
}

/// Writes all of `bytes` (tokio's `io-util` extension traits would cost binary size for this).
async fn write_all(stream: &TcpStream, mut bytes: &[u8]) -> io::Result<()> {
    while !bytes.is_empty() {
        stream.writable().await?;
        match stream.try_write(bytes) {
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Reads what has arrived into `buf`, waiting for at least one byte or the end of the stream.
async fn read(stream: &TcpStream, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        stream.readable().await?;
        match stream.try_read(buf) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            done => return done,
        }
    }
}
