//! `--install DIR`: the copy of readygate an init container puts in an emptyDir for a container
//! without a shell. It runs, it is 0755 whatever the umask, it replaces an existing file by
//! rename (a reader of the old file is undisturbed), and bad use is a clear error.

mod support;

use std::fs;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use support::{readygate, run};

/// A fresh empty directory, removed on drop.
struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let dir =
            std::env::temp_dir().join(format!("readygate-install-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("mkdir");
        Dir(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

#[test]
fn the_installed_copy_runs_and_is_mode_0755_even_under_umask_077() {
    let dir = Dir::new("mode");
    let script = format!(
        "umask 077; exec {} --install {}",
        env!("CARGO_BIN_EXE_readygate"),
        dir.path().display()
    );
    let result = run(Command::new("sh").args(["-c", &script]));
    result
        .assert_code(0)
        .assert_stderr_has("installed readygate");
    assert_eq!(result.stdout, "", "nothing on stdout");
    let installed = dir.path().join("readygate");
    let mode = fs::metadata(&installed)
        .expect("installed")
        .permissions()
        .mode();
    assert_eq!(mode & 0o7777, 0o755, "mode {mode:o}");
    let version = run(Command::new(&installed).arg("--version"));
    version.assert_code(0);
    assert!(
        version.stdout.starts_with("readygate "),
        "{}",
        version.stdout
    );
    // Nothing but the executable is left behind (no temporary file).
    let names: Vec<_> = fs::read_dir(dir.path())
        .expect("list")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(names, ["readygate"]);
}

#[test]
fn an_existing_file_is_replaced_by_rename_not_rewritten_in_place() {
    let dir = Dir::new("replace");
    let installed = dir.path().join("readygate");
    fs::write(&installed, b"old contents").expect("old file");
    // A reader that has the old file open (or a process running it) must keep seeing it whole.
    let mut old = fs::File::open(&installed).expect("open old");
    run(readygate().arg("--install").arg(dir.path())).assert_code(0);
    let mut seen = String::new();
    old.read_to_string(&mut seen).expect("read old");
    assert_eq!(seen, "old contents");
    let new = fs::read(&installed).expect("new file");
    let original = fs::read(env!("CARGO_BIN_EXE_readygate")).expect("binary");
    assert!(new == original, "the installed file is not readygate");
}

#[test]
fn a_missing_directory_is_an_os_error_naming_it() {
    let dir = Dir::new("missing");
    let missing = dir.path().join("not-there");
    let result = run(readygate().arg("--install").arg(&missing));
    result.assert_code(71).assert_stderr_has(&format!(
        "cannot install readygate into {}",
        missing.display()
    ));
    assert!(!missing.exists());
}

#[test]
fn a_command_with_install_is_a_usage_error() {
    let dir = Dir::new("command");
    let result = run(readygate()
        .arg("--install")
        .arg(dir.path())
        .args(["--", "true"]));
    result
        .assert_code(2)
        .assert_stderr_has("--install takes no COMMAND");
    assert!(!dir.path().join("readygate").exists(), "installed anyway");
}
