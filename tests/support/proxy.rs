//! An in-process sidecar stand-in for Job mode: serves a readiness path and records every quit
//! POST, answering it as scripted (accept, a status, hang, reset, or close without a word). On
//! a free port, or on a mesh's own port inside a private network namespace ([`Proxy::at`]).

use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use super::http::{read_head, reply, reset};
use super::server::Server;

/// The readiness path served, as Istio's pilot-agent serves it.
pub const READY_PATH: &str = "/healthz/ready";
/// The quit path served, as Istio's pilot-agent serves it.
pub const QUIT_PATH: &str = "/quitquitquit";

/// A sidecar's readiness and quit paths.
#[derive(Clone, Copy, Debug)]
pub struct Paths {
    pub ready: &'static str,
    pub quit: &'static str,
}

/// Istio's pilot-agent, on 15020.
pub const ISTIO: Paths = Paths {
    ready: READY_PATH,
    quit: QUIT_PATH,
};
/// Linkerd's proxy admin server, on 4191.
pub const LINKERD: Paths = Paths {
    ready: "/ready",
    quit: "/shutdown",
};

/// How the readiness path answers a GET.
#[derive(Clone, Copy, Debug)]
pub enum Readiness {
    /// 200.
    Ready,
    /// 503.
    NotReady,
    /// Reads the request and never answers (a proxy wedged in its start).
    Hang,
}

impl From<bool> for Readiness {
    fn from(ready: bool) -> Self {
        if ready {
            Readiness::Ready
        } else {
            Readiness::NotReady
        }
    }
}

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
    paths: Paths,
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
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        Self::serve(listener, ISTIO, ready.into(), quit, marker)
    }

    /// A stand-in for the sidecar whose endpoints are `paths`, listening on `addr` (a mesh's
    /// own port, such as 127.0.0.1:15020: in a private network namespace, where it is free).
    pub fn at(
        addr: &str,
        paths: Paths,
        ready: Readiness,
        quit: QuitReply,
        marker: Option<PathBuf>,
    ) -> Proxy {
        let listener = TcpListener::bind(addr).unwrap_or_else(|e| panic!("bind {addr}: {e}"));
        Self::serve(listener, paths, ready, quit, marker)
    }

    fn serve(
        listener: TcpListener,
        paths: Paths,
        ready: Readiness,
        quit: QuitReply,
        marker: Option<PathBuf>,
    ) -> Proxy {
        let requests = Arc::new(Mutex::new(Vec::new()));
        // Requests kept open without an answer: the handler owns them, so they close when the
        // server drops it (on the proxy's drop, once it stops accepting).
        let held = Mutex::new(Vec::new());
        let r = requests.clone();
        let reply = Reply { paths, ready, quit };
        let server = Server::on(
            listener,
            Arc::new(move |_, stream| handle(stream, reply, marker.clone(), &r, &held)),
        );
        Proxy {
            addr: server.addr,
            paths,
            _server: server,
            requests,
        }
    }

    /// `http://127.0.0.1:PORT/healthz/ready` (or the readiness path of its [`Paths`]).
    pub fn ready_url(&self) -> String {
        format!("http://{}{}", self.addr, self.paths.ready)
    }

    /// `http://127.0.0.1:PORT/quitquitquit` (or the quit path of its [`Paths`]).
    pub fn quit_url(&self) -> String {
        format!("http://{}{}", self.addr, self.paths.quit)
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
        let wanted = format!("POST {} ", self.paths.quit);
        self.requests()
            .into_iter()
            .filter(|r| r.line.starts_with(&wanted))
            .collect()
    }

    /// Requests to the quit path with any other method (readygate must only POST).
    pub fn non_post_quits(&self) -> usize {
        let path = format!(" {} ", self.paths.quit);
        self.requests()
            .iter()
            .filter(|r| r.line.contains(&path) && !r.line.starts_with("POST "))
            .count()
    }

    /// Readiness probes received so far.
    pub fn probes(&self) -> usize {
        self.probe_requests().len()
    }

    /// The readiness probes received so far.
    pub fn probe_requests(&self) -> Vec<Request> {
        let wanted = format!("GET {} ", self.paths.ready);
        self.requests()
            .into_iter()
            .filter(|r| r.line.starts_with(&wanted))
            .collect()
    }
}

/// What the stand-in answers.
#[derive(Clone, Copy)]
struct Reply {
    paths: Paths,
    ready: Readiness,
    quit: QuitReply,
}

fn handle(
    mut stream: TcpStream,
    reply: Reply,
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
        ("GET", p) if p == reply.paths.ready => match reply.ready {
            Readiness::Ready => respond(&mut stream, 200),
            Readiness::NotReady => respond(&mut stream, 503),
            Readiness::Hang => held.lock().expect("lock").push(stream),
        },
        ("POST", p) if p == reply.paths.quit => match reply.quit {
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
