//! The wait: probe every endpoint until all are ready, with backoff, a deadline and progress logs.
//!
//! Each endpoint must pass once; one that passed is not probed again. Endpoints still pending are
//! probed concurrently in each attempt. Logs stay quiet when all is well: a line when waiting
//! starts, a line when an endpoint's reason changes, throttled progress lines, a line when ready.

use std::time::Duration;

use tokio::time::Instant;
use tracing::{debug, info};

use crate::backoff::{Backoff, Jitter};
use crate::net;
use crate::parse::{format_duration, StatusSet};
use crate::probe::{Outcome, Prober, Reason, Settle};
use crate::signalfd::{self, Listener};
use crate::target::Target;

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

/// The wait, raced against the signals `listener` hears as ending it.
pub async fn gate(plan: &Plan, listener: &mut Listener) -> Gate {
    match signalfd::unless_stopped(listener, wait(plan)).await {
        Err(signal) => Gate::Interrupted(signal),
        Ok(waited) => match waited.timeout_summary() {
            Some(summary) => Gate::TimedOut(summary),
            None => Gate::Ready,
        },
    }
}

struct Endpoint {
    prober: Prober,
    ready: bool,
    last: Option<Reason>,
}

/// The whole wait's clock: when it started, its deadline, and the attempts made so far.
struct Clock {
    start: Instant,
    deadline: Deadline,
    attempts: u32,
}

/// How one stage ended.
enum StageEnd {
    Ready,
    /// The deadline passed; each endpoint still pending and why.
    TimedOut(Vec<(String, Reason)>),
}

/// Waits until every target in `plan` is ready or the deadline passes: the sidecar stage, then
/// the dependencies. One deadline covers both; the backoff starts afresh with the dependencies,
/// so one that comes up right after the proxy is seen at once.
pub async fn wait(plan: &Plan) -> Waited {
    let start = Instant::now();
    let mut clock = Clock {
        start,
        deadline: Deadline::after(start, plan.timeout),
        attempts: 0,
    };
    let staged = !plan.dependencies.is_empty();
    let timeout = plan.timeout.map_or("none".into(), format_duration);
    let dependencies = urls(&plan.dependencies);
    if !plan.sidecar.is_empty() {
        info!(
            url = urls(&plan.sidecar).as_str(),
            dependencies = staged.then_some(dependencies.as_str()),
            timeout = timeout.as_str(),
            "waiting for the sidecar to be ready"
        );
        if let StageEnd::TimedOut(pending) =
            run_stage(Stage::Sidecar, &plan.sidecar, plan, &mut clock, staged).await
        {
            let not_probed = plan.dependencies.iter().map(ToString::to_string).collect();
            return clock.timed_out(pending, staged.then_some(Stood::Sidecar { not_probed }));
        }
        if staged {
            info!(
                elapsed_ms = millis(start.elapsed()),
                "sidecar ready; waiting for the dependencies: {dependencies}"
            );
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
    let sidecar_ready = (!plan.sidecar.is_empty()).then(|| start.elapsed());
    if staged {
        if let StageEnd::TimedOut(pending) = run_stage(
            Stage::Dependencies,
            &plan.dependencies,
            plan,
            &mut clock,
            staged,
        )
        .await
        {
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

/// Probes `targets` until all have passed once, or the deadline passes. With `staged`, log
/// lines name the stage.
async fn run_stage(
    stage: Stage,
    targets: &[Target],
    plan: &Plan,
    clock: &mut Clock,
    staged: bool,
) -> StageEnd {
    let name = staged.then_some(stage.name());
    let stage_start = Instant::now();
    let deadline = clock.deadline;
    let mut endpoints: Vec<Endpoint> = targets
        .iter()
        .map(|target| Endpoint {
            prober: Prober::new(target.clone(), plan.settle),
            ready: false,
            last: None,
        })
        .collect();
    // The sidecar stage may have used up the whole timeout: then the dependencies were not
    // probed, rather than probed with no time to answer.
    if deadline.passed() {
        return StageEnd::TimedOut(pending(&endpoints));
    }
    let mut jitter = Jitter::from_entropy();
    let mut progress = Progress::new();
    loop {
        clock.attempts = clock.attempts.saturating_add(1);
        let attempt = clock.attempts;
        let limit = deadline
            .remaining()
            .map_or(plan.request_timeout, |r| r.min(plan.request_timeout));
        let outcomes = probe_pending(&mut endpoints, &plan.expect, limit).await;
        let elapsed = clock.start.elapsed();
        // An attempt the overall deadline interrupted (no reply yet, or a body cut before its
        // text) says less than the one before it, so it does not replace that reason.
        let interrupted = deadline.passed();
        for (endpoint, outcome) in endpoints.iter_mut().filter(|e| !e.ready).zip(outcomes) {
            let weaker = interrupted && outcome != Outcome::Ready && endpoint.last.is_some();
            if !weaker {
                record(endpoint, outcome, attempt, elapsed, name);
            }
        }
        if endpoints.iter().all(|e| e.ready) {
            return StageEnd::Ready;
        }
        if progress.due(stage_start.elapsed()) {
            for e in endpoints.iter().filter(|e| !e.ready) {
                info!(
                    url = %e.prober.target(),
                    stage = name,
                    reason = %last_reason(e),
                    attempt,
                    elapsed_ms = millis(elapsed),
                    "still waiting"
                );
            }
        }
        if deadline.passed() {
            return StageEnd::TimedOut(pending(&endpoints));
        }
        let delay = plan.backoff.delay(
            stage_start.elapsed(),
            jitter.next_unit(),
            deadline.remaining(),
        );
        // A file seen changing may settle before the backoff's next look: look then instead.
        let delay = endpoints
            .iter()
            .filter(|e| !e.ready)
            .filter_map(|e| e.prober.settles_in())
            .fold(delay, Duration::min);
        tokio::time::sleep(delay).await;
        if deadline.passed() {
            return StageEnd::TimedOut(pending(&endpoints));
        }
    }
}

/// Probes every endpoint not yet ready, concurrently in this task; returns their outcomes in
/// order. No task is spawned: each probe borrows its own endpoint's connection.
async fn probe_pending(
    endpoints: &mut [Endpoint],
    expect: &StatusSet,
    limit: Duration,
) -> Vec<Outcome> {
    let probes = endpoints
        .iter_mut()
        .filter(|e| !e.ready)
        .map(|e| e.prober.probe(expect, limit));
    net::join_all(probes).await
}

fn record(
    endpoint: &mut Endpoint,
    outcome: Outcome,
    attempt: u32,
    elapsed: Duration,
    stage: Option<&str>,
) {
    match outcome {
        Outcome::Ready => {
            debug!(url = %endpoint.prober.target(), attempt, elapsed_ms = millis(elapsed), "endpoint ready");
            endpoint.ready = true;
        }
        Outcome::NotReady(reason) => {
            debug!(url = %endpoint.prober.target(), reason = %reason, attempt, "not ready");
            if endpoint.last.as_ref() != Some(&reason) {
                info!(
                    url = %endpoint.prober.target(),
                    stage,
                    reason = %reason,
                    attempt,
                    elapsed_ms = millis(elapsed),
                    "not ready yet"
                );
            }
            endpoint.last = Some(reason);
        }
    }
}

/// Each endpoint still not ready, and its latest reason.
fn pending(endpoints: &[Endpoint]) -> Vec<(String, Reason)> {
    endpoints
        .iter()
        .filter(|e| !e.ready)
        .map(|e| (e.prober.target().to_string(), last_reason(e)))
        .collect()
}

/// The endpoint's latest reason; an attempt cut short before any answer leaves none.
fn last_reason(endpoint: &Endpoint) -> Reason {
    endpoint.last.clone().unwrap_or(Reason::NotProbedYet)
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
