//! Runs the real mock-sidecar binary and talks to it: its stdout log watched line by line, plain
//! HTTP/1.1 requests over std sockets, and waits that end on an event or a deadline.
#![allow(dead_code)] // each test file uses a different part

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

pub const DEADLINE: Duration = Duration::from_secs(20);

/// A running mock-sidecar; killed when dropped.
pub struct Mock {
    child: Child,
    lines: Arc<(Mutex<Vec<String>>, Condvar)>,
}

impl Mock {
    /// Starts `mock-sidecar ARGS` with only the given MOCK_SIDECAR_* variables set.
    pub fn start(args: &[&str]) -> Mock {
        Mock::start_with_env(args, &[])
    }

    pub fn start_with_env(args: &[&str], env: &[(&str, &str)]) -> Mock {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_mock-sidecar"));
        for (key, _) in std::env::vars() {
            if key.starts_with("MOCK_SIDECAR_") {
                cmd.env_remove(key);
            }
        }
        let mut child = cmd
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn mock-sidecar");
        let stdout = child.stdout.take().expect("piped stdout");
        let lines = Arc::new((Mutex::new(Vec::new()), Condvar::new()));
        let sink = lines.clone();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let (store, changed) = &*sink;
                store.lock().unwrap().push(line);
                changed.notify_all();
            }
        });
        Mock { child, lines }
    }

    /// The first log line for which `want` holds, waiting for it until the deadline.
    pub fn wait_for_line(&self, want: impl Fn(&str) -> bool) -> String {
        let (store, changed) = &*self.lines;
        let end = Instant::now() + DEADLINE;
        let mut lines = store.lock().unwrap();
        loop {
            if let Some(line) = lines.iter().find(|l| want(l)) {
                return line.clone();
            }
            let left = end.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "no such log line within {DEADLINE:?}; log: {lines:#?}"
            );
            lines = changed.wait_timeout(lines, left).unwrap().0;
        }
    }

    pub fn log(&self) -> Vec<String> {
        self.lines.0.lock().unwrap().clone()
    }

    /// The address from the first `listening on ADDR` line.
    pub fn address(&self) -> SocketAddr {
        let line = self.wait_for_line(|l| l.contains(" listening on "));
        let addr = line.split(" listening on ").nth(1).unwrap();
        addr.split(' ').next().unwrap().parse().unwrap()
    }

    /// The exit status, once the process has ended; fails at the deadline.
    pub fn wait_exit(&mut self) -> ExitStatus {
        let end = Instant::now() + DEADLINE;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < end,
                "mock-sidecar still running after {DEADLINE:?}"
            );
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Whether the process is still running now.
    pub fn running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Mock {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 exchange with `Connection: close`; the status and the body.
pub fn http(addr: SocketAddr, method: &str, path: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: mock-test/1\r\n\
         Content-Length: 0\r\nConnection: close\r\n\r\n"
    )?;
    let mut reply = String::new();
    stream.read_to_string(&mut reply)?;
    let status = reply
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = reply.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    Ok((status, body.to_owned()))
}

/// Retries `attempt` every 10 ms until it returns `Some`; fails at the deadline.
pub fn eventually<T>(what: &str, mut attempt: impl FnMut() -> Option<T>) -> T {
    let end = Instant::now() + DEADLINE;
    loop {
        if let Some(value) = attempt() {
            return value;
        }
        assert!(Instant::now() < end, "{what}: not within {DEADLINE:?}");
        thread::sleep(Duration::from_millis(10));
    }
}

/// A loopback port free a moment ago, for a test that must know the port before the mock binds.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
