//! Signals readygate's parent left ignored (SIG_IGN survives exec): an ignored SIGCHLD does not
//! hang Job mode (the kernel would reap the command itself and send no SIGCHLD), and the command
//! starts with SIGCHLD at its default; an ignored SIGHUP (`nohup`) does not end a wait, and the
//! command inherits the ignore as it would without readygate.

mod support;

use std::os::unix::process::CommandExt;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use support::endpoint::Endpoint;
use support::proxy::{Proxy, QuitReply};
use support::sigrec::assert_running;
use support::{eventually, readygate, sh, Watched};

const DEADLINE: Duration = Duration::from_secs(10);

/// Makes `cmd` start with `signal` ignored, as `nohup` or a shell's `trap "" SIG` leave it (dash
/// will not ignore SIGCHLD for its children, hence a call before exec rather than a shell).
fn ignoring(cmd: &mut Command, signal: i32) -> &mut Command {
    // SAFETY: between fork and exec the closure makes one system call on plain integers.
    unsafe {
        cmd.pre_exec(move || match libc::signal(signal, libc::SIG_IGN) {
            libc::SIG_ERR => Err(std::io::Error::last_os_error()),
            _ => Ok(()),
        })
    }
}

/// The SigIgn mask the command logged (`SigIgn:\t...` copied from /proc to stderr).
fn ignored_by_the_command(stderr: &str) -> u64 {
    let line = stderr
        .lines()
        .find(|l| l.starts_with("SigIgn:"))
        .unwrap_or_else(|| panic!("the command's SigIgn line; stderr:\n{stderr}"));
    let hex = line.split_whitespace().nth(1).expect("a mask");
    u64::from_str_radix(hex, 16).expect("a hexadecimal mask")
}

fn bit(signal: i32) -> u64 {
    1 << (signal - 1)
}

#[test]
fn job_mode_with_sigchld_ignored_by_its_parent_still_sees_the_command_exit_and_quits() {
    let proxy = Proxy::start(true, QuitReply::Ok);
    let result = Watched::spawn(ignoring(
        readygate()
            .args(proxy.args())
            .args(["-S", "--"])
            .args(sh("grep SigIgn /proc/$$/status >&2; exit 3")),
        libc::SIGCHLD,
    ))
    .finish();
    result.assert_code(3).assert_stderr_has("exit code 3");
    assert_eq!(proxy.quits().len(), 1, "{}", result.stderr);
    assert_eq!(
        ignored_by_the_command(&result.stderr) & bit(libc::SIGCHLD),
        0,
        "the command starts with SIGCHLD at its default"
    );
}

#[test]
fn sighup_ignored_by_the_parent_ends_no_wait_and_the_command_still_runs() {
    for job in [false, true] {
        let ready = Arc::new(AtomicBool::new(false));
        let endpoint = Endpoint::ready_when(&ready);
        let proxy = Proxy::start(true, QuitReply::Ok);
        let mut cmd = readygate();
        cmd.args(["--url", &endpoint.url()]);
        if job {
            cmd.args(["--quit-url", &proxy.quit_url(), "-S"]);
        }
        cmd.arg("--")
            .args(sh("grep SigIgn /proc/$$/status >&2; exit 5"));
        let child = Watched::spawn(ignoring(&mut cmd, libc::SIGHUP));
        let pid = child.pid();
        eventually("the first probe", DEADLINE, || endpoint.hits() >= 1);
        support::kill(pid, libc::SIGHUP);
        // Still probing after it: the ignored SIGHUP did not end the wait.
        let probes = endpoint.hits();
        eventually("a probe after SIGHUP", DEADLINE, || {
            endpoint.hits() > probes
        });
        assert_running(pid, "an ignored SIGHUP");
        ready.store(true, Ordering::SeqCst);
        let result = child.finish();
        result.assert_code(5);
        assert_ne!(
            ignored_by_the_command(&result.stderr) & bit(libc::SIGHUP),
            0,
            "the command inherits the parent's ignored SIGHUP (job mode: {job})"
        );
        if job {
            assert_eq!(proxy.quits().len(), 1, "{}", result.stderr);
        }
    }
}
