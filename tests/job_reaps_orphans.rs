//! Job mode reaps orphans reparented to readygate (as PID 1 of a PID namespace, and as a child
//! subreaper elsewhere), and its single reaping loop never steals the command's exit status.
//!
//! The command is a shell script that checks from inside: an orphan it leaves behind is adopted
//! by readygate, is reaped once it exits (its /proc entry vanishes; a zombie's would stay), no
//! zombie child of readygate is left, and then it exits 7 while a burst of orphans exits too.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::proxy::{Proxy, QuitReply};
use support::{readygate, run, Run};

const SCRIPT: &str = r#"
set -eu
out=$1
# Polls "$@" every 10 ms for up to 10 s (a deadline, not a sleep to wait out a race).
until_true() { n=0; until "$@"; do n=$((n + 1)); [ "$n" -lt 1000 ] || return 1; sleep 0.01; done; }
ppid_of() { cut -d')' -f2 "/proc/$1/stat" | awk '{print $2}'; }
adopted() { [ "$(ppid_of "$orphan")" = "$PPID" ]; }
gone() { [ ! -e "/proc/$orphan" ]; }
# A subshell starts an orphan and exits: the orphan is reparented to readygate.
( sleep 60 & echo $! > "$out.pid" )
orphan=$(cat "$out.pid")
if until_true adopted; then echo adopted >> "$out"; else echo "not adopted: parent $(ppid_of "$orphan")" >> "$out"; fi
kill "$orphan"
if until_true gone; then echo reaped >> "$out"; else echo "still in /proc: $(cat /proc/$orphan/stat)" >> "$out"; fi
zombies=$(cat /proc/[0-9]*/stat 2>/dev/null | cut -d')' -f2 | awk -v p="$PPID" '$1 == "Z" && $2 == p' | wc -l)
echo "zombies $zombies" >> "$out"
# Orphans exiting as the command exits: the reaper sees them and the command together.
i=0; while [ "$i" -lt 20 ]; do ( sh -c 'exit 9' & ); i=$((i + 1)); done
exit 7
"#;

fn report_file(test: &str) -> PathBuf {
    let file =
        std::env::temp_dir().join(format!("readygate-orphans-{}-{test}", std::process::id()));
    let _ = std::fs::remove_file(&file);
    file
}

fn report(file: &Path) -> Vec<String> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Removes the report and the orphan's PID file.
fn clean(file: &Path) {
    let _ = std::fs::remove_file(file);
    let _ = std::fs::remove_file(file.with_extension("pid"));
}

/// The command's script saw its orphan adopted and reaped and no zombie left, readygate exited
/// with the command's status 7, and the proxy was quit once; then the report files go.
fn assert_reaped_and_quit(result: &Run, file: &Path, proxy: &Proxy) {
    result.assert_code(7);
    assert_eq!(
        report(file),
        ["adopted", "reaped", "zombies 0"],
        "stderr:\n{}",
        result.stderr
    );
    assert_eq!(proxy.quits().len(), 1, "{}", result.stderr);
    clean(file);
}

#[test]
fn as_pid_1_orphans_are_reaped_and_the_exit_status_is_the_commands() {
    if !support::running_as_root("unshare --pid") {
        return;
    }
    let proxy = Proxy::start(true, QuitReply::Ok);
    let file = report_file("pid1");
    let [url_flag, url, quit_flag, quit] = proxy.args();
    let result = run(Command::new("unshare")
        .args([
            "--pid",
            "--fork",
            "--mount-proc",
            "--kill-child",
            env!("CARGO_BIN_EXE_readygate"),
        ])
        .args([url_flag, url, quit_flag, quit])
        .args(["-S", "--", "sh", "-c", SCRIPT, "sh"])
        .arg(&file)
        .stdin(std::process::Stdio::null()));
    // unshare exits with readygate's status.
    assert_reaped_and_quit(&result, &file, &proxy);
    // The script's $PPID is readygate; inside the namespace that is PID 1.
    result.assert_stderr_has("started the command pid=2");
}

#[test]
fn as_a_subreaper_orphans_are_reaped_and_the_exit_status_is_the_commands() {
    let proxy = Proxy::start(true, QuitReply::Ok);
    let file = report_file("subreaper");
    let result = run(readygate()
        .args(proxy.args())
        .args(["-S", "--", "sh", "-c", SCRIPT, "sh"])
        .arg(&file));
    assert_reaped_and_quit(&result, &file, &proxy);
}
