//! `--wait-app-exit`, the proxy's preStop hook, against real sockets: the application's listeners
//! and connections hold it, the proxy's own sockets and TIME_WAIT do not, IPv6 counts, and
//! --timeout and signals end it as they end the gate.
//!
//! Each test runs again inside a private network namespace (`unshare -n`, root), where the only
//! sockets are the ones it opens, so nothing else on the machine can hold or release the wait.
//! The test process (root) plays the application; readygate runs as the proxy's uid 1337 with
//! `setpriv`, as a preStop hook of the proxy container does.

mod support;

use std::fs::File;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};

use support::netns::in_private_netns;
use support::{eventually, readygate, wait_with_deadline, Run, RUN_DEADLINE};

const PROXY_UID: &str = "1337";

/// `readygate --wait-app-exit ARGS` as uid 1337 (or as root), its stderr in a file so the test
/// can wait for a log line while it runs.
struct Hook {
    child: Child,
    log: tempfile::TempPath,
}

mod tempfile {
    //! A file removed on drop, without a dependency.
    use std::path::{Path, PathBuf};

    pub struct TempPath(PathBuf);

    impl TempPath {
        pub fn new() -> Self {
            use std::sync::atomic::{AtomicU32, Ordering};
            static NEXT: AtomicU32 = AtomicU32::new(0);
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            TempPath(std::env::temp_dir().join(format!(
                "readygate-wait-app-exit-{}-{n}.log",
                std::process::id()
            )))
        }
    }

    impl AsRef<Path> for TempPath {
        fn as_ref(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for TempPath {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

impl Hook {
    fn start_as_proxy(args: &[&str]) -> Hook {
        let mut cmd = Command::new("setpriv");
        cmd.args([
            "--reuid",
            PROXY_UID,
            "--regid",
            PROXY_UID,
            "--clear-groups",
            env!("CARGO_BIN_EXE_readygate"),
        ]);
        Hook::start(cmd, args)
    }

    fn start_as_root(args: &[&str]) -> Hook {
        Hook::start(readygate(), args)
    }

    fn start(mut cmd: Command, args: &[&str]) -> Hook {
        let log = tempfile::TempPath::new();
        // setpriv passes its environment on: keep READYGATE_* out as support::readygate() does.
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("READYGATE_") {
                cmd.env_remove(key);
            }
        }
        let child = cmd
            .arg("--wait-app-exit")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(File::create(&log).expect("log file"))
            .spawn()
            .expect("spawn readygate");
        Hook { child, log }
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until its log has `needle`.
    fn wait_for_log(&self, needle: &str) {
        eventually(&format!("log line {needle:?}"), RUN_DEADLINE, || {
            self.stderr().contains(needle)
        });
    }

    fn running(&mut self) -> bool {
        self.child.try_wait().expect("try_wait").is_none()
    }

    fn finish(mut self) -> Run {
        let start = std::time::Instant::now();
        let status = wait_with_deadline(&mut self.child, RUN_DEADLINE);
        let mut stdout = String::new();
        if let Some(mut out) = self.child.stdout.take() {
            let _ = std::io::Read::read_to_string(&mut out, &mut stdout);
        }
        Run {
            status,
            stdout,
            stderr: self.stderr(),
            elapsed: start.elapsed(),
        }
    }
}

/// A listener and one connection to it: one listening and two connected sockets.
fn listener_and_connection(address: &str) -> (TcpListener, TcpStream, TcpStream) {
    let listener = TcpListener::bind(address).expect("bind");
    let client = TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
    let (server, _) = listener.accept().expect("accept");
    (listener, client, server)
}

/// Lines of the IPv4 table in `state` (two hex digits).
fn sockets_in_state(state: &str) -> usize {
    std::fs::read_to_string("/proc/net/tcp")
        .expect("/proc/net/tcp")
        .lines()
        .skip(1)
        .filter(|l| l.split_whitespace().nth(3) == Some(state))
        .count()
}

#[test]
fn the_applications_listener_and_connection_hold_the_hook_until_they_close() {
    if !in_private_netns("the_applications_listener_and_connection_hold_the_hook_until_they_close")
    {
        return;
    }
    let (listener, client, server) = listener_and_connection("127.0.0.1:0");
    let mut hook = Hook::start_as_proxy(&["--timeout", "0"]);
    hook.wait_for_log("listening=1 connected=2");
    assert!(
        hook.running(),
        "returned while the application's sockets were open"
    );
    drop((client, server));
    drop(listener);
    let run = hook.finish();
    run.assert_code(0)
        .assert_stderr_has("proxy_uids=1337")
        .assert_stderr_has("the application's sockets are gone");
    assert_eq!(run.stdout, "", "nothing on stdout");
}

#[test]
fn the_proxys_own_sockets_do_not_hold_the_hook() {
    if !in_private_netns("the_proxys_own_sockets_do_not_hold_the_hook") {
        return;
    }
    // The test runs as root: counted as the proxy's with --proxy-uid, and by default when
    // readygate itself runs as root (which it warns about).
    let _held = listener_and_connection("127.0.0.1:0");
    Hook::start_as_proxy(&["--proxy-uid", "1337,0", "--timeout", "10s"])
        .finish()
        .assert_code(0)
        .assert_stderr_has("listening=0 connected=0");
    Hook::start_as_root(&["--timeout", "10s"])
        .finish()
        .assert_code(0)
        .assert_stderr_has("an application that also runs as root is invisible");
}

#[test]
fn time_wait_sockets_do_not_hold_the_hook() {
    if !in_private_netns("time_wait_sockets_do_not_hold_the_hook") {
        return;
    }
    let (listener, client, server) = listener_and_connection("127.0.0.1:0");
    // The side that closes first is left in TIME_WAIT (for 60 s).
    client.shutdown(Shutdown::Both).expect("shutdown");
    drop(client);
    drop(server);
    drop(listener);
    eventually("a TIME_WAIT socket", RUN_DEADLINE, || {
        sockets_in_state("06") == 1
    });
    Hook::start_as_proxy(&["--timeout", "10s"])
        .finish()
        .assert_code(0);
    assert_eq!(
        sockets_in_state("06"),
        1,
        "the TIME_WAIT socket was still there"
    );
}

#[test]
fn an_ipv6_only_application_holds_the_hook_until_the_timeout() {
    if !in_private_netns("an_ipv6_only_application_holds_the_hook_until_the_timeout") {
        return;
    }
    let _held = listener_and_connection("[::1]:0");
    let run = Hook::start_as_proxy(&["--timeout", "1s"]).finish();
    run.assert_code(69)
        .assert_stderr_has("the application still holds TCP sockets after 1s");
    run.assert_stderr_has("1 listening, 2 connected (socket owner uid 0)");
}

#[test]
fn the_timeout_exit_code_can_be_changed() {
    if !in_private_netns("the_timeout_exit_code_can_be_changed") {
        return;
    }
    let _held = listener_and_connection("127.0.0.1:0");
    Hook::start_as_proxy(&["--timeout", "200ms", "--timeout-exit-code", "3"])
        .finish()
        .assert_code(3);
}

#[test]
fn sigterm_while_waiting_exits_143() {
    if !in_private_netns("sigterm_while_waiting_exits_143") {
        return;
    }
    let _held = listener_and_connection("127.0.0.1:0");
    // As root (with --proxy-uid), so the test may signal it.
    let hook = Hook::start_as_root(&["--proxy-uid", PROXY_UID, "--timeout", "0"]);
    hook.wait_for_log("waiting for the application's TCP sockets to close");
    support::send_signal("TERM", hook.child.id());
    hook.finish()
        .assert_code(143)
        .assert_stderr_has("interrupted by SIGTERM");
}

#[test]
fn a_command_with_wait_app_exit_is_a_usage_error() {
    let run = support::run(readygate().args(["--wait-app-exit", "--", "true"]));
    run.assert_code(2)
        .assert_stderr_has("--wait-app-exit takes no COMMAND");
}
