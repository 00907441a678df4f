//! Replies larger than any buffer: a 200 with an enormous body is ready at once (the body is
//! never read), and enormous 503 bodies or header blocks keep readygate's memory small.

mod fault_support;
mod support;

use std::io::Write;
use std::time::Duration;

use fault_support::{read_head, status_kib, Server, Watched};
use support::server::write_huge;
use support::{readygate, sh};

const GIB: usize = 1024 * 1024 * 1024;

#[test]
fn a_200_with_a_gigabyte_body_is_ready_without_reading_it() {
    let server = Server::start(|_, mut stream| {
        read_head(&mut stream);
        write_huge(
            &mut stream,
            &format!("HTTP/1.1 200 OK\r\ncontent-length: {GIB}\r\n\r\n"),
            GIB,
        );
    });
    let ended = Watched::spawn(
        readygate()
            .args(["--url", &server.url(), "-t", "10s", "--"])
            .args(sh("echo ran")),
    )
    .finish();
    ended.assert_code(0);
    assert_eq!(ended.stdout, "ran\n");
    assert!(
        ended.elapsed < Duration::from_secs(5),
        "{:?}",
        ended.elapsed
    );
}

#[test]
fn enormous_bodies_and_header_blocks_keep_memory_small() {
    // Alternately a 503 with an endless chunked body and a 503 with an endless header block.
    let server = Server::start(|n, mut stream| {
        read_head(&mut stream);
        if n % 2 == 0 {
            write_huge(
                &mut stream,
                "HTTP/1.1 503 X\r\ntransfer-encoding: chunked\r\n\r\n10000\r\n",
                GIB,
            );
        } else {
            let line = format!("x-filler: {}\r\n", "y".repeat(4000));
            let _ = stream.write_all(b"HTTP/1.1 503 X\r\n");
            while stream.write_all(line.as_bytes()).is_ok() {}
        }
    });
    let mut watched = Watched::spawn(readygate().args([
        "-v",
        "--url",
        &server.url(),
        "-t",
        "20s",
        "--request-timeout",
        "300ms",
        "--interval",
        "1ms",
        "--max-interval",
        "1ms",
    ]));
    watched.wait_for_line("20 attempts", Duration::from_secs(15), |l| {
        fault_support::attempt_of(l).is_some_and(|a| a >= 20)
    });
    let peak = status_kib(watched.pid(), "VmHWM");
    eprintln!("peak RSS after 20 enormous replies: {peak} KiB");
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
