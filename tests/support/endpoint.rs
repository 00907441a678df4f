//! In-process HTTP endpoints for the precise misbehaviours a real proxy will not produce on
//! demand: each connection is handled on its own thread by a scripted behaviour.

use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use super::server::{answer, read_head, reset, write_huge, Server};

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
    /// Answer 503 with a body of this many bytes (sent as fast as the peer reads).
    HugeBody(usize),
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
    /// Connections kept open without an answer until the endpoint drops.
    held: Arc<Mutex<Vec<TcpStream>>>,
}

impl Endpoint {
    /// Serves `behaviour` for every connection on 127.0.0.1.
    pub fn start(behaviour: Behaviour) -> Endpoint {
        Self::scripted("127.0.0.1:0", move |_| behaviour.clone())
    }

    /// Serves the n-th connection with `script(n)` on `bind` (such as `[::1]:0`).
    pub fn scripted(
        bind: &str,
        script: impl Fn(usize) -> Behaviour + Send + Sync + 'static,
    ) -> Endpoint {
        let listener = TcpListener::bind(bind).expect("bind endpoint");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let held = Arc::new(Mutex::new(Vec::new()));
        let (r, k) = (requests.clone(), held.clone());
        let server = Server::on(
            listener,
            Arc::new(move |n, stream| handle(stream, script(n), &r, &k)),
        );
        Endpoint {
            addr: server.addr,
            server,
            requests,
            held,
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
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        // The server stops accepting when it drops; held connections are closed here.
        self.held.lock().expect("lock").clear();
    }
}

fn handle(
    mut stream: TcpStream,
    behaviour: Behaviour,
    requests: &Mutex<Vec<String>>,
    held: &Mutex<Vec<TcpStream>>,
) {
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
            let reply = format!(
                "HTTP/1.1 {code} X\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            );
            if stream.write_all(reply.as_bytes()).is_err() {
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
    match behaviour {
        Behaviour::Status(code, body) => {
            let head = format!(
                "HTTP/1.1 {code} X\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&body);
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
        Behaviour::ResetAfterHead => {
            let _ = stream.write_all(b"HTTP/1.1 503 X\r\ncontent-length: 100\r\n\r\n");
            let _ = stream.flush();
            reset(stream);
        }
        Behaviour::HugeBody(size) => {
            let head = format!("HTTP/1.1 503 X\r\ncontent-length: {size}\r\n\r\n");
            write_huge(&mut stream, &head, size);
        }
        Behaviour::KeepAlive { .. } => {}
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
