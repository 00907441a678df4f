//! `--wait-app-exit`: the proxy container's preStop hook. It returns once the application's TCP
//! sockets are gone, so the kubelet sends the proxy its SIGTERM only after the application has
//! stopped needing it (the shutdown twin of the start-up race; see the README).
//!
//! The pod's containers share one network namespace, so `/proc/net/tcp` and `/proc/net/tcp6`
//! list every container's sockets, each with its owner's uid. A socket is the application's when:
//! - its uid is not one of the proxy's (`--proxy-uid`, by default readygate's own: the hook runs
//!   as the proxy container's user);
//! - a process holds it (inode not 0). TIME_WAIT entries, request sockets (SYN_RECV, which
//!   belong to a listener that is counted itself) and orphans (connections a process closed that
//!   the kernel is still finishing, FIN_WAIT2 and LAST_ACK after close) have no owner left: the
//!   application they came from may be gone, and the kernel shows some of them as uid 0;
//! - it is listening or in a connection: CLOSE (a reset connection whose file is still open)
//!   carries no traffic, so it is ignored; states a newer kernel may add are counted, to be safe.
//!
//! Each check reads both tables into one buffer kept across checks and parses them without
//! allocating per line. Checks run at least [`MIN_GAP`] apart and take at most a
//! 1/[`COST_SHARE`] share of the time, however big the table. The application counts as gone
//! after [`CONFIRMATIONS`] checks in a row find none of its sockets: the kernel builds the table
//! a page per read, and a socket can be skipped when the table changes between two reads.

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::PathBuf;
use std::time::Duration;

use tokio::time::Instant;
use tracing::{debug, info, trace, warn};

use crate::parse::format_duration;
use crate::procnet::{self, Family, Malformed, Socket, State};
use crate::signalfd::{self, Listener};
use crate::sys;
use crate::wait::{millis, Deadline, Progress};

/// The kernel's TCP tables for the reader's network namespace.
pub const TABLES: [(&str, Family); 2] = [
    ("/proc/net/tcp", Family::V4),
    ("/proc/net/tcp6", Family::V6),
];

/// Shortest time between two checks: how late the hook can notice the application has gone.
pub const MIN_GAP: Duration = Duration::from_millis(100);
/// A check may take at most 1/COST_SHARE of the time (5%), however big the pod's tables.
pub const COST_SHARE: u32 = 20;
/// Checks in a row that must find none of the application's sockets.
pub const CONFIRMATIONS: u32 = 2;
/// At most this many distinct application uids are named in logs.
const MAX_UIDS: usize = 4;

/// What to wait for.
#[derive(Clone, Debug)]
pub struct Watch {
    /// Sockets of these uids are the proxy's; never empty.
    pub proxy_uids: Vec<u32>,
    /// `None` waits forever.
    pub timeout: Option<Duration>,
    /// The tables to read: [`TABLES`], or captured files in tests.
    pub tables: Vec<(PathBuf, Family)>,
}

impl Watch {
    /// The system's tables; `proxy_uids` empty means readygate's own uid.
    pub fn new(proxy_uids: &[u32], timeout: Option<Duration>) -> Self {
        let proxy_uids = if proxy_uids.is_empty() {
            vec![sys::effective_uid()]
        } else {
            proxy_uids.to_vec()
        };
        Watch {
            proxy_uids,
            timeout,
            tables: TABLES.iter().map(|&(p, f)| (PathBuf::from(p), f)).collect(),
        }
    }
}

/// How the wait ended.
#[derive(Debug)]
pub enum Exited {
    /// No socket of the application is left.
    Gone,
    /// The deadline passed first; the one-line summary.
    TimedOut(String),
    /// This signal arrived first.
    Interrupted(i32),
    /// A table could not be read or parsed; why.
    Unreadable(String),
}

/// The application's sockets one check found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Census {
    pub listening: u32,
    /// In a connection: being set up, established, or being closed by a process that holds it.
    pub connected: u32,
    /// Their distinct uids, in the order first seen, at most [`MAX_UIDS`].
    pub uids: Vec<u32>,
    /// More uids than [`MAX_UIDS`] were seen.
    pub more_uids: bool,
}

impl Census {
    pub fn is_empty(&self) -> bool {
        self.listening == 0 && self.connected == 0
    }

    fn clear(&mut self) {
        self.listening = 0;
        self.connected = 0;
        self.uids.clear();
        self.more_uids = false;
    }

    fn add(&mut self, kind: Kind, uid: u32) {
        match kind {
            Kind::Listening => self.listening = self.listening.saturating_add(1),
            Kind::Connected => self.connected = self.connected.saturating_add(1),
        }
        if !self.uids.contains(&uid) {
            if self.uids.len() < MAX_UIDS {
                self.uids.push(uid);
            } else {
                self.more_uids = true;
            }
        }
    }

    /// The uids for a log field: `1000,1001`.
    fn uid_list(&self) -> String {
        let list: Vec<String> = self.uids.iter().map(u32::to_string).collect();
        let more = if self.more_uids { ",..." } else { "" };
        format!("{}{more}", list.join(","))
    }

    fn same_counts(&self, other: &Census) -> bool {
        (self.listening, self.connected) == (other.listening, other.connected)
    }
}

impl fmt::Display for Census {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} listening, {} connected",
            self.listening, self.connected
        )?;
        if !self.uids.is_empty() {
            let label = if self.uids.len() > 1 || self.more_uids {
                "uids"
            } else {
                "uid"
            };
            write!(f, " (socket owner {label} {})", self.uid_list())?;
        }
        Ok(())
    }
}

/// Which count an application socket adds to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Listening,
    Connected,
}

/// Whether `socket` is the application's, and which kind (the rule is in the module's note).
pub fn classify(socket: &Socket, proxy_uids: &[u32]) -> Option<Kind> {
    if socket.inode == 0 || proxy_uids.contains(&socket.uid) {
        return None;
    }
    match socket.state {
        State::Listen => Some(Kind::Listening),
        State::TimeWait | State::SynRecv | State::NewSynRecv | State::Close => None,
        State::Established
        | State::SynSent
        | State::FinWait1
        | State::FinWait2
        | State::CloseWait
        | State::LastAck
        | State::Closing
        | State::Other(_) => Some(Kind::Connected),
    }
}

/// Adds the application's sockets in one table's text to `census`. Pure: the parser's first
/// malformed line is the error.
pub fn count(
    table: &[u8],
    family: Family,
    proxy_uids: &[u32],
    census: &mut Census,
) -> Result<(), Malformed> {
    for socket in procnet::sockets(table, family)? {
        let socket = socket?;
        if let Some(kind) = classify(&socket, proxy_uids) {
            census.add(kind, socket.uid);
        }
    }
    Ok(())
}

/// Reads the tables into one buffer that is kept (with its capacity) from check to check.
pub struct Tables {
    paths: Vec<(PathBuf, Family)>,
    buffer: Vec<u8>,
    /// A missing IPv6 table (IPv6 disabled) was already logged.
    said_no_ipv6: bool,
}

impl Tables {
    pub fn new(paths: Vec<(PathBuf, Family)>) -> Self {
        Tables {
            paths,
            buffer: Vec::new(),
            said_no_ipv6: false,
        }
    }

    /// One check: the application's sockets in every table, into `census` (cleared first).
    pub fn check(&mut self, proxy_uids: &[u32], census: &mut Census) -> Result<(), String> {
        census.clear();
        for (path, family) in &self.paths {
            self.buffer.clear();
            let read = File::open(path).and_then(|mut f| f.read_to_end(&mut self.buffer));
            match read {
                Ok(_) => {}
                // A kernel without IPv6 (or with it disabled at boot) has no tcp6 table.
                Err(e) if e.kind() == io::ErrorKind::NotFound && *family == Family::V6 => {
                    if !self.said_no_ipv6 {
                        debug!(path = %path.display(), "no IPv6 table (IPv6 disabled): checking IPv4 only");
                        self.said_no_ipv6 = true;
                    }
                    continue;
                }
                Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
            }
            count(&self.buffer, *family, proxy_uids, census)
                .map_err(|e| format!("cannot parse {}: {e}", path.display()))?;
        }
        Ok(())
    }
}

/// The wait, raced against the signals `listener` hears as ending it.
pub async fn wait_app_exit(watch: &Watch, listener: &mut Listener) -> Exited {
    signalfd::unless_stopped(listener, wait(watch))
        .await
        .unwrap_or_else(Exited::Interrupted)
}

/// Checks until the application's sockets are gone or the deadline passes.
async fn wait(watch: &Watch) -> Exited {
    let start = Instant::now();
    let deadline = Deadline::after(start, watch.timeout);
    let proxy_uids = watch.proxy_uids.as_slice();
    if sys::effective_uid() == 0 && proxy_uids.contains(&0) {
        warn!(
            "readygate runs as root and counts root's sockets as the proxy's: an application \
             that also runs as root is invisible to it, so this may return at once; run the \
             hook as the proxy's own user or give --proxy-uid"
        );
    }
    let mut tables = Tables::new(watch.tables.clone());
    let mut census = Census::default();
    let mut previous = Census::default();
    let mut progress = Progress::new();
    let mut checks: u32 = 0;
    let mut clean: u32 = 0;
    loop {
        let began = Instant::now();
        if let Err(message) = tables.check(proxy_uids, &mut census) {
            return Exited::Unreadable(message);
        }
        let cost = began.elapsed();
        checks = checks.saturating_add(1);
        let elapsed = start.elapsed();
        trace!(
            check_us = micros(cost),
            listening = census.listening,
            connected = census.connected,
            "checked"
        );
        if checks == 1 {
            info!(
                listening = census.listening,
                connected = census.connected,
                uids = census.uid_list().as_str(),
                proxy_uids = list(proxy_uids).as_str(),
                check_us = micros(cost),
                timeout = watch
                    .timeout
                    .map_or("none".into(), format_duration)
                    .as_str(),
                "waiting for the application's TCP sockets to close"
            );
        } else if !census.same_counts(&previous) {
            debug!(
                listening = census.listening,
                connected = census.connected,
                uids = census.uid_list().as_str(),
                checks,
                "the application's sockets changed"
            );
        }
        clean = if census.is_empty() { clean + 1 } else { 0 };
        // At the deadline one clean check is enough: there is no time left to confirm it.
        if clean >= CONFIRMATIONS || (clean > 0 && deadline.passed()) {
            info!(
                elapsed_ms = millis(elapsed),
                checks, "the application's sockets are gone"
            );
            return Exited::Gone;
        }
        if !census.is_empty() && progress.due(elapsed) {
            info!(
                listening = census.listening,
                connected = census.connected,
                uids = census.uid_list().as_str(),
                elapsed_ms = millis(elapsed),
                checks,
                "still waiting for the application's sockets to close"
            );
        }
        if deadline.passed() {
            return Exited::TimedOut(format!(
                "the application still holds TCP sockets after {} ({checks} checks): {census}",
                format_duration(start.elapsed())
            ));
        }
        std::mem::swap(&mut previous, &mut census);
        let gap = MIN_GAP.max(cost.saturating_mul(COST_SHARE));
        let gap = deadline.remaining().map_or(gap, |left| gap.min(left));
        tokio::time::sleep(gap).await;
    }
}

fn list(uids: &[u32]) -> String {
    let list: Vec<String> = uids.iter().map(u32::to_string).collect();
    list.join(",")
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TCP: &[u8] = include_bytes!("../tests/data/proc-net/tcp");
    const TCP6: &[u8] = include_bytes!("../tests/data/proc-net/tcp6");

    fn census(proxy_uids: &[u32]) -> Census {
        let mut c = Census::default();
        count(TCP, Family::V4, proxy_uids, &mut c).unwrap();
        count(TCP6, Family::V6, proxy_uids, &mut c).unwrap();
        c
    }

    #[test]
    fn the_applications_listeners_and_connections_are_counted_in_both_tables() {
        // uid 1000 in the captured tables: listeners on 3000, 3002, 3003 and [::1]:3001; the two
        // ends of 3000 and of [::1]:3001, the client of 3002 and the CLOSE_WAIT end of 3003.
        let c = census(&[0]);
        assert_eq!(
            (c.listening, c.connected, c.uids.as_slice()),
            (4, 6, [1000].as_slice())
        );
    }

    #[test]
    fn sockets_without_a_process_do_not_count_even_as_another_uid() {
        // Seen from a proxy of uid 1337, root's sockets are "the application's", but the TIME_WAIT,
        // orphan and request sockets (all inode 0, most shown as uid 0) are not among them.
        let c = census(&[1337, 1000]);
        let mut held = 0;
        for (table, family) in [(TCP, Family::V4), (TCP6, Family::V6)] {
            for s in procnet::sockets(table, family).unwrap() {
                let s = s.unwrap();
                if s.uid == 0
                    && s.inode != 0
                    && !matches!(s.state, State::TimeWait | State::SynRecv)
                {
                    held += 1;
                }
            }
        }
        assert_eq!(c.listening + c.connected, held);
        assert_eq!(c.uids, [0]);
    }

    #[test]
    fn the_proxys_own_sockets_never_count() {
        assert!(census(&[0, 1000]).is_empty());
    }

    #[test]
    fn time_wait_request_and_closed_sockets_are_ignored_whoever_owns_them() {
        let socket = |state, inode| Socket {
            local: "127.0.0.1:80".parse().unwrap(),
            remote: "127.0.0.1:40000".parse().unwrap(),
            state,
            uid: 1000,
            inode,
        };
        for state in [
            State::TimeWait,
            State::SynRecv,
            State::NewSynRecv,
            State::Close,
        ] {
            assert_eq!(classify(&socket(state, 42), &[1337]), None, "{state:?}");
        }
        assert_eq!(classify(&socket(State::FinWait2, 0), &[1337]), None);
        assert_eq!(
            classify(&socket(State::FinWait2, 42), &[1337]),
            Some(Kind::Connected)
        );
        assert_eq!(
            classify(&socket(State::Other(13), 42), &[1337]),
            Some(Kind::Connected)
        );
        assert_eq!(
            classify(&socket(State::Listen, 42), &[1337]),
            Some(Kind::Listening)
        );
    }

    #[test]
    fn the_census_line_names_counts_and_owners_not_addresses() {
        let mut c = Census::default();
        assert_eq!(c.to_string(), "0 listening, 0 connected");
        c.add(Kind::Listening, 1000);
        c.add(Kind::Connected, 1000);
        assert_eq!(
            c.to_string(),
            "1 listening, 1 connected (socket owner uid 1000)"
        );
        for uid in 1001..1010 {
            c.add(Kind::Connected, uid);
        }
        assert_eq!(
            c.to_string(),
            "1 listening, 10 connected (socket owner uids 1000,1001,1002,1003,...)"
        );
    }

    #[test]
    fn a_missing_ipv6_table_is_fine_and_a_missing_ipv4_table_is_an_error() {
        let dir = std::env::temp_dir().join(format!("readygate-appexit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("tcp"), TCP).unwrap();
        let mut c = Census::default();
        let mut tables = Tables::new(vec![
            (dir.join("tcp"), Family::V4),
            (dir.join("tcp6"), Family::V6),
        ]);
        tables.check(&[0], &mut c).unwrap();
        assert_eq!((c.listening, c.connected), (3, 4));
        let mut tables = Tables::new(vec![(dir.join("none"), Family::V4)]);
        let err = tables.check(&[0], &mut c).unwrap_err();
        assert!(
            err.starts_with("cannot read ") && err.contains("none"),
            "{err}"
        );
        std::fs::write(dir.join("bad"), b"  sl local\n   0: nonsense\n").unwrap();
        let mut tables = Tables::new(vec![(dir.join("bad"), Family::V4)]);
        let err = tables.check(&[0], &mut c).unwrap_err();
        assert!(
            err.contains("cannot parse") && err.contains("line 2"),
            "{err}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
