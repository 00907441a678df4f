//! Fuzzes `Target::from_str` (--url, READYGATE_URL): never panics; an accepted URL is shown on
//! one line with an HTTP query or fragment redacted, and otherwise as given, parsing back to
//! itself; a file:// URL names an absolute path without NUL that does not end in `/`; a network
//! URL has a port, no credentials (a tcp:// or protocol URL no `@` or query at all), and (for
//! http://) yields a request that can be sent: it is probed over an in-memory stream whose peer
//! answers 200 and must come out ready. A refused URL's error never repeats user information.
#![no_main]

use std::os::unix::ffi::OsStrExt;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use readygate::parse::status_set;
use readygate::probe::http::http_get;
use readygate::probe::Outcome;
use readygate::target::{Kind, Target};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fuzz_target!(|text: &str| {
    let target = match text.parse::<Target>() {
        Ok(target) => target,
        Err(message) => {
            // The error never echoes user information (what stands before an `@` in the
            // authority, which ends at the first `/`).
            if let Some((_, rest)) = text
                .split_once("://")
                .filter(|(scheme, _)| !scheme.contains(['@', '"', '\\']))
            {
                let authority = rest.split('/').next().unwrap_or(rest);
                if let Some(at) = authority.rfind('@') {
                    let userinfo = &authority[..=at];
                    // (Unless the fixed text itself holds it: "(user:password@)".)
                    if !"(user:password@)".contains(userinfo) {
                        assert!(!message.contains(userinfo), "{text:?}: {message}");
                    }
                }
            }
            return;
        }
    };
    // As logs show it: one line, an HTTP query or fragment redacted; otherwise the URL as
    // given, which parses back to the same target.
    let shown = target.to_string();
    assert!(!shown.chars().any(char::is_control), "{text:?}: {shown:?}");
    let given = text.trim();
    match given.find(['?', '#']) {
        Some(at) => {
            assert!(matches!(target.kind(), Kind::Http { .. }), "{text:?}");
            if given[..at].chars().any(char::is_control) {
                assert!(shown.ends_with("<redacted>"), "{text:?}: {shown:?}");
            } else {
                assert_eq!(shown, format!("{}<redacted>", &given[..=at]), "{text:?}");
            }
        }
        None if !given.chars().any(char::is_control) => {
            assert_eq!(shown, given);
            assert_eq!(shown.parse::<Target>().as_ref(), Ok(&target));
        }
        None => {}
    }
    if let Kind::File { path } = target.kind() {
        let bytes = path.as_os_str().as_bytes();
        assert!(path.is_absolute(), "{text:?}: {path:?}");
        assert!(!bytes.contains(&0), "{text:?}: NUL in {path:?}");
        assert!(
            !bytes.ends_with(b"/"),
            "{text:?}: {path:?} names a directory"
        );
        return;
    }
    assert_ne!(target.port(), 0, "{text:?}");
    assert!(
        !target.authority().contains('@'),
        "{text:?}: credentials kept"
    );
    if target.kind().is_protocol() || *target.kind() == Kind::Tcp {
        assert!(
            !text.contains(['@', '?', '#']),
            "{text:?}: user information, a query or a fragment kept"
        );
    }
    let Kind::Http { path } = target.kind() else {
        return;
    };
    let expect = status_set("200").expect("valid");
    let (client, mut server) = tokio::io::duplex(64 * 1024);
    let (outcome, head) = readygate_fuzz::paused_runtime().block_on(async {
        let peer = tokio::spawn(async move {
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && server.read(&mut byte).await.unwrap_or(0) == 1 {
                head.push(byte[0]);
            }
            let _ = server
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                .await;
            head
        });
        let limit = Duration::from_secs(1);
        let deadline = tokio::time::Instant::now() + limit;
        let outcome = http_get(client, &target.authority(), path, &expect, deadline, limit).await;
        (outcome, peer.await.unwrap_or_default())
    });
    assert_eq!(
        outcome,
        Outcome::Ready,
        "{text:?}: path {path:?} could not be requested"
    );
    let head = String::from_utf8_lossy(&head);
    assert!(
        head.starts_with(&format!("GET {path} HTTP/1.1\r\n")),
        "{text:?}: {head:?}"
    );
});
