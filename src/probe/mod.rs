//! One attempt against one endpoint, whatever its kind, behind one interface: the [`Prober`]
//! keeps a target's state between attempts and dispatches each attempt to its kind's file.
//!
//! - `http`: GET until an expected status (the connection kept alive between attempts)
//! - `tcp`: a connection accepted and not dropped at once
//! - `file`: one `stat`, and whether the file has settled
//! - `redis`, `postgres`, `mysql`: one round trip in the server's own protocol (`wire`), judged
//!   by a pure function of the reply bytes
//! - `reason`: the outcome of an attempt and why it was not ready, for every kind
//!
//! Every failure is a [`Reason`], never an error that ends the gate: the wait loop decides what
//! to do with it. Every network attempt ends within the per-request timeout.

pub mod file;
pub mod http;
pub mod mysql;
pub mod postgres;
pub mod reason;
pub mod redis;
pub mod tcp;
pub mod wire;

use std::time::Duration;

use tokio::time::{timeout_at, Instant};

use crate::parse::StatusSet;
use crate::target::{Kind, Target};

pub use reason::{Outcome, Reason, Verdict};

use file::FileProbe;
use http::Http;
use wire::Protocol;

/// How long a target must stay as it is to count as ready, by kind (--file-settle,
/// --tcp-settle).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settle {
    /// A file:// target's file must be unchanged this long.
    pub file: Duration,
    /// A tcp:// connection must stay open (or bring a byte) this long.
    pub tcp: Duration,
}

/// Probes one endpoint, attempt after attempt, keeping what its kind needs between attempts.
pub struct Prober {
    target: Target,
    state: State,
}

/// A target's state between attempts, by kind. (An HTTP target's kept-alive connection is large
/// and boxed: one allocation per target, made once.)
enum State {
    Http(Box<Http>),
    Tcp { settle: Duration },
    File(FileProbe),
    Wire(&'static Protocol),
}

impl Prober {
    /// A prober for `target`; nothing is opened until the first attempt.
    pub fn new(target: Target, settle: Settle) -> Self {
        let state = match target.kind() {
            Kind::Http { path } => State::Http(Box::new(Http::new(&target, path))),
            Kind::Tcp => State::Tcp { settle: settle.tcp },
            Kind::File { path } => State::File(FileProbe::new(path.clone(), settle.file)),
            Kind::Redis => State::Wire(&redis::REDIS),
            Kind::Postgres => State::Wire(&postgres::POSTGRES),
            Kind::Mysql => State::Wire(&mysql::MYSQL),
        };
        Prober { target, state }
    }

    /// For a file target seen changing: how soon it will have settled if it changes no more.
    pub fn settles_in(&self) -> Option<Duration> {
        match &self.state {
            State::File(file) => file.settles_in(Instant::now()),
            _ => None,
        }
    }

    /// The endpoint this prober probes.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// Probes once; the whole attempt ends within `limit`.
    pub async fn probe(&mut self, expect: &StatusSet, limit: Duration) -> Outcome {
        let deadline = Instant::now() + limit;
        let target = &self.target;
        match &mut self.state {
            // One stat: nothing to time out on a local filesystem.
            State::File(file) => file.probe(),
            State::Http(http) => http.probe(target, expect, deadline, limit).await,
            State::Tcp { settle } => tcp::probe(target, *settle, deadline, limit).await,
            State::Wire(protocol) => {
                match timeout_at(deadline, wire::round_trip(target, protocol)).await {
                    Ok(outcome) => outcome,
                    Err(_) => Outcome::NotReady(Reason::NoReply { within: limit }),
                }
            }
        }
    }
}

/// A reply captured from a real server (Redis 7.0.15, PostgreSQL 15.18, MariaDB 10.11.19 on
/// Debian 12; how: tests/data/replies/README.md), for the protocol parsers' unit tests.
#[cfg(test)]
pub(crate) fn captured(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/data/replies/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}
