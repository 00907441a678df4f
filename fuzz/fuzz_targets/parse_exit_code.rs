//! Fuzzes `parse::exit_code` (--timeout-exit-code): never panics, accepts only 0 to 255.
#![no_main]

use libfuzzer_sys::fuzz_target;
use readygate::parse::exit_code;

fuzz_target!(|text: &str| {
    if let Ok(code) = exit_code(text) {
        assert!((0..=255).contains(&code), "{text:?} gave {code}");
        assert_eq!(text.trim().parse::<u8>().map(i32::from), Ok(code));
    }
});
