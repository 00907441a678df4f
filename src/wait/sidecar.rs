//! The sidecar stage, and the part `--mesh auto` plays in it: when the first attempt finds the
//! sidecar not ready, the pod's facts are gathered once (`pod::gather`) and decide the rest of
//! the stage: keep waiting for the same endpoint, wait for another mesh's instead, or skip the
//! stage because the pod has no sidecar.
//!
//! Nothing is gathered before that first attempt, so a pod whose sidecar is already ready pays
//! nothing for the detection. The first attempt's "not ready yet" line is logged only after the
//! decision's line, and only if the stage goes on with it, so that a pod without a sidecar logs
//! why it does not wait rather than a refusal it does not care about.

use super::clock::Clock;
use super::plan::{urls, Plan, Stage};
use super::stage::{StageEnd, StageRun};
use crate::pod::gather;
use crate::pod::mode::{Decision, PodMode};
use crate::preset::Mesh;
use crate::probe::Reason;
use crate::target::Target;

/// How the sidecar stage ended.
pub(super) enum SidecarEnd {
    Ready,
    /// The pod's facts say it has no sidecar: the stage was given up after its first attempt.
    Skipped,
    /// The deadline passed; each endpoint still pending and why.
    TimedOut(Vec<(String, Reason)>),
}

impl From<StageEnd> for SidecarEnd {
    fn from(end: StageEnd) -> Self {
        match end {
            StageEnd::Ready => SidecarEnd::Ready,
            StageEnd::TimedOut(pending) => SidecarEnd::TimedOut(pending),
        }
    }
}

/// What the rest of the stage does, once the pod's mode is known.
#[derive(Debug, PartialEq, Eq)]
enum Course {
    /// Go on with the same endpoints.
    Stay,
    /// Wait for these instead (another mesh's preset).
    Switch(Vec<Target>),
    /// No sidecar to wait for.
    Skip,
}

/// The course for `mode`, given the stage's current targets (auto's start: Istio's preset).
fn course(mode: PodMode, current: &[Target]) -> Course {
    if !mode.waits() {
        return Course::Skip;
    }
    let mesh = mode.mesh().map_or(Mesh::Auto, Mesh::from);
    let target: Option<Target> = mesh.preset().ready_url.and_then(|url| url.parse().ok());
    match target {
        Some(target) if current != std::slice::from_ref(&target) => Course::Switch(vec![target]),
        _ => Course::Stay,
    }
}

/// Runs the sidecar stage. With `--mesh auto`, a decision made about the pod is left in
/// `decided`, even if the wait is then cut short (a signal, the deadline), for Job mode's quit.
pub(super) async fn run(
    plan: &Plan,
    clock: &mut Clock,
    staged: bool,
    decided: &mut Option<Decision>,
) -> SidecarEnd {
    let mut stage = StageRun::new(Stage::Sidecar, &plan.sidecar, plan, staged);
    let Some(auto) = &plan.auto else {
        return stage.run(clock, false).await.into();
    };
    if clock.deadline.passed() {
        return SidecarEnd::TimedOut(stage.pending());
    }
    let first = stage.probe(clock).await;
    if first.all_ready() {
        stage.record(first);
        return SidecarEnd::Ready;
    }
    // Gathering opens a file, then a socket: the first attempt's connection goes first, so that
    // the minimum `ulimit -n` stays what main.rs's budget says.
    stage.close_connections();
    let decision = gather::gather(&auto.annotations);
    let course = course(decision.mode, &plan.sidecar);
    let line = decision.line(auto.quit, staged);
    let url = match &course {
        Course::Switch(targets) => Some(urls(targets)),
        Course::Stay | Course::Skip => None,
    };
    decision.log(&line, url.as_deref());
    *decided = Some(decision);
    match course {
        Course::Skip => SidecarEnd::Skipped,
        Course::Stay => {
            if stage.record(first) {
                return SidecarEnd::Ready;
            }
            stage.run(clock, true).await.into()
        }
        Course::Switch(targets) => StageRun::new(Stage::Sidecar, &targets, plan, staged)
            .run(clock, false)
            .await
            .into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pod::mode::Mesh as PodMesh;

    fn istio() -> Vec<Target> {
        let url = Mesh::Istio.preset().ready_url.expect("istio has one");
        vec![url.parse().expect("preset")]
    }

    #[test]
    fn each_mode_sets_the_course_of_a_stage_that_started_with_istios_preset() {
        let linkerd: Target = "http://localhost:4191/ready".parse().expect("url");
        for (mode, course) in [
            (PodMode::Classic(PodMesh::Istio), Course::Stay),
            (PodMode::Native(PodMesh::Istio), Course::Stay),
            (PodMode::Sidecar(PodMesh::Istio), Course::Stay),
            (PodMode::Unknown, Course::Stay),
            (
                PodMode::Classic(PodMesh::Linkerd),
                Course::Switch(vec![linkerd.clone()]),
            ),
            (
                PodMode::Native(PodMesh::Linkerd),
                Course::Switch(vec![linkerd.clone()]),
            ),
            (
                PodMode::Sidecar(PodMesh::Linkerd),
                Course::Switch(vec![linkerd]),
            ),
            (PodMode::Ambient, Course::Skip),
            (PodMode::NoSidecar, Course::Skip),
        ] {
            assert_eq!(super::course(mode, &istio()), course, "{mode:?}");
        }
    }
}
