//! A `postgres://` target: one StartupMessage (protocol 3.0, user and database `readygate`), and
//! the server's first message judged as libpq's `PQping` (and so `pg_isready`) judges it.
//!
//! An authentication request means a server taking sessions: readygate closes there, before any
//! password, which the server expects (it logs nothing for a client that leaves at that point;
//! a Terminate message instead would be logged as "expected SASL response, got message type
//! 88"). An error with any SQLSTATE but 57P03 also means a server taking sessions: it rejected
//! this user or database (28000, 28P01, 3D000) or has too many clients (53300), and the
//! application's own credentials are another matter. 57P03 (starting up, shutting down, in
//! recovery, not yet accepting connections) is not ready, in the server's words, and so is the
//! protocol 2 error a postmaster that cannot fork a backend sends.

use crate::probe::reason::{self, Reason, Verdict};
use crate::probe::wire::Protocol;

/// StartupMessage: length, protocol 3.0 (196608), then `user`, `database` and a final NUL.
const STARTUP: &[u8] =
    b"\x00\x00\x00\x2b\x00\x03\x00\x00user\x00readygate\x00database\x00readygate\x00\x00";

/// The most bytes read: an ErrorResponse is a few short fields (about 100 bytes).
pub const MAX_REPLY: usize = 2048;

/// The SQLSTATE of a server that is not accepting sessions (ERRCODE_CANNOT_CONNECT_NOW).
const CANNOT_CONNECT_NOW: &str = "57P03";

/// The protocol `postgres://` targets speak.
pub const POSTGRES: Protocol = Protocol {
    name: "PostgreSQL",
    reply: "a PostgreSQL reply",
    hello: STARTUP,
    max_reply: MAX_REPLY,
    judge,
};

/// Judges the bytes read so far in reply to the StartupMessage (pure: bytes in, verdict out).
pub fn judge(reply: &[u8]) -> Verdict {
    let Some(&kind) = reply.first() else {
        return Verdict::NeedMore;
    };
    if !matches!(kind, b'R' | b'E' | b'v') {
        return reason::foreign(POSTGRES.reply, reply);
    }
    // A protocol 3 message's length starts with a zero byte (it is under MAX_REPLY); text right
    // after `E` is a protocol 2 error, as libpq also reads it.
    if kind == b'E' && reply.get(1).is_some_and(|b| (b' '..=b'~').contains(b)) {
        return old_error(reply);
    }
    let Some(header) = reply.get(1..5) else {
        return Verdict::NeedMore;
    };
    // The length counts itself, not the type byte.
    let length = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
    if !(4..MAX_REPLY).contains(&length) {
        return reason::foreign(POSTGRES.reply, reply);
    }
    let Some(body) = reply.get(5..1 + length) else {
        return Verdict::NeedMore;
    };
    match kind {
        b'R' => match body.get(..4) {
            Some(code) => Verdict::Ready(format!(
                "an authentication request ({})",
                auth_name(u32::from_be_bytes([code[0], code[1], code[2], code[3]]))
            )),
            None => reason::foreign(POSTGRES.reply, reply),
        },
        b'v' => Verdict::Ready("a protocol version negotiation".into()),
        _ => error(body).unwrap_or_else(|| reason::foreign(POSTGRES.reply, reply)),
    }
}

/// Judges an ErrorResponse body; `None` if its fields are malformed.
fn error(body: &[u8]) -> Option<Verdict> {
    let (mut sqlstate, mut message) = (None, None);
    let mut rest = body;
    loop {
        let (&field, after) = rest.split_first()?;
        if field == 0 {
            break;
        }
        let end = after.iter().position(|&b| b == 0)?;
        let value = &after[..end];
        match field {
            b'C' => sqlstate = Some(value),
            b'M' => message = Some(value),
            _ => {}
        }
        rest = &after[end + 1..];
    }
    let said = message
        .and_then(reason::first_line)
        .unwrap_or_else(|| "an error without a message".into());
    // As libpq's PQping: an error without a SQLSTATE says nothing of the server's state.
    let Some(sqlstate) = sqlstate
        .filter(|s| s.len() == 5 && s.iter().all(u8::is_ascii_alphanumeric))
        .and_then(|s| std::str::from_utf8(s).ok())
    else {
        return Some(Verdict::NotReady(Reason::Refused {
            protocol: POSTGRES.name,
            code: None,
            said,
        }));
    };
    if sqlstate == CANNOT_CONNECT_NOW {
        return Some(Verdict::NotReady(Reason::Refused {
            protocol: POSTGRES.name,
            code: Some(sqlstate.to_string()),
            said,
        }));
    }
    Some(Verdict::Ready(format!(
        "{sqlstate} {said:?}: a server taking sessions"
    )))
}

/// Judges a protocol 2 error: `E`, then the message's text up to a NUL. The postmaster still
/// sends one when it cannot fork a backend for the connection (report_fork_failure_to_client:
/// "could not fork new process for connection: " and strerror). It has no SQLSTATE, so, as for
/// libpq's `PQping`, not ready. A text longer than the bound is judged on what the bound holds.
fn old_error(reply: &[u8]) -> Verdict {
    let bounded = &reply[..reply.len().min(MAX_REPLY)];
    let text = match bounded.iter().position(|&b| b == 0) {
        Some(end) => &bounded[1..end],
        None if bounded.len() == MAX_REPLY => &bounded[1..],
        None => return Verdict::NeedMore,
    };
    Verdict::NotReady(Reason::Refused {
        protocol: POSTGRES.name,
        code: None,
        said: reason::first_line(text).unwrap_or_else(|| "an error without a message".into()),
    })
}

/// The authentication a request asks for, by its code.
fn auth_name(code: u32) -> &'static str {
    match code {
        0 => "none needed",
        3 => "cleartext password",
        5 => "MD5 password",
        7 => "GSSAPI",
        9 => "SSPI",
        10 => "SASL",
        _ => "another method",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::captured;

    fn refused(code: &str, said: &str) -> Verdict {
        Verdict::NotReady(Reason::Refused {
            protocol: "PostgreSQL",
            code: Some(code.into()),
            said: said.into(),
        })
    }

    #[test]
    fn the_startup_message_is_protocol_3_0_for_user_and_database_readygate() {
        let length = u32::from_be_bytes([STARTUP[0], STARTUP[1], STARTUP[2], STARTUP[3]]);
        assert_eq!(length as usize, STARTUP.len());
        assert_eq!(&STARTUP[4..8], &196_608u32.to_be_bytes());
        assert!(STARTUP.ends_with(b"user\0readygate\0database\0readygate\0\0"));
    }

    #[test]
    fn an_authentication_request_is_ready() {
        // Trust: AuthenticationOk comes first, whatever the error after it.
        assert_eq!(
            judge(&captured("pg-no-role")),
            Verdict::Ready("an authentication request (none needed)".into())
        );
        assert_eq!(
            judge(&captured("pg-scram")),
            Verdict::Ready("an authentication request (SASL)".into())
        );
    }

    #[test]
    fn a_protocol_version_negotiation_is_a_server_taking_sessions() {
        // NegotiateProtocolVersion: newest minor version 0, no unrecognised options.
        let reply = b"v\x00\x00\x00\x0c\x00\x03\x00\x00\x00\x00\x00\x00";
        assert_eq!(
            judge(reply),
            Verdict::Ready("a protocol version negotiation".into())
        );
    }

    #[test]
    fn an_error_other_than_57p03_is_a_server_taking_sessions() {
        // The captured error after AuthenticationOk (9 bytes), and a refusal before any.
        let no_database = captured("pg-no-database");
        for reply in [&no_database[9..], &captured("pg-too-many")[..]] {
            assert!(matches!(judge(reply), Verdict::Ready(_)), "{reply:?}");
        }
        let Verdict::Ready(what) = judge(&captured("pg-too-many")) else {
            panic!("ready")
        };
        assert_eq!(
            what,
            "53300 \"sorry, too many clients already\": a server taking sessions"
        );
    }

    #[test]
    fn sqlstate_57p03_is_not_ready_in_the_servers_words() {
        assert_eq!(
            judge(&captured("pg-starting-up")),
            refused("57P03", "the database system is starting up")
        );
        assert_eq!(
            judge(&captured("pg-shutting-down")),
            refused("57P03", "the database system is shutting down")
        );
    }

    #[test]
    fn a_partial_message_needs_more() {
        let reply = captured("pg-starting-up");
        for cut in 0..reply.len() {
            assert_eq!(judge(&reply[..cut]), Verdict::NeedMore, "{cut}");
        }
    }

    #[test]
    fn an_error_without_a_sqlstate_is_not_ready() {
        let body = b"SFATAL\0Mcould not fork new process\0\0";
        let mut reply = vec![b'E'];
        reply.extend_from_slice(&(4 + body.len() as u32).to_be_bytes());
        reply.extend_from_slice(body);
        assert_eq!(
            judge(&reply),
            Verdict::NotReady(Reason::Refused {
                protocol: "PostgreSQL",
                code: None,
                said: "could not fork new process".into(),
            })
        );
    }

    #[test]
    fn a_protocol_2_error_from_a_postmaster_that_cannot_fork_is_not_ready_in_its_words() {
        // report_fork_failure_to_client: always protocol 2, whatever the client spoke.
        let reply = b"Ecould not fork new process for connection: Resource temporarily \
                      unavailable\n\0";
        let words = Verdict::NotReady(Reason::Refused {
            protocol: "PostgreSQL",
            code: None,
            said: "could not fork new process for connection: Resource temporarily unavailable"
                .into(),
        });
        assert_eq!(judge(reply), words);
        for cut in 0..reply.len() {
            assert_eq!(judge(&reply[..cut]), Verdict::NeedMore, "{cut}");
        }
        // A text with no end within the bound is judged on what the bound holds.
        let mut long = b"E".to_vec();
        long.extend(std::iter::repeat_n(b'x', MAX_REPLY));
        assert!(matches!(
            judge(&long),
            Verdict::NotReady(Reason::Refused { code: None, .. })
        ));
        assert_eq!(judge(&long[..MAX_REPLY]), judge(&long));
    }

    #[test]
    fn other_messages_and_malformed_framing_are_not_a_postgresql_reply() {
        for reply in [
            &b"HTTP/1.1 400 Bad Request\r\n"[..],
            b"Z\0\0\0\x05I",
            b"R\0\0\0\x02",
            b"E\x7f\xff\xff\xff",
            b"E\0\0\0\x06SF",
            b"R\0\0\0\x04",
        ] {
            assert!(
                matches!(
                    judge(reply),
                    Verdict::NotReady(Reason::Garbled {
                        expected: "a PostgreSQL reply",
                        ..
                    })
                ),
                "{reply:?}: {:?}",
                judge(reply)
            );
        }
    }
}
