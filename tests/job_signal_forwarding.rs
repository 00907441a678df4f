//! Job mode carries out `readygate::signals::POLICY`: every signal it forwards reaches the
//! command and leaves readygate running, as a plain process and as PID 1; the ones it keeps to
//! itself neither reach the command nor end readygate; stop signals stop the command, never
//! readygate. The command is one small C program that records each signal it receives.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use readygate::signals::{self, Action};
use support::endpoint::{Behaviour, Endpoint};
use support::proxy::{Proxy, QuitReply};
use support::Watched;
use support::{eventually, readygate};

const DEADLINE: Duration = Duration::from_secs(10);

/// The exit code the recorder ends with, so a test can tell it from readygate's own codes.
const RECORDER_CODE: i32 = 7;

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
fn sigrec() -> PathBuf {
    support::cc::binary("sigrec", SOURCE)
}

/// The signal numbers whose rule has an action matching `keep`, from 1 to SIGRTMAX.
fn signals_where(keep: impl Fn(Action) -> bool) -> Vec<i32> {
    (1..=libc::SIGRTMAX())
        .filter(|&n| signals::rule(n).is_some_and(|rule| keep(rule.action)))
        .collect()
}

/// What the recorder wrote to its file.
struct Record(PathBuf);

impl Record {
    fn new(test: &str) -> Record {
        let file =
            std::env::temp_dir().join(format!("readygate-sigrec-{}-{test}", std::process::id()));
        let _ = std::fs::remove_file(&file);
        Record(file)
    }

    fn path(&self) -> &Path {
        &self.0
    }

    fn lines(&self) -> Vec<String> {
        std::fs::read_to_string(&self.0)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    fn ready(&self) -> bool {
        self.lines().iter().any(|l| l == "ready")
    }

    /// The signals received, in order.
    fn signals(&self) -> Vec<i32> {
        let lines = self.lines();
        let start = lines.iter().position(|l| l == "ready").map_or(0, |i| i + 1);
        lines[start..]
            .iter()
            .map(|l| l.parse().expect("a signal number"))
            .collect()
    }

    /// The hexadecimal mask of a /proc status line the recorder copied as it started.
    fn started_with(&self, field: &str) -> u64 {
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
fn job(proxy: &Proxy, record: &Record, n: usize) -> Command {
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
fn start(proxy: &Proxy, record: &Record, n: usize) -> Watched {
    let child = Watched::spawn(&mut job(proxy, record, n));
    eventually("the recorder to start", DEADLINE, || record.ready());
    child
}

/// Sends `signal` to readygate (`pid`) and waits until the recorder has seen it `times` times.
fn round_trip(signal: i32, pid: u32, record: &Record, times: usize) {
    support::kill(pid, signal);
    eventually(
        &format!("{} to reach the command", signals::name(signal)),
        DEADLINE,
        || record.signals().iter().filter(|&&n| n == signal).count() >= times,
    );
}

/// Sends every signal in `signals` to readygate, one round trip each, checking after each that
/// readygate is still running; then SIGUSR1, the recorder's last (it exits after it).
fn each_then_the_last(signals: &[i32], pid: u32, record: &Record) {
    for &signal in signals {
        round_trip(signal, pid, record, 1);
        assert_running(pid, &signals::name(signal));
    }
    let before = signals.iter().filter(|&&n| n == libc::SIGUSR1).count();
    round_trip(libc::SIGUSR1, pid, record, before + 1);
}

/// Panics unless `pid` is alive and neither stopped nor a zombie.
fn assert_running(pid: u32, after: &str) {
    let state = support::process_state(pid);
    assert!(
        matches!(state, Some('R' | 'S' | 'D')),
        "after {after}, readygate is in state {state:?}"
    );
}

#[test]
fn every_forwarded_signal_reaches_the_command_and_readygate_runs_on() {
    let forwarded = signals_where(Action::forwarded);
    assert!(forwarded.len() > 40, "{forwarded:?}: real-time signals too");
    let proxy = Proxy::start(true, QuitReply::Ok);
    let record = Record::new("forwarded");
    let child = start(&proxy, &record, forwarded.len() + 1);
    each_then_the_last(&forwarded, child.pid(), &record);
    let result = child.finish();
    result
        .assert_code(RECORDER_CODE)
        .assert_stderr_has("forwarded to the command")
        .assert_stderr_has("SIGRTMIN+1");
    assert_eq!(record.signals(), [forwarded, vec![libc::SIGUSR1]].concat());
    assert_eq!(proxy.quits().len(), 1, "{}", result.stderr);
}

#[test]
fn as_pid_1_every_forwarded_signal_reaches_the_command_and_readygate_runs_on() {
    if !support::running_as_root("unshare --pid") {
        return;
    }
    let forwarded = signals_where(Action::forwarded);
    let proxy = Proxy::start(true, QuitReply::Ok);
    let record = Record::new("forwarded-pid1");
    let inner = job(&proxy, &record, forwarded.len() + 1);
    let mut unshare = Command::new("unshare");
    for (key, value) in inner.get_envs() {
        match value {
            Some(value) => unshare.env(key, value),
            None => unshare.env_remove(key),
        };
    }
    let child = Watched::spawn(
        unshare
            .args(["--pid", "--fork", "--kill-child"])
            .arg(inner.get_program())
            .args(inner.get_args())
            .stdin(Stdio::null()),
    );
    eventually("the recorder to start", DEADLINE, || record.ready());
    let gate = support::first_child(child.pid()).expect("readygate runs under unshare");
    let status = std::fs::read_to_string(format!("/proc/{gate}/status")).expect("status");
    let ns_pid = status.lines().find(|l| l.starts_with("NSpid:"));
    assert_eq!(
        ns_pid.and_then(|l| l.split_whitespace().last()),
        Some("1"),
        "readygate is PID 1 in its namespace"
    );
    each_then_the_last(&forwarded, gate, &record);
    let result = child.finish();
    // unshare exits with its child's status: readygate's, which is the command's.
    result.assert_code(RECORDER_CODE);
    assert_eq!(record.signals(), [forwarded, vec![libc::SIGUSR1]].concat());
    assert_eq!(proxy.quits().len(), 1, "{}", result.stderr);
}

#[test]
fn the_command_starts_with_no_signal_blocked_or_ignored() {
    let proxy = Proxy::start(true, QuitReply::Ok);
    let record = Record::new("mask");
    let mut cmd = job(&proxy, &record, 1);
    with_default_dispositions(&mut cmd);
    let child = Watched::spawn(&mut cmd);
    eventually("the recorder to start", DEADLINE, || record.ready());
    round_trip(libc::SIGUSR1, child.pid(), &record, 1);
    child.finish().assert_code(RECORDER_CODE);
    // readygate blocks libc's own real-time signals and catches most others; none of it may
    // leak into the command.
    assert_eq!(record.started_with("SigBlk:"), 0, "{:?}", record.lines());
    assert_eq!(record.started_with("SigIgn:"), 0, "{:?}", record.lines());
}

/// Starts `cmd` with every signal at its default action, as a container runtime starts it. A
/// process started by glibc's posix_spawn (this test, and readygate through `Command`) has
/// libc's own real-time signals ignored, which would hide whether readygate holds them.
fn with_default_dispositions(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    let reserved = signals_where(|a| a == Action::Hold);
    // SAFETY: between fork and exec the closure only makes system calls on stack values. An
    // all-zero kernel sigaction is SIG_DFL with no flags and an empty mask on every
    // architecture; libc's sigaction refuses these signals, hence the raw call.
    unsafe {
        cmd.pre_exec(move || {
            for &signal in &reserved {
                let default = [0u64; 4];
                let none: *mut u64 = std::ptr::null_mut();
                if libc::syscall(libc::SYS_rt_sigaction, signal, default.as_ptr(), none, 8) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
}

#[test]
fn signals_readygate_keeps_to_itself_neither_reach_the_command_nor_end_readygate() {
    // SIGCHLD (sent by hand), SIGURG, SIGPIPE, SIGXCPU, SIGXFSZ, and libc's own real-time ones.
    let kept = signals_where(|a| matches!(a, Action::Reap | Action::Absorb | Action::Hold));
    assert!(kept.contains(&libc::SIGURG) && kept.contains(&libc::SIGCHLD));
    let proxy = Proxy::start(true, QuitReply::Ok);
    let record = Record::new("kept");
    let mut cmd = job(&proxy, &record, 2);
    with_default_dispositions(&mut cmd);
    let child = Watched::spawn(&mut cmd);
    eventually("the recorder to start", DEADLINE, || record.ready());
    let pid = child.pid();
    for &signal in &kept {
        support::kill(pid, signal);
        assert_running(pid, &signals::name(signal));
    }
    // Two forwarded round trips after them: by the time both arrive, readygate has long handled
    // the others, and would have forwarded them first.
    round_trip(libc::SIGUSR1, pid, &record, 1);
    round_trip(libc::SIGUSR2, pid, &record, 1);
    let result = child.finish();
    result.assert_code(RECORDER_CODE);
    assert_eq!(
        record.signals(),
        [libc::SIGUSR1, libc::SIGUSR2],
        "stderr:\n{}",
        result.stderr
    );
    assert_eq!(proxy.quits().len(), 1, "{}", result.stderr);
}

#[test]
fn a_second_sigterm_and_a_second_sigint_are_forwarded_too() {
    let proxy = Proxy::start(true, QuitReply::Ok);
    let record = Record::new("second");
    let child = start(&proxy, &record, 4);
    let pid = child.pid();
    round_trip(libc::SIGTERM, pid, &record, 1);
    round_trip(libc::SIGTERM, pid, &record, 2);
    round_trip(libc::SIGINT, pid, &record, 1);
    round_trip(libc::SIGINT, pid, &record, 2);
    child.finish().assert_code(RECORDER_CODE);
    assert_eq!(
        record.signals(),
        [libc::SIGTERM, libc::SIGTERM, libc::SIGINT, libc::SIGINT]
    );
}

/// readygate running `sleep 60` (default dispositions) in a process group of its own, and the
/// command's PID once it runs. Its own group, whose leader's parent (this test) is in another
/// group of the same session, is not orphaned: the kernel discards stop signals sent to
/// members of orphaned groups, which would leave nothing to observe.
fn sleeping(proxy: &Proxy) -> (Watched, u32) {
    use std::os::unix::process::CommandExt;
    let child = Watched::spawn(
        readygate()
            .args(proxy.args())
            .args(["-S", "--", "sleep", "60"])
            .process_group(0),
    );
    let mut command = None;
    eventually("the command to start", DEADLINE, || {
        command = support::first_child(child.pid());
        command.is_some()
    });
    (child, command.expect("the command's PID"))
}

#[test]
fn stop_signals_stop_the_command_and_never_readygate() {
    let proxy = Proxy::start(true, QuitReply::Ok);
    let (child, command) = sleeping(&proxy);
    let pid = child.pid();
    for stop in [libc::SIGTSTP, libc::SIGTTIN, libc::SIGTTOU] {
        let name = signals::name(stop);
        support::kill(pid, stop);
        eventually(&format!("{name} to stop the command"), DEADLINE, || {
            support::process_state(command) == Some('T')
        });
        assert_running(pid, &name);
        support::kill(pid, libc::SIGCONT);
        eventually("SIGCONT to resume the command", DEADLINE, || {
            support::process_state(command) != Some('T')
        });
        assert_running(pid, "SIGCONT");
    }
    support::kill(pid, libc::SIGTERM);
    let result = child.finish();
    result
        .assert_code(143)
        .assert_stderr_has("killed by SIGTERM");
    assert_eq!(proxy.quits().len(), 1, "{}", result.stderr);
}

#[test]
fn sigterm_stops_a_command_with_default_handlers_and_exits_143() {
    let proxy = Proxy::start(true, QuitReply::Ok);
    let (child, _) = sleeping(&proxy);
    support::kill(child.pid(), libc::SIGTERM);
    let result = child.finish();
    result
        .assert_code(143)
        .assert_stderr_has("killed by SIGTERM");
    assert!(result.elapsed < DEADLINE, "took {:?}", result.elapsed);
    assert_eq!(proxy.quits().len(), 1, "{}", result.stderr);
}

#[test]
fn a_signal_during_the_wait_neither_ends_readygate_nor_is_lost_but_reaches_the_command() {
    // Each kills `sleep` with its default action once forwarded: the exit code shows it arrived.
    for signal in [libc::SIGALRM, libc::SIGRTMIN() + 2] {
        let ready = Arc::new(AtomicBool::new(false));
        let flag = ready.clone();
        let readiness = Endpoint::scripted("127.0.0.1:0", move |_| {
            let status = if flag.load(Ordering::SeqCst) {
                200
            } else {
                503
            };
            Behaviour::Status(status, Vec::new())
        });
        let proxy = Proxy::start(true, QuitReply::Ok);
        let child = Watched::spawn(
            readygate()
                .args(["--url", &readiness.url(), "--quit-url", &proxy.quit_url()])
                .args(["-S", "--", "sleep", "60"]),
        );
        let pid = child.pid();
        eventually("the first probe", DEADLINE, || readiness.hits() >= 1);
        support::kill(pid, signal);
        let name = signals::name(signal);
        // Still waiting, so still probing: the signal ended neither readygate nor the wait.
        let probes = readiness.hits();
        eventually(&format!("a probe after {name}"), DEADLINE, || {
            readiness.hits() > probes
        });
        assert_running(pid, &name);
        assert_eq!(support::first_child(pid), None, "the command ran early");
        ready.store(true, Ordering::SeqCst);
        let result = child.finish();
        result
            .assert_code(128 + signal)
            .assert_stderr_has(&format!("killed by {name}"));
        assert_eq!(proxy.quits().len(), 1, "{}", result.stderr);
    }
}
