//! The pod's two facts gathered once, and decided: the annotations file read whole, one look at
//! the listening mesh ports. This is the part of `pod` readygate calls: the wait, after the
//! sidecar's first probe failed (never before: a pod whose sidecar is already ready pays nothing
//! for it), or else Job mode once the command has exited, to decide the quit (main.rs).

use std::path::PathBuf;
use std::time::Instant;

use tracing::{debug, warn};

use crate::log;
use crate::pod::annotations::{self, ReadError};
use crate::pod::listeners;
use crate::pod::mode::{self, Decision, Facts};

/// Where the pod's annotations file is, and whether the user named it (`--pod-annotations`):
/// a default that is missing is no fact; a named file that is missing is worth a warning.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnnotationsFile {
    pub path: PathBuf,
    pub explicit: bool,
}

impl AnnotationsFile {
    /// The path the Kubernetes documentation's own example mounts, [`annotations::DEFAULT_PATH`].
    pub fn default_path() -> Self {
        AnnotationsFile {
            path: PathBuf::from(annotations::DEFAULT_PATH),
            explicit: false,
        }
    }
}

/// Reads the annotations file and looks at the listeners, each once, and decides the pod's mode.
/// Never fails: a fact that cannot be had is a reason in the decision's line.
pub fn gather(file: &AnnotationsFile) -> Decision {
    let started = Instant::now();
    let read = annotations::read(&file.path);
    if file.explicit && matches!(read, Err(ReadError::Missing)) {
        warn!(
            "pod annotations file {} not found: deciding without it (check --pod-annotations \
             or READYGATE_POD_ANNOTATIONS, and the Downward API volume's mountPath)",
            log::path_shown(&file.path)
        );
    }
    let look = listeners::look_mesh_ports();
    let decision = mode::decide(&Facts {
        path: &file.path,
        annotations: read.as_ref(),
        listeners: look.as_ref().copied(),
    });
    // Keys are never secret, values may be: the count and the ports only.
    debug!(
        annotations = read.as_ref().map_or(0, annotations::Annotations::len),
        listening = ?look.as_ref().map(listeners::MeshPorts::listening).ok(),
        elapsed_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
        "pod facts gathered"
    );
    decision
}
