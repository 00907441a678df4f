//! Fuzzes `pod::istio_status::proxy_placement` (the `sidecar.istio.io/status` JSON scanner)
//! with arbitrary text: never panics or recurses without bound; what it accepts is one JSON
//! object, and an error points inside the text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use readygate::pod::istio_status::{proxy_placement, Placement};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match proxy_placement(text) {
        Ok(placement) => {
            let trimmed = text.trim_matches([' ', '\t', '\n', '\r']);
            assert!(
                trimmed.starts_with('{') && trimmed.ends_with('}'),
                "{text:?}"
            );
            if placement != Placement::Absent {
                // The name is there, possibly escaped (`\u002d` and the like).
                assert!(text.contains("istio") || text.contains("\\u"), "{text:?}");
            }
        }
        Err(e) => assert!(e.at <= text.len(), "{e} in {} bytes", text.len()),
    }
});
