//! Helpers for the fault-injection suite (tests/fault_*.rs): a readygate whose stderr is watched
//! line by line (to synchronise on what it logged, never on sleeps), a loopback server whose
//! connections are handled by arbitrary code, and readers for /proc/<pid>.
#![allow(dead_code)] // Each fault_*.rs file uses a different part of this module.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
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

// Re-exported for the fault tests, each of which uses a different part.
#[allow(unused_imports)]
pub use crate::support::server::{answer, read_head, reset, Handler, Server};

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

/// Sends `signal` (a number) to `pid`.
pub fn kill(pid: u32, signal: i32) {
    support::send_signal(&signal.to_string(), pid);
}

/// The attempt number in a verbose log line (`... attempt=N ...`).
pub fn attempt_of(line: &str) -> Option<u64> {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix("attempt="))
        .and_then(|n| n.parse().ok())
}
