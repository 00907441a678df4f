//! Fuzzes `parse::duration` (--timeout, --interval, ...): never panics, and whatever it accepts
//! is within a year (so deadline arithmetic cannot overflow) and formats without panicking.
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use readygate::parse::{duration, format_duration};

fuzz_target!(|text: &str| {
    if let Ok(d) = duration(text) {
        assert!(
            d <= Duration::from_secs(365 * 24 * 3600),
            "{text:?} gave {d:?}"
        );
        assert!(!format_duration(d).is_empty());
        // Instant arithmetic with any accepted duration must not overflow.
        let _ = std::time::Instant::now() + d;
    }
});
