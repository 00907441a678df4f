//! Fuzzes `parse::status_set` (--expect-status): never panics, an accepted set holds only
//! statuses 100 to 599, and its canonical form parses back to the same set.
#![no_main]

use libfuzzer_sys::fuzz_target;
use readygate::parse::status_set;

fuzz_target!(|text: &str| {
    let Ok(set) = status_set(text) else { return };
    for code in (0..100).chain(600..=u16::MAX) {
        assert!(!set.contains(code), "{text:?} contains {code}");
    }
    let canonical = set.to_string();
    assert_eq!(
        status_set(&canonical).as_ref(),
        Ok(&set),
        "{text:?} -> {canonical:?}"
    );
});
