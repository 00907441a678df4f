//! Fuzzes the probe's reply handling, `probe::http_get`, with arbitrary bytes from the peer,
//! delivered in chunks of a fuzzed size, then closed or held open. The clock is paused, so the
//! per-request timeout elapses instantly when the peer stalls. Never panics or hangs; "ready"
//! needs an HTTP/1 reply; a not-ready status is outside the expected set, and the proxy's text
//! that would be logged is one bounded line with no control characters.
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use readygate::parse::status_set;
use readygate::probe::http::http_get;
use readygate::probe::{Outcome, Reason};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fuzz_target!(|data: &[u8]| {
    let Some((&config, reply)) = data.split_first() else {
        return;
    };
    // Low 6 bits: chunk size (0 = all at once); bit 6: expect 2xx instead of 200; bit 7: hold the
    // connection open after the reply instead of closing it.
    let chunk = match usize::from(config & 0x3f) {
        0 => reply.len().max(1),
        n => n,
    };
    let expect = status_set(if config & 0x40 != 0 { "2xx" } else { "200" }).expect("valid");
    let hold_open = config & 0x80 != 0;
    let reply = reply.to_vec();
    let (client, mut server) = tokio::io::duplex(16 * 1024);
    let outcome = readygate_fuzz::paused_runtime().block_on(async {
        let peer = tokio::spawn(async move {
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && server.read(&mut byte).await.unwrap_or(0) == 1 {
                head.push(byte[0]);
            }
            assert!(head.starts_with(b"GET /ready HTTP/1.1\r\n"), "{head:?}");
            for piece in reply.chunks(chunk) {
                if server.write_all(piece).await.is_err() {
                    return;
                }
                tokio::task::yield_now().await;
            }
            if hold_open {
                std::future::pending::<()>().await;
            }
        });
        let limit = Duration::from_secs(1);
        let deadline = tokio::time::Instant::now() + limit;
        let outcome = http_get(
            client,
            "localhost:15020",
            "/ready",
            &expect,
            deadline,
            limit,
        )
        .await;
        peer.abort();
        if let Err(e) = peer.await {
            // A failed assertion in the peer is a finding; its cancellation is not.
            if e.is_panic() {
                std::panic::resume_unwind(e.into_panic());
            }
        }
        outcome
    });
    match outcome {
        Outcome::Ready => assert!(
            data.windows(7).any(|w| w == b"HTTP/1."),
            "ready without an HTTP/1 reply"
        ),
        Outcome::NotReady(
            Reason::Status { code, text }
            | Reason::NoUpstream {
                code, detail: text, ..
            },
        ) => {
            assert!(!expect.contains(code), "{code} is expected yet not ready");
            if let Some(text) = text {
                assert!(!text.is_empty() && text.chars().count() <= 120, "{text:?}");
                assert!(!text.chars().any(char::is_control), "{text:?}");
            }
        }
        Outcome::NotReady(_) => {}
    }
});
