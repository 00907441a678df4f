//! The kernel's TCP socket tables, `/proc/net/tcp` and `/proc/net/tcp6`, parsed: a pure function
//! of their text, so that tests can feed it captured tables and a fuzzer can feed it anything.
//!
//! One line per socket of the reader's network namespace (in a pod: every container's sockets),
//! after a header line:
//!
//! ```text
//!   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
//!    0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 58799 1 ...
//! ```
//!
//! Addresses are the kernel's network-order words printed as host-order hex (so 127.0.0.1 reads
//! `0100007F` on x86 and arm64), ports are plain hex, the state is the kernel's `TCP_*` number,
//! and uid and inode are decimal. The inode is 0 when no file holds the socket: TIME_WAIT entries,
//! request sockets (SYN_RECV), and connections their process closed that the kernel is still
//! finishing (orphans). See `get_tcp4_sock`, `get_openreq4` and `get_timewait4_sock` in the
//! kernel's net/ipv4/tcp_ipv4.c.
//!
//! The iterator borrows the text and allocates nothing per line: a busy pod's table has
//! thousands of lines and `--wait-app-exit` reads it several times a second.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

/// Which table: `/proc/net/tcp` (IPv4) or `/proc/net/tcp6` (IPv6, including IPv4-mapped).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    V4,
    V6,
}

/// A TCP state, numbered as the kernel's `include/net/tcp_states.h`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Established,
    SynSent,
    SynRecv,
    FinWait1,
    FinWait2,
    TimeWait,
    Close,
    CloseWait,
    LastAck,
    Listen,
    Closing,
    NewSynRecv,
    /// A number this code does not know (a newer kernel's state).
    Other(u8),
}

impl State {
    fn from_code(code: u8) -> State {
        match code {
            0x01 => State::Established,
            0x02 => State::SynSent,
            0x03 => State::SynRecv,
            0x04 => State::FinWait1,
            0x05 => State::FinWait2,
            0x06 => State::TimeWait,
            0x07 => State::Close,
            0x08 => State::CloseWait,
            0x09 => State::LastAck,
            0x0A => State::Listen,
            0x0B => State::Closing,
            0x0C => State::NewSynRecv,
            other => State::Other(other),
        }
    }
}

/// One socket: the fields of a line that readygate uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Socket {
    pub local: SocketAddr,
    pub remote: SocketAddr,
    pub state: State,
    /// The owner's uid, as seen from the reader's user namespace.
    pub uid: u32,
    /// The socket's inode; 0 when no process holds it (see the module's note).
    pub inode: u64,
}

/// Why a table could not be read: the line (1 is the header) and what was wrong with it. The
/// line's text is left out: it is input, and this ends up in logs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Malformed {
    pub line: usize,
    pub what: &'static str,
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.what)
    }
}

impl std::error::Error for Malformed {}

/// The sockets of a table's text. Fails at once if the header is missing; each later line is
/// an `Ok(Socket)` or, if malformed, an `Err` (the caller decides whether to stop).
pub fn sockets(table: &[u8], family: Family) -> Result<Sockets<'_>, Malformed> {
    let mut lines = table.split(is_newline as fn(&u8) -> bool);
    let header = lines.next().unwrap_or_default();
    if fields(header).next() != Some(b"sl".as_slice()) {
        return Err(Malformed {
            line: 1,
            what: "no header line (expected one starting with \"sl\")",
        });
    }
    Ok(Sockets {
        lines,
        family,
        line: 1,
    })
}

/// The iterator [`sockets`] returns.
pub struct Sockets<'a> {
    lines: std::slice::Split<'a, u8, fn(&u8) -> bool>,
    family: Family,
    line: usize,
}

impl Iterator for Sockets<'_> {
    type Item = Result<Socket, Malformed>;

    fn next(&mut self) -> Option<Self::Item> {
        let text = self.lines.next()?;
        self.line += 1;
        // The table ends with a newline, which leaves one empty piece after it.
        if text.is_empty() && self.lines.clone().next().is_none() {
            return None;
        }
        Some(parse_line(text, self.family).map_err(|what| Malformed {
            line: self.line,
            what,
        }))
    }
}

fn is_newline(b: &u8) -> bool {
    *b == b'\n'
}

/// The space-separated fields of a line (the kernel pads with runs of spaces).
fn fields(line: &[u8]) -> impl Iterator<Item = &[u8]> {
    line.split(|&b| b == b' ').filter(|f| !f.is_empty())
}

fn parse_line(line: &[u8], family: Family) -> Result<Socket, &'static str> {
    let mut f = fields(line);
    let mut next = |name: &'static str| f.next().ok_or(name);
    let slot = next("missing fields")?;
    if slot.len() < 2 || slot.last() != Some(&b':') || decimal(&slot[..slot.len() - 1]).is_none() {
        return Err("the first field is not a slot number (\"N:\")");
    }
    let local = address(next("no local address")?, family).ok_or("bad local address")?;
    let remote = address(next("no remote address")?, family).ok_or("bad remote address")?;
    let state = next("no state")?;
    let state = match (state.len(), hex(state)) {
        (2, Some(code)) => State::from_code(code as u8),
        _ => return Err("bad state (expected two hex digits)"),
    };
    // tx_queue:rx_queue, tr:tm->when and retrnsmt: present, but readygate has no use for them.
    for name in ["no queue sizes", "no timer", "no retransmit count"] {
        next(name)?;
    }
    let uid = decimal(next("no uid")?).ok_or("bad uid")?;
    let uid = u32::try_from(uid).map_err(|_| "uid out of range")?;
    next("no timeout")?;
    let inode = decimal(next("no inode")?).ok_or("bad inode")?;
    Ok(Socket {
        local,
        remote,
        state,
        uid,
        inode,
    })
}

/// `ADDR:PORT` in the table's hex: 8 digits of address for IPv4, 32 for IPv6, then 4 of port.
fn address(text: &[u8], family: Family) -> Option<SocketAddr> {
    let digits = match family {
        Family::V4 => 8,
        Family::V6 => 32,
    };
    if text.len() != digits + 5 || text[digits] != b':' {
        return None;
    }
    let port = u16::try_from(hex(&text[digits + 1..])?).ok()?;
    // Each 8-digit word is a network-order word read as a host-order integer: its in-memory
    // (native-endian) bytes are the address bytes in order.
    let mut bytes = [0u8; 16];
    for (word, chunk) in text[..digits].chunks(8).enumerate() {
        let value = u32::try_from(hex(chunk)?).ok()?;
        bytes[word * 4..word * 4 + 4].copy_from_slice(&value.to_ne_bytes());
    }
    let ip = match family {
        Family::V4 => Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]).into(),
        Family::V6 => Ipv6Addr::from(bytes).into(),
    };
    Some(SocketAddr::new(ip, port))
}

/// Up to 16 hex digits (upper or lower case); `None` for anything else.
fn hex(text: &[u8]) -> Option<u64> {
    if text.is_empty() || text.len() > 16 {
        return None;
    }
    text.iter().try_fold(0u64, |n, &b| {
        let digit = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            b'A'..=b'F' => b - b'A' + 10,
            _ => return None,
        };
        Some(n << 4 | u64::from(digit))
    })
}

/// Decimal digits that fit a u64; `None` for anything else (no sign, no spaces).
fn decimal(text: &[u8]) -> Option<u64> {
    if text.is_empty() {
        return None;
    }
    text.iter().try_fold(0u64, |n, &b| {
        if !b.is_ascii_digit() {
            return None;
        }
        n.checked_mul(10)?.checked_add(u64::from(b - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // Real tables, captured in a private network namespace by tests/data/proc-net/capture.py
    // (which says how each state was produced). uid 1000 is the "application" there.
    const TCP: &[u8] = include_bytes!("../tests/data/proc-net/tcp");
    const TCP6: &[u8] = include_bytes!("../tests/data/proc-net/tcp6");

    fn all(table: &[u8], family: Family) -> Vec<Socket> {
        sockets(table, family)
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    fn find(table: &[Socket], local: &str, remote: &str) -> Socket {
        let (local, remote) = (local.parse().unwrap(), remote.parse().unwrap());
        *table
            .iter()
            .find(|s| s.local == local && s.remote == remote)
            .unwrap_or_else(|| panic!("no socket {local} -> {remote}"))
    }

    #[test]
    fn every_line_of_a_captured_ipv4_table_parses() {
        assert_eq!(all(TCP, Family::V4).len(), 27);
    }

    #[test]
    fn every_line_of_a_captured_ipv6_table_parses() {
        assert_eq!(all(TCP6, Family::V6).len(), 9);
    }

    #[test]
    fn a_listener_has_its_owner_address_and_inode() {
        let t = all(TCP, Family::V4);
        let s = find(&t, "127.0.0.1:3000", "0.0.0.0:0");
        assert_eq!((s.state, s.uid, s.inode), (State::Listen, 1000, 591761));
    }

    #[test]
    fn every_producible_state_is_recognised_in_the_ipv4_table() {
        let t = all(TCP, Family::V4);
        let state = |local, remote| find(&t, local, remote).state;
        assert_eq!(
            state("127.0.0.1:40230", "127.0.0.1:3000"),
            State::Established
        );
        assert_eq!(state("127.0.0.1:44550", "127.0.0.1:7004"), State::SynSent);
        assert_eq!(state("127.0.0.1:7005", "127.0.0.1:54624"), State::SynRecv);
        assert_eq!(state("127.0.0.1:56394", "127.0.0.1:7006"), State::FinWait1);
        assert_eq!(state("127.0.0.1:57494", "127.0.0.1:7003"), State::FinWait2);
        assert_eq!(state("127.0.0.1:34540", "127.0.0.1:7001"), State::TimeWait);
        assert_eq!(state("127.0.0.1:7003", "127.0.0.1:57494"), State::CloseWait);
        assert_eq!(state("127.0.0.1:7007", "127.0.0.1:49304"), State::LastAck);
    }

    #[test]
    fn sockets_no_process_holds_have_inode_zero() {
        let t = all(TCP, Family::V4);
        // TIME_WAIT, a request socket of uid 1000's listener (which keeps that uid), an orphan
        // FIN_WAIT2 uid 1000 closed (which the kernel shows as uid 0), and a LAST_ACK orphan.
        let time_wait = find(&t, "127.0.0.1:34540", "127.0.0.1:7001");
        let request = find(&t, "127.0.0.1:3002", "127.0.0.1:45024");
        let orphan = find(&t, "127.0.0.1:33192", "127.0.0.1:3003");
        let last_ack = find(&t, "127.0.0.1:7007", "127.0.0.1:49304");
        assert_eq!((time_wait.uid, time_wait.inode), (0, 0));
        assert_eq!(
            (request.state, request.uid, request.inode),
            (State::SynRecv, 1000, 0)
        );
        assert_eq!(
            (orphan.state, orphan.uid, orphan.inode),
            (State::FinWait2, 0, 0)
        );
        assert_eq!(last_ack.inode, 0);
    }

    #[test]
    fn ipv6_and_ipv4_mapped_addresses_parse() {
        let t = all(TCP6, Family::V6);
        let s = find(&t, "[::1]:56840", "[::1]:3001");
        assert_eq!((s.state, s.uid), (State::Established, 1000));
        let listener = find(&t, "[::]:9090", "[::]:0");
        assert_eq!(listener.state, State::Listen);
        let mapped = find(&t, "[::ffff:127.0.0.1]:9090", "[::ffff:127.0.0.1]:58588");
        assert_eq!(mapped.state, State::Established);
        let time_wait = find(&t, "[::1]:56782", "[::1]:7002");
        assert_eq!((time_wait.state, time_wait.inode), (State::TimeWait, 0));
    }

    #[test]
    fn a_table_with_only_its_header_has_no_sockets() {
        let header = TCP.split(|&b| b == b'\n').next().unwrap();
        let mut table = header.to_vec();
        table.push(b'\n');
        assert_eq!(all(&table, Family::V4), []);
    }

    #[test]
    fn states_beyond_the_captured_ones_are_named_or_kept_as_numbers() {
        let line = |st: &str| {
            format!(
                "  sl  local_address rem_address   st\n   0: 0100007F:0050 0100007F:9C40 {st} \
                 00000000:00000000 00:00000000 00000000  1000        0 42 1 0\n"
            )
        };
        let state = |st| all(line(st).as_bytes(), Family::V4)[0].state;
        assert_eq!(state("07"), State::Close);
        assert_eq!(state("0B"), State::Closing);
        assert_eq!(state("0C"), State::NewSynRecv);
        assert_eq!(state("0D"), State::Other(13));
    }

    #[test]
    fn a_missing_header_is_an_error_on_line_1() {
        let body = &TCP[TCP.iter().position(|&b| b == b'\n').unwrap() + 1..];
        for table in [b"".as_slice(), b"\n", body] {
            let err = sockets(table, Family::V4).err().unwrap();
            assert_eq!(err.line, 1, "{err}");
        }
    }

    #[test]
    fn a_malformed_line_is_an_error_naming_its_line_and_field() {
        let header = "  sl  local_address rem_address   st\n";
        let ok = "   0: 0100007F:0050 0100007F:9C40 01 00000000:00000000 00:00000000 00000000  1000 0 42 1 0";
        let bad = [
            ("   0: 0100007F:0050", "no remote address"),
            (
                "   0 0100007F:0050 0100007F:9C40 01 0 0 0 1000 0 42",
                "slot number",
            ),
            (
                "   0: 0100007F0050 0100007F:9C40 01 0 0 0 1000 0 42",
                "bad local address",
            ),
            (
                "   0: 0100007F:0050 00000001000000:9C40 01 0 0 0 1000 0 42",
                "bad remote address",
            ),
            (
                "   0: 0100007F:0050 0100007F:9C40 1 0 0 0 1000 0 42",
                "bad state",
            ),
            (
                "   0: 0100007F:0050 0100007F:9C40 01 0 0 0 -1 0 42",
                "bad uid",
            ),
            (
                "   0: 0100007F:0050 0100007F:9C40 01 0 0 0 4294967296 0 42",
                "uid out of range",
            ),
            (
                "   0: 0100007F:0050 0100007F:9C40 01 0 0 0 1000 0",
                "no inode",
            ),
            (
                "   0: 0100007F:0050 0100007F:9C40 01 0 0 0 1000 0 4x2",
                "bad inode",
            ),
            ("", "missing fields"),
        ];
        for (line, what) in bad {
            let table = format!("{header}{ok}\n{line}\n{ok}\n");
            let results: Vec<_> = sockets(table.as_bytes(), Family::V4).unwrap().collect();
            assert_eq!(results.len(), 3, "{line:?}");
            let err = results[1].clone().unwrap_err();
            assert_eq!(err.line, 3, "{line:?}");
            assert!(err.what.contains(what), "{line:?}: {err}");
            assert!(results[0].is_ok() && results[2].is_ok());
        }
    }

    #[test]
    fn an_ipv6_line_in_the_ipv4_table_is_malformed() {
        let t6 = std::str::from_utf8(TCP6).unwrap();
        let line = t6.lines().nth(1).unwrap();
        let table = format!("  sl  local_address\n{line}\n");
        let err = sockets(table.as_bytes(), Family::V4)
            .unwrap()
            .next()
            .unwrap()
            .unwrap_err();
        assert_eq!((err.line, err.what), (2, "bad local address"));
    }
}
