//! Job mode's last step: POST the sidecar's quit URL(s) so the proxy exits and the Job's pod
//! can complete, then check that it did.
//!
//! Every POST is bounded: `QUIT_BUDGET` covers connecting, retries and the reply head. All quit
//! URLs are POSTed at once, so N sidecars cost one budget, not N, and one failing never stops
//! the others. Only connection failures are retried (the proxy may be restarting its admin
//! listener); anything the proxy answered is final.
//!
//! A proxy that accepts the quit does not always exit (Linkerd once logged its `/shutdown` and
//! kept running; the Job then ran until a liveness probe killed it). So each accepted quit is
//! confirmed: the quit URL's port must stop accepting connections within `CONFIRM_BOUND`,
//! polled every `CONFIRM_INTERVAL`, all sidecars at once; one warning names each that did not.
//! A quit never changes readygate's exit code: it is reported, not returned.

use std::time::Duration;

use hyper::header::{CONNECTION, CONTENT_LENGTH};
use hyper::Method;
use tokio::net::TcpStream;
use tokio::time::{timeout_at, Instant};
use tracing::{debug, info, warn};

use crate::net::{self, Exchange, Failure, QuickAck};
use crate::target::{Kind, Target};

/// Time allowed for one quit URL, retries included.
pub const QUIT_BUDGET: Duration = Duration::from_secs(2);
/// Connection attempts per quit URL.
const CONNECT_ATTEMPTS: u32 = 3;
/// Pause after the first failed connection; doubled after each further one.
const RETRY_DELAY: Duration = Duration::from_millis(100);

/// How long a sidecar that took its quit may keep accepting connections before readygate warns
/// that it did not go away. Envoy's admin and the mock proxies exit at once. Istio releases
/// before istio/istio#55424 drain for terminationDrainDuration (5 s by default) after a quit
/// before exiting, so with them the warning can come before a proxy that does exit.
pub const CONFIRM_BOUND: Duration = Duration::from_secs(2);
/// Pause between two checks of a sidecar's port: a connect on loopback costs microseconds.
const CONFIRM_INTERVAL: Duration = Duration::from_millis(50);

/// How one quit ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Quit {
    /// A 2xx: the proxy is shutting down.
    Accepted(u16),
    /// The proxy closed or reset the connection without a reply: it went away, as asked.
    Dropped,
    /// The proxy took the quit (a 2xx or a dropped connection) but its port still accepted
    /// connections `CONFIRM_BOUND` later.
    NotGone,
    /// 403, 404 or 405: the endpoint exists but is disabled (Linkerd without
    /// `enableShutdownEndpoint`), or the URL is wrong.
    Disabled(u16),
    /// Any other status.
    Rejected(u16),
    /// No connection after every attempt.
    Unreachable(Failure),
    /// Connected, but no reply head within the budget.
    NoReply,
    /// Anything else (a reply that is not HTTP, a URL that cannot be POSTed).
    Failed(Failure),
}

impl Quit {
    /// Whether the proxy can be taken to be exiting.
    pub fn succeeded(&self) -> bool {
        matches!(self, Quit::Accepted(_) | Quit::Dropped)
    }

    fn describe(&self) -> String {
        match self {
            Quit::Accepted(code) => format!("accepted ({code})"),
            Quit::Dropped => "connection closed without a reply (the proxy is exiting)".into(),
            Quit::NotGone => format!(
                "accepted, but still accepting connections {}s later",
                CONFIRM_BOUND.as_secs()
            ),
            Quit::Disabled(code) => format!("{code}: the quit endpoint is disabled or wrong"),
            Quit::Rejected(code) => format!("rejected ({code})"),
            Quit::Unreachable(detail) => format!("unreachable: {detail}"),
            Quit::NoReply => format!("no reply within {}s", QUIT_BUDGET.as_secs()),
            Quit::Failed(failure) => failure.to_string(),
        }
    }
}

/// How a quit endpoint's refusal (403, 404, 405) is logged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// A warning: the sidecar keeps running, and the Job's pod with it.
    Warn,
    /// An info line: the pod's facts left open whether the sidecar needs a quit at all (a
    /// Linkerd proxy that may be a native sidecar), and the line before the quit said so.
    Expected,
}

/// Quits every sidecar at once, logs one line for each, then confirms at once that each one
/// that took its quit went away (one warning for each that did not), and with several sidecars
/// ends with one summary line. Returns the outcomes in order.
pub async fn quit_all(targets: &[Target], refusal: Refusal) -> Vec<Quit> {
    if targets.is_empty() {
        // --mesh none without --quit-url: the command ran without a sidecar.
        info!("no sidecar to quit (--mesh none and no --quit-url)");
        return Vec::new();
    }
    let mut outcomes = net::join_all(targets.iter().map(quit)).await;
    for (target, outcome) in targets.iter().zip(&outcomes) {
        log(target, outcome, refusal);
    }
    let taken: Vec<usize> = (0..outcomes.len())
        .filter(|&i| outcomes[i].succeeded())
        .collect();
    let gone = net::join_all(taken.iter().map(|&i| went_away(&targets[i]))).await;
    for (i, gone) in taken.into_iter().zip(gone) {
        if !gone {
            warn!(
                url = %targets[i],
                "the sidecar took its quit but did not go away: it still accepts connections {}s \
                 later (draining, or ignoring the quit); the Job's pod completes only once it exits",
                CONFIRM_BOUND.as_secs()
            );
            outcomes[i] = Quit::NotGone;
        }
    }
    if targets.len() > 1 {
        summarise(targets, &outcomes);
    }
    outcomes
}

/// One line for one quit POST.
fn log(target: &Target, outcome: &Quit, refusal: Refusal) {
    let text = outcome.describe();
    match outcome {
        o if o.succeeded() => info!(url = %target, outcome = text.as_str(), "quit the sidecar"),
        Quit::Disabled(_) if refusal == Refusal::Expected => info!(
            url = %target,
            outcome = text.as_str(),
            "the sidecar's quit endpoint refused, as expected of a native sidecar or a shutdown \
             endpoint left off"
        ),
        Quit::Disabled(_) => warn!(
            url = %target,
            outcome = text.as_str(),
            "the sidecar's quit endpoint refused; it keeps running (enable its shutdown \
             endpoint, or set --quit-url)"
        ),
        _ => warn!(
            url = %target,
            outcome = text.as_str(),
            "could not quit the sidecar; it keeps running"
        ),
    }
}

/// One line for several sidecars: a warning when any was not quit.
fn summarise(targets: &[Target], outcomes: &[Quit]) {
    match summary(targets, outcomes) {
        (true, line) => info!("{line}"),
        (false, line) => warn!("{line}"),
    }
}

/// "quit 2 of 3 sidecars; not quit: URL (reason)", and whether every sidecar was quit.
fn summary(targets: &[Target], outcomes: &[Quit]) -> (bool, String) {
    let quit = outcomes.iter().filter(|o| o.succeeded()).count();
    let not_quit: Vec<String> = targets
        .iter()
        .zip(outcomes)
        .filter(|(_, o)| !o.succeeded())
        .map(|(t, o)| format!("{t} ({})", o.describe()))
        .collect();
    if not_quit.is_empty() {
        return (true, format!("quit all {quit} sidecars"));
    }
    let line = format!(
        "quit {quit} of {} sidecars; not quit: {}",
        targets.len(),
        not_quit.join("; ")
    );
    (false, line)
}

/// Whether the sidecar behind `target` stopped accepting connections within `CONFIRM_BOUND`.
/// Any failure to connect counts as gone except a reset, which takes a live peer.
async fn went_away(target: &Target) -> bool {
    let deadline = Instant::now() + CONFIRM_BOUND;
    loop {
        match timeout_at(deadline, net::connect(target)).await {
            Ok(Err(Failure::Reset)) | Ok(Ok(_)) => {}
            Ok(Err(failure)) => {
                debug!(url = %target, reason = %failure, "the sidecar went away");
                return true;
            }
            // A connect that hangs (a full backlog) is not a closed port.
            Err(_) => return false,
        }
        let now = Instant::now();
        if now >= deadline {
            return false;
        }
        tokio::time::sleep_until((now + CONFIRM_INTERVAL).min(deadline)).await;
    }
}

/// POSTs one quit URL, within `QUIT_BUDGET`.
pub async fn quit(target: &Target) -> Quit {
    let Kind::Http { path } = target.kind() else {
        return Quit::Failed(Failure::Other("a quit URL must be http://".into()));
    };
    let deadline = Instant::now() + QUIT_BUDGET;
    let stream = match timeout_at(deadline, connect_with_retries(target)).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(failure)) => return Quit::Unreachable(failure),
        Err(_) => {
            let within = format!("no connection within {}s", QUIT_BUDGET.as_secs());
            return Quit::Unreachable(Failure::Other(within));
        }
    };
    timeout_at(deadline, post(stream, &target.authority(), path))
        .await
        .unwrap_or(Quit::NoReply)
}

/// Connects, retrying connection failures a few times with a short, growing pause.
async fn connect_with_retries(target: &Target) -> Result<TcpStream, Failure> {
    let mut delay = RETRY_DELAY;
    let mut attempt = 1;
    loop {
        match net::connect(target).await {
            Ok(stream) => return Ok(stream),
            Err(failure) if attempt >= CONNECT_ATTEMPTS => return Err(failure),
            Err(failure) => {
                debug!(url = %target, attempt, reason = %failure, "quit: retrying");
                tokio::time::sleep(delay).await;
                delay *= 2;
                attempt += 1;
            }
        }
    }
}

/// Sends the POST over `stream` (asking the proxy to close the connection after its reply) and
/// classifies what came back.
async fn post(stream: TcpStream, authority: &str, path: &str) -> Quit {
    let headers = [(CONTENT_LENGTH, "0"), (CONNECTION, "close")];
    let sent = async {
        let request = net::request(Method::POST, authority, path, &headers)?;
        // Over QuickAck as the probe is: one HTTP client type in the binary instead of two.
        Exchange::open(QuickAck(stream)).await?.send(request).await
    };
    match sent.await {
        Ok(response) => classify_status(response.status().as_u16()),
        // The proxy closed or reset the connection with our request pending: it is exiting.
        Err(failure) if failure.peer_went_away() => Quit::Dropped,
        Err(failure) => Quit::Failed(failure),
    }
}

/// The outcome a status stands for.
pub fn classify_status(code: u16) -> Quit {
    match code {
        200..=299 => Quit::Accepted(code),
        403..=405 => Quit::Disabled(code),
        _ => Quit::Rejected(code),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disabled_endpoints_are_told_apart_from_other_refusals() {
        assert_eq!(classify_status(200), Quit::Accepted(200));
        assert_eq!(classify_status(204), Quit::Accepted(204));
        for code in [403, 404, 405] {
            assert_eq!(classify_status(code), Quit::Disabled(code));
        }
        assert_eq!(classify_status(500), Quit::Rejected(500));
        assert_eq!(classify_status(302), Quit::Rejected(302));
    }

    #[test]
    fn only_a_reply_or_a_dropped_connection_counts_as_success() {
        assert!(Quit::Accepted(200).succeeded());
        assert!(Quit::Dropped.succeeded());
        assert!(!Quit::Disabled(404).succeeded());
        assert!(!Quit::NoReply.succeeded());
        assert!(!Quit::Unreachable(Failure::Reset).succeeded());
        assert!(!Quit::NotGone.succeeded());
    }

    #[test]
    fn the_summary_names_every_sidecar_not_quit_and_why() {
        let targets: Vec<Target> = ["http://a:1/q", "http://b:2/q", "http://c:3/q"]
            .iter()
            .map(|t| t.parse().unwrap())
            .collect();
        let outcomes = [Quit::Accepted(200), Quit::Disabled(404), Quit::NotGone];
        assert_eq!(
            summary(&targets, &outcomes),
            (
                false,
                "quit 1 of 3 sidecars; not quit: http://b:2/q (404: the quit endpoint is disabled \
                 or wrong); http://c:3/q (accepted, but still accepting connections 2s later)"
                    .to_string()
            )
        );
        let outcomes = [Quit::Accepted(200), Quit::Dropped, Quit::Accepted(204)];
        assert_eq!(
            summary(&targets, &outcomes),
            (true, "quit all 3 sidecars".to_string())
        );
    }
}
