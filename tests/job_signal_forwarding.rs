//! Job mode forwards SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 and SIGWINCH to the
//! command (a second SIGTERM/SIGINT too), and never SIGCHLD or SIGURG. The command is a small C
//! program that records each signal it receives in a file; tests wait on that file with deadlines.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use support::proxy::{Proxy, QuitReply};
use support::{eventually, finish, readygate};

const DEADLINE: Duration = Duration::from_secs(10);

/// `sigrec FILE N`: writes "ready" once its handlers are in place, then one line per signal
/// received (its name), and exits 0 after N signals.
const SOURCE: &str = r#"
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
static int fd;
static volatile sig_atomic_t count;
static const struct { int n; const char *name; } names[] = {
    {SIGTERM, "TERM"}, {SIGINT, "INT"}, {SIGHUP, "HUP"}, {SIGQUIT, "QUIT"}, {SIGUSR1, "USR1"},
    {SIGUSR2, "USR2"}, {SIGWINCH, "WINCH"}, {SIGCHLD, "CHLD"}, {SIGURG, "URG"},
};
#define COUNT (sizeof names / sizeof names[0])
static void record(int n) {
    for (unsigned i = 0; i < COUNT; i++)
        if (names[i].n == n) { write(fd, names[i].name, strlen(names[i].name)); write(fd, "\n", 1); }
    count++;
}
int main(int argc, char **argv) {
    if (argc != 3) return 98;
    fd = open(argv[1], O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd < 0) return 99;
    int wanted = atoi(argv[2]);
    sigset_t all, none;
    sigemptyset(&all);
    sigemptyset(&none);
    for (unsigned i = 0; i < COUNT; i++) sigaddset(&all, names[i].n);
    sigprocmask(SIG_BLOCK, &all, NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = record;
    sa.sa_mask = all;
    for (unsigned i = 0; i < COUNT; i++) sigaction(names[i].n, &sa, NULL);
    write(fd, "ready\n", 6);
    /* Signals are blocked except inside sigsuspend, so none is missed between check and wait. */
    while (count < wanted) sigsuspend(&none);
    return 0;
}
"#;

fn sigrec() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        let source = dir.join(format!("sigrec-{}.c", std::process::id()));
        let binary = dir.join(format!("sigrec-{}", std::process::id()));
        std::fs::write(&source, SOURCE).expect("write sigrec source");
        let status = Command::new("cc")
            .args(["-O1", "-o"])
            .arg(&binary)
            .arg(&source)
            .status()
            .expect("a C compiler (cc) is needed to build the signal recorder");
        assert!(status.success(), "cc failed to build the signal recorder");
        binary
    })
}

fn record_file(test: &str) -> PathBuf {
    let file = std::env::temp_dir().join(format!("readygate-sigrec-{}-{test}", std::process::id()));
    let _ = std::fs::remove_file(&file);
    file
}

fn lines(file: &Path) -> Vec<String> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Starts `readygate -S -- sigrec FILE n` and waits until the recorder's handlers are in place.
fn start(proxy: &Proxy, file: &Path, n: usize) -> Child {
    let child = readygate()
        .args(proxy.args())
        .args(["-S", "--"])
        .arg(sigrec())
        .arg(file)
        .arg(n.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn readygate");
    eventually("the recorder to start", DEADLINE, || {
        lines(file).first().map(String::as_str) == Some("ready")
    });
    child
}

/// Sends `signal` to readygate and waits until the recorder has logged it `times` times.
fn round_trip(signal: &str, pid: u32, file: &Path, times: usize) {
    support::send_signal(signal, pid);
    eventually(
        &format!("SIG{signal} to reach the command"),
        DEADLINE,
        || lines(file).iter().filter(|l| *l == signal).count() >= times,
    );
}

#[test]
fn every_forwarded_signal_reaches_the_command() {
    let proxy = Proxy::start(true, QuitReply::Ok);
    let file = record_file("forwarded");
    let forwarded = ["USR1", "USR2", "WINCH", "HUP", "QUIT", "INT", "TERM"];
    let child = start(&proxy, &file, forwarded.len());
    let pid = child.id();
    for signal in forwarded {
        round_trip(signal, pid, &file, 1);
    }
    let result = finish(child);
    result
        .assert_code(0)
        .assert_stderr_has("forwarded to the command");
    let mut expected = vec!["ready".to_string()];
    expected.extend(forwarded.iter().map(|s| s.to_string()));
    assert_eq!(lines(&file), expected);
    assert_eq!(proxy.quits().len(), 1, "{}", result.stderr);
    let _ = std::fs::remove_file(&file);
}

#[test]
fn sigchld_and_sigurg_are_not_forwarded() {
    let proxy = Proxy::start(true, QuitReply::Ok);
    let file = record_file("not-forwarded");
    let child = start(&proxy, &file, 2);
    let pid = child.id();
    support::send_signal("CHLD", pid);
    support::send_signal("URG", pid);
    // Two forwarded round trips after them: by the time both arrive, readygate has long handled
    // SIGCHLD and SIGURG, and would have forwarded them first.
    round_trip("USR1", pid, &file, 1);
    round_trip("USR2", pid, &file, 1);
    let result = finish(child);
    result.assert_code(0);
    assert_eq!(
        lines(&file),
        ["ready", "USR1", "USR2"],
        "stderr:\n{}",
        result.stderr
    );
    let _ = std::fs::remove_file(&file);
}

#[test]
fn a_second_sigterm_and_a_second_sigint_are_forwarded_too() {
    let proxy = Proxy::start(true, QuitReply::Ok);
    let file = record_file("second");
    let child = start(&proxy, &file, 4);
    let pid = child.id();
    round_trip("TERM", pid, &file, 1);
    round_trip("TERM", pid, &file, 2);
    round_trip("INT", pid, &file, 1);
    round_trip("INT", pid, &file, 2);
    let result = finish(child);
    result.assert_code(0);
    assert_eq!(lines(&file), ["ready", "TERM", "TERM", "INT", "INT"]);
    let _ = std::fs::remove_file(&file);
}

#[test]
fn sigterm_stops_a_command_with_default_handlers_and_exits_143() {
    let proxy = Proxy::start(true, QuitReply::Ok);
    let child = readygate()
        .args(proxy.args())
        .args(["-S", "--", "sleep", "60"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn readygate");
    let pid = child.id();
    let children = format!("/proc/{pid}/task/{pid}/children");
    eventually("the command to start", DEADLINE, || {
        std::fs::read_to_string(&children).is_ok_and(|c| !c.trim().is_empty())
    });
    support::send_signal("TERM", pid);
    let result = finish(child);
    result
        .assert_code(143)
        .assert_stderr_has("killed by SIGTERM");
    assert!(result.elapsed < DEADLINE, "took {:?}", result.elapsed);
    assert_eq!(proxy.quits().len(), 1, "{}", result.stderr);
}
