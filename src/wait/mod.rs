//! The wait: probe every endpoint until all are ready, with backoff, a deadline and progress logs.
//!
//! Each endpoint must pass once; one that passed is not probed again. Endpoints still pending are
//! probed concurrently in each attempt. Logs stay quiet when all is well: a line when waiting
//! starts, a line when an endpoint's reason changes, throttled progress lines, a line when ready.
//!
//! - `mod.rs`: the two stages in order under one deadline, how the wait ended, the gate
//! - `plan.rs`: what to wait for (the plan, its stages, `--mesh auto`'s part)
//! - `clock.rs`: the deadline, the clock the stages share, the progress lines' throttle
//! - `stage.rs`: one stage's targets probed until each passed once (backoff, progress lines)
//! - `sidecar.rs`: the sidecar stage, and what `--mesh auto`'s decision about the pod does to it
//!
//! Each file imports only the ones listed before it (and `mod.rs` all), never the other way.

mod clock;
mod plan;
mod sidecar;
mod stage;

use std::time::Duration;

use tracing::info;

use crate::parse::format_duration;
use crate::pod::mode::Decision;
use crate::probe::Reason;
use crate::signalfd::{self, Listener};

pub(crate) use clock::{millis, Deadline, Progress};
pub use plan::{Auto, Plan, Stage};

use clock::Clock;
use plan::urls;
use sidecar::SidecarEnd;
use stage::{StageEnd, StageRun};

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

/// Waits until every target in `plan` is ready or the deadline passes: the sidecar stage, then
/// the dependencies. One deadline covers both; the backoff starts afresh with the dependencies,
/// so one that comes up right after the proxy is seen at once. What `--mesh auto` decided about
/// the pod, if it had to, is left in `pod`, however the wait ends.
pub async fn wait(plan: &Plan, pod: &mut Option<Decision>) -> Waited {
    let mut clock = Clock::start(plan.timeout);
    let start = clock.start;
    let staged = !plan.dependencies.is_empty();
    let timeout = plan.timeout.map_or("none".into(), format_duration);
    let dependencies = urls(&plan.dependencies);
    let mut sidecar_ready = None;
    let mut skipped = false;
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
                return timed_out(
                    &clock,
                    pending,
                    staged.then_some(Stood::Sidecar { not_probed }),
                );
            }
            // The decision's line said so, and what comes next.
            SidecarEnd::Skipped => skipped = true,
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
            return timed_out(&clock, pending, Some(Stood::Dependencies { sidecar_ready }));
        }
    }
    let elapsed = start.elapsed();
    if skipped && !staged {
        // Nothing became ready: the one probe made found no sidecar the pod needs.
        info!(
            elapsed_ms = millis(elapsed),
            attempts = clock.attempts,
            "nothing to wait for: the pod needs no sidecar, and there are no dependencies"
        );
    } else {
        info!(
            elapsed_ms = millis(elapsed),
            attempts = clock.attempts,
            "ready"
        );
    }
    Waited::Ready {
        elapsed,
        attempts: clock.attempts,
    }
}

fn timed_out(clock: &Clock, pending: Vec<(String, Reason)>, staged: Option<Stood>) -> Waited {
    Waited::TimedOut {
        elapsed: clock.start.elapsed(),
        attempts: clock.attempts,
        pending,
        staged,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
                "not ready after 3s (9 attempts): http://localhost:15020/healthz/ready \
                 (503 \"x\"); tcp://localhost:15001 (nothing listening on localhost:15001 yet)"
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
