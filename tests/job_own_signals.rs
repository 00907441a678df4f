//! Job mode, signals the kernel raises about readygate itself: they keep their meaning and are
//! never passed to the command. A SIGPIPE from readygate's own write to a closed stderr and a
//! SIGXFSZ from its own file-size limit are dropped (readygate runs on, the command never hears
//! them, and with -v the line about one does not raise the next), while a real fault still ends
//! readygate by its default action, although Job mode blocks every signal someone could send.

mod support;

use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use support::endpoint::Endpoint;
use support::proxy::{Proxy, QuitReply};
use support::sigrec::{assert_running, job, round_trip, Record, DEADLINE, RECORDER_CODE};
use support::{eventually, Watched};

/// Signals sent in each test, one round trip each: enough log lines to meet the limit below.
const ROUNDS: usize = 20;

#[test]
fn sigpipe_from_readygates_own_write_to_a_closed_stderr_is_not_passed_on() {
    let proxy = Proxy::start(true, QuitReply::Ok);
    let record = Record::new("own-sigpipe");
    let mut child = job(&proxy, &record, ROUNDS)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn readygate");
    eventually("the recorder to start", DEADLINE, || record.ready());
    // Close the only read end: each log line readygate writes from now on raises SIGPIPE at it.
    drop(child.stderr.take());
    let pid = child.id();
    for round in 1..=ROUNDS {
        // Each forward is logged (a write to the closed pipe) before the next one is sent.
        round_trip(libc::SIGUSR1, pid, &record, round);
        assert_running(pid, "a write to a closed stderr");
    }
    let status = support::wait_with_deadline(&mut child, support::RUN_DEADLINE);
    assert_eq!(status.code(), Some(RECORDER_CODE), "{status:?}");
    assert_eq!(record.signals(), vec![libc::SIGUSR1; ROUNDS]);
    assert_eq!(proxy.quits().len(), 1);
}

/// Iterations of a shell loop the command runs before it reads readygate's write count: time
/// in which readygate, were it caught in a loop of logging its own SIGPIPE, would write thousands
/// of times.
const BUSY: usize = 20_000;

#[test]
fn with_v_a_sigpipe_from_its_own_log_line_is_not_logged_over_and_over() {
    let ready = Arc::new(AtomicBool::new(false));
    let readiness = Endpoint::ready_when(&ready);
    let proxy = Proxy::start(true, QuitReply::Ok);
    let io = support::temp_path("own-sigpipe-v.io");
    let _ = std::fs::remove_file(&io);
    // The command's parent is readygate: it copies readygate's I/O counters after its work.
    let script = format!(
        "i=0; while [ $i -lt {BUSY} ]; do i=$((i+1)); done; cat /proc/$PPID/io > '{}'; exit 3",
        io.display()
    );
    let mut child = support::readygate()
        .args([
            "-v",
            "--url",
            &readiness.url(),
            "--quit-url",
            &proxy.quit_url(),
        ])
        .args(["-S", "--"])
        .args(support::sh(&script))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn readygate");
    eventually("the first probe", DEADLINE, || readiness.hits() >= 1);
    // Close the only read end: every debug line from now on raises SIGPIPE at readygate, and
    // the one about that SIGPIPE would raise the next.
    drop(child.stderr.take());
    ready.store(true, Ordering::SeqCst);
    let status = support::wait_with_deadline(&mut child, support::RUN_DEADLINE);
    assert_eq!(status.code(), Some(3), "{status:?}");
    assert_eq!(proxy.quits().len(), 1);
    let counters = std::fs::read_to_string(&io).expect("the command copied readygate's counters");
    let _ = std::fs::remove_file(&io);
    let writes: u64 = counters
        .lines()
        .find_map(|l| l.strip_prefix("syscw:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no syscw in {counters}"));
    assert!(
        writes < 200,
        "readygate made {writes} write calls by the time the command ended"
    );
}

#[test]
fn sigxfsz_from_readygates_own_file_size_limit_is_not_passed_on() {
    const LIMIT: u64 = 1024;
    let proxy = Proxy::start(true, QuitReply::Ok);
    let record = Record::new("own-sigxfsz");
    let log = support::temp_path("own-sigxfsz.log");
    let stderr = std::fs::File::create(&log).expect("create the log file");
    let mut cmd = job(&proxy, &record, ROUNDS);
    cmd.stdout(Stdio::null()).stderr(stderr);
    // SAFETY: between fork and exec the closure makes one system call on a stack value.
    unsafe {
        cmd.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: LIMIT,
                rlim_max: LIMIT,
            };
            match libc::setrlimit(libc::RLIMIT_FSIZE, &limit) {
                0 => Ok(()),
                _ => Err(std::io::Error::last_os_error()),
            }
        });
    }
    let mut child = cmd.spawn().expect("spawn readygate");
    eventually("the recorder to start", DEADLINE, || record.ready());
    let pid = child.id();
    for round in 1..=ROUNDS {
        round_trip(libc::SIGUSR1, pid, &record, round);
        assert_running(pid, "a write over its file-size limit");
    }
    let status = support::wait_with_deadline(&mut child, support::RUN_DEADLINE);
    assert_eq!(status.code(), Some(RECORDER_CODE), "{status:?}");
    // The log stopped at the limit: the writes past it failed, each raising SIGXFSZ.
    let written = std::fs::metadata(&log).expect("the log file").len();
    assert_eq!(
        written, LIMIT,
        "{ROUNDS} forwards must log more than {LIMIT} bytes"
    );
    assert_eq!(record.signals(), vec![libc::SIGUSR1; ROUNDS]);
    let _ = std::fs::remove_file(&log);
}

/// `trapkill PROGRAM ARGS...`: runs PROGRAM under a seccomp filter that answers every kill(2)
/// with SIGSYS (SECCOMP_RET_TRAP): a fault the kernel raises about the caller's own system call,
/// forced on it even when SIGSYS is blocked. Core dumps are turned off first.
const TRAPKILL: &str = r#"
#include <sys/resource.h>
int main(int argc, char **argv) {
    if (argc < 2) return 98;
    struct rlimit none = {0, 0};
    if (setrlimit(RLIMIT_CORE, &none)) return 97;
    if (filter_kill(SECCOMP_RET_TRAP, 0) < 0) return 95;
    execv(argv[1], argv + 1);
    return 94;
}
"#;

#[test]
fn a_real_fault_in_readygate_still_ends_it_by_its_default_action() {
    let proxy = Proxy::start(true, QuitReply::Ok);
    let record = Record::new("own-fault");
    let inner = job(&proxy, &record, 1);
    let mut trapped = Command::new(support::cc::binary(
        "trapkill",
        &format!("{}{TRAPKILL}", support::cc::FILTER_KILL),
    ));
    for (key, value) in inner.get_envs() {
        match value {
            Some(value) => trapped.env(key, value),
            None => trapped.env_remove(key),
        };
    }
    trapped
        .arg(inner.get_program())
        .args(inner.get_args())
        .stdin(Stdio::null());
    let mut child = Watched::spawn(&mut trapped);
    eventually("the recorder to start", DEADLINE, || record.ready());
    let command = support::first_child(child.pid()).expect("the recorder runs");
    // Forwarding it is readygate's kill(2), which the filter turns into a real SIGSYS.
    support::kill(child.pid(), libc::SIGUSR1);
    support::wait_with_deadline(&mut child.child, DEADLINE);
    // The orphaned recorder holds readygate's stderr open: end it before reading to the end.
    support::kill(command, libc::SIGKILL);
    let result = child.finish();
    assert_eq!(
        result.status.signal(),
        Some(libc::SIGSYS),
        "readygate must die of its own fault; stderr:\n{}",
        result.stderr
    );
    assert_eq!(
        record.signals(),
        Vec::<i32>::new(),
        "nothing reached the command"
    );
}
