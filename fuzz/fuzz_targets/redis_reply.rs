//! Fuzzes `probe::redis::judge`, the judge of the reply to readygate's PING, with arbitrary
//! bytes: never panics; a verdict on a prefix stands; ready only on `+PONG` or an error a live
//! Redis that wants authentication answers PING with (`-NOAUTH`, `-NOPERM`, `-ERR operation not
//! permitted`); reasons are one printable line with the server's words capped
//! (readygate_fuzz::check_judge).
#![no_main]

use libfuzzer_sys::fuzz_target;
use readygate::probe::redis::judge;

fuzz_target!(|data: &[u8]| {
    readygate_fuzz::check_judge(judge, data, None, |reply| {
        // The code, then a space or the end of the line.
        let code = |code: &[u8]| {
            reply
                .strip_prefix(code)
                .is_some_and(|rest| matches!(rest.first(), Some(b' ' | b'\r' | b'\n')))
        };
        let line = |line: &[u8]| {
            reply
                .strip_prefix(line)
                .is_some_and(|rest| rest.starts_with(b"\r\n") || rest.starts_with(b"\n"))
        };
        line(b"+PONG")
            || code(b"-NOAUTH")
            || code(b"-NOPERM")
            || line(b"-ERR operation not permitted")
    });
});
