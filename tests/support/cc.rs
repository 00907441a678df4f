//! Small C programs the tests run as the gated command (they see exactly what exec handed them,
//! with no shell in between), compiled once per test binary with the system C compiler.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Mutex;

/// The binary built from `source` under `name`, compiling it on first use in this test binary.
pub fn binary(name: &str, source: &str) -> PathBuf {
    static BUILT: Mutex<Option<HashMap<String, PathBuf>>> = Mutex::new(None);
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    let built = built.get_or_insert_with(HashMap::new);
    if let Some(path) = built.get(name) {
        return path.clone();
    }
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let source_file = dir.join(format!("{name}-{}.c", std::process::id()));
    let binary = dir.join(format!("{name}-{}", std::process::id()));
    std::fs::write(&source_file, source).expect("write the C source");
    let status = Command::new("cc")
        .arg("-O1")
        .arg("-o")
        .arg(&binary)
        .arg(&source_file)
        .status()
        .unwrap_or_else(|e| panic!("a C compiler (cc) is needed to build {name}: {e}"));
    assert!(status.success(), "cc failed to build {name}");
    built.insert(name.to_string(), binary.clone());
    binary
}
