//! Fuzzes `pod::annotations::parse` (the kubelet's Downward API annotations file) and
//! `pod::mode::decide` on what it yields: never panics; refuses input over the cap; an error
//! names a line of the input; and what parses survives a round trip: written again in the
//! kubelet's format (keys sorted, values escaped as Go's `strconv.Quote` escapes them), it parses
//! to the same annotations.
#![no_main]

use std::fmt::Write;

use libfuzzer_sys::fuzz_target;
use readygate::pod::annotations::{parse, DEFAULT_PATH, MAX_FILE_BYTES};
use readygate::pod::listeners::MeshPorts;
use readygate::pod::mode::{decide, Facts, JobQuit};

/// `key="value"` lines as `FormatMap` writes them, quoting with the escapes Go's Quote uses:
/// the named controls, `\xNN` for other controls, `\u`/`\U` for everything beyond ASCII.
fn format_map(pairs: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (i, (key, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(key);
        out.push_str("=\"");
        for c in value.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\x07' => out.push_str("\\a"),
                '\x08' => out.push_str("\\b"),
                '\x0c' => out.push_str("\\f"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\x0b' => out.push_str("\\v"),
                ' '..='~' => out.push(c),
                c if (c as u32) < 0x80 => write!(out, "\\x{:02x}", c as u32).unwrap(),
                c if (c as u32) < 0x10000 => write!(out, "\\u{:04x}", c as u32).unwrap(),
                c => write!(out, "\\U{:08x}", c as u32).unwrap(),
            }
        }
        out.push('"');
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let lines = data.split(|&b| b == b'\n').count();
    let annotations = match parse(data) {
        Ok(a) => a,
        Err(e) => {
            assert!(e.line <= lines, "{e} of {lines} lines");
            assert!(
                e.line > 0 || data.len() > MAX_FILE_BYTES || std::str::from_utf8(data).is_err()
            );
            assert!(!e.to_string().is_empty());
            return;
        }
    };
    assert!(data.len() <= MAX_FILE_BYTES);
    assert!(annotations.len() <= lines);
    let pairs: Vec<(&str, &str)> = annotations
        .keys()
        .map(|k| (k, annotations.get(k).expect("a listed key has a value")))
        .collect();
    for (key, _) in &pairs {
        assert!(
            !key.is_empty() && !key.contains(['=', '"', '\n', ' ']),
            "{key:?}"
        );
    }
    let again = parse(format_map(&pairs).as_bytes()).expect("the kubelet's format of a parse");
    assert_eq!(again, annotations);
    let d = decide(&Facts {
        path: std::path::Path::new(DEFAULT_PATH),
        annotations: Ok(&annotations),
        listeners: Ok(MeshPorts::default()),
    });
    for quit in [JobQuit::Unsaid, JobQuit::Always, JobQuit::OnSuccess] {
        for dependencies in [false, true] {
            let line = d.line(quit, dependencies);
            assert!(!line.contains('\n'), "{line}");
        }
    }
    assert!(!d.quit_line().contains('\n'));
});
