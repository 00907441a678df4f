//! A private network namespace for one test: its own loopback, so real servers bind their
//! default ports and nothing else on the machine can answer in their place. A `sleep` started
//! by `unshare --net` holds it; commands run inside it through `nsenter` (which execs them, so
//! the process a test watches is the command itself). Needs root, unshare and nsenter.
//!
//! Or the whole test inside one ([`in_private_netns`]): the test binary runs the test again
//! under `unshare -n`, so the test's own in-process servers bind the mesh's ports there.

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::os::{can_run, running_as_root};
use super::process::{self, eventually, wait_with_deadline};

/// A network namespace with `lo` up; gone when dropped.
pub struct Netns {
    holder: Child,
}

impl Netns {
    /// A fresh namespace, or `None` when the test cannot run here (no root, unshare or nsenter;
    /// a failure instead under `CI=true`).
    pub fn new() -> Option<Netns> {
        if !running_as_root("a network namespace")
            || !can_run(
                "unshare and nsenter (util-linux)",
                found("unshare") && found("nsenter"),
            )
        {
            return None;
        }
        let holder = Command::new("unshare")
            .args(["--net", "--", "sleep", "3600"])
            .stdin(Stdio::null())
            .spawn()
            .expect("spawn unshare --net");
        let ns = Netns { holder };
        // unshare execs sleep once the namespace exists.
        let exe = format!("/proc/{}/exe", ns.holder.id());
        eventually(
            "the namespace holder to run",
            Duration::from_secs(10),
            || std::fs::read_link(&exe).is_ok_and(|p| p.ends_with("sleep")),
        );
        ns.run("ip", &["link", "set", "lo", "up"]);
        Some(ns)
    }

    /// `program` set to run inside the namespace.
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut cmd = Command::new("nsenter");
        cmd.arg(format!("--net=/proc/{}/ns/net", self.holder.id()))
            .arg("--")
            .arg(program);
        cmd
    }

    /// readygate inside the namespace, with a clean environment (as `process::readygate`).
    pub fn readygate(&self) -> Command {
        let mut cmd = self.command(process::BINARY);
        process::clean(&mut cmd);
        cmd
    }

    /// Runs `program` inside to completion; panics if it fails (set-up steps).
    pub fn run(&self, program: &str, args: &[&str]) {
        process::set_up(
            &format!("{program} {args:?}"),
            self.command(program).args(args),
        );
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = self.holder.kill();
        wait_with_deadline(&mut self.holder, Duration::from_secs(10));
    }
}

/// Whether `program` is on PATH (or in /usr/sbin, which a non-login root shell may not list).
pub fn found(program: &str) -> bool {
    which(program).is_some()
}

/// Where `program` is: on PATH, or in /usr/sbin or /sbin.
pub fn which(program: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([Path::new("/usr/sbin").into(), Path::new("/sbin").into()])
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// Set in the copy of a test binary that runs inside the private namespace.
const IN_NETNS: &str = "TEST_IN_PRIVATE_NETNS";

/// Whether the caller should run its test body here: true inside a private network namespace
/// (with `lo` up). Outside it, runs the named test (its function name) again inside one,
/// asserts that it passed, and returns false; also false, after saying so, when the test
/// cannot run here (not root; a failure instead under `CI=true`).
pub fn in_private_netns(test: &str) -> bool {
    if std::env::var_os(IN_NETNS).is_some() {
        let up = Command::new("ip")
            .args(["link", "set", "lo", "up"])
            .status();
        assert!(up.is_ok_and(|s| s.success()), "ip link set lo up");
        return true;
    }
    if !running_as_root("unshare -n") || !can_run("unshare (util-linux)", found("unshare")) {
        return false;
    }
    let exe = std::env::current_exe().expect("test binary");
    let out = Command::new("unshare")
        .args(["-n", "--"])
        .arg(exe)
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(IN_NETNS, "1")
        .stdin(Stdio::null())
        .output()
        .expect("unshare -n");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("1 passed"),
        "{test} inside the namespace: {}\n{text}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    false
}
