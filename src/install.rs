//! `--install DIR`: copy readygate's own executable to `DIR/readygate`, so an init container
//! running the readygate image can fill an `emptyDir` that a container without a shell (a
//! distroless proxy) then runs it from, in its preStop hook for instance.
//!
//! The copy is atomic: written to a temporary name in DIR, made 0755, synced, then renamed over
//! `DIR/readygate`, so a container that starts while it is being written never runs half a file.

use std::fs::{self, File, OpenOptions};
use std::hash::{BuildHasher, RandomState};
use std::io;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use tracing::info;

use crate::exit::{self, Failure};

/// Copies the running executable into `dir`.
pub fn install(dir: &Path) -> Result<(), Failure> {
    let source = std::env::current_exe()
        .map_err(|e| failure(format!("cannot find readygate's own executable: {e}")))?;
    let target = dir.join("readygate");
    copy_atomically(&source, &target).map_err(|e| {
        failure(format!(
            "cannot install readygate into {}: {e}",
            dir.display()
        ))
    })?;
    info!(path = %target.display(), "installed readygate");
    Ok(())
}

fn failure(message: String) -> Failure {
    Failure::error(exit::OS_ERROR, message)
}

/// Copies `source` to `target` through a temporary file in the same directory.
pub fn copy_atomically(source: &Path, target: &Path) -> io::Result<()> {
    let dir = target.parent().unwrap_or(Path::new("."));
    if !dir.is_dir() {
        return Err(io::Error::new(io::ErrorKind::NotFound, "no such directory"));
    }
    // A name no one else uses, created exclusively (O_EXCL never follows a symlink someone put
    // there). The process ID alone is not enough: in a container it is often 1 on every run, and
    // an emptyDir keeps the leftover of an install killed midway across init container restarts.
    // std's hasher keys come from the OS's random source: a random suffix without the wall clock.
    let random = RandomState::new().hash_one(std::process::id());
    let temporary = dir.join(format!(".readygate.{random:016x}.tmp"));
    let mut from = File::open(source)?;
    let mut to = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o755)
        .open(&temporary)?;
    // From here the temporary file is ours, and removed if anything fails.
    let result = (|| {
        io::copy(&mut from, &mut to)?;
        // The mode given at creation is reduced by the umask; the hook needs 0755 exactly.
        to.set_permissions(fs::Permissions::from_mode(0o755))?;
        to.sync_all()?;
        fs::rename(&temporary, target)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temporary);
    }
    result
}
