//! Fuzzes the whole command-line resolution, `cli::parse_with_env`, with arbitrary argument
//! vectors and READYGATE_* variables: never panics; a usage error is one non-empty line; an
//! accepted command line has a sidecar stage (and a quit target in Job mode) unless --mesh is
//! none, and its targets are the two stages'; the pod is detected only with --mesh auto and
//! Istio's preset as the sidecar stage.
//!
//! Input: NUL-separated parts (bytes, not necessarily UTF-8). A part `READYGATE_NAME=value` is a
//! variable of the environment; every other part is an argument after `readygate`.
#![no_main]

use std::collections::HashMap;
use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

use libfuzzer_sys::fuzz_target;
use readygate::cli::{parse_with_env, Mode, Parsed};
use readygate::preset::Mesh;

fuzz_target!(|data: &[u8]| {
    let mut args = vec![OsString::from("readygate")];
    let mut env = HashMap::new();
    for part in data.split(|&b| b == 0) {
        let var = part.strip_prefix(b"READYGATE_").and_then(|rest| {
            let at = rest.iter().position(|&b| b == b'=')?;
            let name = std::str::from_utf8(&rest[..at]).ok()?;
            Some((format!("READYGATE_{name}"), rest[at + 1..].to_vec()))
        });
        match var {
            Some((name, value)) => {
                env.insert(name, OsString::from_vec(value));
            }
            None => args.push(OsString::from_vec(part.to_vec())),
        }
    }
    match parse_with_env(args, |name| env.get(name).cloned()) {
        Parsed::Run(cli) => {
            // Only --mesh none has no sidecar; then only --url and --quit-url give targets.
            let none = cli.options.mesh == Mesh::None;
            assert!(none || !cli.stages().sidecar.is_empty(), "no sidecar stage");
            assert_eq!(
                cli.targets().len(),
                cli.stages().sidecar.len() + cli.stages().dependencies.len()
            );
            if cli.stages().auto {
                assert_eq!(cli.options.mesh, Mesh::Auto);
                let istio = Mesh::Istio.preset().ready_url.map(str::to_string);
                let sidecar: Vec<String> = cli
                    .stages()
                    .sidecar
                    .iter()
                    .map(ToString::to_string)
                    .collect();
                assert_eq!(sidecar, Vec::from_iter(istio), "auto without the preset");
            }
            if cli.mode == Mode::Job && !none {
                assert!(!cli.quit_targets().is_empty(), "no quit target");
            }
        }
        Parsed::Info(text) => assert!(!text.is_empty()),
        Parsed::Usage(message) => {
            assert!(!message.is_empty());
            assert!(
                !message.contains('\n'),
                "usage error on several lines: {message:?}"
            );
        }
    }
});
