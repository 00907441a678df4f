//! Fuzzes `probe::postgres::judge`, the judge of the reply to readygate's StartupMessage, with
//! arbitrary bytes: never panics; a verdict on a prefix stands; it never asks for more than
//! MAX_REPLY bytes; ready only on an authentication request, a protocol negotiation or an
//! ErrorResponse; reasons are one printable line with the server's words capped
//! (readygate_fuzz::check_judge).
#![no_main]

use libfuzzer_sys::fuzz_target;
use readygate::probe::postgres::{judge, MAX_REPLY};

fuzz_target!(|data: &[u8]| {
    readygate_fuzz::check_judge(judge, data, Some(MAX_REPLY), |reply| {
        matches!(reply.first(), Some(b'R' | b'v' | b'E'))
    });
});
