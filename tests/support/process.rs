//! Running the real binary: a clean `readygate` command, a [`Watched`] run whose stderr lines are
//! collected as they arrive (to wait on what it logged, never on sleeps), the [`Run`] it leaves
//! behind, and deadlines on everything so a hang fails the test instead of stalling it.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// Upper bound for any single readygate run in tests; a test that hits it has found a hang.
pub const RUN_DEADLINE: Duration = Duration::from_secs(20);

/// A readygate command with a clean environment: no READYGATE_* variable leaks in from the
/// developer's shell, and logs are plain text.
pub fn readygate() -> Command {
    let mut cmd = Command::new(BINARY);
    clean(&mut cmd);
    cmd
}

/// The readygate binary under test.
pub const BINARY: &str = env!("CARGO_BIN_EXE_readygate");

/// Removes every READYGATE_* variable from `cmd`'s environment and closes its stdin.
pub fn clean(cmd: &mut Command) {
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("READYGATE_") {
            cmd.env_remove(key);
        }
    }
    cmd.stdin(Stdio::null());
}

/// Probe every millisecond: many attempts in a short test.
pub const EVERY_MS: [&str; 4] = ["--interval", "1ms", "--max-interval", "1ms"];

/// Runs `sh -c script` as the command; handy for commands that report through files.
pub fn sh(script: &str) -> [&OsStr; 3] {
    [OsStr::new("sh"), OsStr::new("-c"), OsStr::new(script)]
}

/// What a finished run left behind.
#[derive(Debug)]
pub struct Run {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Run {
    /// The exit code; panics with the logs if the process died of a signal.
    pub fn code(&self) -> i32 {
        self.status.code().unwrap_or_else(|| {
            panic!(
                "killed by signal {:?}; stderr:\n{}",
                self.status.signal(),
                self.stderr
            )
        })
    }

    /// Asserts the exit code, showing the logs when it differs.
    pub fn assert_code(&self, expected: i32) -> &Self {
        assert_eq!(
            self.code(),
            expected,
            "stderr:\n{}\nstdout:\n{}",
            self.stderr,
            self.stdout
        );
        self
    }

    /// The stderr lines that contain `needle`.
    pub fn stderr_lines_with(&self, needle: &str) -> Vec<&str> {
        self.stderr.lines().filter(|l| l.contains(needle)).collect()
    }

    /// The timeout line of a run that was not ready in time (exit 69); panics with the logs
    /// otherwise.
    pub fn timeout_line(&self) -> &str {
        self.assert_code(69);
        self.stderr
            .lines()
            .find(|l| l.contains("not ready after"))
            .unwrap_or_else(|| panic!("no timeout line:\n{}", self.stderr))
    }

    /// Asserts stderr contains `needle`.
    pub fn assert_stderr_has(&self, needle: &str) -> &Self {
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}:\n{}",
            self.stderr
        );
        self
    }
}

/// Runs a set-up step (`what`, as the failure names it) to completion with no stdin; panics
/// with its stderr if it fails.
pub fn set_up(what: &str, cmd: &mut Command) {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("run {what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs `cmd` to completion (killing it after [`RUN_DEADLINE`]) and captures its output.
pub fn run(cmd: &mut Command) -> Run {
    Watched::spawn(cmd).finish()
}

/// Waits for a spawned child (with piped stdout/stderr) and captures its output.
pub fn finish(child: Child) -> Run {
    Watched::adopt(child).finish()
}

/// Stderr lines as they arrive (each with its newline, so the whole is byte-exact), and a signal
/// for whoever waits on the next one.
type Lines = Arc<(Mutex<Vec<String>>, Condvar)>;

/// A running process whose stderr lines are collected as they arrive and whose stdout is read
/// to the end; it is killed if the test drops it before it exits.
pub struct Watched {
    pub child: Child,
    pub started: Instant,
    lines: Lines,
    stdout: Option<thread::JoinHandle<String>>,
    stderr: Option<thread::JoinHandle<()>>,
}

impl Watched {
    /// Spawns `cmd` with stdout and stderr piped and watched.
    pub fn spawn(cmd: &mut Command) -> Watched {
        let child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn readygate");
        Self::adopt(child)
    }

    /// Watches a child spawned elsewhere (its unpiped streams read as empty).
    pub fn adopt(mut child: Child) -> Watched {
        let started = Instant::now();
        let lines: Lines = Arc::new((Mutex::new(Vec::new()), Condvar::new()));
        let sink = lines.clone();
        let stderr = child.stderr.take().map(|pipe| {
            thread::spawn(move || {
                let mut pipe = BufReader::new(pipe);
                let mut line = Vec::new();
                while pipe.read_until(b'\n', &mut line).is_ok_and(|n| n > 0) {
                    let (lock, changed) = &*sink;
                    let text = String::from_utf8_lossy(&line).into_owned();
                    lock.lock().expect("lock").push(text);
                    changed.notify_all();
                    line.clear();
                }
            })
        });
        let stdout = child.stdout.take().map(|mut pipe| {
            thread::spawn(move || {
                let mut bytes = Vec::new();
                let _ = pipe.read_to_end(&mut bytes);
                String::from_utf8_lossy(&bytes).into_owned()
            })
        });
        Watched {
            child,
            started,
            lines,
            stdout,
            stderr,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits until a stderr line satisfies `matches`; returns it. Panics with the log after
    /// `deadline`, or if the process exits first.
    pub fn wait_for_line(
        &mut self,
        what: &str,
        deadline: Duration,
        mut matches: impl FnMut(&str) -> bool,
    ) -> String {
        let start = Instant::now();
        let (lock, changed) = &*self.lines.clone();
        let mut seen = 0;
        let mut exited = None;
        loop {
            let lines = lock.lock().expect("lock");
            if let Some(line) = lines[seen..]
                .iter()
                .map(|l| l.trim_end())
                .find(|l| matches(l))
            {
                return line.to_string();
            }
            seen = lines.len();
            if let Some(status) = exited {
                panic!(
                    "readygate exited ({status}) before {what}; stderr:\n{}",
                    lines.concat()
                );
            }
            let left = deadline.saturating_sub(start.elapsed());
            assert!(
                !left.is_zero(),
                "timed out after {deadline:?} waiting for {what}; stderr so far:\n{}",
                lines.concat()
            );
            let (lines, _) = changed
                .wait_timeout(lines, left.min(Duration::from_millis(50)))
                .expect("lock");
            drop(lines);
            if let Ok(Some(status)) = self.child.try_wait() {
                // One last pass over what the reader collects up to the end of the pipe.
                if let Some(reader) = self.stderr.take() {
                    reader.join().expect("stderr reader");
                }
                exited = Some(status);
            }
        }
    }

    /// The stderr lines so far, without their newlines.
    pub fn lines(&self) -> Vec<String> {
        let lines = self.lines.0.lock().expect("lock");
        lines.iter().map(|l| l.trim_end().to_string()).collect()
    }

    /// Waits (bounded by [`RUN_DEADLINE`]) for the exit and collects the output.
    pub fn finish(mut self) -> Run {
        let status = wait_with_deadline(&mut self.child, RUN_DEADLINE);
        let elapsed = self.started.elapsed();
        if let Some(reader) = self.stderr.take() {
            reader.join().expect("stderr reader");
        }
        let stdout = self
            .stdout
            .take()
            .map(|h| h.join().expect("stdout reader"))
            .unwrap_or_default();
        let stderr = self.lines.0.lock().expect("lock").concat();
        Run {
            status,
            stdout,
            stderr,
            elapsed,
        }
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        // A failed assertion must not leave the process running.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Waits for `child` to exit; kills it and panics if it is still running after `deadline`.
pub fn wait_with_deadline(child: &mut Child, deadline: Duration) -> ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if start.elapsed() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("process still running after {deadline:?}: a hang");
        }
        thread::sleep(Duration::from_millis(5));
    }
}

/// Polls `condition` until it holds, panicking with `what` after `deadline`.
pub fn eventually(what: &str, deadline: Duration, mut condition: impl FnMut() -> bool) {
    let start = Instant::now();
    while !condition() {
        assert!(
            start.elapsed() < deadline,
            "timed out after {deadline:?} waiting for {what}"
        );
        thread::sleep(Duration::from_millis(5));
    }
}

/// The attempt number in a verbose log line (`... attempt=N ...`).
pub fn attempt_of(line: &str) -> Option<u64> {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix("attempt="))
        .and_then(|n| n.parse().ok())
}
