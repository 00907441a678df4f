//! What a wait is asked to do: its two stages' targets, how to probe them, and `--mesh auto`'s
//! part in the sidecar stage.

use std::time::Duration;

use crate::backoff::Backoff;
use crate::parse::StatusSet;
use crate::pod::gather::AnnotationsFile;
use crate::pod::mode::JobQuit;
use crate::probe::Settle;
use crate::target::Target;

/// What to wait for, and how: two stages, each a list of targets that must all pass once. The
/// sidecar stage runs first and on its own, so that it can be skipped or replaced as a whole
/// (a pod without a sidecar has none).
#[derive(Clone, Debug)]
pub struct Plan {
    /// The sidecar's own readiness (the --url targets on this pod, or the mesh preset); empty:
    /// no sidecar stage.
    pub sidecar: Vec<Target>,
    /// `--mesh auto` with the preset as the sidecar stage: the pod's facts may replace or skip
    /// that stage if its first attempt fails. `None`: the sidecar targets stand.
    pub auto: Option<Auto>,
    /// The dependencies reached through the sidecar, checked once it is ready.
    pub dependencies: Vec<Target>,
    pub expect: StatusSet,
    /// `None` waits forever.
    pub timeout: Option<Duration>,
    pub request_timeout: Duration,
    pub backoff: Backoff,
    /// How long file:// and tcp:// targets must stay as they are to count as ready.
    pub settle: Settle,
}

/// `--mesh auto` with the mesh preset as the sidecar stage: where the pod's facts come from.
#[derive(Clone, Debug)]
pub struct Auto {
    /// The pod's annotations file.
    pub annotations: AnnotationsFile,
    /// Job mode: what the decision's line says of the quit.
    pub quit: JobQuit,
}

/// A stage of the wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// The sidecar's own readiness.
    Sidecar,
    /// The dependencies, through the sidecar.
    Dependencies,
}

impl Stage {
    /// The stage as logs name it.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Sidecar => "sidecar",
            Stage::Dependencies => "dependencies",
        }
    }
}

/// The targets' URLs, comma-separated.
pub(super) fn urls(targets: &[Target]) -> String {
    let urls: Vec<String> = targets.iter().map(ToString::to_string).collect();
    urls.join(", ")
}
