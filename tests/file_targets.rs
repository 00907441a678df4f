//! file:// targets, run through the real binary: a file is taken once it exists, is a regular
//! file, is not empty and has stopped changing; anything else keeps the gate shut, with a reason
//! a person can act on. Writers are driven by readygate's own log lines, never by sleeps.

mod support;

use std::ffi::OsStr;
use std::fs;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use support::endpoint::{Behaviour, Endpoint};
use support::process::Watched;
use support::{readygate, run, sh};

/// How long a test waits for a log line that must come.
const SAY: Duration = Duration::from_secs(10);

/// A directory of the test's own, removed when the test ends.
struct Scratch(PathBuf);

impl Scratch {
    fn new(test: &str) -> Scratch {
        let dir =
            std::env::temp_dir().join(format!("readygate-files-{}-{test}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("create scratch dir");
        Scratch(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::set_permissions(&self.0, fs::Permissions::from_mode(0o755));
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn url(path: &Path) -> String {
    format!("file://{}", path.display())
}

/// readygate waiting on `path`, then printing the file as the application would read it.
fn gate_then_cat(path: &Path, extra: &[&str]) -> Command {
    let mut cmd = readygate();
    cmd.args(["--url", &url(path), "--timeout", "15s"])
        .args(extra)
        .arg("--")
        .args(sh("cat \"$0\""))
        .arg(path);
    cmd
}

#[test]
fn a_file_that_appears_late_is_waited_for() {
    let dir = Scratch::new("late");
    let creds = dir.path("db-creds");
    let mut gate = Watched::spawn(&mut gate_then_cat(&creds, &[]));
    said(
        &mut gate,
        &format!("{} does not exist yet", creds.display()),
    );
    fs::write(&creds, "user=app\n").expect("write");
    let run = gate.finish();
    run.assert_code(0);
    assert_eq!(run.stdout, "user=app\n");
}

#[test]
fn an_empty_file_is_waited_for_until_it_is_filled() {
    let dir = Scratch::new("empty");
    let creds = dir.path("db-creds");
    fs::write(&creds, "").expect("create empty");
    let mut gate = Watched::spawn(&mut gate_then_cat(&creds, &[]));
    said(&mut gate, "db-creds is empty");
    fs::write(&creds, "user=app\n").expect("fill");
    let run = gate.finish();
    run.assert_code(0);
    assert_eq!(run.stdout, "user=app\n");
}

#[test]
fn a_file_written_in_chunks_is_not_taken_mid_write() {
    let dir = Scratch::new("chunks");
    let creds = dir.path("db-creds");
    // The command fails unless the file it reads is complete (ends with END).
    let mut cmd = readygate();
    cmd.args([
        "--url",
        &url(&creds),
        "--timeout",
        "15s",
        "--file-settle",
        "1s",
    ])
    .arg("--")
    .args(sh("tail -n 1 \"$0\" | grep -qx END && wc -l < \"$0\""))
    .arg(&creds);
    let mut gate = Watched::spawn(&mut cmd);
    said(&mut gate, "does not exist yet");
    // The writer's pauses (20 ms) are far below the settle time (1 s): a writer rendering a
    // template in several flushes.
    let mut file = fs::File::create(&creds).expect("create");
    for n in 0..15 {
        writeln!(file, "line {n}").expect("write");
        thread::sleep(Duration::from_millis(20));
    }
    writeln!(file, "END").expect("write");
    drop(file);
    let run = gate.finish();
    run.assert_code(0).assert_stderr_has("db-creds changed");
    assert_eq!(run.stdout.trim(), "16");
}

#[test]
fn a_file_renamed_into_place_passes_once_settled() {
    let dir = Scratch::new("rename");
    let creds = dir.path("db-creds");
    let mut gate = Watched::spawn(&mut gate_then_cat(&creds, &[]));
    said(&mut gate, "does not exist yet");
    // An atomic write: written in full beside the target, then renamed over it.
    let staged = dir.path(".db-creds.tmp");
    fs::write(&staged, "user=app\npassword=s3cret\n").expect("write staged");
    fs::rename(&staged, &creds).expect("rename");
    let run = gate.finish();
    run.assert_code(0);
    assert_eq!(run.stdout, "user=app\npassword=s3cret\n");
}

#[test]
fn a_file_published_by_a_symlink_swap_as_kubernetes_volumes_do_is_followed() {
    // A projected volume: creds -> ..data/creds, and ..data -> a timestamped directory,
    // swapped by renaming a new symlink over ..data. Until the first swap, creds dangles.
    let dir = Scratch::new("symlinks");
    let creds = dir.path("creds");
    symlink("..data/creds", &creds).expect("symlink creds");
    let mut gate = Watched::spawn(&mut gate_then_cat(&creds, &[]));
    said(&mut gate, "creds does not exist yet");
    let version = dir.path("..2026_12_01_11_00_00.1");
    fs::create_dir(&version).expect("mkdir version");
    fs::write(version.join("creds"), "token=abc\n").expect("write version");
    symlink("..2026_12_01_11_00_00.1", dir.path("..data_tmp")).expect("symlink data");
    fs::rename(dir.path("..data_tmp"), dir.path("..data")).expect("swap");
    let run = gate.finish();
    run.assert_code(0);
    assert_eq!(run.stdout, "token=abc\n");
}

#[test]
fn a_directory_is_never_ready_and_the_timeout_says_so() {
    let dir = Scratch::new("dir");
    let secrets = dir.path("secrets");
    fs::create_dir(&secrets).expect("mkdir");
    let run = run(readygate().args(["--url", &url(&secrets), "--timeout", "300ms"]));
    run.assert_code(69);
    let summary = timeout_line(&run.stderr);
    assert!(
        summary.contains(&format!("{} is a directory", secrets.display())),
        "{summary}"
    );
}

#[test]
fn a_file_that_never_settles_times_out_with_its_reason_logged_once() {
    let dir = Scratch::new("never-settles");
    let log = dir.path("app.log");
    fs::write(&log, "start\n").expect("write");
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (stop, log) = (stop.clone(), log.clone());
        thread::spawn(move || {
            let mut file = fs::OpenOptions::new()
                .append(true)
                .open(&log)
                .expect("open");
            while !stop.load(Ordering::Relaxed) {
                writeln!(file, "more").expect("append");
                thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let run = run(readygate().args([
        "--url",
        &url(&log),
        "--timeout",
        "1s",
        "--file-settle",
        "2s",
    ]));
    stop.store(true, Ordering::Relaxed);
    writer.join().expect("writer");
    run.assert_code(69);
    let summary = timeout_line(&run.stderr);
    assert!(
        summary.contains("app.log changed ") && summary.contains(" ago"),
        "{summary}"
    );
    // Dozens of looks each saw a new version "changed N ms ago": the same news, said once.
    let said = run
        .stderr
        .lines()
        .filter(|l| l.contains("not ready yet"))
        .count();
    assert_eq!(said, 1, "{}", run.stderr);
}

#[test]
fn a_fifo_is_never_ready_and_never_blocks_the_wait() {
    let dir = Scratch::new("fifo");
    let fifo = dir.path("pipe");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    // Opening a FIFO with no writer blocks: readygate must only stat it, and so time out.
    let run = run(readygate().args(["--url", &url(&fifo), "--timeout", "300ms"]));
    run.assert_code(69);
    let summary = timeout_line(&run.stderr);
    assert!(
        summary.contains("pipe is not a regular file (a FIFO)"),
        "{summary}"
    );
}

#[test]
fn a_directory_without_search_permission_is_reported_as_permission_denied() {
    let dir = Scratch::new("denied");
    let locked = dir.path("locked");
    fs::create_dir(&locked).expect("mkdir");
    let creds = locked.join("creds");
    fs::write(&creds, "x").expect("write");
    let url = url(&creds);
    let args = ["--url", url.as_str(), "--timeout", "300ms"];
    // Root searches any directory: as root, run readygate as nobody, who cannot search a
    // directory owned by root with mode 0700. Otherwise mode 0 shuts out the owner too.
    let mut cmd = if is_root() {
        fs::set_permissions(&locked, fs::Permissions::from_mode(0o700)).expect("chmod");
        let mut cmd = Command::new("setpriv");
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(env!("CARGO_BIN_EXE_readygate"))
            .args(args)
            .env_clear();
        cmd
    } else {
        fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).expect("chmod");
        let mut cmd = readygate();
        cmd.args(args);
        cmd
    };
    let run = run(&mut cmd);
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o755)).expect("chmod back");
    run.assert_code(69);
    let summary = timeout_line(&run.stderr);
    assert!(
        summary.contains(&format!("permission denied on {}", creds.display())),
        "{summary}"
    );
}

#[test]
fn a_file_target_and_an_http_target_must_both_pass() {
    let dir = Scratch::new("mixed");
    let creds = dir.path("db-creds");
    let marker = dir.path("ran");
    let proxy_ready = Arc::new(AtomicBool::new(false));
    let flag = proxy_ready.clone();
    let proxy = Endpoint::scripted("127.0.0.1:0", move |_| {
        if flag.load(Ordering::SeqCst) {
            Behaviour::Status(200, Vec::new())
        } else {
            Behaviour::Status(503, b"PRE_INITIALIZING".to_vec())
        }
    });
    let mut cmd = readygate();
    cmd.args([
        "-v",
        "--url",
        &proxy.url(),
        "--url",
        &url(&creds),
        "--timeout",
        "15s",
    ])
    .arg("--")
    .args(sh("cat \"$0\" > \"$1\""))
    .arg(&creds)
    .arg(&marker);
    let mut gate = Watched::spawn(&mut cmd);
    said(&mut gate, "does not exist yet");
    fs::write(&creds, "user=app\n").expect("write");
    // The file passes while the proxy still says 503: the command must wait for both.
    said(&mut gate, &format!("endpoint ready url={}", url(&creds)));
    assert!(
        !marker.exists(),
        "the command ran before the proxy was ready"
    );
    proxy_ready.store(true, Ordering::SeqCst);
    let run = gate.finish();
    run.assert_code(0);
    assert_eq!(fs::read_to_string(&marker).expect("marker"), "user=app\n");
    assert!(proxy.hits() >= 2, "the proxy was probed until ready");
}

#[test]
fn percent_encoded_names_reach_the_files_they_name() {
    let dir = Scratch::new("percent");
    // A space and a comma (READYGATE_URL splits on commas), and a name that is not UTF-8.
    fs::write(dir.path("db creds,v2"), "a").expect("write");
    let raw = dir.0.join(OsStr::from_bytes(b"latin1-\xe9"));
    fs::write(&raw, "b").expect("write");
    let list = format!(
        "file://{0}/db%20creds%2Cv2,file://{0}/latin1-%E9",
        dir.0.display()
    );
    let run = run(readygate().env("READYGATE_URL", &list).args([
        "--timeout",
        "5s",
        "--file-settle",
        "0",
    ]));
    run.assert_code(0);
}

#[test]
fn bad_file_urls_are_usage_errors_naming_the_url() {
    for (bad, says) in [
        ("file://vault/secrets/db", "write file:///vault/secrets/db"),
        ("file:vault/secrets/db", "absolute path"),
        ("file://", "no path"),
        ("file:///vault/secrets/", "names a directory"),
        ("file:///vault/a%zz", "percent-encoding"),
    ] {
        let run = run(readygate().args(["--url", bad, "--", "true"]));
        run.assert_code(2);
        assert!(
            run.stderr.contains(&format!("{bad:?}")) && run.stderr.contains(says),
            "{bad}: {}",
            run.stderr
        );
    }
    // A query may hold a token: it is refused, and echoed redacted.
    let run = run(readygate().args(["--url", "file:///vault/db?x=1", "--", "true"]));
    run.assert_code(2);
    assert!(
        run.stderr.contains("\"file:///vault/db?<redacted>\"")
            && run.stderr.contains("no query or fragment"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_url_that_is_not_utf8_is_a_usage_error() {
    let run = run(readygate()
        .arg("--url")
        .arg(OsStr::from_bytes(b"file:///vault/\xff"))
        .args(["--", "true"]));
    run.assert_code(2).assert_stderr_has("not valid UTF-8");
}

/// Waits until readygate logs a line containing `needle`.
fn said(gate: &mut Watched, needle: &str) {
    gate.wait_for_line(needle, SAY, |line| line.contains(needle));
}

/// The one line a timeout ends with.
fn timeout_line(stderr: &str) -> &str {
    stderr
        .lines()
        .find(|l| l.contains("not ready after"))
        .unwrap_or_else(|| panic!("no timeout line:\n{stderr}"))
}

fn is_root() -> bool {
    fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines()
                .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}
