//! readygate under tight resource limits: `ulimit -n` (RLIMIT_NOFILE) and a 16 MiB address space
//! (RLIMIT_AS). It either waits and execs, or fails with one clear line and a documented exit
//! code (71, OS error); never a panic or an abort. The command inherits the same limits.

mod support;

use std::os::unix::process::CommandExt;
use std::process::Command;

use support::endpoint::{Behaviour, Endpoint};
use support::{readygate, run, sh, Run};

/// Sets `resource` (soft and hard) in the child, after closing every descriptor above stderr so
/// the limit means the same whatever the test harness left open.
fn limited(cmd: &mut Command, resource: libc::__rlimit_resource_t, value: u64) -> &mut Command {
    // SAFETY: between fork and exec only async-signal-safe calls are made (close, setrlimit).
    unsafe {
        cmd.pre_exec(move || {
            for fd in 3..1024 {
                libc::close(fd);
            }
            let limit = libc::rlimit {
                rlim_cur: value,
                rlim_max: value,
            };
            if libc::setrlimit(resource, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        })
    }
}

fn ready() -> Endpoint {
    Endpoint::start(Behaviour::Status(200, Vec::new()))
}

fn gate(server: &Endpoint, resource: libc::__rlimit_resource_t, value: u64) -> Run {
    let mut cmd = readygate();
    cmd.args(["--url", &server.url(), "-t", "2s", "--"])
        .args(sh("echo ran"));
    run(limited(&mut cmd, resource, value))
}

/// A run that failed must have failed cleanly: exit 71 or 69, one clear line, no panic.
fn assert_clean(ended: &Run, context: &str) {
    assert!(
        !ended.stderr.contains("panicked"),
        "{context}: a panic:\n{}",
        ended.stderr
    );
    let code = ended.code(); // panics if killed by a signal (SIGABRT from panic=abort)
    match code {
        0 => assert_eq!(ended.stdout, "ran\n", "{context}"),
        69 | 71 => {
            assert_eq!(ended.stdout, "", "{context}: the command must not run");
            assert!(
                ended.stderr.contains("open files") || ended.stderr.contains("os error"),
                "{context}: exit {code} without saying why:\n{}",
                ended.stderr
            );
        }
        other => panic!("{context}: undocumented exit {other}:\n{}", ended.stderr),
    }
}

#[test]
fn ulimit_n_8_waits_and_execs_or_fails_cleanly_with_71() {
    let server = ready();
    let ended = gate(&server, libc::RLIMIT_NOFILE, 8);
    assert_clean(&ended, "ulimit -n 8");
}

#[test]
fn every_descriptor_limit_from_4_to_16_ends_cleanly_and_11_is_enough_to_exec() {
    // readygate needs 0-2, four descriptors for the async runtime and its signals (two epoll
    // instances, the runtime's eventfd and the signalfd) and one socket per endpoint probed at
    // once: 8 for the shipped binary (checked by tests/scratch/run.sh). This test build links
    // tokio's signal driver through the dev-dependencies, whose socket pair and duplicate add 3.
    let server = ready();
    for limit in 4..=16u64 {
        let ended = gate(&server, libc::RLIMIT_NOFILE, limit);
        assert_clean(&ended, &format!("ulimit -n {limit}"));
        if limit >= 11 {
            ended.assert_code(0);
        }
    }
}

#[test]
fn a_16_mib_address_space_still_waits_and_execs() {
    let server = ready();
    let ended = gate(&server, libc::RLIMIT_AS, 16 * 1024 * 1024);
    ended.assert_code(0);
    assert_eq!(ended.stdout, "ran\n");
}
