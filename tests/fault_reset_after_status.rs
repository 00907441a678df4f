//! A peer that resets the connection after (or in the middle of) its status line: the status
//! that arrived stands (a 503 is not ready, a 200 is ready), a cut status line is a reset, and the
//! gate goes on probing either way.

mod fault_support;
mod support;

use std::io::Write;

use fault_support::{answer, read_head, reset, Server, Watched};
use support::{readygate, sh};

/// Answers the n-th connection with `replies[n]` and then a reset; later ones get a clean 200.
fn resetting(replies: &'static [&'static [u8]]) -> Server {
    Server::start(move |n, mut stream| {
        read_head(&mut stream);
        match replies.get(n) {
            Some(bytes) => {
                let _ = stream.write_all(bytes);
                let _ = stream.flush();
                reset(stream);
            }
            None => answer(&mut stream, 200),
        }
    })
}

fn gate(server: &Server) -> fault_support::Ended {
    Watched::spawn(
        readygate()
            .args([
                "-v",
                "--url",
                &server.url(),
                "-t",
                "10s",
                "--interval",
                "5ms",
                "--",
            ])
            .args(sh("echo ran")),
    )
    .finish()
}

#[test]
fn a_503_head_then_a_reset_is_not_ready_and_probing_goes_on() {
    let server = resetting(&[
        b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 100\r\n\r\n",
        b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 100\r\n\r\nPRE_INIT",
        b"HTTP/1.1 20",
        b"HTTP/1.1 503 Service Unavailable\r\n",
    ]);
    let ended = gate(&server);
    ended.assert_code(0);
    assert_eq!(ended.stdout, "ran\n");
    assert_eq!(server.hits(), 5, "{}", ended.stderr);
    assert!(ended.stderr.contains("reason=\"503"), "{}", ended.stderr);
    assert!(
        ended.stderr.contains("connection reset by the endpoint"),
        "a cut status line is a reset:\n{}",
        ended.stderr
    );
}

#[test]
fn a_200_head_then_a_reset_is_ready() {
    // The proxy said 200; what happens to the connection afterwards does not change that.
    let server = resetting(&[b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n"]);
    let ended = gate(&server);
    ended.assert_code(0);
    assert_eq!(ended.stdout, "ran\n");
    assert_eq!(server.hits(), 1, "{}", ended.stderr);
}
