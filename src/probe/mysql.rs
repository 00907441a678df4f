//! A `mysql://` (or `mariadb://`) target: readygate sends nothing, because the server speaks
//! first, and judges its first packet. An initial handshake (protocol version 10) is a server
//! taking connections; an error packet (0xFF: 1040 too many connections, 1129 host blocked, 1130
//! host not allowed) is not ready, in the server's words.
//!
//! readygate closes after the greeting, without logging in. MySQL and MariaDB count that as one
//! interrupted handshake of the client's host (see the README for when it matters).

use crate::probe::reason::{self, Reason, Verdict};
use crate::probe::wire::Protocol;

/// The most bytes read: a greeting is about 100 bytes, an error packet less.
pub const MAX_REPLY: usize = 1024;

/// The first payload byte of an initial handshake (HandshakeV10).
const PROTOCOL_10: u8 = 0x0a;
/// The first payload byte of an error packet.
const ERROR: u8 = 0xff;

/// The protocol `mysql://` and `mariadb://` targets speak.
pub const MYSQL: Protocol = Protocol {
    name: "MySQL",
    reply: "a MySQL greeting",
    hello: b"",
    max_reply: MAX_REPLY,
    judge,
};

/// Judges the bytes read so far of the server's first packet (pure: bytes in, verdict out).
pub fn judge(reply: &[u8]) -> Verdict {
    // Three bytes of length (little-endian), then the sequence number, 0 for the first packet.
    let Some(header) = reply.get(..4) else {
        return Verdict::NeedMore;
    };
    let length =
        usize::from(header[0]) | usize::from(header[1]) << 8 | usize::from(header[2]) << 16;
    let sequence = header[3];
    if sequence != 0 || length == 0 || length > MAX_REPLY - 4 {
        return reason::foreign(MYSQL.reply, reply);
    }
    let Some(payload) = reply.get(4..4 + length) else {
        return Verdict::NeedMore;
    };
    match payload[0] {
        PROTOCOL_10 => greeting(payload).unwrap_or_else(|| reason::foreign(MYSQL.reply, reply)),
        ERROR => refusal(payload).unwrap_or_else(|| reason::foreign(MYSQL.reply, reply)),
        _ => reason::foreign(MYSQL.reply, reply),
    }
}

/// A HandshakeV10: ready, with the server's version for the debug log.
fn greeting(payload: &[u8]) -> Option<Verdict> {
    let rest = &payload[1..];
    let version = &rest[..rest.iter().position(|&b| b == 0)?];
    // MariaDB prefixes its version with 5.5.5- so that old clients accept it.
    let version = version.strip_prefix(b"5.5.5-").unwrap_or(version);
    let version = reason::first_line(version).unwrap_or_default();
    Some(Verdict::Ready(format!("a greeting from {version}")))
}

/// An error packet: its code, then (with a client that has said nothing yet) its message,
/// possibly after a `#` and a five-character SQLSTATE.
fn refusal(payload: &[u8]) -> Option<Verdict> {
    let code = payload.get(1..3)?;
    let code = u16::from_le_bytes([code[0], code[1]]);
    let message = &payload[3..];
    let message = match message.strip_prefix(b"#") {
        Some(after) if after.len() >= 5 => &after[5..],
        _ => message,
    };
    Some(Verdict::NotReady(Reason::Refused {
        protocol: MYSQL.name,
        code: Some(code.to_string()),
        said: reason::first_line(message).unwrap_or_else(|| "an error without a message".into()),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::captured;

    fn refused(code: &str, said: &str) -> Verdict {
        Verdict::NotReady(Reason::Refused {
            protocol: "MySQL",
            code: Some(code.into()),
            said: said.into(),
        })
    }

    #[test]
    fn a_protocol_10_greeting_is_ready() {
        assert_eq!(
            judge(&captured("my-greeting")),
            Verdict::Ready("a greeting from 10.11.19-MariaDB-0+deb12u1".into())
        );
    }

    #[test]
    fn an_error_packet_is_not_ready_with_its_code_and_message() {
        assert_eq!(
            judge(&captured("my-too-many")),
            refused("1040", "Too many connections")
        );
        assert_eq!(
            judge(&captured("my-blocked")),
            refused(
                "1129",
                "Host '10.21.0.1' is blocked because of many connection errors; unblock with \
                 'mariadb-admin flush-hosts'"
            )
        );
        assert_eq!(
            judge(&captured("my-host-not-allowed")),
            refused(
                "1130",
                "Host '10.21.0.1' is not allowed to connect to this MariaDB server"
            )
        );
        // After the handshake a server puts a SQLSTATE first; it is not part of the words.
        assert_eq!(
            judge(b"\x16\x00\x00\x00\xff\x10\x04#08004Too many conn"),
            refused("1040", "Too many conn")
        );
    }

    #[test]
    fn a_partial_packet_needs_more() {
        let greeting = captured("my-greeting");
        for cut in 0..greeting.len() {
            assert_eq!(judge(&greeting[..cut]), Verdict::NeedMore, "{cut}");
        }
    }

    #[test]
    fn anything_else_is_not_a_mysql_greeting() {
        for reply in [
            &b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"[..],
            b"\x05\x00\x00\x00\x09abcd",
            b"\x05\x00\x00\x01\x0a5.7\x00",
            b"\x04\x00\x00\x00\x0a5.7",
            b"\x02\x00\x00\x00\xff\x10",
            b"\x00\x00\x00\x00",
        ] {
            assert!(
                matches!(
                    judge(reply),
                    Verdict::NotReady(Reason::Garbled {
                        expected: "a MySQL greeting",
                        ..
                    })
                ),
                "{reply:?}: {:?}",
                judge(reply)
            );
        }
    }
}
