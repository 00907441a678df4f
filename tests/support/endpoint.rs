//! In-process HTTP endpoints for the precise misbehaviours a real proxy will not produce on
//! demand: each connection is handled on its own thread by a scripted behaviour.

use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use super::http::{answer, read_head, reply, reset, write_huge};
use super::server::Server;

/// How the endpoint treats one connection.
#[derive(Clone)]
pub enum Behaviour {
    /// Answer with this status and body.
    Status(u16, Vec<u8>),
    /// Write these raw bytes, then close.
    Raw(Vec<u8>),
    /// Write these bytes one at a time, with a pause between each.
    Dribble(Vec<u8>, Duration),
    /// Accept, read the request, then close without a word (FIN, not RST).
    Close,
    /// Accept, then reset (SO_LINGER 0).
    Reset,
    /// Accept and never answer (the connection is held until the endpoint drops).
    Hang,
    /// Answer the status line and headers of a 503, then reset.
    ResetAfterHead,
    /// Write these bytes (a head, or part of one), then reset.
    ResetAfter(Vec<u8>),
    /// Answer 503 with a body of this many bytes (sent as fast as the peer reads).
    HugeBody(usize),
    /// Write this head, then this many bytes of body (sent as fast as the peer reads).
    Flood(String, usize),
    /// Read the request, then behave as the inner behaviour this long after the accept (a late
    /// reply; not for `KeepAlive`, which answers at once).
    Late(Duration, Box<Behaviour>),
    /// Answer a 503 with this many bytes of headers.
    HugeHead(usize),
    /// HTTP/1.1 keep-alive: answer 503 "warming up" until `ready_after` requests have been
    /// served in all, then 200; close the connection after `per_connection` requests, silently
    /// (no `Connection: close`), as a server dropping idle connections does.
    KeepAlive {
        ready_after: usize,
        per_connection: usize,
    },
}

/// A listening endpoint on a loopback port; stops accepting when dropped.
pub struct Endpoint {
    pub addr: SocketAddr,
    server: Server,
    requests: Arc<Mutex<Vec<String>>>,
}

impl Endpoint {
    /// Serves `behaviour` for every connection on 127.0.0.1.
    pub fn start(behaviour: Behaviour) -> Endpoint {
        Self::scripted("127.0.0.1:0", move |_| behaviour.clone())
    }

    /// Serves `early` to the first `n` connections on 127.0.0.1, then `late` to every other.
    pub fn after(n: usize, early: Behaviour, late: Behaviour) -> Endpoint {
        Self::scripted("127.0.0.1:0", move |i| {
            if i < n {
                early.clone()
            } else {
                late.clone()
            }
        })
    }

    /// A readiness endpoint on 127.0.0.1 answering 503 until `ready` is set, then 200: a
    /// sidecar that turns ready when the test says so.
    pub fn ready_when(ready: &Arc<AtomicBool>) -> Endpoint {
        let flag = ready.clone();
        Self::scripted("127.0.0.1:0", move |_| {
            let status = if flag.load(Ordering::SeqCst) {
                200
            } else {
                503
            };
            Behaviour::Status(status, Vec::new())
        })
    }

    /// Serves the n-th connection with `script(n)` on `bind` (such as `[::1]:0`).
    pub fn scripted(
        bind: &str,
        script: impl Fn(usize) -> Behaviour + Send + Sync + 'static,
    ) -> Endpoint {
        Self::on(TcpListener::bind(bind).expect("bind endpoint"), script)
    }

    /// Serves the n-th connection with `script(n)` on `listener` (such as a port bound again).
    pub fn on(
        listener: TcpListener,
        script: impl Fn(usize) -> Behaviour + Send + Sync + 'static,
    ) -> Endpoint {
        let requests = Arc::new(Mutex::new(Vec::new()));
        // Connections kept open without an answer: the handler owns them, so they close when
        // the server drops it (on the endpoint's drop, once it stops accepting).
        let held = Mutex::new(Vec::new());
        let r = requests.clone();
        let server = Server::on(
            listener,
            Arc::new(move |n, stream| handle(stream, script(n), &r, &held)),
        );
        Endpoint {
            addr: server.addr,
            server,
            requests,
        }
    }

    /// `http://127.0.0.1:PORT/ready` (or `[::1]`).
    pub fn url(&self) -> String {
        format!("http://{}/ready", self.addr)
    }

    /// `http://localhost:PORT/ready`.
    pub fn localhost_url(&self) -> String {
        format!("http://localhost:{}/ready", self.addr.port())
    }

    /// Connections accepted so far.
    pub fn hits(&self) -> usize {
        self.server.hits()
    }

    /// The request heads received so far.
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().expect("lock").clone()
    }

    /// Stops accepting and returns once the port is closed (connections are then refused).
    pub fn close(self) {
        drop(self);
    }
}

fn handle(
    mut stream: TcpStream,
    mut behaviour: Behaviour,
    requests: &Mutex<Vec<String>>,
    held: &Mutex<Vec<TcpStream>>,
) {
    let accepted = Instant::now();
    let mut delay = Duration::ZERO;
    while let Behaviour::Late(after, inner) = behaviour {
        delay = after;
        behaviour = *inner;
    }
    // The shorthands, spelled out.
    behaviour = match behaviour {
        Behaviour::ResetAfterHead => {
            Behaviour::ResetAfter(b"HTTP/1.1 503 X\r\ncontent-length: 100\r\n\r\n".to_vec())
        }
        Behaviour::HugeBody(size) => Behaviour::Flood(
            format!("HTTP/1.1 503 X\r\ncontent-length: {size}\r\n\r\n"),
            size,
        ),
        other => other,
    };
    if let Behaviour::KeepAlive {
        ready_after,
        per_connection,
    } = behaviour
    {
        for _ in 0..per_connection {
            let Some(head) = request_head(&mut stream) else {
                return;
            };
            let served = {
                let mut requests = requests.lock().expect("lock");
                requests.push(head);
                requests.len()
            };
            let (code, body) = if served > ready_after {
                (200, "ok")
            } else {
                (503, "warming up")
            };
            if stream
                .write_all(&reply(code, body.as_bytes(), false))
                .is_err()
            {
                return;
            }
        }
        return;
    }
    if !matches!(behaviour, Behaviour::Reset) {
        if let Some(head) = request_head(&mut stream) {
            requests.lock().expect("lock").push(head);
        }
    }
    // The delay is the fault under test (a reply that comes late), not synchronisation.
    thread::sleep(delay.saturating_sub(accepted.elapsed()));
    match behaviour {
        Behaviour::Status(code, body) => {
            let _ = stream.write_all(&reply(code, &body, true));
        }
        Behaviour::Raw(bytes) => {
            let _ = stream.write_all(&bytes);
        }
        Behaviour::Dribble(bytes, pause) => {
            for byte in bytes {
                if stream.write_all(&[byte]).is_err() {
                    return;
                }
                thread::sleep(pause);
            }
        }
        Behaviour::Close => {}
        Behaviour::Reset => reset(stream),
        Behaviour::Hang => held.lock().expect("lock").push(stream),
        Behaviour::ResetAfter(bytes) => {
            let _ = stream.write_all(&bytes);
            let _ = stream.flush();
            reset(stream);
        }
        Behaviour::Flood(head, size) => write_huge(&mut stream, &head, size),
        // Spelled out or served above.
        Behaviour::ResetAfterHead
        | Behaviour::HugeBody(_)
        | Behaviour::KeepAlive { .. }
        | Behaviour::Late(..) => {}
        Behaviour::HugeHead(size) => {
            let _ = stream.write_all(b"HTTP/1.1 503 X\r\n");
            let line = format!("x-filler: {}\r\n", "y".repeat(1000));
            let mut written = 0;
            while written < size {
                if stream.write_all(line.as_bytes()).is_err() {
                    return;
                }
                written += line.len();
            }
            let _ = stream.write_all(b"\r\n");
        }
    }
}

/// The request head, if the peer sent one.
fn request_head(stream: &mut TcpStream) -> Option<String> {
    Some(read_head(stream)).filter(|head| !head.is_empty())
}

/// A sidecar that exits when told to quit, as a real one does: it answers 200 to every request,
/// and once it has answered a POST it stops listening, so its port refuses connections.
pub struct ExitingSidecar {
    pub addr: SocketAddr,
    /// The listening server until a POST closes it.
    server: Arc<Mutex<Option<Server>>>,
    requests: Arc<Mutex<Vec<String>>>,
}

impl ExitingSidecar {
    /// Listens on 127.0.0.1, on a free port.
    pub fn start() -> ExitingSidecar {
        let server: Arc<Mutex<Option<Server>>> = Arc::new(Mutex::new(None));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (slot, r) = (server.clone(), requests.clone());
        let listening = Server::start(move |_, mut stream| {
            let Some(head) = request_head(&mut stream) else {
                return;
            };
            let quit = head.starts_with("POST ");
            r.lock().expect("lock").push(head);
            answer(&mut stream, 200);
            drop(stream);
            if quit {
                // Taken out first: closing waits for the accept loop, never for this lock.
                let server = slot.lock().expect("lock").take();
                if let Some(server) = server {
                    server.close();
                }
            }
        });
        let addr = listening.addr;
        *server.lock().expect("lock") = Some(listening);
        ExitingSidecar {
            addr,
            server,
            requests,
        }
    }

    /// `http://127.0.0.1:PORT/ready`.
    pub fn url(&self) -> String {
        format!("http://{}/ready", self.addr)
    }

    /// `http://127.0.0.1:PORT/quitquitquit`.
    pub fn quit_url(&self) -> String {
        format!("http://{}/quitquitquit", self.addr)
    }

    /// The quit POSTs received.
    pub fn quits(&self) -> usize {
        let requests = self.requests.lock().expect("lock");
        requests.iter().filter(|r| r.starts_with("POST ")).count()
    }
}

impl Drop for ExitingSidecar {
    fn drop(&mut self) {
        // The handler holds the slot too, so the server must be taken out to be closed.
        let server = self.server.lock().expect("lock").take();
        drop(server);
    }
}
