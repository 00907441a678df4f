//! An in-process sidecar stand-in for Job mode: serves a readiness path and records every quit
//! POST, answering it as scripted (accept, a status, hang, reset, or close without a word).

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use super::http::{read_head, reply, reset};
use super::server::Server;

/// The readiness path served, as Istio's pilot-agent serves it.
pub const READY_PATH: &str = "/healthz/ready";
/// The quit path served, as Istio's pilot-agent serves it.
pub const QUIT_PATH: &str = "/quitquitquit";

/// How the quit endpoint answers a POST.
#[derive(Clone, Copy, Debug)]
pub enum QuitReply {
    /// 200 OK, as pilot-agent does.
    Ok,
    /// This status (404 for Linkerd's disabled shutdown endpoint).
    Status(u16),
    /// Read the request, never answer; the connection is held until the proxy is dropped.
    Hang,
    /// Read the request, then reset the connection (a proxy dying mid-reply).
    Reset,
    /// Read the request, then close without a reply (a proxy exiting).
    Close,
}

/// One request the stand-in received.
#[derive(Clone, Debug)]
pub struct Request {
    /// `POST /quitquitquit HTTP/1.1`.
    pub line: String,
    /// Whether the marker file (see [`Proxy::with_marker`]) existed when it arrived.
    pub marker_existed: bool,
}

/// A listening stand-in on 127.0.0.1; stops when dropped.
pub struct Proxy {
    pub addr: SocketAddr,
    _server: Server,
    requests: Arc<Mutex<Vec<Request>>>,
}

impl Proxy {
    /// A proxy that is ready (or never ready: 503) and answers quits with `quit`.
    pub fn start(ready: bool, quit: QuitReply) -> Proxy {
        Self::with_marker(ready, quit, None)
    }

    /// Like [`Proxy::start`], noting for each request whether `marker` exists at that moment:
    /// a command that creates it just before exiting shows the quit came after it.
    pub fn with_marker(ready: bool, quit: QuitReply, marker: Option<PathBuf>) -> Proxy {
        let requests = Arc::new(Mutex::new(Vec::new()));
        // Quit requests kept open without an answer: the handler owns them, so they close when
        // the server drops it (on the proxy's drop, once it stops accepting).
        let held = Mutex::new(Vec::new());
        let r = requests.clone();
        let server =
            Server::start(move |_, stream| handle(stream, ready, quit, marker.clone(), &r, &held));
        Proxy {
            addr: server.addr,
            _server: server,
            requests,
        }
    }

    /// `http://127.0.0.1:PORT/healthz/ready`.
    pub fn ready_url(&self) -> String {
        format!("http://{}{READY_PATH}", self.addr)
    }

    /// `http://127.0.0.1:PORT/quitquitquit`.
    pub fn quit_url(&self) -> String {
        format!("http://{}{QUIT_PATH}", self.addr)
    }

    /// `--url READY --quit-url QUIT`, pointing readygate at this stand-in.
    pub fn args(&self) -> [String; 4] {
        [
            "--url".into(),
            self.ready_url(),
            "--quit-url".into(),
            self.quit_url(),
        ]
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().expect("lock").clone()
    }

    /// The quit POSTs received so far.
    pub fn quits(&self) -> Vec<Request> {
        let wanted = format!("POST {QUIT_PATH} ");
        self.requests()
            .into_iter()
            .filter(|r| r.line.starts_with(&wanted))
            .collect()
    }

    /// Requests to the quit path with any other method (readygate must only POST).
    pub fn non_post_quits(&self) -> usize {
        let path = format!(" {QUIT_PATH} ");
        self.requests()
            .iter()
            .filter(|r| r.line.contains(&path) && !r.line.starts_with("POST "))
            .count()
    }

    /// Readiness probes received so far.
    pub fn probes(&self) -> usize {
        let wanted = format!("GET {READY_PATH} ");
        self.requests()
            .iter()
            .filter(|r| r.line.starts_with(&wanted))
            .count()
    }
}

fn handle(
    mut stream: TcpStream,
    ready: bool,
    quit: QuitReply,
    marker: Option<PathBuf>,
    requests: &Mutex<Vec<Request>>,
    held: &Mutex<Vec<TcpStream>>,
) {
    let Some(line) = read_request_line(&mut stream) else {
        return;
    };
    let marker_existed = marker.is_some_and(|m| m.exists());
    requests.lock().expect("lock").push(Request {
        line: line.clone(),
        marker_existed,
    });
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    match (method, path) {
        ("GET", READY_PATH) => respond(&mut stream, if ready { 200 } else { 503 }),
        ("POST", QUIT_PATH) => match quit {
            QuitReply::Ok => respond(&mut stream, 200),
            QuitReply::Status(code) => respond(&mut stream, code),
            QuitReply::Hang => held.lock().expect("lock").push(stream),
            QuitReply::Reset => reset(stream),
            QuitReply::Close => drop(stream),
        },
        _ => respond(&mut stream, 404),
    }
}

fn respond(stream: &mut TcpStream, code: u16) {
    let body: &[u8] = if code == 200 { b"OK\n" } else { b"no\n" };
    let _ = stream.write_all(&reply(code, body, true));
}

/// Reads the request head; returns its first line.
fn read_request_line(stream: &mut TcpStream) -> Option<String> {
    read_head(stream)
        .lines()
        .next()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
}
