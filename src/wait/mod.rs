//! The wait: probe every endpoint until all are ready, with backoff, a deadline and progress logs.
//!
//! Each endpoint must pass once; one that passed is not probed again. Endpoints still pending are
//! probed concurrently in each attempt. Logs stay quiet when all is well: a line when waiting
//! starts, a line when an endpoint's reason changes, throttled progress lines, a line when ready.
//!
//! - `mod.rs`: the plan, the two stages in order under one deadline, how the wait ended
//! - `stage.rs`: one stage's targets probed until each passed once (backoff, progress lines)
//! - `sidecar.rs`: the sidecar stage, and what `--mesh auto`'s decision about the pod does to it

mod sidecar;
mod stage;

use std::time::Duration;

use tokio::time::Instant;
use tracing::info;

use crate::backoff::Backoff;
use crate::parse::{format_duration, StatusSet};
use crate::pod::mode::Decision;
use crate::probe::{Reason, Settle};
use crate::signalfd::{self, Listener};
use crate::target::Target;

pub use sidecar::Auto;
use sidecar::SidecarEnd;
use stage::{StageEnd, StageRun};

/// First progress line after this long; then the gap doubles up to `PROGRESS_MAX_GAP`.
const PROGRESS_FIRST: Duration = Duration::from_secs(2);
const PROGRESS_MAX_GAP: Duration = Duration::from_secs(10);

/// The overall deadline of a wait, if it has one: said once, asked in one way.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Deadline(Option<Instant>);

impl Deadline {
    pub(crate) fn after(start: Instant, timeout: Option<Duration>) -> Self {
        Deadline(timeout.map(|t| start + t))
    }

    /// Time left; `None` when there is no deadline.
    pub(crate) fn remaining(self) -> Option<Duration> {
        self.0.map(|d| d.saturating_duration_since(Instant::now()))
    }

    pub(crate) fn passed(self) -> bool {
        self.remaining() == Some(Duration::ZERO)
    }
}

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

/// How the wait ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Waited {
    /// Every endpoint passed.
    Ready { elapsed: Duration, attempts: u32 },
    /// The deadline passed first; `pending` lists each endpoint still not ready and why.
    TimedOut {
        elapsed: Duration,
        attempts: u32,
        pending: Vec<(String, Reason)>,
        /// Where the wait stood, when it has dependencies; `None` for a one-stage wait.
        staged: Option<Stood>,
    },
}

/// Where a wait with dependencies stood when the deadline passed.
#[derive(Debug, PartialEq, Eq)]
pub enum Stood {
    /// Still in the sidecar stage; these dependencies were never probed.
    Sidecar { not_probed: Vec<String> },
    /// In the dependency stage; the sidecar stage passed after this long (`None`: there was no
    /// sidecar stage).
    Dependencies { sidecar_ready: Option<Duration> },
}

impl Waited {
    /// The one-line summary of a timeout: every endpoint still not ready, its last outcome, and
    /// the time waited; with dependencies, which stage was waiting.
    pub fn timeout_summary(&self) -> Option<String> {
        let Waited::TimedOut {
            elapsed,
            attempts,
            pending,
            staged,
        } = self
        else {
            return None;
        };
        let endpoints: Vec<String> = pending
            .iter()
            .map(|(url, reason)| format!("{url} ({reason})"))
            .collect();
        let endpoints = endpoints.join("; ");
        let stood = match staged {
            None => endpoints,
            Some(Stood::Sidecar { not_probed }) => format!(
                "the sidecar: {endpoints}; the dependencies were not probed yet: {}",
                not_probed.join(", ")
            ),
            Some(Stood::Dependencies {
                sidecar_ready: Some(after),
            }) => format!(
                "the sidecar was ready after {}; the dependencies: {endpoints}",
                format_duration(*after)
            ),
            Some(Stood::Dependencies {
                sidecar_ready: None,
            }) => format!("the dependencies: {endpoints}"),
        };
        Some(format!(
            "not ready after {} ({attempts} attempts): {stood}",
            format_duration(*elapsed)
        ))
    }
}

/// How the gate ended: the wait raced against the signals that end it.
#[derive(Debug)]
pub enum Gate {
    Ready,
    /// Not ready in time; the one-line summary.
    TimedOut(String),
    /// This signal arrived first.
    Interrupted(i32),
}

/// How the gate ended, and what `--mesh auto` decided about the pod on the way, if it had to
/// (Job mode's quit follows that decision).
#[derive(Debug)]
pub struct Gated {
    pub gate: Gate,
    /// `None`: no facts were gathered (no `--mesh auto`, the sidecar ready at its first probe,
    /// or a signal or the deadline before the first probe ended).
    pub pod: Option<Decision>,
}

/// The wait, raced against the signals `listener` hears as ending it.
pub async fn gate(plan: &Plan, listener: &mut Listener) -> Gated {
    let mut pod = None;
    let gate = match signalfd::unless_stopped(listener, wait(plan, &mut pod)).await {
        Err(signal) => Gate::Interrupted(signal),
        Ok(waited) => match waited.timeout_summary() {
            Some(summary) => Gate::TimedOut(summary),
            None => Gate::Ready,
        },
    };
    Gated { gate, pod }
}

/// The whole wait's clock: when it started, its deadline, and the attempts made so far.
struct Clock {
    start: Instant,
    deadline: Deadline,
    attempts: u32,
}

/// Waits until every target in `plan` is ready or the deadline passes: the sidecar stage, then
/// the dependencies. One deadline covers both; the backoff starts afresh with the dependencies,
/// so one that comes up right after the proxy is seen at once. What `--mesh auto` decided about
/// the pod, if it had to, is left in `pod`, however the wait ends.
pub async fn wait(plan: &Plan, pod: &mut Option<Decision>) -> Waited {
    let start = Instant::now();
    let mut clock = Clock {
        start,
        deadline: Deadline::after(start, plan.timeout),
        attempts: 0,
    };
    let staged = !plan.dependencies.is_empty();
    let timeout = plan.timeout.map_or("none".into(), format_duration);
    let dependencies = urls(&plan.dependencies);
    let mut sidecar_ready = None;
    if !plan.sidecar.is_empty() {
        info!(
            url = urls(&plan.sidecar).as_str(),
            dependencies = staged.then_some(dependencies.as_str()),
            timeout = timeout.as_str(),
            "waiting for the sidecar to be ready"
        );
        match sidecar::run(plan, &mut clock, staged, pod).await {
            SidecarEnd::TimedOut(pending) => {
                let not_probed = plan.dependencies.iter().map(ToString::to_string).collect();
                return clock.timed_out(pending, staged.then_some(Stood::Sidecar { not_probed }));
            }
            // The decision's line said so, and what comes next.
            SidecarEnd::Skipped => {}
            SidecarEnd::Ready => {
                sidecar_ready = Some(start.elapsed());
                if staged {
                    info!(
                        elapsed_ms = millis(start.elapsed()),
                        "sidecar ready; waiting for the dependencies: {dependencies}"
                    );
                }
            }
        }
    } else if staged {
        info!(
            url = dependencies.as_str(),
            timeout = timeout.as_str(),
            "no sidecar (--mesh none); waiting for the dependencies"
        );
    } else {
        info!("no sidecar (--mesh none) and no --url: nothing to wait for");
    }
    if staged {
        let stage = StageRun::new(Stage::Dependencies, &plan.dependencies, plan, staged);
        if let StageEnd::TimedOut(pending) = stage.run(&mut clock, false).await {
            return clock.timed_out(pending, Some(Stood::Dependencies { sidecar_ready }));
        }
    }
    let elapsed = start.elapsed();
    info!(
        elapsed_ms = millis(elapsed),
        attempts = clock.attempts,
        "ready"
    );
    Waited::Ready {
        elapsed,
        attempts: clock.attempts,
    }
}

impl Clock {
    fn timed_out(&self, pending: Vec<(String, Reason)>, staged: Option<Stood>) -> Waited {
        Waited::TimedOut {
            elapsed: self.start.elapsed(),
            attempts: self.attempts,
            pending,
            staged,
        }
    }
}

/// The targets' URLs, comma-separated.
fn urls(targets: &[Target]) -> String {
    let urls: Vec<String> = targets.iter().map(ToString::to_string).collect();
    urls.join(", ")
}

pub(crate) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// When the next progress line is due: at 2 s, 4 s, 8 s, 16 s, then every 10 s. Shared with
/// `--wait-app-exit`, so both waits log at the same throttle.
pub(crate) struct Progress {
    next: Duration,
    gap: Duration,
}

impl Progress {
    pub(crate) fn new() -> Self {
        Progress {
            next: PROGRESS_FIRST,
            gap: PROGRESS_FIRST,
        }
    }

    pub(crate) fn due(&mut self, elapsed: Duration) -> bool {
        if elapsed < self.next {
            return false;
        }
        self.next = elapsed + self.gap;
        self.gap = (self.gap * 2).min(PROGRESS_MAX_GAP);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_lines_are_throttled() {
        let mut p = Progress::new();
        let due: Vec<u64> = (0..=60_000u64)
            .step_by(50)
            .filter(|&ms| p.due(Duration::from_millis(ms)))
            .collect();
        assert_eq!(
            due,
            vec![2_000, 4_000, 8_000, 16_000, 26_000, 36_000, 46_000, 56_000]
        );
    }

    #[test]
    fn the_timeout_summary_names_every_pending_endpoint() {
        let waited = Waited::TimedOut {
            elapsed: Duration::from_secs(3),
            attempts: 9,
            pending: vec![
                (
                    "http://localhost:15020/healthz/ready".into(),
                    Reason::Status {
                        code: 503,
                        text: Some("x".into()),
                    },
                ),
                (
                    "tcp://localhost:15001".into(),
                    Reason::from(crate::net::Failure::NothingListening {
                        authority: "localhost:15001".into(),
                    }),
                ),
            ],
            staged: None,
        };
        assert_eq!(
            waited.timeout_summary().as_deref(),
            Some(
                "not ready after 3s (9 attempts): http://localhost:15020/healthz/ready (503 \"x\"); \
                 tcp://localhost:15001 (nothing listening on localhost:15001 yet)"
            )
        );
    }

    fn pending_redis() -> Vec<(String, Reason)> {
        vec![(
            "redis://cache:6379".into(),
            Reason::DroppedAtOnce {
                authority: "cache:6379".into(),
                protocol: Some("Redis"),
            },
        )]
    }

    #[test]
    fn the_timeout_summary_names_the_stage_that_was_waiting() {
        let waited = Waited::TimedOut {
            elapsed: Duration::from_secs(5),
            attempts: 40,
            pending: pending_redis(),
            staged: Some(Stood::Dependencies {
                sidecar_ready: Some(Duration::from_millis(200)),
            }),
        };
        assert_eq!(
            waited.timeout_summary().as_deref(),
            Some(
                "not ready after 5s (40 attempts): the sidecar was ready after 200ms; the \
                 dependencies: redis://cache:6379 (accepted, then closed before a Redis reply: \
                 a mesh proxy with no upstream for cache:6379 yet?)"
            )
        );
        let waited = Waited::TimedOut {
            elapsed: Duration::from_secs(5),
            attempts: 40,
            pending: vec![(
                "http://localhost:15020/healthz/ready".into(),
                Reason::Status {
                    code: 503,
                    text: None,
                },
            )],
            staged: Some(Stood::Sidecar {
                not_probed: vec!["redis://cache:6379".into(), "postgres://db".into()],
            }),
        };
        assert_eq!(
            waited.timeout_summary().as_deref(),
            Some(
                "not ready after 5s (40 attempts): the sidecar: \
                 http://localhost:15020/healthz/ready (503 Service Unavailable); the \
                 dependencies were not probed yet: redis://cache:6379, postgres://db"
            )
        );
        let waited = Waited::TimedOut {
            elapsed: Duration::from_secs(1),
            attempts: 3,
            pending: pending_redis(),
            staged: Some(Stood::Dependencies {
                sidecar_ready: None,
            }),
        };
        assert!(waited
            .timeout_summary()
            .is_some_and(|s| s.starts_with("not ready after 1s (3 attempts): the dependencies: ")));
    }
}
