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
use crate::probe::{Outcome, Prober};
use crate::reason::Reason;
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

/// What to wait for, and how.
#[derive(Clone, Debug)]
pub struct Plan {
    pub targets: Vec<Target>,
    pub expect: StatusSet,
    /// `None` waits forever.
    pub timeout: Option<Duration>,
    pub request_timeout: Duration,
    pub backoff: Backoff,
    /// How long a file:// target must stay unchanged to count as written.
    pub file_settle: Duration,
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
    },
}

impl Waited {
    /// The one-line summary of a timeout: every endpoint still not ready, its last outcome, and
    /// the time waited.
    pub fn timeout_summary(&self) -> Option<String> {
        let Waited::TimedOut {
            elapsed,
            attempts,
            pending,
        } = self
        else {
            return None;
        };
        let endpoints: Vec<String> = pending
            .iter()
            .map(|(url, reason)| format!("{url} ({reason})"))
            .collect();
        Some(format!(
            "not ready after {} ({attempts} attempts): {}",
            format_duration(*elapsed),
            endpoints.join("; ")
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

/// Waits until every target in `plan` is ready or the deadline passes.
pub async fn wait(plan: &Plan) -> Waited {
    let start = Instant::now();
    let deadline = Deadline::after(start, plan.timeout);
    let mut endpoints: Vec<Endpoint> = plan
        .targets
        .iter()
        .map(|target| Endpoint {
            prober: Prober::new(target.clone(), plan.file_settle),
            ready: false,
            last: None,
        })
        .collect();
    let urls: Vec<String> = plan.targets.iter().map(ToString::to_string).collect();
    info!(
        url = urls.join(", ").as_str(),
        timeout = plan.timeout.map_or("none".into(), format_duration).as_str(),
        "waiting for the sidecar to be ready"
    );
    let mut jitter = Jitter::from_entropy();
    let mut progress = Progress::new();
    let mut attempt: u32 = 0;
    loop {
        attempt = attempt.saturating_add(1);
        let limit = deadline
            .remaining()
            .map_or(plan.request_timeout, |r| r.min(plan.request_timeout));
        let outcomes = probe_pending(&mut endpoints, &plan.expect, limit).await;
        let elapsed = start.elapsed();
        // An attempt the overall deadline interrupted (no reply yet, or a body cut before its
        // text) says less than the one before it, so it does not replace that reason.
        let interrupted = deadline.passed();
        for (endpoint, outcome) in endpoints.iter_mut().filter(|e| !e.ready).zip(outcomes) {
            let weaker = interrupted && outcome != Outcome::Ready && endpoint.last.is_some();
            if !weaker {
                record(endpoint, outcome, attempt, elapsed);
            }
        }
        if endpoints.iter().all(|e| e.ready) {
            info!(elapsed_ms = millis(elapsed), attempts = attempt, "ready");
            return Waited::Ready {
                elapsed,
                attempts: attempt,
            };
        }
        if progress.due(elapsed) {
            for e in endpoints.iter().filter(|e| !e.ready) {
                info!(
                    url = %e.prober.target(),
                    reason = %last_reason(e),
                    attempt,
                    elapsed_ms = millis(elapsed),
                    "still waiting"
                );
            }
        }
        if deadline.passed() {
            return timed_out(&endpoints, start.elapsed(), attempt);
        }
        let delay = plan
            .backoff
            .delay(start.elapsed(), jitter.next_unit(), deadline.remaining());
        // A file seen changing may settle before the backoff's next look: look then instead.
        let delay = endpoints
            .iter()
            .filter(|e| !e.ready)
            .filter_map(|e| e.prober.settles_in())
            .fold(delay, Duration::min);
        tokio::time::sleep(delay).await;
        if deadline.passed() {
            return timed_out(&endpoints, start.elapsed(), attempt);
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

fn record(endpoint: &mut Endpoint, outcome: Outcome, attempt: u32, elapsed: Duration) {
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

fn timed_out(endpoints: &[Endpoint], elapsed: Duration, attempts: u32) -> Waited {
    let pending = endpoints
        .iter()
        .filter(|e| !e.ready)
        .map(|e| (e.prober.target().to_string(), last_reason(e)))
        .collect();
    Waited::TimedOut {
        elapsed,
        attempts,
        pending,
    }
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
        };
        assert_eq!(
            waited.timeout_summary().as_deref(),
            Some(
                "not ready after 3s (9 attempts): http://localhost:15020/healthz/ready (503 \"x\"); \
                 tcp://localhost:15001 (nothing listening on localhost:15001 yet)"
            )
        );
    }
}
