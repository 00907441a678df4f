//! Helpers for the fault-injection suite (tests/fault_*.rs): a readygate whose stderr is watched
//! line by line (to synchronise on what it logged, never on sleeps), a loopback server whose
//! connections are handled by arbitrary code, and readers for /proc/<pid>.
#![allow(dead_code)] // Each fault_*.rs file uses a different part of this module.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::support;

/// A running readygate whose stderr lines are collected as they arrive.
pub struct Watched {
    pub child: Child,
    pub started: Instant,
    lines: Arc<(Mutex<Vec<String>>, Condvar)>,
    stdout: Option<thread::JoinHandle<String>>,
    stderr: Option<thread::JoinHandle<()>>,
}

/// How a watched run ended: the same record as the other tests' runs.
pub use crate::support::Run as Ended;

impl Watched {
    /// Spawns `cmd` with stdout and stderr piped and watched.
    pub fn spawn(cmd: &mut Command) -> Watched {
        let started = Instant::now();
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn readygate");
        let lines = Arc::new((Mutex::new(Vec::new()), Condvar::new()));
        let pipe = child.stderr.take().expect("stderr");
        let sink = lines.clone();
        let stderr = thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                let (lock, changed) = &*sink;
                lock.lock().expect("lock").push(line);
                changed.notify_all();
            }
        });
        let mut out = child.stdout.take().expect("stdout");
        let stdout = thread::spawn(move || {
            let mut text = String::new();
            let _ = out.read_to_string(&mut text);
            text
        });
        Watched {
            child,
            started,
            lines,
            stdout: Some(stdout),
            stderr: Some(stderr),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits until a stderr line satisfies `matches`; returns it. Panics with the log after
    /// `deadline`, or if readygate exits first.
    pub fn wait_for_line(
        &mut self,
        what: &str,
        deadline: Duration,
        mut matches: impl FnMut(&str) -> bool,
    ) -> String {
        let start = Instant::now();
        let (lock, changed) = &*self.lines.clone();
        let mut seen = 0;
        loop {
            let lines = lock.lock().expect("lock");
            if let Some(line) = lines[seen..].iter().find(|l| matches(l)) {
                return line.clone();
            }
            seen = lines.len();
            let left = deadline.saturating_sub(start.elapsed());
            assert!(
                !left.is_zero(),
                "timed out after {deadline:?} waiting for {what}; stderr so far:\n{}",
                lines.join("\n")
            );
            let (lines, _) = changed
                .wait_timeout(lines, left.min(Duration::from_millis(50)))
                .expect("lock");
            drop(lines);
            if let Ok(Some(status)) = self.child.try_wait() {
                // Give the reader a last chance to collect lines written before the exit.
                let lines = lock.lock().expect("lock");
                if let Some(line) = lines.iter().find(|l| matches(l)) {
                    return line.clone();
                }
                panic!(
                    "readygate exited ({status}) before {what}; stderr:\n{}",
                    lines.join("\n")
                );
            }
        }
    }

    /// The stderr lines so far.
    pub fn lines(&self) -> Vec<String> {
        self.lines.0.lock().expect("lock").clone()
    }

    /// Waits (bounded by [`support::RUN_DEADLINE`]) for the exit and collects the output.
    pub fn finish(mut self) -> Ended {
        let status = support::wait_with_deadline(&mut self.child, support::RUN_DEADLINE);
        let elapsed = self.started.elapsed();
        if let Some(reader) = self.stderr.take() {
            reader.join().expect("stderr reader");
        }
        let stdout = self
            .stdout
            .take()
            .map(|h| h.join().expect("stdout reader"))
            .unwrap_or_default();
        Ended {
            status,
            stdout,
            stderr: self.lines().join("\n"),
            elapsed,
        }
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        // A failed assertion must not leave readygate running.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// What a [`Server`] does with the n-th connection (0-based).
pub type Handler = Arc<dyn Fn(usize, TcpStream) + Send + Sync>;

/// A loopback server running `handler` on each connection in its own thread.
pub struct Server {
    pub addr: SocketAddr,
    hits: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    accept: Option<thread::JoinHandle<()>>,
}

impl Server {
    /// Listens on 127.0.0.1, on a free port.
    pub fn start(handler: impl Fn(usize, TcpStream) + Send + Sync + 'static) -> Server {
        Self::on(
            TcpListener::bind("127.0.0.1:0").expect("bind"),
            Arc::new(handler),
        )
    }

    /// Serves on `listener`.
    pub fn on(listener: TcpListener, handler: Handler) -> Server {
        let addr = listener.local_addr().expect("addr");
        let hits = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (h, s) = (hits.clone(), stop.clone());
        let accept = thread::spawn(move || {
            for stream in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let n = h.fetch_add(1, Ordering::SeqCst);
                let handler = handler.clone();
                thread::spawn(move || handler(n, stream));
            }
        });
        Server {
            addr,
            hits,
            stop,
            accept: Some(accept),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}/ready", self.addr)
    }

    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    /// Stops accepting and waits until the port is closed (the listener is dropped).
    pub fn close(mut self) {
        self.shut();
    }

    fn shut(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag, then wait for it to drop the listener.
        let _ = TcpStream::connect(self.addr);
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shut();
    }
}

/// Reads a request head up to its blank line (bounded); returns it.
pub fn read_head(stream: &mut TcpStream) -> String {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 16 * 1024 {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&head).into_owned()
}

/// Answers `code` with an empty body and closes.
pub fn answer(stream: &mut TcpStream, code: u16) {
    let _ = write!(
        stream,
        "HTTP/1.1 {code} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
    );
}

/// Closes with RST instead of FIN.
pub fn reset(stream: TcpStream) {
    let _ = socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO));
    drop(stream);
}

/// Number of open descriptors of `pid`.
pub fn fd_count(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("read /proc/<pid>/fd")
        .count()
}

/// A `kB` field of /proc/<pid>/status, such as `VmRSS` or `VmHWM`.
pub fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

/// The one-letter state of `pid` (R, S, T, ...) from /proc/<pid>/stat.
pub fn state(pid: u32) -> char {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("read stat");
    // The command name is in parentheses and may contain spaces: the state follows the last ')'.
    let after = &stat[stat.rfind(')').expect("stat format") + 1..];
    after.trim_start().chars().next().expect("state")
}

/// Sends `signal` to `pid`.
pub fn kill(pid: u32, signal: i32) {
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .expect("kill");
    assert!(status.success(), "kill -{signal} {pid}");
}

/// The attempt number in a verbose log line (`... attempt=N ...`).
pub fn attempt_of(line: &str) -> Option<u64> {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix("attempt="))
        .and_then(|n| n.parse().ok())
}
