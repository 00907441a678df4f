//! Fuzzes `probe::mysql::judge`, the judge of a MySQL/MariaDB server's first packet, with
//! arbitrary bytes: never panics; a verdict on a prefix stands; it never asks for more than
//! MAX_REPLY bytes; ready only on a first packet (sequence 0) whose payload is a protocol 10
//! handshake; reasons are one printable line with the server's words capped
//! (readygate_fuzz::check_judge).
#![no_main]

use libfuzzer_sys::fuzz_target;
use readygate::probe::mysql::{judge, MAX_REPLY};

fuzz_target!(|data: &[u8]| {
    readygate_fuzz::check_judge(judge, data, Some(MAX_REPLY), |reply| {
        reply.get(3) == Some(&0) && reply.get(4) == Some(&0x0a)
    });
});
