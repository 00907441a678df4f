//! The pod around readygate for `--mesh auto` tests: annotations files in the kubelet's format
//! (the realistic ones in tests/data/pod-annotations, hostile ones written here), and the
//! listeners ztunnel opens in an ambient pod. Meant for tests that run inside a private network
//! namespace (`netns::in_private_netns`), where the mesh's ports are free.

use std::net::TcpListener;
use std::path::{Path, PathBuf};

/// The default annotations path readygate reads; the tests give theirs explicitly, and those
/// that rely on there being no file check that it does not exist here.
pub const DEFAULT_PATH: &str = "/etc/podinfo/annotations";

/// `tests/data/pod-annotations/NAME`.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/pod-annotations")
        .join(name)
}

/// `--pod-annotations PATH` for a fixture.
pub fn annotations(name: &str) -> [String; 2] {
    [
        "--pod-annotations".to_string(),
        fixture(name).to_string_lossy().into_owned(),
    ]
}

/// Asserts that the machine has no annotations file at the default path, so that a test
/// without `--pod-annotations` really has no annotations fact.
pub fn assert_no_default_file() {
    assert!(
        !Path::new(DEFAULT_PATH).exists(),
        "{DEFAULT_PATH} exists on this machine: the test needs a pod without it"
    );
}

/// ztunnel's listeners in an ambient pod's network namespace: 15001, 15006 and 15008 on the
/// wildcard address, as ztunnel binds them. Held until dropped.
pub fn ztunnel() -> Vec<TcpListener> {
    [15001, 15006, 15008]
        .iter()
        .map(|port| {
            TcpListener::bind(("0.0.0.0", *port))
                .unwrap_or_else(|e| panic!("listen on {port}: {e}"))
        })
        .collect()
}
