//! In-process HTTP endpoints for the precise misbehaviours a real proxy will not produce on
//! demand: each connection is handled on its own thread by a scripted behaviour.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

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

/// The behaviour for the n-th request (0-based): a fixed script, then its last entry forever.
type Script = Arc<dyn Fn(usize) -> Behaviour + Send + Sync>;

/// A listening endpoint on a loopback port; stops accepting when dropped.
pub struct Endpoint {
    pub addr: SocketAddr,
    hits: Arc<AtomicUsize>,
    requests: Arc<Mutex<Vec<String>>>,
    held: Arc<Mutex<Vec<TcpStream>>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
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
        Self::serve(listener, Arc::new(script))
    }

    /// Serves on an existing listener (for example one bound to a port chosen earlier).
    pub fn serve(listener: TcpListener, script: Script) -> Endpoint {
        let addr = listener.local_addr().expect("addr");
        let hits = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let held = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (h, r, k, s) = (hits.clone(), requests.clone(), held.clone(), stop.clone());
        thread::spawn(move || {
            for stream in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let n = h.fetch_add(1, Ordering::SeqCst);
                let behaviour = script(n);
                let (r, k) = (r.clone(), k.clone());
                thread::spawn(move || handle(stream, behaviour, &r, &k));
            }
        });
        Endpoint {
            addr,
            hits,
            requests,
            held,
            stop,
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
        self.hits.load(Ordering::SeqCst)
    }

    /// The request heads received so far.
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().expect("lock").clone()
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
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
            let Some(head) = read_head(&mut stream) else {
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
        if let Some(head) = read_head(&mut stream) {
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
            let _ = stream.write_all(head.as_bytes());
            let chunk = vec![b'x'; 64 * 1024];
            let mut left = size;
            while left > 0 {
                let n = left.min(chunk.len());
                if stream.write_all(&chunk[..n]).is_err() {
                    return;
                }
                left -= n;
            }
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

/// Reads a request head (up to the blank line), bounded; `None` if the peer sent none.
fn read_head(stream: &mut TcpStream) -> Option<String> {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 16 * 1024 {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => break,
        }
    }
    (!head.is_empty()).then(|| String::from_utf8_lossy(&head).into_owned())
}

/// Closes with RST instead of FIN.
fn reset(stream: TcpStream) {
    let _ = socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO));
    drop(stream);
}
