//! Why an endpoint is not ready, worded for the person reading the pod's logs, and what one
//! attempt came to. Every kind of target words its reasons here, so this file depends on no kind:
//! the kinds depend on it.
//!
//! The peer's own words (a proxy's 503 body, a server's error) are untrusted input: they are cut
//! to their first line, stripped of control characters and terminal escape sequences, and capped
//! in length.

use std::fmt;
use std::time::Duration;

use crate::net::Failure;
use crate::parse::format_duration;

/// Longest peer-supplied text kept, in characters.
const MAX_TEXT_CHARS: usize = 120;

/// The result of one attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The endpoint is ready.
    Ready,
    /// The endpoint is not ready, and why.
    NotReady(Reason),
}

/// What a wire protocol's judge made of the reply bytes read so far.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The real server answered as one that takes connections; what proved it, for the debug log.
    Ready(String),
    /// The reply says not ready, or is not the protocol's.
    NotReady(Reason),
    /// The bytes so far are the start of a reply: read more.
    NeedMore,
}

/// Why one attempt did not find the endpoint ready.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reason {
    /// No reply: connecting failed, or the connection did (worded by `net`).
    Transport(Failure),
    /// The attempt did not finish within the per-request timeout.
    NoReply { within: Duration },
    /// An HTTP status that is not in --expect-status, with the first line of the body.
    Status { code: u16, text: Option<String> },
    /// The mesh's proxy answered for a dependency it cannot reach yet: Envoy's own 503 bodies
    /// (`no healthy upstream`: `detail` is `None`; `upstream connect error ...`: its first line).
    NoUpstream {
        code: u16,
        authority: String,
        detail: Option<String>,
    },
    /// The deadline passed before the endpoint's first attempt could finish.
    NotProbedYet,
    /// A file:// target's file is missing, empty, still changing, or not a regular file.
    File(FileReason),
    /// A connection accepted, then closed or reset before the peer sent a byte (or, for a
    /// protocol, before its reply): what a mesh proxy with no upstream does.
    DroppedAtOnce {
        authority: String,
        /// The protocol whose reply never came; `None` for a tcp:// target.
        protocol: Option<&'static str>,
    },
    /// A tcp:// connection was accepted, but the attempt's time (`limit`, --request-timeout) ran
    /// out before the peer had kept it for the whole settle time: nothing proves the peer would
    /// not have dropped it.
    SettleCut { settle: Duration, limit: Duration },
    /// The server refused in its own words (made safe to log), with its code if it has one:
    /// `-LOADING ...` from Redis, SQLSTATE 57P03 from PostgreSQL, error 1040 from MySQL.
    Refused {
        protocol: &'static str,
        code: Option<String>,
        said: String,
    },
    /// The reply is not the protocol's, or not all of it came.
    Garbled {
        /// What was expected, as a phrase: "a Redis reply", "a MySQL greeting".
        expected: &'static str,
        problem: Garbled,
    },
}

/// How a reply failed to be the protocol's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Garbled {
    /// Bytes of another protocol; the first line of them, made safe to log, if any.
    Foreign(Option<String>),
    /// The peer closed after this many bytes of a reply.
    Cut { after: usize },
    /// No complete reply within this many bytes.
    TooLong { limit: usize },
}

impl From<Failure> for Reason {
    fn from(failure: Failure) -> Self {
        Reason::Transport(failure)
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Transport(failure) => failure.fmt(f),
            Reason::NoReply { within } => write!(f, "no reply within {}", format_duration(*within)),
            Reason::Status {
                code,
                text: Some(text),
            } => write!(f, "{code} {text:?}"),
            Reason::Status { code, text: None } if (300..400).contains(code) => {
                write!(
                    f,
                    "{code} {} (redirects are not followed)",
                    status_name(*code)
                )
            }
            Reason::Status { code, text: None } => write!(f, "{code} {}", status_name(*code)),
            Reason::NoUpstream {
                code,
                authority,
                detail: None,
            } => write!(
                f,
                "{code}: the mesh has no healthy upstream for {authority} yet"
            ),
            Reason::NoUpstream {
                code,
                authority,
                detail: Some(detail),
            } => write!(
                f,
                "{code}: the mesh cannot connect to {authority} yet: {detail}"
            ),
            Reason::NotProbedYet => f.write_str("not probed yet"),
            Reason::File(reason) => write!(f, "{reason}"),
            Reason::DroppedAtOnce {
                authority,
                protocol,
            } => {
                match protocol {
                    None => f.write_str("accepted, then closed at once")?,
                    Some(name) => write!(f, "accepted, then closed before a {name} reply")?,
                }
                write!(f, ": a mesh proxy with no upstream for {authority} yet?")
            }
            Reason::SettleCut { settle, limit } if settle >= limit => write!(
                f,
                "--tcp-settle {} does not fit in --request-timeout {}: the connection cannot be \
                 watched that long",
                format_duration(*settle),
                format_duration(*limit)
            ),
            Reason::SettleCut { settle, limit } => write!(
                f,
                "the connect took most of --request-timeout {}: the --tcp-settle window ({}) \
                 could not be watched in full",
                format_duration(*limit),
                format_duration(*settle)
            ),
            Reason::Refused {
                protocol,
                code,
                said,
            } => match code {
                Some(code) => write!(f, "{protocol} answered {code} {said:?}"),
                None => write!(f, "{protocol} answered {said:?}"),
            },
            Reason::Garbled { expected, problem } => match problem {
                Garbled::Foreign(Some(text)) => write!(f, "not {expected}: {text:?}"),
                Garbled::Foreign(None) => write!(f, "not {expected}"),
                Garbled::Cut { after } => {
                    write!(f, "connection closed after {after} bytes of {expected}")
                }
                Garbled::TooLong { limit } => {
                    write!(f, "no complete {} within {limit} bytes", bare(expected))
                }
            },
        }
    }
}

/// "a Redis reply" without its article.
fn bare(phrase: &str) -> &str {
    phrase
        .strip_prefix("a ")
        .or_else(|| phrase.strip_prefix("an "))
        .unwrap_or(phrase)
}

fn status_name(code: u16) -> &'static str {
    hyper::StatusCode::from_u16(code)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("")
}

/// Why a file target is not ready yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileReason {
    /// The path, made safe to log.
    pub path: String,
    pub state: FileState,
}

/// What the `stat` found.
#[derive(Clone, Debug, Eq)]
pub enum FileState {
    Missing,
    /// A component of the path is a file, not a directory.
    ParentNotDirectory,
    /// A directory on the path is not searchable.
    PermissionDenied,
    Directory,
    /// A FIFO, socket or device, named.
    NotRegular(&'static str),
    Empty,
    /// Not empty, but it changed this long ago, less than the settle time.
    Changed {
        ago: Duration,
    },
    /// Any other `stat` failure, described.
    Failed(String),
}

/// The wait logs a line when an endpoint's reason changes: a file still being written says
/// "changed ... ago" with a new figure at every look, which is the same news, logged once.
impl PartialEq for FileState {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (FileState::Changed { .. }, FileState::Changed { .. }) => true,
            (FileState::NotRegular(a), FileState::NotRegular(b)) => a == b,
            (FileState::Failed(a), FileState::Failed(b)) => a == b,
            (a, b) => std::mem::discriminant(a) == std::mem::discriminant(b),
        }
    }
}

impl fmt::Display for FileReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = &self.path;
        match &self.state {
            FileState::Missing => write!(f, "{path} does not exist yet"),
            FileState::ParentNotDirectory => {
                write!(f, "{path} cannot exist: a directory on its path is a file")
            }
            FileState::PermissionDenied => write!(
                f,
                "permission denied on {path} (a directory on its path is not searchable)"
            ),
            FileState::Directory => write!(f, "{path} is a directory"),
            FileState::NotRegular(what) => write!(f, "{path} is not a regular file ({what})"),
            FileState::Empty => write!(f, "{path} is empty"),
            FileState::Changed { ago } => write!(f, "{path} changed {} ago", format_duration(*ago)),
            FileState::Failed(detail) => write!(f, "cannot stat {path}: {detail}"),
        }
    }
}

/// The first non-empty line of a reply body, made safe to log; `None` when there is no text.
pub fn first_line(body: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    let clean = strip_escapes(&text);
    let line = clean
        .split(['\n', '\r'])
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .find(|l| !l.is_empty())?;
    if line.chars().count() <= MAX_TEXT_CHARS {
        return Some(line);
    }
    let mut cut: String = line.chars().take(MAX_TEXT_CHARS - 1).collect();
    cut.push('…');
    Some(cut)
}

/// The verdict on a reply that is not `expected` (a protocol's reply, as a phrase), naming the
/// peer's first line when it is text.
pub fn foreign(expected: &'static str, reply: &[u8]) -> Verdict {
    Verdict::NotReady(Reason::Garbled {
        expected,
        problem: Garbled::Foreign(foreign_text(reply)),
    })
}

/// The first line of another protocol's reply, to name it in a reason: only when it is text
/// (a banner, an HTTP status line); binary bytes would print as noise.
fn foreign_text(reply: &[u8]) -> Option<String> {
    let line = reply.split(|&b| b == b'\n' || b == b'\r').next()?;
    let text = std::str::from_utf8(line).ok()?;
    if text.chars().any(|c| c.is_control() && c != '\t') {
        return None;
    }
    first_line(line)
}

/// Removes terminal escape sequences (CSI, OSC and two-byte ESC forms) and every control or
/// bidirectional-override character except line breaks, which `first_line` splits on.
fn strip_escapes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => match chars.next() {
                // CSI: parameters and intermediates, then one final byte in @..~.
                Some('[') => {
                    for c in chars.by_ref() {
                        if ('@'..='~').contains(&c) {
                            break;
                        }
                    }
                }
                // OSC, DCS, SOS, PM, APC: up to BEL or ST (ESC \).
                Some(']' | 'P' | 'X' | '^' | '_') => {
                    while let Some(c) = chars.next() {
                        if c == '\u{7}' {
                            break;
                        }
                        if c == '\u{1b}' && chars.peek() == Some(&'\\') {
                            chars.next();
                            break;
                        }
                    }
                }
                _ => {}
            },
            '\n' | '\r' => out.push(c),
            '\t' => out.push(' '),
            c if c.is_control() || is_invisible_format(c) => {}
            c => out.push(c),
        }
    }
    out
}

/// Zero-width and bidirectional control characters, which can disguise log text.
fn is_invisible_format(c: char) -> bool {
    matches!(
        c,
        '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_non_empty_line_is_kept() {
        assert_eq!(
            first_line(b"\n  config not received from XDS server (is Istiod running?)\nmore"),
            Some("config not received from XDS server (is Istiod running?)".into())
        );
        assert_eq!(
            first_line(b"PRE_INITIALIZING\n"),
            Some("PRE_INITIALIZING".into())
        );
        assert_eq!(first_line(b""), None);
        assert_eq!(first_line(b" \r\n\t"), None);
    }

    #[test]
    fn escape_sequences_and_control_characters_are_removed() {
        let body = b"\x1b[31mred\x1b[0m \x1b]0;title\x07ok\x00\x08\x7f \
                     \xe2\x80\xaeevil\x1b]8;;http://x\x1b\\";
        assert_eq!(first_line(body), Some("red ok evil".into()));
    }

    #[test]
    fn invalid_utf8_does_not_panic_and_long_text_is_capped() {
        assert_eq!(
            first_line(b"\xff\xfe ok"),
            Some("\u{fffd}\u{fffd} ok".into())
        );
        let long = "x".repeat(1_000);
        let line = first_line(long.as_bytes()).expect("text");
        assert_eq!(line.chars().count(), MAX_TEXT_CHARS);
        assert!(line.ends_with('…'));
    }

    #[test]
    fn another_protocols_reply_is_named_only_by_its_text() {
        assert_eq!(
            foreign_text(b"HTTP/1.1 400 Bad Request\r\nx: y"),
            Some("HTTP/1.1 400 Bad Request".into())
        );
        assert_eq!(foreign_text(b"\xff\xff\x00\x00\x0a"), None);
        assert_eq!(foreign_text(b"SSH\x1b[2J"), None);
        assert_eq!(foreign_text(b""), None);
    }

    #[test]
    fn reasons_read_as_sentences() {
        let r = Reason::from(Failure::NothingListening {
            authority: "127.0.0.1:15020".into(),
        });
        assert_eq!(r.to_string(), "nothing listening on 127.0.0.1:15020 yet");
        let r = Reason::NoReply {
            within: Duration::from_secs(1),
        };
        assert_eq!(r.to_string(), "no reply within 1s");
        let r = Reason::Status {
            code: 503,
            text: Some("PRE_INITIALIZING".into()),
        };
        assert_eq!(r.to_string(), "503 \"PRE_INITIALIZING\"");
        let r = Reason::Status {
            code: 302,
            text: None,
        };
        assert_eq!(r.to_string(), "302 Found (redirects are not followed)");
    }

    #[test]
    fn mesh_and_protocol_reasons_read_as_sentences() {
        let r = Reason::NoUpstream {
            code: 503,
            authority: "orders:8080".into(),
            detail: None,
        };
        assert_eq!(
            r.to_string(),
            "503: the mesh has no healthy upstream for orders:8080 yet"
        );
        let r = Reason::DroppedAtOnce {
            authority: "db:5432".into(),
            protocol: None,
        };
        assert_eq!(
            r.to_string(),
            "accepted, then closed at once: a mesh proxy with no upstream for db:5432 yet?"
        );
        let r = Reason::DroppedAtOnce {
            authority: "cache:6379".into(),
            protocol: Some("Redis"),
        };
        assert_eq!(
            r.to_string(),
            "accepted, then closed before a Redis reply: a mesh proxy with no upstream for \
             cache:6379 yet?"
        );
        let r = Reason::SettleCut {
            settle: Duration::from_millis(100),
            limit: Duration::from_secs(1),
        };
        assert_eq!(
            r.to_string(),
            "the connect took most of --request-timeout 1s: the --tcp-settle window (100ms) \
             could not be watched in full"
        );
        let r = Reason::SettleCut {
            settle: Duration::from_secs(2),
            limit: Duration::from_secs(1),
        };
        assert_eq!(
            r.to_string(),
            "--tcp-settle 2s does not fit in --request-timeout 1s: the connection cannot be \
             watched that long"
        );
        let r = Reason::Refused {
            protocol: "MySQL",
            code: Some("1040".into()),
            said: "Too many connections".into(),
        };
        assert_eq!(
            r.to_string(),
            "MySQL answered 1040 \"Too many connections\""
        );
        let r = Reason::Garbled {
            expected: "a Redis reply",
            problem: Garbled::TooLong { limit: 512 },
        };
        assert_eq!(r.to_string(), "no complete Redis reply within 512 bytes");
        let r = Reason::Garbled {
            expected: "a MySQL greeting",
            problem: Garbled::Foreign(Some("HTTP/1.1 400 Bad Request".into())),
        };
        assert_eq!(
            r.to_string(),
            "not a MySQL greeting: \"HTTP/1.1 400 Bad Request\""
        );
    }
}
