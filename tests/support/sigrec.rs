//! The signal recorder: a small C program run as Job mode's command that writes down every
//! signal it receives, so a test sees exactly what readygate passed on (dumb-init's tests use the
//! same idea), and the signal mask and ignored set it started with; plus the ways to start
//! readygate in front of it and to signal it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::proxy::Proxy;
use super::{eventually, readygate, Watched};

/// How long a signal may take to reach the recorder, or the recorder to start.
pub const DEADLINE: Duration = Duration::from_secs(10);

/// The exit code the recorder ends with, so a test can tell it from readygate's own codes.
pub const RECORDER_CODE: i32 = 7;

/// `sigrec FILE N CODE`: copies the SigBlk and SigIgn lines of /proc/self/status as it started,
/// writes "ready" once its handlers are in place, then the number of each signal it receives,
/// one a line, and exits with CODE after N signals. It catches every signal it can, so none of
/// them (not even a stop) changes its state.
const SOURCE: &str = r#"
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
static int fd;
static volatile sig_atomic_t count;
static void record(int n) {
    char line[16];
    int i = sizeof line;
    line[--i] = '\n';
    do { line[--i] = (char)('0' + n % 10); n /= 10; } while (n);
    write(fd, line + i, sizeof line - i);
    count++;
}
int main(int argc, char **argv) {
    if (argc != 4) return 98;
    fd = open(argv[1], O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd < 0) return 99;
    int wanted = atoi(argv[2]), code = atoi(argv[3]);
    char text[256];
    FILE *status = fopen("/proc/self/status", "r");
    while (status && fgets(text, sizeof text, status))
        if (!strncmp(text, "SigBlk:", 7) || !strncmp(text, "SigIgn:", 7))
            write(fd, text, strlen(text));
    if (status) fclose(status);
    sigset_t all, none;
    sigfillset(&all);
    sigemptyset(&none);
    sigprocmask(SIG_BLOCK, &all, NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = record;
    sa.sa_mask = all;
    /* SIGKILL, SIGSTOP and libc's own real-time signals refuse a handler: that is fine. */
    for (int n = 1; n <= SIGRTMAX; n++) sigaction(n, &sa, NULL);
    write(fd, "ready\n", 6);
    /* Signals are blocked except inside sigsuspend, so none is missed between check and wait. */
    while (count < wanted) sigsuspend(&none);
    return code;
}
"#;

/// The signal recorder, built once per test binary.
pub fn sigrec() -> PathBuf {
    super::cc::binary("sigrec", SOURCE)
}

/// What the recorder wrote to its file.
pub struct Record(PathBuf);

impl Record {
    pub fn new(test: &str) -> Record {
        let file =
            std::env::temp_dir().join(format!("readygate-sigrec-{}-{test}", std::process::id()));
        let _ = std::fs::remove_file(&file);
        Record(file)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn lines(&self) -> Vec<String> {
        std::fs::read_to_string(&self.0)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    pub fn ready(&self) -> bool {
        self.lines().iter().any(|l| l == "ready")
    }

    /// The signals received, in order.
    pub fn signals(&self) -> Vec<i32> {
        let lines = self.lines();
        let start = lines.iter().position(|l| l == "ready").map_or(0, |i| i + 1);
        lines[start..]
            .iter()
            .map(|l| l.parse().expect("a signal number"))
            .collect()
    }

    /// The hexadecimal mask of a /proc status line the recorder copied as it started.
    pub fn started_with(&self, field: &str) -> u64 {
        let line = self
            .lines()
            .into_iter()
            .find(|l| l.starts_with(field))
            .unwrap_or_else(|| panic!("no {field} line in {:?}", self.lines()));
        let hex = line.split_whitespace().nth(1).expect("a mask");
        u64::from_str_radix(hex, 16).expect("a hexadecimal mask")
    }
}

impl Drop for Record {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// `readygate -S -- sigrec FILE n RECORDER_CODE`, ready to spawn.
pub fn job(proxy: &Proxy, record: &Record, n: usize) -> Command {
    let mut cmd = readygate();
    cmd.args(proxy.args())
        .args(["-S", "--"])
        .arg(sigrec())
        .arg(record.path())
        .arg(n.to_string())
        .arg(RECORDER_CODE.to_string());
    cmd
}

/// Spawns readygate as `job` describes and waits until the recorder's handlers are in place.
pub fn start(proxy: &Proxy, record: &Record, n: usize) -> Watched {
    let child = Watched::spawn(&mut job(proxy, record, n));
    eventually("the recorder to start", DEADLINE, || record.ready());
    child
}

/// Sends `signal` to readygate (`pid`) and waits until the recorder has seen it `times` times.
pub fn round_trip(signal: i32, pid: u32, record: &Record, times: usize) {
    super::kill(pid, signal);
    eventually(
        &format!(
            "{} to reach the command",
            ::readygate::signals::name(signal)
        ),
        DEADLINE,
        || record.signals().iter().filter(|&&n| n == signal).count() >= times,
    );
}

/// Panics unless `pid` is alive and neither stopped nor a zombie.
pub fn assert_running(pid: u32, after: &str) {
    let state = super::process_state(pid);
    assert!(
        matches!(state, Some('R' | 'S' | 'D')),
        "after {after}, readygate is in state {state:?}"
    );
}
