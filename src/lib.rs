//! readygate: wait until the service-mesh sidecar is ready, then exec the application.
//!
//! The library holds every piece; `main.rs` wires them together. It is a library so that fuzz
//! targets and tests can reach the parsers. **It is not an API**: the published crate is for
//! `cargo install`, and any module may change in any release, including a patch release; depend
//! on the command line, which semantic versioning covers.
//!
//! Module map:
//! - `cli`: the command line: flags, READYGATE_* variables, the mode
//! - `options`: the option table: every flag's variable, default, help and typed setter
//! - `help`: `--help` and `--version`, generated from the option table
//! - `parse`: durations, booleans and status lists as users type them
//! - `target`: `http://`, `tcp://`, `file://`, `redis://`, `postgres://` and `mysql://` endpoints,
//!   and which stage of the wait each belongs to
//! - `preset`: each mesh's readiness (and quit) URL; `auto`, which starts as Istio's
//! - `backoff`: the delay schedule between probes (pure)
//! - `net`: connecting to a target and starting an HTTP/1 exchange (probe and quit share it)
//! - `probe`: one attempt against one endpoint, one file per kind of target (`probe/`), and
//!   why it was not ready, made safe to log (`probe/reason.rs`)
//! - `wait`: the sidecar stage (`--mesh auto`'s decision may switch or skip it), then the
//!   dependencies: backoff, deadline and progress logs (`wait/stage.rs`, `wait/sidecar.rs`)
//! - `procnet`: the kernel's TCP socket tables (/proc/net/tcp, tcp6), parsed (pure)
//! - `appexit`: `--wait-app-exit`, the preStop wait until the application's sockets are gone
//! - `pod`: the pod's mesh mode (classic, native, ambient, none) from its annotations and
//!   listeners, gathered once for `--mesh auto` after a first probe that failed (or, in Job
//!   mode, after the command, for the quit)
//! - `signals`: the signal policy: what readygate does with each signal, sent or raised, and why
//! - `signalfd`: the one listener: blocks the phase's signals and reads them with their sender
//! - `exec`: replace readygate with the command
//! - `install`: `--install DIR`, copy readygate's executable for a container without a shell
//! - `termination`: readygate's own failure, written where `kubectl describe pod` shows it
//! - `supervise`: Job mode: run the command as a child, forward signals, reap, report its status
//! - `quit`: Job mode: POST the sidecar's quit URL(s) once the command is done
//! - `sys`: the only `unsafe`: waitpid, kill, prctl, signal mask, signalfd and geteuid wrappers
//! - `log`: stderr logging, text or JSON
//! - `exit`: the exit codes

// All unsafe code lives in `sys`, where each call carries its SAFETY argument.
#![deny(unsafe_code)]

pub mod appexit;
pub mod backoff;
pub mod cli;
pub mod exec;
pub mod exit;
pub mod help;
pub mod install;
pub mod log;
pub mod net;
pub mod options;
pub mod parse;
pub mod pod;
pub mod preset;
pub mod probe;
pub mod procnet;
pub mod quit;
pub mod signalfd;
pub mod signals;
pub mod supervise;
#[allow(unsafe_code)]
pub mod sys;
pub mod target;
pub mod termination;
pub mod wait;
