//! Why an endpoint is not ready, worded for the person reading the pod's logs.
//!
//! The proxy's own words (the body of its 503) are untrusted input: they are cut to their first
//! line, stripped of control characters and terminal escape sequences, and capped in length.

use std::fmt;
use std::time::Duration;

use crate::file_probe::FileReason;
use crate::net::Failure;
use crate::parse::format_duration;

/// Longest proxy-supplied text kept, in characters.
const MAX_TEXT_CHARS: usize = 120;

/// Why one attempt did not find the endpoint ready.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reason {
    /// No reply: connecting failed, or the connection did (worded by `net`).
    Transport(Failure),
    /// The attempt did not finish within the per-request timeout.
    NoReply { within: Duration },
    /// An HTTP status that is not in --expect-status, with the first line of the body.
    Status { code: u16, text: Option<String> },
    /// The deadline passed before the endpoint's first attempt could finish.
    NotProbedYet,
    /// A file:// target's file is missing, empty, still changing, or not a regular file.
    File(FileReason),
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
            Reason::NotProbedYet => f.write_str("not probed yet"),
            Reason::File(reason) => write!(f, "{reason}"),
        }
    }
}

fn status_name(code: u16) -> &'static str {
    hyper::StatusCode::from_u16(code)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("")
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
    matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
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
        let body = b"\x1b[31mred\x1b[0m \x1b]0;title\x07ok\x00\x08\x7f \xe2\x80\xaeevil\x1b]8;;http://x\x1b\\";
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
}
