//! Dribbled replies: the per-request timeout bounds the whole attempt, not the gap between
//! bytes, so a peer sending one byte at a time forever (in the head or in a 503's body) cannot
//! stall the gate; a prompt enough dribble of a 200 is read in full and counts.

mod fault_support;
mod support;

use std::io::Write;
use std::net::TcpStream;
use std::thread;
use std::time::Duration;

use fault_support::{read_head, Server, Watched};
use support::{readygate, sh};

/// Writes `bytes` one at a time, `gap` apart, then an endless trickle of `filler`, until the
/// peer goes away.
fn dribble(stream: &mut TcpStream, bytes: &[u8], filler: u8, gap: Duration) {
    for byte in bytes.iter().copied().chain(std::iter::repeat(filler)) {
        if stream.write_all(&[byte]).is_err() {
            return;
        }
        // The pause is the fault under test, not synchronisation.
        thread::sleep(gap);
    }
}

#[test]
fn endless_dribbles_are_cut_at_the_request_timeout_and_a_dribbled_200_still_counts() {
    let gap = Duration::from_millis(5);
    let server = Server::start(move |n, mut stream| {
        read_head(&mut stream);
        match n {
            // A prompt 503 head, then its body one byte at a time, forever.
            0 => {
                let _ = stream.write_all(b"HTTP/1.1 503 X\r\ncontent-length: 1000000\r\n\r\n");
                dribble(&mut stream, b"", b'z', gap);
            }
            // A header block one byte at a time, forever.
            1 => dribble(&mut stream, b"HTTP/1.1 200 OK\r\nx-slow: ", b'y', gap),
            // A whole 200 one byte at a time: 38 bytes take ~200 ms, inside the 400 ms bound.
            _ => dribble(
                &mut stream,
                b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n",
                b' ',
                gap,
            ),
        }
    });
    let ended = Watched::spawn(
        readygate()
            .args(["--url", &server.url(), "-t", "10s"])
            .args(["--request-timeout", "400ms", "--interval", "5ms", "--"])
            .args(sh("echo ran")),
    )
    .finish();
    ended.assert_code(0);
    assert_eq!(ended.stdout, "ran\n");
    assert_eq!(server.hits(), 3, "{}", ended.stderr);
    // The 503's status stands although its body never ended; the endless head is a timeout.
    assert!(ended.stderr.contains("reason=\"503"), "{}", ended.stderr);
    assert!(
        ended.stderr.contains("no reply within 400ms"),
        "{}",
        ended.stderr
    );
    // Two attempts cut at 400 ms and one dribbled 200: well under the 10 s timeout.
    assert!(
        ended.elapsed < Duration::from_secs(3),
        "{:?}",
        ended.elapsed
    );
}
