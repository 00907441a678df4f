//! Wall-clock jumps do not move readygate's deadlines: they are measured on the monotonic clock.
//!
//! libfaketime (Debian's `faketime` package) is preloaded with a time offset read from a file on
//! every call and CLOCK_MONOTONIC left alone, so a write to that file steps readygate's wall clock
//! (CLOCK_REALTIME, what settimeofday or an NTP step changes) by ten years forward or back. The
//! log timestamps prove each jump reached the process; the measured wait proves the deadline did
//! not move. What this cannot show: a jump of CLOCK_MONOTONIC itself, which the kernel never
//! steps (NTP only slews it), so there is nothing to guard against there.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use support::{can_run, readygate, temp_path, Watched};

const LIBS: [&str; 2] = [
    "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
    "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
];

/// libfaketime, or `None` (a failure under CI=true: scripts/install-hardening.sh installs it).
fn libfaketime() -> Option<&'static str> {
    let lib = LIBS.into_iter().find(|l| Path::new(l).exists());
    let needs = "libfaketime (scripts/install-hardening.sh, or apt-get install faketime)";
    can_run(needs, lib.is_some()).then_some(lib).flatten()
}

/// The year of a text log line (`2026-11-25T08:05:31.979377Z  INFO ...`).
fn year(line: &str) -> i32 {
    line.get(..4)
        .and_then(|y| y.parse().ok())
        .unwrap_or_else(|| panic!("no timestamp: {line}"))
}

#[test]
fn wall_clock_jumps_forward_and_back_do_not_move_the_deadline() {
    let Some(lib) = libfaketime() else { return };
    let offset = temp_path("faketime-offset");
    std::fs::write(&offset, "+0\n").expect("write offset");
    let mut watched = Watched::spawn(
        readygate()
            .env("LD_PRELOAD", lib)
            .env("FAKETIME_TIMESTAMP_FILE", &offset)
            .env("FAKETIME_NO_CACHE", "1")
            .env("FAKETIME_DONT_FAKE_MONOTONIC", "1")
            .args(["-v", "--url", "http://127.0.0.1:1/ready", "-t", "3s"])
            .args(["--interval", "20ms", "--max-interval", "20ms"]),
    );
    let first = watched.wait_for_line("a first attempt", Duration::from_secs(5), |l| {
        l.contains("attempt=")
    });
    let now = year(&first);
    // Ten years forward: a wall-clock deadline would have passed long ago.
    std::fs::write(&offset, "+3650d\n").expect("write offset");
    watched.wait_for_line("a line ten years on", Duration::from_secs(5), |l| {
        year(l) >= now + 9
    });
    // Ten years back: a wall-clock deadline would be a decade away.
    std::fs::write(&offset, "-3650d\n").expect("write offset");
    watched.wait_for_line("a line ten years back", Duration::from_secs(5), |l| {
        year(l) <= now - 9
    });
    let ended = watched.finish();
    let _ = std::fs::remove_file(&offset);
    ended.assert_code(69);
    assert!(
        ended.stderr.contains("not ready after 3"),
        "the wait measured 3 s:\n{}",
        ended.stderr
    );
    // On the test's own clock, too: neither early (forward jump) nor late (backward jump).
    assert!(
        ended.elapsed >= Duration::from_secs(3) && ended.elapsed < Duration::from_millis(4500),
        "{:?}",
        ended.elapsed
    );
}

/// Every `.rs` file below `dir`, as paths relative to `root`.
fn rust_files(root: &Path, dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read a source directory") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(root, &path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path.strip_prefix(root).expect("below src").to_path_buf());
        }
    }
}

#[test]
fn the_wall_clock_is_read_only_for_log_timestamps_the_jitter_seed_and_file_ages() {
    // The source-level half of the argument: deadlines and delays use Instant (tokio's or std's,
    // both CLOCK_MONOTONIC); SystemTime appears only where a wall clock is wanted. Every source
    // file counts, in subdirectories too. probe/file.rs compares a file's ctime with the wall
    // clock once per version of the file, then ages it by the monotonic clock (its unit tests
    // cover a jump).
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &src, &mut files);
    assert!(files.len() > 1, "no sources found in {}", src.display());
    let mut users: Vec<String> = files
        .into_iter()
        .filter(|file| {
            let text = std::fs::read_to_string(src.join(file)).expect("read");
            text.contains("SystemTime") || text.contains("UNIX_EPOCH")
        })
        .map(|file| file.to_string_lossy().into_owned())
        .collect();
    users.sort();
    assert_eq!(
        users,
        ["backoff.rs", "log.rs", "probe/file.rs"],
        "a new wall-clock reader: check it is not used for a deadline"
    );
}
