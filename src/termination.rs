//! The termination message: when readygate fails by itself, its reason goes to the file
//! Kubernetes reads when the container ends (`terminationMessagePath`, `/dev/termination-log` by
//! default), so `kubectl describe pod` and the pod's status show it where people look first.
//!
//! Written only for readygate's own failures: after an exec the file is the application's, and a
//! Job's child exiting is the child's business.

use std::fs::OpenOptions;
use std::io::Write as _;
use std::path::Path;

use tracing::{debug, warn};

/// Where Kubernetes mounts the file by default; written only if it already exists, since
/// outside Kubernetes it normally does not.
pub const DEFAULT_PATH: &str = "/dev/termination-log";

/// The kubelet reads at most this many bytes of the message.
pub const MAX_BYTES: usize = 4096;

/// Writes `message` to the termination log: `path` if given (created if missing), else
/// [`DEFAULT_PATH`] if it exists. Never fails: a file that cannot be written is logged.
pub fn record(path: Option<&Path>, message: &str) {
    let text = bounded(&format!("readygate: {message}"));
    let (file, explicit) = match path {
        Some(path) => (path, true),
        None => (Path::new(DEFAULT_PATH), false),
    };
    let opened = OpenOptions::new()
        .write(true)
        .truncate(true)
        .create(explicit)
        .open(file);
    let written = opened.and_then(|mut f| f.write_all(text.as_bytes()));
    match written {
        Ok(()) => debug!(path = %file.display(), "wrote the termination message"),
        // The default file is missing outside Kubernetes: the normal case, not worth a line.
        Err(e) if !explicit && e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) if explicit => {
            warn!(path = %file.display(), "cannot write the termination message: {e}")
        }
        Err(e) => debug!(path = %file.display(), "cannot write the termination message: {e}"),
    }
}

/// One printable line of at most [`MAX_BYTES`] bytes: control characters escaped (the message
/// may quote a command name or a proxy's words), cut at a character boundary.
pub fn bounded(message: &str) -> String {
    let mut out = String::with_capacity(message.len().min(MAX_BYTES));
    for c in message.chars() {
        let piece = if c.is_control() {
            c.escape_default().to_string()
        } else {
            c.to_string()
        };
        if out.len() + piece.len() > MAX_BYTES {
            break;
        }
        out.push_str(&piece);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_one_printable_line_within_the_kubelet_limit() {
        assert_eq!(bounded("a\nb\u{1b}[2J"), "a\\nb\\u{1b}[2J");
        let long = "é".repeat(5000);
        let cut = bounded(&long);
        assert!(
            cut.len() <= MAX_BYTES && cut.len() > MAX_BYTES - 2,
            "{}",
            cut.len()
        );
        assert!(cut.chars().all(|c| c == 'é'));
    }

    #[test]
    fn an_explicit_path_is_created_and_overwritten() {
        let dir = std::env::temp_dir().join(format!("readygate-term-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("log");
        std::fs::write(&file, "an older, longer message").unwrap();
        record(Some(&file), "not ready");
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            "readygate: not ready"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
