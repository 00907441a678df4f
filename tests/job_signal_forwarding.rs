//! Job mode carries out `readygate::signals::POLICY` for signals someone sends: every one that
//! can be sent, a sent SIGSEGV, SIGPIPE or SIGURG included, reaches the command and leaves
//! readygate running, as a plain process and as PID 1, whether sent with kill or sigqueue; the
//! ones it keeps (SIGCHLD, libc's own real-time signals) neither reach the command nor end
//! readygate; stop signals stop the command, never readygate; signals held during the wait all
//! reach it once it runs, lowest number first. The command is the signal recorder
//! (`support::sigrec`). What the kernel raises about readygate itself: `job_own_signals.rs`.

mod support;

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use readygate::signals::{self, Heard, Origin, Phase};
use support::endpoint::Endpoint;
use support::proxy::{Proxy, QuitReply};
use support::sigrec::{assert_running, job, round_trip, start, Record, DEADLINE, RECORDER_CODE};
use support::Watched;
use support::{eventually, readygate};

/// The signal numbers from 1 to SIGRTMAX that Job mode, once the command runs, forwards when
/// someone sends them.
fn forwarded_when_sent() -> Vec<i32> {
    (1..=libc::SIGRTMAX())
        .filter(|&n| Phase::JobRun.heard(n, Origin::Sent) == Heard::Forward(n))
        .collect()
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

#[test]
fn every_sendable_signal_reaches_the_command_and_readygate_runs_on() {
    let forwarded = forwarded_when_sent();
    assert!(forwarded.len() > 40, "{forwarded:?}: real-time signals too");
    // The ones that used to kill readygate or be dropped by it are among them.
    for n in [
        libc::SIGSEGV,
        libc::SIGILL,
        libc::SIGBUS,
        libc::SIGFPE,
        libc::SIGTRAP,
        libc::SIGSYS,
        libc::SIGABRT,
        libc::SIGPIPE,
        libc::SIGURG,
        libc::SIGXCPU,
        libc::SIGXFSZ,
    ] {
        assert!(forwarded.contains(&n), "{}", signals::name(n));
    }
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
fn as_pid_1_every_sendable_signal_reaches_the_command_and_readygate_runs_on() {
    if !support::running_as_root("unshare --pid") {
        return;
    }
    let forwarded = forwarded_when_sent();
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

/// Starts `cmd` with libc's own real-time signals at their default action, as a container
/// runtime starts it. glibc's posix_spawn leaves them ignored in the process it starts, and this
/// test binary is started that way (cargo's `Command::spawn` uses it); inherited by readygate, an
/// ignore would hide whether readygate holds them. (readygate itself never uses posix_spawn: its
/// `pre_exec` closure makes std fork and exec.)
fn with_default_dispositions(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    let reserved: Vec<i32> = (1..=libc::SIGRTMAX())
        .filter(|&n| signals::Signals::LibcReserved.contains(n))
        .collect();
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
    // SIGCHLD (sent by hand) and libc's own real-time ones: nothing else that can be sent.
    let kept: Vec<i32> = (1..=libc::SIGRTMAX())
        .filter(|&n| ![libc::SIGKILL, libc::SIGSTOP].contains(&n))
        .filter(|n| !forwarded_when_sent().contains(n))
        .collect();
    assert!(kept.contains(&libc::SIGCHLD) && kept.len() <= 4, "{kept:?}");
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
    for signal in [libc::SIGALRM, libc::SIGSEGV, libc::SIGRTMIN() + 2] {
        let ready = Arc::new(AtomicBool::new(false));
        let readiness = Endpoint::ready_when(&ready);
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

#[test]
fn a_sigqueued_signal_reaches_the_command_like_a_sent_one() {
    let proxy = Proxy::start(true, QuitReply::Ok);
    let record = Record::new("sigqueue");
    let child = start(&proxy, &record, 3);
    let pid = child.pid();
    // sigqueue gives SI_QUEUE, kill SI_USER: both are someone else's, both are passed on.
    for signal in [libc::SIGRTMIN() + 1, libc::SIGSEGV] {
        support::sigqueue(pid, signal, 42);
        eventually(
            &format!("{} to reach the command", signals::name(signal)),
            DEADLINE,
            || record.signals().contains(&signal),
        );
        assert_running(pid, &signals::name(signal));
    }
    round_trip(libc::SIGUSR1, pid, &record, 1);
    let result = child.finish();
    result.assert_code(RECORDER_CODE);
    assert_eq!(
        record.signals(),
        [libc::SIGRTMIN() + 1, libc::SIGSEGV, libc::SIGUSR1]
    );
    assert_eq!(proxy.quits().len(), 1, "{}", result.stderr);
}

/// `holdkill PROGRAM ARGS...`: runs PROGRAM under a seccomp filter that passes each of its
/// kill(2) calls to this program (SECCOMP_RET_USER_NOTIF), which lets them all proceed
/// unchanged, but not the first until a line arrives on its stdin. The test so holds readygate's
/// first forward until the command's handlers are in place; the kernel still hands readygate the
/// held signals in its own order. Exits with PROGRAM's status.
const HOLDKILL: &str = r#"
#include <poll.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
int main(int argc, char **argv) {
    if (argc < 2) return 98;
    int notes = filter_kill(SECCOMP_RET_USER_NOTIF, SECCOMP_FILTER_FLAG_NEW_LISTENER);
    if (notes < 0) return 95;
    pid_t pid = fork();
    if (pid < 0) return 93;
    if (pid == 0) {
        close(notes);
        execv(argv[1], argv + 1);
        _exit(94);
    }
    int exited = syscall(SYS_pidfd_open, pid, 0);
    if (exited < 0) return 92;
    int released = 0;
    for (;;) {
        struct pollfd fds[2] = { { notes, POLLIN, 0 }, { exited, POLLIN, 0 } };
        if (poll(fds, 2, -1) < 0) return 91;
        if (fds[1].revents) break;
        if (!(fds[0].revents & POLLIN)) continue;
        struct seccomp_notif request;
        memset(&request, 0, sizeof request);
        if (ioctl(notes, SECCOMP_IOCTL_NOTIF_RECV, &request)) continue;
        if (!released) {
            char c;
            while (read(0, &c, 1) == 1 && c != '\n') {}
            released = 1;
        }
        struct seccomp_notif_resp reply;
        memset(&reply, 0, sizeof reply);
        reply.id = request.id;
        reply.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
        ioctl(notes, SECCOMP_IOCTL_NOTIF_SEND, &reply);
    }
    int status;
    if (waitpid(pid, &status, 0) != pid) return 90;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
"#;

#[test]
fn signals_held_during_the_wait_all_reach_the_command_lowest_number_first() {
    use std::io::Write;
    let (low, high) = (libc::SIGRTMIN() + 1, libc::SIGRTMIN() + 5);
    let ready = Arc::new(AtomicBool::new(false));
    let readiness = Endpoint::ready_when(&ready);
    let proxy = Proxy::start(true, QuitReply::Ok);
    let record = Record::new("held");
    let inner = readygate();
    let mut held = Command::new(support::cc::binary(
        "holdkill",
        &format!("{}{HOLDKILL}", support::cc::FILTER_KILL),
    ));
    for (key, value) in inner.get_envs() {
        match value {
            Some(value) => held.env(key, value),
            None => held.env_remove(key),
        };
    }
    held.arg(inner.get_program())
        .args(["--url", &readiness.url(), "--quit-url", &proxy.quit_url()])
        .args(["-S", "--"])
        .arg(support::sigrec::sigrec())
        .arg(record.path())
        .args(["3", &RECORDER_CODE.to_string()])
        .stdin(Stdio::piped());
    let mut child = Watched::spawn(&mut held);
    eventually("the first probe", DEADLINE, || readiness.hits() >= 1);
    let gate = support::first_child(child.pid()).expect("readygate runs under holdkill");
    // Sent in this order while the wait holds them: high, low, high again.
    for signal in [high, low, high] {
        support::kill(gate, signal);
    }
    assert_running(gate, "signals held during the wait");
    ready.store(true, Ordering::SeqCst);
    eventually("the recorder to start", DEADLINE, || record.ready());
    // readygate's first forward waits in holdkill until now: the recorder is ready for it.
    let mut release = child.child.stdin.take().expect("holdkill's stdin");
    release.write_all(b"go\n").expect("release the forwards");
    let result = child.finish();
    result.assert_code(RECORDER_CODE);
    // Each arrived, the repeat too; the kernel handed them to readygate lowest number first.
    assert_eq!(record.signals(), [low, high, high], "{}", result.stderr);
    assert_eq!(proxy.quits().len(), 1, "{}", result.stderr);
}
