//! Shared test support: run the real binary, in-process endpoints that misbehave on demand,
//! and waits on events with deadlines (never sleeps as synchronisation).
#![allow(dead_code)] // Each test file uses a different part of this module.

pub mod endpoint;
pub mod proxy;
pub mod reporter;
pub mod server;

use std::ffi::OsStr;
use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// Upper bound for any single readygate run in tests; a test that hits it has found a hang.
pub const RUN_DEADLINE: Duration = Duration::from_secs(20);

/// A readygate command with a clean environment: no READYGATE_* variable leaks in from the
/// developer's shell, and logs are plain text.
pub fn readygate() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_readygate"));
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("READYGATE_") {
            cmd.env_remove(key);
        }
    }
    cmd.stdin(Stdio::null());
    cmd
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

/// Runs `cmd` to completion (killing it after [`RUN_DEADLINE`]) and captures its output.
pub fn run(cmd: &mut Command) -> Run {
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn readygate");
    finish(child)
}

/// Waits for a spawned child (with piped stdout/stderr) and captures its output.
pub fn finish(mut child: Child) -> Run {
    let start = Instant::now();
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let status = wait_with_deadline(&mut child, RUN_DEADLINE);
    Run {
        status,
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
        elapsed: start.elapsed(),
    }
}

fn drain(pipe: Option<impl Read + Send + 'static>) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut pipe) = pipe {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            text = String::from_utf8_lossy(&bytes).into_owned();
        }
        text
    })
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

/// Runs `sh -c script` as the command; handy for commands that report through files.
pub fn sh(script: &str) -> [&OsStr; 3] {
    [OsStr::new("sh"), OsStr::new("-c"), OsStr::new(script)]
}

/// A TCP port on 127.0.0.1 where nothing listens (bound, then released).
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    port
}

/// Sends `signal` (a name such as `TERM`) to `pid` with kill(1), as an operator would.
pub fn send_signal(signal: &str, pid: u32) {
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .expect("kill");
    assert!(status.success(), "kill -{signal} {pid}");
}

/// Whether the tests run as root, which `needs` (such as `unshare --pid`) requires. Outside CI
/// a test may then skip itself; CI runs as root, so there a missing root fails the test.
pub fn running_as_root(needs: &str) -> bool {
    let root = std::fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines()
                .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false);
    assert!(
        root || std::env::var_os("CI").is_none(),
        "CI runs as root: a test that needs {needs} must not be skipped"
    );
    if !root {
        eprintln!("skipped: needs root for {needs}");
    }
    root
}

/// Sends signal number `signal` to `pid` with kill(2); panics if the kernel refuses.
pub fn kill(pid: u32, signal: i32) {
    let pid = libc::pid_t::try_from(pid).expect("PID fits pid_t");
    assert!(pid > 0, "kill({pid}) would signal a process group");
    // SAFETY: kill(2) takes two integers and touches no memory; pid > 0 names one process.
    #[allow(unsafe_code)]
    let result = unsafe { libc::kill(pid, signal) };
    assert_eq!(
        result,
        0,
        "kill({pid}, {signal}): {}",
        std::io::Error::last_os_error()
    );
}

/// The first child of `pid` (such as readygate under `unshare --fork`, or readygate's command).
pub fn first_child(pid: u32) -> Option<u32> {
    let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).ok()?;
    children.split_whitespace().next()?.parse().ok()
}

/// The state letter of `pid` from /proc/PID/stat: `R`, `S`, `T` (stopped), `Z`, ...
pub fn process_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name in parentheses may hold spaces: the state follows the last ')'.
    stat.rsplit_once(')')?
        .1
        .split_whitespace()
        .next()?
        .chars()
        .next()
}
