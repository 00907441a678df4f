//! One stage of the wait: its targets probed until each has passed once, with backoff, progress
//! lines and the wait's one deadline.
//!
//! An attempt is split in two, probing and recording, so that the sidecar stage can look at its
//! first attempt before anything is logged about it (`sidecar.rs`); every other use runs the
//! stage to its end with [`StageRun::run`].

use std::time::Duration;

use tokio::time::Instant;
use tracing::{debug, info};

use super::clock::{millis, Clock, Progress};
use super::plan::{Plan, Stage};
use crate::backoff::Jitter;
use crate::net;
use crate::parse::StatusSet;
use crate::probe::{Outcome, Prober, Reason};
use crate::target::{Kind, Target};

/// How one stage ended.
pub(super) enum StageEnd {
    Ready,
    /// The deadline passed; each endpoint still pending and why.
    TimedOut(Vec<(String, Reason)>),
}

struct Endpoint {
    prober: Prober,
    ready: bool,
    last: Option<Reason>,
}

/// One attempt's outcomes, probed but not yet recorded.
pub(super) struct Attempt {
    number: u32,
    elapsed: Duration,
    /// The deadline passed while probing: outcomes without an answer say less than before.
    interrupted: bool,
    /// One for each endpoint that was pending, in order.
    outcomes: Vec<Outcome>,
}

impl Attempt {
    /// Whether every endpoint probed in this attempt passed.
    pub(super) fn all_ready(&self) -> bool {
        self.outcomes.iter().all(|o| *o == Outcome::Ready)
    }
}

/// A stage in progress: its endpoints, its own backoff clock and progress throttle.
pub(super) struct StageRun<'p> {
    /// The stage's name in log lines; `None` in a one-stage wait, whose lines stay as they were.
    name: Option<&'static str>,
    plan: &'p Plan,
    start: Instant,
    endpoints: Vec<Endpoint>,
    jitter: Jitter,
    progress: Progress,
}

impl<'p> StageRun<'p> {
    /// The stage over `targets`; with `staged`, log lines name the stage.
    pub(super) fn new(stage: Stage, targets: &[Target], plan: &'p Plan, staged: bool) -> Self {
        StageRun {
            name: staged.then_some(stage.name()),
            plan,
            start: Instant::now(),
            endpoints: targets
                .iter()
                .map(|target| Endpoint {
                    prober: Prober::new(target.clone(), plan.settle),
                    ready: false,
                    last: None,
                })
                .collect(),
            jitter: Jitter::from_entropy(),
            progress: Progress::new(),
        }
    }

    /// Probes until every endpoint has passed once, or the deadline passes. `attempted`: an
    /// attempt was already made and recorded, so the backoff's delay comes first.
    pub(super) async fn run(mut self, clock: &mut Clock, attempted: bool) -> StageEnd {
        if attempted {
            if let Some(end) = self.pause(clock).await {
                return end;
            }
        } else if clock.deadline.passed() {
            // An earlier stage may have used up the whole timeout: then these targets were not
            // probed, rather than probed with no time to answer.
            return StageEnd::TimedOut(self.pending());
        }
        loop {
            let attempt = self.probe(clock).await;
            if self.record(attempt) {
                return StageEnd::Ready;
            }
            if let Some(end) = self.pause(clock).await {
                return end;
            }
        }
    }

    /// One attempt: every endpoint not yet ready, probed concurrently in this task (no task is
    /// spawned: each probe borrows its own endpoint's connection).
    pub(super) async fn probe(&mut self, clock: &mut Clock) -> Attempt {
        clock.attempts = clock.attempts.saturating_add(1);
        let limit = clock
            .deadline
            .remaining()
            .map_or(self.plan.request_timeout, |r| {
                r.min(self.plan.request_timeout)
            });
        let outcomes = probe_pending(&mut self.endpoints, &self.plan.expect, limit).await;
        Attempt {
            number: clock.attempts,
            elapsed: clock.start.elapsed(),
            interrupted: clock.deadline.passed(),
            outcomes,
        }
    }

    /// Records an attempt's outcomes, logging each reason that changed; whether every endpoint
    /// has now passed.
    pub(super) fn record(&mut self, attempt: Attempt) -> bool {
        let pending = self.endpoints.iter_mut().filter(|e| !e.ready);
        for (endpoint, outcome) in pending.zip(attempt.outcomes) {
            // An attempt the overall deadline interrupted (no reply yet, or a body cut before
            // its text) says less than the one before it, so it does not replace that reason.
            let weaker =
                attempt.interrupted && outcome != Outcome::Ready && endpoint.last.is_some();
            if !weaker {
                record(
                    endpoint,
                    outcome,
                    attempt.number,
                    attempt.elapsed,
                    self.name,
                );
            }
        }
        self.endpoints.iter().all(|e| e.ready)
    }

    /// After an attempt that left endpoints pending: the throttled progress lines, then the
    /// backoff's delay; `Some` when the deadline passed.
    async fn pause(&mut self, clock: &Clock) -> Option<StageEnd> {
        let elapsed = clock.start.elapsed();
        if self.progress.due(self.start.elapsed()) {
            for e in self.endpoints.iter().filter(|e| !e.ready) {
                info!(
                    url = %e.prober.target(),
                    stage = self.name,
                    reason = %last_reason(e),
                    attempt = clock.attempts,
                    elapsed_ms = millis(elapsed),
                    "still waiting"
                );
            }
        }
        if clock.deadline.passed() {
            return Some(StageEnd::TimedOut(self.pending()));
        }
        let delay = self.plan.backoff.delay(
            self.start.elapsed(),
            self.jitter.next_unit(),
            clock.deadline.remaining(),
        );
        // A file seen changing may settle before the backoff's next look: look then instead.
        let delay = self
            .endpoints
            .iter()
            .filter(|e| !e.ready)
            .filter_map(|e| e.prober.settles_in())
            .fold(delay, Duration::min);
        tokio::time::sleep(delay).await;
        clock
            .deadline
            .passed()
            .then(|| StageEnd::TimedOut(self.pending()))
    }

    /// Closes what the pending endpoints hold open between attempts: an HTTP endpoint's
    /// kept-alive connection (the next attempt opens a new one). The sidecar stage calls it
    /// before gathering the pod's facts, which open a file and a netlink socket: the descriptor
    /// budget (`RUNTIME_DESCRIPTORS` in main.rs) counts one probe socket, not that socket too.
    /// Other kinds hold no descriptor between attempts, and a file target's settle clock must
    /// not restart, so they are left as they are.
    pub(super) fn close_connections(&mut self) {
        for endpoint in self.endpoints.iter_mut().filter(|e| !e.ready) {
            if let Kind::Http { .. } = endpoint.prober.target().kind() {
                let target = endpoint.prober.target().clone();
                endpoint.prober = Prober::new(target, self.plan.settle);
            }
        }
    }

    /// Each endpoint still not ready, and its latest reason.
    pub(super) fn pending(&self) -> Vec<(String, Reason)> {
        self.endpoints
            .iter()
            .filter(|e| !e.ready)
            .map(|e| (e.prober.target().to_string(), last_reason(e)))
            .collect()
    }
}

/// Probes every endpoint not yet ready, concurrently; returns their outcomes in order.
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
            debug!(
                url = %endpoint.prober.target(),
                attempt,
                elapsed_ms = millis(elapsed),
                "endpoint ready"
            );
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

/// The endpoint's latest reason; an attempt cut short before any answer leaves none.
fn last_reason(endpoint: &Endpoint) -> Reason {
    endpoint.last.clone().unwrap_or(Reason::NotProbedYet)
}
