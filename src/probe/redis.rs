//! A `redis://` target: one `PING`, and the first reply line judged.
//!
//! `+PONG` is a live server. So are the errors a live Redis answers PING with when it wants the
//! client to authenticate first (`-NOAUTH`, `-NOPERM`, and `-ERR operation not permitted` from
//! Redis before 2.8): readygate authenticates to nothing, and the application will. Any other
//! error (`-LOADING` while the dataset loads,
//! `-BUSY` while a script runs, `-MASTERDOWN` on a replica cut off from its master,
//! `-TRYAGAIN`, `-DENIED` in protected mode) is not ready, in the server's own words.

use crate::probe::reason::{self, Reason, Verdict};
use crate::probe::wire::Protocol;

/// `PING` as a RESP array, as every client library sends it.
const PING: &[u8] = b"*1\r\n$4\r\nPING\r\n";

/// The most reply bytes read. Redis's error lines are one short sentence, except the `-DENIED`
/// of protected mode (1,067 bytes in Redis 7.0): an error line longer than this is judged on its
/// first `MAX_REPLY` bytes, which is all a reason keeps of it anyway.
pub const MAX_REPLY: usize = 512;

/// The protocol `redis://` targets speak.
pub const REDIS: Protocol = Protocol {
    name: "Redis",
    reply: "a Redis reply",
    hello: PING,
    max_reply: MAX_REPLY,
    judge,
};

/// Error codes a live Redis answers PING with when the client must authenticate first: `NOAUTH`
/// (a password is required; Redis 2.8 and later) and `NOPERM` (Redis 6's ACLs: the connection's
/// default user may not run PING). These are what Redis's own replica accepts as its master's
/// answer to PING (replication.c, syncWithMaster). Not `WRONGPASS`, the answer to AUTH, which
/// readygate never sends; not any `-ERR` that mentions auth, which a proxy may say for itself.
const WANTS_AUTH: [&str; 2] = ["NOAUTH", "NOPERM"];

/// What Redis before 2.8 answered any command but AUTH when a password was required (Redis's
/// replica still accepts it from a master).
const OLD_NOAUTH: &[u8] = b"ERR operation not permitted";

/// Judges the bytes read so far in reply to `PING` (pure: bytes in, verdict out).
pub fn judge(reply: &[u8]) -> Verdict {
    let Some(&first) = reply.first() else {
        return Verdict::NeedMore;
    };
    // A reply to PING is a simple string or an error; anything else is another protocol.
    if first != b'+' && first != b'-' {
        return reason::foreign(REDIS.reply, reply);
    }
    // Only the first MAX_REPLY bytes count, so the verdict on them stands whatever follows.
    let bounded = &reply[..reply.len().min(MAX_REPLY)];
    let line = match bounded.iter().position(|&b| b == b'\n') {
        Some(end) => &reply[1..end],
        // An error line longer than the bound (protected mode's `-DENIED`): its start is enough.
        None if first == b'-' && bounded.len() == MAX_REPLY => &bounded[1..],
        None => return Verdict::NeedMore,
    };
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if first == b'+' {
        return if line == b"PONG" {
            Verdict::Ready("+PONG".into())
        } else {
            reason::foreign(REDIS.reply, reply)
        };
    }
    let code = line.split(|&b| b == b' ').next().unwrap_or_default();
    let code = std::str::from_utf8(code).unwrap_or_default();
    if WANTS_AUTH.contains(&code) || line == OLD_NOAUTH {
        return Verdict::Ready(format!(
            "-{code}: a live Redis that wants the client to authenticate"
        ));
    }
    Verdict::NotReady(Reason::Refused {
        protocol: "Redis",
        code: None,
        said: reason::first_line(line).unwrap_or_else(|| "an empty error".into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::captured;
    use crate::probe::reason::Garbled;

    fn refused(said: &str) -> Verdict {
        Verdict::NotReady(Reason::Refused {
            protocol: "Redis",
            code: None,
            said: said.into(),
        })
    }

    #[test]
    fn pong_is_ready() {
        assert_eq!(
            judge(&captured("redis-pong")),
            Verdict::Ready("+PONG".into())
        );
    }

    #[test]
    fn a_server_that_wants_a_password_or_an_acl_user_is_ready() {
        for (name, code) in [("redis-noauth", "NOAUTH"), ("redis-noperm", "NOPERM")] {
            assert_eq!(
                judge(&captured(name)),
                Verdict::Ready(format!(
                    "-{code}: a live Redis that wants the client to authenticate"
                )),
                "{name}"
            );
        }
        // Redis 6.0's NOPERM for PING, and what Redis before 2.8 answered without AUTH.
        for line in [
            &b"-NOPERM this user has no permissions to run the 'ping' command or its \
               subcommand\r\n"[..],
            b"-ERR operation not permitted\r\n",
        ] {
            assert!(matches!(judge(line), Verdict::Ready(_)), "{line:?}");
        }
    }

    #[test]
    fn errors_that_merely_mention_auth_are_not_ready() {
        for (line, said) in [
            // A proxy speaking for itself, not a Redis.
            (&b"-ERR unauthorized\r\n"[..], "ERR unauthorized"),
            (
                b"-ERR AUTH <password> called without any password configured\r\n",
                "ERR AUTH <password> called without any password configured",
            ),
            // The answer to AUTH, which readygate never sends.
            (
                b"-WRONGPASS invalid username-password pair or user is disabled.\r\n",
                "WRONGPASS invalid username-password pair or user is disabled.",
            ),
            // Only the exact words of old Redis, and only the exact codes.
            (
                b"-ERR operation not permitted here\r\n",
                "ERR operation not permitted here",
            ),
            (b"-NOAUTHX\r\n", "NOAUTHX"),
            (
                b"-noauth Authentication required.\r\n",
                "noauth Authentication required.",
            ),
        ] {
            assert_eq!(judge(line), refused(said), "{line:?}");
        }
    }

    #[test]
    fn a_loading_busy_or_cut_off_server_is_not_ready_in_its_own_words() {
        assert_eq!(
            judge(&captured("redis-loading")),
            refused("LOADING Redis is loading the dataset in memory")
        );
        assert_eq!(
            judge(&captured("redis-busy")),
            refused(
                "BUSY Redis is busy running a script. You can only call SCRIPT KILL or \
                 SHUTDOWN NOSAVE."
            )
        );
        assert_eq!(
            judge(&captured("redis-masterdown")),
            refused(
                "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to \
                 'no'."
            )
        );
        assert_eq!(
            judge(b"-TRYAGAIN Multiple keys request during rehashing of slot\r\n"),
            refused("TRYAGAIN Multiple keys request during rehashing of slot")
        );
        assert_eq!(judge(b"-\r\n"), refused("an empty error"));
    }

    #[test]
    fn protected_modes_denied_longer_than_the_bound_is_not_ready_in_its_own_words() {
        let denied = captured("redis-denied");
        assert!(denied.len() > MAX_REPLY, "{}", denied.len());
        let words = refused(
            "DENIED Redis is running in protected mode because protected mode is enabled and no \
             password is set for the default user…",
        );
        // What the probe reads of it (a buffer of MAX_REPLY bytes), and the whole: one verdict.
        assert_eq!(judge(&denied[..MAX_REPLY]), words);
        assert_eq!(judge(&denied), words);
        for cut in 0..MAX_REPLY {
            assert_eq!(judge(&denied[..cut]), Verdict::NeedMore, "{cut}");
        }
    }

    #[test]
    fn a_partial_line_needs_more_and_what_follows_a_line_is_ignored() {
        let pong = captured("redis-pong");
        for cut in 0..pong.len() - 1 {
            assert_eq!(judge(&pong[..cut]), Verdict::NeedMore, "{cut}");
        }
        assert_eq!(judge(b"+PONG\r\n+PONG\r\n"), Verdict::Ready("+PONG".into()));
    }

    #[test]
    fn another_protocol_is_not_a_redis_reply() {
        assert_eq!(
            judge(b"HTTP/1.1 400 Bad Request\r\n"),
            Verdict::NotReady(Reason::Garbled {
                expected: "a Redis reply",
                problem: Garbled::Foreign(Some("HTTP/1.1 400 Bad Request".into())),
            })
        );
        assert!(matches!(judge(b"+OK\r\n"), Verdict::NotReady(_)));
        assert!(matches!(judge(b":1\r\n"), Verdict::NotReady(_)));
    }

    #[test]
    fn the_servers_words_are_made_safe_to_log() {
        let Verdict::NotReady(reason) = judge(b"-LOADING \x1b[31mred\x1b[0m\x07\r\n") else {
            panic!("not ready")
        };
        assert_eq!(reason.to_string(), "Redis answered \"LOADING red\"");
    }
}
