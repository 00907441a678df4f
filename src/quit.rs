//! Job mode's last step: POST the sidecar's quit URL(s) so the proxy exits and the Job's pod
//! can complete.
//!
//! Every POST is bounded: `QUIT_BUDGET` covers connecting, retries and the reply head, so a
//! proxy that hangs delays readygate's exit by at most that much per URL. Only connection
//! failures are retried (the proxy may be restarting its admin listener); anything the proxy
//! answered is final. A quit never changes readygate's exit code: it is reported, not returned.

use std::time::Duration;

use hyper::header::{CONNECTION, CONTENT_LENGTH};
use hyper::Method;
use tokio::net::TcpStream;
use tokio::time::{timeout_at, Instant};
use tracing::{debug, info, warn};

use crate::net::{self, Exchange, Failure};
use crate::target::{Kind, Target};

/// Time allowed for one quit URL, retries included.
pub const QUIT_BUDGET: Duration = Duration::from_secs(2);
/// Connection attempts per quit URL.
const CONNECT_ATTEMPTS: u32 = 3;
/// Pause after the first failed connection; doubled after each further one.
const RETRY_DELAY: Duration = Duration::from_millis(100);

/// How one quit POST ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Quit {
    /// A 2xx: the proxy is shutting down.
    Accepted(u16),
    /// The proxy closed or reset the connection without a reply: it went away, as asked.
    Dropped,
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
            Quit::Disabled(code) => format!("{code}: the quit endpoint is disabled or wrong"),
            Quit::Rejected(code) => format!("rejected ({code})"),
            Quit::Unreachable(detail) => format!("unreachable: {detail}"),
            Quit::NoReply => format!("no reply within {}s", QUIT_BUDGET.as_secs()),
            Quit::Failed(failure) => failure.to_string(),
        }
    }
}

/// POSTs every quit URL in turn and logs one line for each; returns the outcomes in order.
pub async fn quit_all(targets: &[Target]) -> Vec<Quit> {
    let mut outcomes = Vec::with_capacity(targets.len());
    for target in targets {
        let outcome = quit(target).await;
        let text = outcome.describe();
        match &outcome {
            o if o.succeeded() => info!(url = %target, outcome = text.as_str(), "quit the sidecar"),
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
        outcomes.push(outcome);
    }
    outcomes
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
        Exchange::open(stream).await?.send(request).await
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
    }
}
