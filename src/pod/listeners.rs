//! Which TCP ports have a listening socket in this network namespace, asked of the kernel over
//! netlink `NETLINK_SOCK_DIAG`, and the question the mesh mode asks of them: do ztunnel's
//! 15001, 15006 and 15008 listen, and does a sidecar agent's 15020 or 15021?
//!
//! Why netlink and not `/proc/net/tcp`: that file lists every socket, and the kernel walks the
//! whole established-connection hash (shared by all namespaces, sized by the node's memory) to
//! write it: ~4 ms a read here, 20-40 ms with 10,000 connections, more on big nodes.
//!
//! Two ways to ask, both here:
//! - A dump ([`request`], [`parse_reply`], [`look`]): an `inet_diag_req_v2` whose
//!   `idiag_states` holds only `TCP_LISTEN`, so the kernel walks the listening hash alone and
//!   skips the established one (`inet_diag_dump_icsk`, net/ipv4/inet_diag.c). It lists every
//!   listener, but the listening hash is shared by all namespaces: its cost grows with the
//!   node's listeners (~60 us with none, ~1 ms with 19,000 in other pods, bench/listeners.py).
//! - Exact queries ([`request_exact`], [`parse_exact_reply`], [`look_mesh_ports`]): "which
//!   socket would take a connection to 127.0.0.1:15001?", one hash lookup each, whatever the
//!   node holds. This answers the mesh question within its 1 ms budget on any node.
//!
//! readygate itself asks only the exact queries ([`look_mesh_ports`]). The dump ([`look`],
//! `dump`, [`parse_reply`], [`Progress`], [`MAX_LISTENERS`], `MAX_DATAGRAMS`, [`MeshPorts::of`])
//! stays as the measured alternative: `examples/listeners_look.rs` times both for
//! `bench/listeners.py` (the numbers above, and why the exact queries won), the
//! `sock_diag_reply` fuzz target keeps its parser fuzzed, and `tests/pod_listeners.rs` runs
//! both against real sockets.
//!
//! The builders and parsers are pure (bytes in, verdict out; bounded; fuzzed); the I/O is one
//! netlink socket, blocking with a 1 s timeout.
//!
//! Layouts (all in host byte order but ports and addresses): `struct nlmsghdr` (16 bytes,
//! linux/netlink.h), `struct inet_diag_req_v2` (56) and `struct inet_diag_msg` (72, followed by
//! attributes this code ignores) from linux/inet_diag.h.

use std::fmt;
use std::io::{self, Read};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};

/// The ports ztunnel listens on inside an ambient pod's network namespace: outbound, inbound
/// plaintext, inbound HBONE (istio/istio `cni/pkg/config/config.go`: `ZtunnelOutboundPort`,
/// `ZtunnelInboundPlaintextPort`, `ZtunnelInboundPort`).
pub const ZTUNNEL_PORTS: [u16; 3] = [15001, 15006, 15008];

/// The ports of a sidecar's agent: pilot-agent's status port and Envoy's health listener. A
/// sidecar's Envoy listens on 15001/15006 too, but only after its agent listens on 15020.
pub const AGENT_PORTS: [u16; 2] = [15020, 15021];

/// The most listening sockets one look accepts before it gives up (a pod has a handful).
pub const MAX_LISTENERS: usize = 65_536;

/// The request's length: `nlmsghdr` + `inet_diag_req_v2`.
pub const REQUEST_LEN: usize = NLMSG_HDRLEN + 56;

// linux/netlink.h, linux/sock_diag.h, linux/inet_diag.h, include/net/tcp_states.h
const NLMSG_HDRLEN: usize = 16;
const NLMSG_NOOP: u16 = 1;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const SOCK_DIAG_BY_FAMILY: u16 = 20;
const NLM_F_REQUEST: u16 = 0x01;
const NLM_F_DUMP_INTR: u16 = 0x10;
const NLM_F_DUMP: u16 = 0x100 | 0x200;
const INET_DIAG_MSG_LEN: usize = 72;
const TCP_LISTEN: u8 = 10;

/// The receive buffer. The kernel sizes a dump's datagrams to at most 32 KiB less its skb
/// overhead (`netlink_recvmsg` caps `max_recvmsg_len`), so a datagram that fills the buffer
/// was cut (a plain read does not report MSG_TRUNC).
const RECV_BUFFER: usize = 32 * 1024;

/// Datagrams read per dump before giving up: [`MAX_LISTENERS`] fit in ~250.
const MAX_DATAGRAMS: usize = 1024;

/// How long one read waits for the kernel, which answers at once.
const READ_TIMEOUT: Duration = Duration::from_secs(1);

/// Which address family a dump asks for (one dump each: sock_diag has no "both").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    fn af(self) -> u8 {
        match self {
            Family::V4 => libc::AF_INET as u8,
            Family::V6 => libc::AF_INET6 as u8,
        }
    }
}

/// The dump request for `family`'s listening TCP sockets, numbered `seq`.
pub fn request(family: Family, seq: u32) -> [u8; REQUEST_LEN] {
    let mut req = [0u8; REQUEST_LEN];
    req[0..4].copy_from_slice(&(REQUEST_LEN as u32).to_ne_bytes());
    req[4..6].copy_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
    req[6..8].copy_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    req[8..12].copy_from_slice(&seq.to_ne_bytes());
    // nlmsg_pid 0: the kernel. Then inet_diag_req_v2: family, protocol, no extensions, pad,
    // the state mask, and an all-zero inet_diag_sockid (any address, port and interface).
    req[16] = family.af();
    req[17] = libc::IPPROTO_TCP as u8;
    req[20..24].copy_from_slice(&(1u32 << TCP_LISTEN).to_ne_bytes());
    req
}

/// The request for the socket that would take a TCP connection to `local` (a non-dump query:
/// the kernel looks it up in its hashes as for an incoming SYN from 0.0.0.0:0, established
/// sockets first, then listeners, `inet_diag_find_one_icsk` in net/ipv4/inet_diag.c), numbered
/// `seq`. A listener on the wildcard address, or a dual-stack `[::]` one, takes a connection to
/// loopback, so it is found too; one bound to another address only is not.
pub fn request_exact(local: SocketAddr, seq: u32) -> [u8; REQUEST_LEN] {
    let family = if local.is_ipv4() {
        Family::V4
    } else {
        Family::V6
    };
    let mut req = request(family, seq);
    req[6..8].copy_from_slice(&NLM_F_REQUEST.to_ne_bytes());
    // inet_diag_sockid at 24: sport, dport, src[16], dst[16], if, cookie[2].
    req[24..26].copy_from_slice(&local.port().to_be_bytes());
    match local.ip() {
        IpAddr::V4(ip) => req[28..32].copy_from_slice(&ip.octets()),
        IpAddr::V6(ip) => req[28..44].copy_from_slice(&ip.octets()),
    }
    // INET_DIAG_NOCOOKIE: whichever socket it is.
    req[64..72].fill(0xff);
    req
}

/// Where one datagram leaves the dump.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// More datagrams follow.
    More,
    /// `NLMSG_DONE`: the dump is complete.
    Done,
}

/// Why a reply could not be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyError {
    /// A message runs past the end of the datagram.
    Truncated,
    /// Bytes that are not a sock_diag reply to this request.
    Garbage(&'static str),
    /// The kernel answered with this errno (`NLMSG_ERROR`, or a negative `NLMSG_DONE`).
    Kernel(i32),
    /// The socket tables changed during the dump (`NLM_F_DUMP_INTR`); asking again would do.
    Interrupted,
    /// More than [`MAX_LISTENERS`] listening sockets, or a dump that never ends.
    TooMany,
}

impl fmt::Display for ReplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplyError::Truncated => f.write_str("the reply was cut short"),
            ReplyError::Garbage(what) => write!(f, "the reply is malformed: {what}"),
            ReplyError::Kernel(errno) => {
                write!(
                    f,
                    "the kernel refused: {}",
                    io::Error::from_raw_os_error(*errno)
                )
            }
            ReplyError::Interrupted => f.write_str("the socket tables changed during the dump"),
            ReplyError::TooMany => write!(f, "more than {MAX_LISTENERS} listening sockets"),
        }
    }
}

impl std::error::Error for ReplyError {}

/// Judges one datagram of the reply to dump request `seq` for `family`: appends the local
/// address of each listening socket to `out` (at most [`MAX_LISTENERS`] in all) and says whether
/// the dump goes on. Sockets in other states are skipped (the kernel sends none when asked as
/// [`request`] asks).
pub fn parse_reply(
    datagram: &[u8],
    family: Family,
    seq: u32,
    out: &mut Vec<SocketAddr>,
) -> Result<Progress, ReplyError> {
    if datagram.is_empty() {
        return Err(ReplyError::Garbage("an empty datagram"));
    }
    let mut rest = datagram;
    while !rest.is_empty() {
        let (kind, payload, next) = message(rest, seq)?;
        match kind {
            NLMSG_DONE => {
                // Its payload is the dump's final status: 0, or a negative errno.
                return match errno(payload) {
                    Some(e) if e < 0 => Err(kernel_error(e)),
                    _ => Ok(Progress::Done),
                };
            }
            NLMSG_ERROR => {
                return match errno(payload) {
                    Some(e) if e < 0 => Err(kernel_error(e)),
                    Some(_) => Err(ReplyError::Garbage("an acknowledgement instead of a dump")),
                    None => Err(ReplyError::Truncated),
                };
            }
            NLMSG_NOOP => {}
            SOCK_DIAG_BY_FAMILY => {
                if let Some(addr) = listener(payload, Some(family))? {
                    if out.len() >= MAX_LISTENERS {
                        return Err(ReplyError::TooMany);
                    }
                    out.push(addr);
                }
            }
            _ => return Err(ReplyError::Garbage("a message of an unexpected type")),
        }
        rest = next;
    }
    Ok(Progress::More)
}

/// Judges the reply to exact request `seq` ([`request_exact`]): the address of the listening
/// socket found, or `None` when there is none (the kernel's ENOENT, or a socket that does not
/// listen). The socket may be of either family: an IPv6 `[::]` socket takes IPv4 connections.
pub fn parse_exact_reply(datagram: &[u8], seq: u32) -> Result<Option<SocketAddr>, ReplyError> {
    if datagram.is_empty() {
        return Err(ReplyError::Garbage("an empty datagram"));
    }
    let (kind, payload, _) = message(datagram, seq)?;
    match kind {
        SOCK_DIAG_BY_FAMILY => listener(payload, None),
        NLMSG_ERROR => match errno(payload) {
            Some(e) if e == -libc::ENOENT => Ok(None),
            Some(e) if e < 0 => Err(kernel_error(e)),
            Some(_) => Err(ReplyError::Garbage(
                "an acknowledgement instead of a socket",
            )),
            None => Err(ReplyError::Truncated),
        },
        _ => Err(ReplyError::Garbage("a message of an unexpected type")),
    }
}

/// The first message of `rest`, checked: its type, its payload, and what follows it (messages
/// start at 4-byte boundaries, NLMSG_ALIGN; the last one may end unpadded).
fn message(rest: &[u8], seq: u32) -> Result<(u16, &[u8], &[u8]), ReplyError> {
    if rest.len() < NLMSG_HDRLEN {
        return Err(ReplyError::Truncated);
    }
    let len = u32::from_ne_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
    let kind = u16::from_ne_bytes([rest[4], rest[5]]);
    let flags = u16::from_ne_bytes([rest[6], rest[7]]);
    let msg_seq = u32::from_ne_bytes([rest[8], rest[9], rest[10], rest[11]]);
    if len < NLMSG_HDRLEN {
        return Err(ReplyError::Garbage("a message shorter than its header"));
    }
    if len > rest.len() {
        return Err(ReplyError::Truncated);
    }
    if msg_seq != seq {
        return Err(ReplyError::Garbage("a message of another request"));
    }
    if flags & NLM_F_DUMP_INTR != 0 {
        return Err(ReplyError::Interrupted);
    }
    let next = ((len + 3) & !3).min(rest.len());
    Ok((kind, &rest[NLMSG_HDRLEN..len], &rest[next..]))
}

/// A negative errno from the kernel; anything below -4095 (`MAX_ERRNO`) is not one (and
/// `i32::MIN` has no positive counterpart).
fn kernel_error(e: i32) -> ReplyError {
    match e.checked_neg() {
        Some(errno @ 1..=4095) => ReplyError::Kernel(errno),
        _ => ReplyError::Garbage("an error code out of range"),
    }
}

fn errno(payload: &[u8]) -> Option<i32> {
    Some(i32::from_ne_bytes(payload.get(..4)?.try_into().ok()?))
}

/// The local address of one `inet_diag_msg`, if its socket listens; of `family` when given.
fn listener(msg: &[u8], family: Option<Family>) -> Result<Option<SocketAddr>, ReplyError> {
    if msg.len() < INET_DIAG_MSG_LEN {
        return Err(ReplyError::Truncated);
    }
    let own = match msg[0] {
        af if af == Family::V4.af() => Family::V4,
        af if af == Family::V6.af() => Family::V6,
        _ => return Err(ReplyError::Garbage("a socket of no IP family")),
    };
    if family.is_some_and(|f| f != own) {
        return Err(ReplyError::Garbage("a socket of the other family"));
    }
    if msg[1] != TCP_LISTEN {
        return Ok(None);
    }
    // inet_diag_sockid at offset 4: sport, dport (network order), src[4], dst[4].
    let port = u16::from_be_bytes([msg[4], msg[5]]);
    let src = &msg[8..24];
    let ip: IpAddr = match own {
        Family::V4 => Ipv4Addr::new(src[0], src[1], src[2], src[3]).into(),
        Family::V6 => {
            let mut octets = [0u8; 16];
            octets.copy_from_slice(src);
            Ipv6Addr::from(octets).into()
        }
    };
    Ok(Some(SocketAddr::new(ip, port)))
}

/// Why a look failed.
#[derive(Debug)]
pub enum LookError {
    /// Opening the netlink socket, sending or receiving failed (no sock_diag in this kernel,
    /// a seccomp profile that forbids netlink, a timeout).
    Io(io::Error),
    /// The kernel's reply could not be used.
    Reply(ReplyError),
}

impl fmt::Display for LookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LookError::Io(e) => write!(f, "netlink sock_diag: {e}"),
            LookError::Reply(e) => write!(f, "netlink sock_diag: {e}"),
        }
    }
}

impl std::error::Error for LookError {}

impl From<io::Error> for LookError {
    fn from(e: io::Error) -> Self {
        LookError::Io(e)
    }
}

impl From<ReplyError> for LookError {
    fn from(e: ReplyError) -> Self {
        LookError::Reply(e)
    }
}

/// A netlink sock_diag socket that gives up on a silent kernel after [`READ_TIMEOUT`], and a
/// buffer for its replies.
fn sock_diag_socket() -> Result<(Socket, Vec<u8>), LookError> {
    let socket = Socket::new(
        Domain::from(libc::AF_NETLINK),
        Type::RAW,
        Some(Protocol::from(libc::NETLINK_SOCK_DIAG)),
    )?;
    socket.set_read_timeout(Some(READ_TIMEOUT))?;
    Ok((socket, vec![0u8; RECV_BUFFER]))
}

/// The local addresses of every listening TCP socket in this network namespace, IPv4 then
/// IPv6 (a dual-stack `[::]` socket is listed once, as IPv6). A kernel without IPv6 has no
/// IPv6 sockets rather than failing.
pub fn look() -> Result<Vec<SocketAddr>, LookError> {
    let (mut socket, mut buf) = sock_diag_socket()?;
    let mut out = Vec::new();
    dump(&mut socket, Family::V4, 1, &mut buf, &mut out)?;
    match dump(&mut socket, Family::V6, 2, &mut buf, &mut out) {
        Err(LookError::Reply(ReplyError::Kernel(libc::ENOENT | libc::EAFNOSUPPORT))) => {}
        other => other?,
    }
    Ok(out)
}

fn dump(
    socket: &mut Socket,
    family: Family,
    seq: u32,
    buf: &mut [u8],
    out: &mut Vec<SocketAddr>,
) -> Result<(), LookError> {
    let req = request(family, seq);
    if socket.send(&req)? != req.len() {
        return Err(io::Error::new(io::ErrorKind::WriteZero, "request cut short").into());
    }
    for _ in 0..MAX_DATAGRAMS {
        let n = socket.read(buf)?;
        if n == buf.len() {
            return Err(ReplyError::Truncated.into());
        }
        if parse_reply(&buf[..n], family, seq, out)? == Progress::Done {
            return Ok(());
        }
    }
    Err(ReplyError::TooMany.into())
}

/// Which of the mesh's well-known ports listen (on any address).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MeshPorts {
    /// [`ZTUNNEL_PORTS`], in order.
    pub ztunnel: [bool; 3],
    /// [`AGENT_PORTS`], in order.
    pub agent: [bool; 2],
}

impl MeshPorts {
    /// The mesh ports among `listeners`.
    pub fn of(listeners: &[SocketAddr]) -> MeshPorts {
        let has = |port: u16| listeners.iter().any(|a| a.port() == port);
        MeshPorts {
            ztunnel: ZTUNNEL_PORTS.map(has),
            agent: AGENT_PORTS.map(has),
        }
    }

    /// ztunnel's signature: 15001, 15006 and 15008 all listen, and neither 15020 nor 15021.
    pub fn ztunnel_only(&self) -> bool {
        self.ztunnel.iter().all(|&p| p) && !self.sidecar_agent()
    }

    /// A sidecar's agent (or its Envoy's health listener) listens: 15020 or 15021.
    pub fn sidecar_agent(&self) -> bool {
        self.agent.iter().any(|&p| p)
    }

    /// Some but not all of ztunnel's ports listen, and no agent: a proxy that is neither
    /// ztunnel nor a (started) Istio sidecar.
    pub fn partial_redirect(&self) -> bool {
        self.ztunnel.iter().any(|&p| p) && !self.ztunnel_only() && !self.sidecar_agent()
    }

    /// The listening ones among 15001, 15006, 15008, 15020, 15021, for a log line.
    pub fn listening(&self) -> Vec<u16> {
        let flags = self.ztunnel.iter().chain(&self.agent);
        ZTUNNEL_PORTS
            .iter()
            .chain(&AGENT_PORTS)
            .zip(flags)
            .filter(|(_, &on)| on)
            .map(|(&port, _)| port)
            .collect()
    }
}

/// One look answering the mesh's question: for each of [`ZTUNNEL_PORTS`] and [`AGENT_PORTS`],
/// whether a listener takes connections to 127.0.0.1 or `[::1]` on it. Exact queries, ten at
/// most, each a hash lookup: the cost does not grow with the sockets of the node, unlike a dump,
/// which walks every listener of every namespace (see bench/listeners.py). ztunnel binds its
/// three on the wildcard address (istio/ztunnel `src/config.rs`), pilot-agent and Envoy theirs
/// on the wildcard too, so loopback finds them.
pub fn look_mesh_ports() -> Result<MeshPorts, LookError> {
    let (mut socket, mut buf) = sock_diag_socket()?;
    let mut seq = 0;
    let mut listens = |port: u16| -> Result<bool, LookError> {
        for ip in [
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(Ipv6Addr::LOCALHOST),
        ] {
            seq += 1;
            let req = request_exact(SocketAddr::new(ip, port), seq);
            if socket.send(&req)? != req.len() {
                return Err(io::Error::new(io::ErrorKind::WriteZero, "request cut short").into());
            }
            let n = socket.read(&mut buf)?;
            if n == buf.len() {
                return Err(ReplyError::Truncated.into());
            }
            // A kernel without IPv6 answers ENOENT for [::1], as for a free port.
            if parse_exact_reply(&buf[..n], seq)?.is_some_and(|a| a.port() == port) {
                return Ok(true);
            }
        }
        Ok(false)
    };
    let mut ztunnel = [false; 3];
    for (on, port) in ztunnel.iter_mut().zip(ZTUNNEL_PORTS) {
        *on = listens(port)?;
    }
    let mut agent = [false; 2];
    for (on, port) in agent.iter_mut().zip(AGENT_PORTS) {
        *on = listens(port)?;
    }
    Ok(MeshPorts { ztunnel, agent })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(len: usize, kind: u16, flags: u16, seq: u32) -> Vec<u8> {
        let mut h = Vec::new();
        h.extend_from_slice(&(len as u32).to_ne_bytes());
        h.extend_from_slice(&kind.to_ne_bytes());
        h.extend_from_slice(&flags.to_ne_bytes());
        h.extend_from_slice(&seq.to_ne_bytes());
        h.extend_from_slice(&4242u32.to_ne_bytes());
        h
    }

    /// One SOCK_DIAG_BY_FAMILY message as the kernel writes it, with an 8-byte attribute after
    /// the inet_diag_msg (the kernel appends INET_DIAG_* attributes).
    fn socket_msg(af: u8, state: u8, port: u16, src: &[u8], seq: u32) -> Vec<u8> {
        let len = NLMSG_HDRLEN + INET_DIAG_MSG_LEN + 8;
        let mut m = header(len, SOCK_DIAG_BY_FAMILY, 0x2, seq);
        let mut body = [0u8; INET_DIAG_MSG_LEN + 8];
        body[0] = af;
        body[1] = state;
        body[4..6].copy_from_slice(&port.to_be_bytes());
        body[8..8 + src.len()].copy_from_slice(src);
        m.extend_from_slice(&body);
        m
    }

    fn done(seq: u32, status: i32) -> Vec<u8> {
        let mut m = header(NLMSG_HDRLEN + 4, NLMSG_DONE, 0x2, seq);
        m.extend_from_slice(&status.to_ne_bytes());
        m
    }

    const V4: u8 = libc::AF_INET as u8;
    const V6: u8 = libc::AF_INET6 as u8;

    #[test]
    fn the_request_asks_for_listening_tcp_sockets_of_one_family() {
        let req = request(Family::V6, 7);
        assert_eq!(u32::from_ne_bytes(req[0..4].try_into().unwrap()), 72);
        assert_eq!(u16::from_ne_bytes([req[4], req[5]]), SOCK_DIAG_BY_FAMILY);
        assert_eq!(u16::from_ne_bytes([req[6], req[7]]), 0x301);
        assert_eq!(u32::from_ne_bytes(req[8..12].try_into().unwrap()), 7);
        assert_eq!((req[16], req[17]), (V6, 6));
        assert_eq!(u32::from_ne_bytes(req[20..24].try_into().unwrap()), 1 << 10);
        assert!(req[24..].iter().all(|&b| b == 0));
    }

    #[test]
    fn a_reply_yields_each_listening_address_then_done() {
        let mut d = socket_msg(V4, TCP_LISTEN, 15001, &[127, 0, 0, 1], 1);
        d.extend(socket_msg(V4, TCP_LISTEN, 15006, &[0, 0, 0, 0], 1));
        let mut out = Vec::new();
        assert_eq!(parse_reply(&d, Family::V4, 1, &mut out), Ok(Progress::More));
        assert_eq!(
            parse_reply(&done(1, 0), Family::V4, 1, &mut out),
            Ok(Progress::Done)
        );
        let want: Vec<SocketAddr> = vec![
            "127.0.0.1:15001".parse().unwrap(),
            "0.0.0.0:15006".parse().unwrap(),
        ];
        assert_eq!(out, want);
    }

    #[test]
    fn ipv6_addresses_are_read_in_network_order() {
        let lo = Ipv6Addr::LOCALHOST.octets();
        let mut d = socket_msg(V6, TCP_LISTEN, 15008, &lo, 2);
        d.extend(done(2, 0));
        let mut out = Vec::new();
        assert_eq!(parse_reply(&d, Family::V6, 2, &mut out), Ok(Progress::Done));
        assert_eq!(out, vec!["[::1]:15008".parse::<SocketAddr>().unwrap()]);
    }

    #[test]
    fn sockets_that_do_not_listen_are_skipped() {
        let established = 1;
        let mut d = socket_msg(V4, established, 15020, &[127, 0, 0, 1], 1);
        d.extend(done(1, 0));
        let mut out = Vec::new();
        assert_eq!(parse_reply(&d, Family::V4, 1, &mut out), Ok(Progress::Done));
        assert!(out.is_empty());
    }

    #[test]
    fn kernel_errors_and_interrupted_dumps_are_errors() {
        let mut err = header(NLMSG_HDRLEN + 20, NLMSG_ERROR, 0, 1);
        err.extend_from_slice(&(-libc::ENOENT).to_ne_bytes());
        err.extend_from_slice(&[0; 16]);
        let mut out = Vec::new();
        assert_eq!(
            parse_reply(&err, Family::V4, 1, &mut out),
            Err(ReplyError::Kernel(libc::ENOENT))
        );
        assert_eq!(
            parse_reply(&done(1, -libc::EINTR), Family::V4, 1, &mut out),
            Err(ReplyError::Kernel(libc::EINTR))
        );
        // fuzz target sock_diag_reply: i32::MIN as the status overflowed its negation.
        for status in [i32::MIN, -4096] {
            assert_eq!(
                parse_reply(&done(1, status), Family::V4, 1, &mut out),
                Err(ReplyError::Garbage("an error code out of range"))
            );
        }
        let mut intr = socket_msg(V4, TCP_LISTEN, 80, &[0; 4], 1);
        intr[6..8].copy_from_slice(&(0x2 | NLM_F_DUMP_INTR).to_ne_bytes());
        assert_eq!(
            parse_reply(&intr, Family::V4, 1, &mut out),
            Err(ReplyError::Interrupted)
        );
    }

    #[test]
    fn truncated_and_foreign_replies_are_refused() {
        let whole = socket_msg(V4, TCP_LISTEN, 80, &[0; 4], 1);
        let mut out = Vec::new();
        for cut in [1, 15, 16, 40, whole.len() - 1] {
            assert_eq!(
                parse_reply(&whole[..cut], Family::V4, 1, &mut out),
                Err(ReplyError::Truncated),
                "cut at {cut}"
            );
        }
        // A message whose length covers only part of an inet_diag_msg.
        let mut short = header(NLMSG_HDRLEN + 8, SOCK_DIAG_BY_FAMILY, 0, 1);
        short.extend_from_slice(&[V4, TCP_LISTEN, 0, 0, 0, 80, 0, 0]);
        assert_eq!(
            parse_reply(&short, Family::V4, 1, &mut out),
            Err(ReplyError::Truncated)
        );
        let garbage = [
            (socket_msg(V4, TCP_LISTEN, 80, &[0; 4], 9), Family::V4),
            (socket_msg(V6, TCP_LISTEN, 80, &[0; 16], 1), Family::V4),
            (header(12, 99, 0, 1), Family::V4),
            (header(16, 99, 0, 1), Family::V4),
            (Vec::new(), Family::V4),
        ];
        for (bytes, family) in garbage {
            assert!(
                matches!(
                    parse_reply(&bytes, family, 1, &mut out),
                    Err(ReplyError::Garbage(_))
                ),
                "{bytes:?}"
            );
        }
        assert!(out.is_empty());
    }

    #[test]
    fn a_reply_with_more_listeners_than_the_cap_is_refused() {
        let one = socket_msg(V4, TCP_LISTEN, 80, &[0; 4], 1);
        let mut out = vec!["0.0.0.0:1".parse().unwrap(); MAX_LISTENERS];
        assert_eq!(
            parse_reply(&one, Family::V4, 1, &mut out),
            Err(ReplyError::TooMany)
        );
        assert_eq!(out.len(), MAX_LISTENERS);
    }

    #[test]
    fn the_exact_request_names_the_local_address_and_no_cookie() {
        let req = request_exact("127.0.0.1:15001".parse().unwrap(), 3);
        assert_eq!(u16::from_ne_bytes([req[6], req[7]]), NLM_F_REQUEST);
        assert_eq!((req[16], req[17]), (V4, 6));
        assert_eq!(&req[24..26], &15001u16.to_be_bytes());
        assert_eq!(&req[28..32], &[127, 0, 0, 1]);
        assert!(req[32..64].iter().all(|&b| b == 0));
        assert!(req[64..72].iter().all(|&b| b == 0xff));
        let req = request_exact("[::1]:15020".parse().unwrap(), 4);
        assert_eq!(req[16], V6);
        assert_eq!(&req[28..44], &Ipv6Addr::LOCALHOST.octets());
    }

    #[test]
    fn an_exact_reply_is_the_listener_found_or_none() {
        // An IPv4 query answered by a dual-stack [::] listener: its own family counts.
        let found = socket_msg(V6, TCP_LISTEN, 15008, &[0; 16], 5);
        assert_eq!(
            parse_exact_reply(&found, 5),
            Ok(Some("[::]:15008".parse().unwrap()))
        );
        let v4 = socket_msg(V4, TCP_LISTEN, 15001, &[127, 0, 0, 1], 5);
        assert_eq!(
            parse_exact_reply(&v4, 5),
            Ok(Some("127.0.0.1:15001".parse().unwrap()))
        );
        let established = socket_msg(V4, 1, 15001, &[127, 0, 0, 1], 5);
        assert_eq!(parse_exact_reply(&established, 5), Ok(None));
        let error = |errno: i32| {
            let mut e = header(NLMSG_HDRLEN + 20, NLMSG_ERROR, 0, 5);
            e.extend_from_slice(&(-errno).to_ne_bytes());
            e.extend_from_slice(&[0; 16]);
            e
        };
        assert_eq!(parse_exact_reply(&error(libc::ENOENT), 5), Ok(None));
        assert_eq!(
            parse_exact_reply(&error(libc::EPERM), 5),
            Err(ReplyError::Kernel(libc::EPERM))
        );
        assert!(matches!(
            parse_exact_reply(&error(0), 5),
            Err(ReplyError::Garbage(_))
        ));
        assert!(matches!(
            parse_exact_reply(&v4, 6),
            Err(ReplyError::Garbage(_))
        ));
        assert_eq!(parse_exact_reply(&v4[..50], 5), Err(ReplyError::Truncated));
        let mut no_family = v4.clone();
        no_family[16] = libc::AF_UNIX as u8;
        assert!(matches!(
            parse_exact_reply(&no_family, 5),
            Err(ReplyError::Garbage(_))
        ));
        assert!(matches!(
            parse_exact_reply(&done(5, 0), 5),
            Err(ReplyError::Garbage(_))
        ));
    }

    #[test]
    fn ztunnels_three_ports_without_an_agent_are_its_signature() {
        let addrs = |ports: &[u16]| -> Vec<SocketAddr> {
            ports
                .iter()
                .map(|&p| SocketAddr::new(Ipv4Addr::LOCALHOST.into(), p))
                .collect()
        };
        let z = MeshPorts::of(&addrs(&[15001, 15006, 15008, 8080]));
        assert!(z.ztunnel_only() && !z.sidecar_agent() && !z.partial_redirect());
        assert_eq!(z.listening(), vec![15001, 15006, 15008]);
        let sidecar = MeshPorts::of(&addrs(&[15001, 15006, 15008, 15020]));
        assert!(!sidecar.ztunnel_only() && sidecar.sidecar_agent());
        let health = MeshPorts::of(&addrs(&[15021]));
        assert!(health.sidecar_agent() && !health.partial_redirect());
        let partial = MeshPorts::of(&addrs(&[15001, 15006]));
        assert!(!partial.ztunnel_only() && partial.partial_redirect());
        let none = MeshPorts::of(&addrs(&[80, 443]));
        assert_eq!(none, MeshPorts::default());
        assert!(none.listening().is_empty());
    }
}
