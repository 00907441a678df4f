//! Fuzzes `parse::boolean` (--timeout-fatal, READYGATE_DISABLED, ...): never panics, and accepts
//! exactly the eight documented words in any case, surrounded by whitespace.
#![no_main]

use libfuzzer_sys::fuzz_target;
use readygate::parse::boolean;

fuzz_target!(|text: &str| {
    let word = text.trim().to_ascii_lowercase();
    let expected = match word.as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    };
    assert_eq!(boolean(text).ok(), expected, "{text:?}");
});
