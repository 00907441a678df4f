//! Fuzzes `probe::redis::judge`, the judge of the reply to readygate's PING, with arbitrary
//! bytes: never panics; a verdict on a prefix stands; ready only on a simple string or an error
//! (`+PONG`, or an error that proves a server wanting authentication); reasons are one
//! printable line with the server's words capped (readygate_fuzz::check_judge).
#![no_main]

use libfuzzer_sys::fuzz_target;
use readygate::probe::redis::judge;

fuzz_target!(|data: &[u8]| {
    readygate_fuzz::check_judge(judge, data, None, |reply| {
        reply.starts_with(b"+PONG") || reply.starts_with(b"-")
    });
});
