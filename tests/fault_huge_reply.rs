//! Replies larger than any buffer: a 200 with an endless body is ready at once (the body is
//! never read), and enormous 503 bodies or header blocks keep readygate's memory small. (That
//! such a body or head is cut off and named is tests/misbehaving_endpoints.rs.)

mod support;

use std::time::Duration;

use support::endpoint::{Behaviour, Endpoint};
use support::{attempt_of, readygate, run, sh, status_kib, Watched, EVERY_MS};

const GIB: usize = 1024 * 1024 * 1024;

#[test]
fn a_200_with_an_endless_body_is_ready_without_reading_it() {
    // A terabyte would take hours to read; with no deadline (-t 0), reading it would be a hang.
    let size = 1usize << 40;
    let ep = Endpoint::start(Behaviour::Flood(
        format!("HTTP/1.1 200 OK\r\ncontent-length: {size}\r\n\r\n"),
        size,
    ));
    let result = run(readygate()
        .args(["--url", &ep.url(), "-t", "0", "--"])
        .args(sh("echo ran")));
    result.assert_code(0);
    assert_eq!(result.stdout, "ran\n");
}

#[test]
fn enormous_bodies_and_header_blocks_keep_memory_small() {
    // Alternately a 503 with an endless chunked body and a 503 with an endless header block.
    let ep = Endpoint::scripted("127.0.0.1:0", |n| {
        if n % 2 == 0 {
            let chunked = "HTTP/1.1 503 X\r\ntransfer-encoding: chunked\r\n\r\n10000\r\n";
            Behaviour::Flood(chunked.to_string(), GIB)
        } else {
            Behaviour::HugeHead(GIB)
        }
    });
    let mut watched = Watched::spawn(
        readygate()
            .args([
                "-v",
                "--url",
                &ep.url(),
                "-t",
                "20s",
                "--request-timeout",
                "300ms",
            ])
            .args(EVERY_MS),
    );
    watched.wait_for_line("20 attempts", Duration::from_secs(15), |l| {
        attempt_of(l).is_some_and(|a| a >= 20)
    });
    let peak = status_kib(watched.pid(), "VmHWM");
    eprintln!("peak RSS after 20 enormous replies: {peak} KiB");
    // Both kinds were served: the header blocks were cut off, not waited out.
    assert!(
        watched
            .lines()
            .iter()
            .any(|l| l.contains("reply head too large")),
        "the header blocks were cut off:\n{}",
        watched.lines().join("\n")
    );
    // The whole process (runtime, buffers, logging) peaks well under 16 MiB while peers push
    // gigabytes at it: reads are bounded (8 KiB head, 256 bytes of body) whatever is sent.
    assert!(peak < 16 * 1024, "peak RSS {peak} KiB");
}
