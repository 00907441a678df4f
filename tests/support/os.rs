//! What tests ask of the operating system: signals sent with kill(2), readers for /proc/<pid>,
//! scratch paths, a closed port, and the one rule for tests that need root or a missing tool.

use std::path::PathBuf;

/// Signal names as kill(1) spells them (without `SIG`), for the tests that name signals.
const SIGNALS: &[(&str, i32)] = &[
    ("HUP", libc::SIGHUP),
    ("INT", libc::SIGINT),
    ("QUIT", libc::SIGQUIT),
    ("ILL", libc::SIGILL),
    ("TRAP", libc::SIGTRAP),
    ("ABRT", libc::SIGABRT),
    ("BUS", libc::SIGBUS),
    ("FPE", libc::SIGFPE),
    ("KILL", libc::SIGKILL),
    ("USR1", libc::SIGUSR1),
    ("SEGV", libc::SIGSEGV),
    ("USR2", libc::SIGUSR2),
    ("PIPE", libc::SIGPIPE),
    ("ALRM", libc::SIGALRM),
    ("TERM", libc::SIGTERM),
    ("CHLD", libc::SIGCHLD),
    ("CONT", libc::SIGCONT),
    ("STOP", libc::SIGSTOP),
    ("TSTP", libc::SIGTSTP),
    ("TTIN", libc::SIGTTIN),
    ("TTOU", libc::SIGTTOU),
    ("URG", libc::SIGURG),
    ("XCPU", libc::SIGXCPU),
    ("XFSZ", libc::SIGXFSZ),
    ("VTALRM", libc::SIGVTALRM),
    ("PROF", libc::SIGPROF),
    ("WINCH", libc::SIGWINCH),
    ("IO", libc::SIGIO),
    ("PWR", libc::SIGPWR),
    ("SYS", libc::SIGSYS),
];

/// The number of a signal named as kill(1) takes it: `TERM`, `SIGTERM` or `15`.
pub fn signal_number(name: &str) -> i32 {
    let bare = name.strip_prefix("SIG").unwrap_or(name);
    SIGNALS
        .iter()
        .find(|(n, _)| *n == bare)
        .map(|&(_, number)| number)
        .or_else(|| name.parse().ok())
        .unwrap_or_else(|| panic!("unknown signal name {name:?}"))
}

/// Sends signal number `signal` to `pid` with kill(2).
pub fn kill(pid: u32, signal: i32) {
    let pid = libc::pid_t::try_from(pid).expect("pid fits pid_t");
    // SAFETY: kill(2) takes plain integers and touches no memory of ours.
    let rc = unsafe { libc::kill(pid, signal) };
    assert_eq!(
        rc,
        0,
        "kill({pid}, {signal}): {}",
        std::io::Error::last_os_error()
    );
}

/// Queues signal number `signal` with `value` to `pid` with sigqueue(3), as a program using
/// real-time signals would (the receiver sees SI_QUEUE, not kill's SI_USER).
pub fn sigqueue(pid: u32, signal: i32, value: usize) {
    let pid = libc::pid_t::try_from(pid).expect("pid fits pid_t");
    let value = libc::sigval {
        sival_ptr: value as *mut libc::c_void,
    };
    // SAFETY: sigqueue takes plain integers and a sigval passed by value; it touches no memory
    // of ours.
    let rc = unsafe { libc::sigqueue(pid, signal, value) };
    assert_eq!(
        rc,
        0,
        "sigqueue({pid}, {signal}): {}",
        std::io::Error::last_os_error()
    );
}

/// Sends `signal` (a name such as `TERM`) to `pid`, as an operator's `kill -TERM` would.
pub fn send_signal(signal: &str, pid: u32) {
    kill(pid, signal_number(signal));
}

/// Number of open descriptors of `pid`.
pub fn fd_count(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("read /proc/<pid>/fd")
        .count()
}

/// A `kB` field of /proc/<pid>/status, such as `VmRSS` or `VmHWM`.
pub fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

/// The one-letter state of `pid` (R, S, T, ...) from /proc/<pid>/stat.
pub fn state(pid: u32) -> char {
    process_state(pid).unwrap_or_else(|| panic!("no state for process {pid}"))
}

/// The state letter of `pid`, or `None` once it is gone: `R`, `S`, `T` (stopped), `Z`, ...
pub fn process_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may contain spaces: the state follows the last ')'.
    stat.rsplit_once(')')?
        .1
        .split_whitespace()
        .next()?
        .chars()
        .next()
}

/// The first child of `pid` (such as readygate under `unshare --fork`, or readygate's command).
pub fn first_child(pid: u32) -> Option<u32> {
    let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).ok()?;
    children.split_whitespace().next()?.parse().ok()
}

/// A path in the build's scratch directory, unique to this test process and thread (tests in
/// one binary run in parallel threads), so no two tests share a file.
pub fn temp_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "{name}-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ))
}

/// Like [`temp_path`], created as an empty directory.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = temp_path(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("mkdir");
    dir
}

/// A TCP port on 127.0.0.1 where nothing listens (bound, then released).
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    port
}

/// Whether a test can run, given that `available` says so for `needs` (root, a tool). CI
/// (`CI=true`) provides everything, so there a missing need fails the test; elsewhere the test returns
/// early and says on stderr that it was skipped. Tests that can never run here are
/// `#[ignore = "why"]` instead.
pub fn can_run(needs: &str, available: bool) -> bool {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    assert!(
        available || !ci,
        "CI provides {needs}: a test that needs it must not be skipped there"
    );
    if !available {
        eprintln!("skipped: needs {needs}");
    }
    available
}

/// Whether the tests run as root, which `needs` (such as `unshare --pid`) requires; see
/// [`can_run`] for what happens when they do not.
pub fn running_as_root(needs: &str) -> bool {
    // SAFETY: geteuid(2) cannot fail and touches no memory.
    let root = unsafe { libc::geteuid() } == 0;
    can_run(&format!("root for {needs}"), root)
}
