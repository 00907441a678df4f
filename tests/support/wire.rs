//! Scripted TCP peers for the states a real server will not show on demand: each connection
//! reads what the client sends first (if anything), says its bytes, then holds, closes or
//! resets. What every client sent is recorded, so a test can check readygate said exactly its
//! one message and nothing more (no password, no query, no Terminate).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::http::reset;
use super::server::Server;

/// What the peer does after it has said its bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Then {
    /// Keep the connection open, reading, until the client closes it.
    Hold,
    /// Close it (FIN).
    Close,
    /// Reset it (RST).
    Reset,
    /// Keep it open this long, then close it (FIN): a peer that drops it a little later.
    CloseAfter(Duration),
}

/// How the peer treats one connection.
#[derive(Clone, Debug)]
pub struct Act {
    /// Bytes to read from the client before saying anything (its first message); 0: none.
    pub read: usize,
    /// What to say then (may be empty).
    pub say: Vec<u8>,
    pub then: Then,
}

impl Act {
    /// Reads the client's `read`-byte message, answers `say`, and holds the connection.
    pub fn answer(read: usize, say: &[u8]) -> Act {
        Act {
            read,
            say: say.to_vec(),
            then: Then::Hold,
        }
    }

    /// Says nothing and does `then` at once.
    pub fn mute(then: Then) -> Act {
        Act {
            read: 0,
            say: Vec::new(),
            then,
        }
    }
}

/// How long a held connection waits for the client to close before giving up.
const HOLD_LIMIT: Duration = Duration::from_secs(30);

/// A scripted peer on a loopback port; stops accepting when dropped.
pub struct Peer {
    pub addr: SocketAddr,
    server: Server,
    /// What each connection's client sent, in accept order, complete once it ended.
    sent: Arc<Mutex<Vec<Vec<u8>>>>,
    /// Connections that have ended.
    ended: Arc<AtomicUsize>,
}

impl Peer {
    /// Serves `act` to every connection on 127.0.0.1.
    pub fn start(act: Act) -> Peer {
        Self::scripted(move |_| act.clone())
    }

    /// Serves the n-th connection with `script(n)` on 127.0.0.1.
    pub fn scripted(script: impl Fn(usize) -> Act + Send + Sync + 'static) -> Peer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind peer");
        let sent = Arc::new(Mutex::new(Vec::new()));
        let ended = Arc::new(AtomicUsize::new(0));
        let (record, done) = (sent.clone(), ended.clone());
        let server = Server::on(
            listener,
            Arc::new(move |n, stream| {
                let slot = {
                    let mut sent = record.lock().expect("lock");
                    sent.push(Vec::new());
                    sent.len() - 1
                };
                let heard = handle(stream, &script(n));
                record.lock().expect("lock")[slot] = heard;
                done.fetch_add(1, Ordering::SeqCst);
            }),
        );
        Peer {
            addr: server.addr,
            server,
            sent,
            ended,
        }
    }

    /// `scheme://127.0.0.1:PORT`.
    pub fn url(&self, scheme: &str) -> String {
        format!("{scheme}://{}", self.addr)
    }

    /// Connections accepted so far.
    pub fn hits(&self) -> usize {
        self.server.hits()
    }

    /// What each client sent (complete for the connections that have ended).
    pub fn sent(&self) -> Vec<Vec<u8>> {
        self.sent.lock().expect("lock").clone()
    }

    /// Connections that have ended (the client closed, or the act did).
    pub fn ended(&self) -> usize {
        self.ended.load(Ordering::SeqCst)
    }
}

/// Plays `act` on one connection; returns every byte the client sent.
fn handle(mut stream: TcpStream, act: &Act) -> Vec<u8> {
    let _ = stream.set_read_timeout(Some(HOLD_LIMIT));
    let mut heard = vec![0u8; act.read];
    let mut got = 0;
    while got < act.read {
        match stream.read(&mut heard[got..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => got += n,
        }
    }
    heard.truncate(got);
    if !act.say.is_empty() && stream.write_all(&act.say).is_err() {
        return heard;
    }
    match act.then {
        Then::Close => {}
        Then::Reset => reset(stream),
        // The peer's own behaviour, not synchronisation: it closes on its own clock.
        Then::CloseAfter(delay) => std::thread::sleep(delay),
        Then::Hold => {
            // Until the client closes: whatever else it sends is recorded too.
            let start = Instant::now();
            let mut buf = [0u8; 512];
            while start.elapsed() < HOLD_LIMIT {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => heard.extend_from_slice(&buf[..n]),
                }
            }
        }
    }
    heard
}

/// A reply captured from a real server (tests/data/replies/, with how it was captured).
pub fn captured(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/data/replies/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Runs readygate (no sidecar) against a peer acting as `act` on a `scheme://` URL, and asserts
/// it times out naming `reason` for that URL.
pub fn assert_not_ready_with(scheme: &str, act: Act, reason: &str) {
    let peer = Peer::start(act);
    let url = peer.url(scheme);
    let result = super::run(super::readygate().args([
        "--mesh",
        "none",
        "--url",
        &url,
        "-t",
        "300ms",
        "--request-timeout",
        "100ms",
    ]));
    let line = result.timeout_line();
    assert!(
        line.contains(&format!("{url} ({reason})")),
        "expected {reason:?} in: {line}"
    );
}
