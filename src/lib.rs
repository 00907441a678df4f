//! readygate: wait until the service-mesh sidecar is ready, then exec the application.
//!
//! The library holds every piece; `main.rs` wires them together. It is a library so that fuzz
//! targets and tests can reach the parsers.
//!
//! Module map:
//! - `cli`: the command line and its READYGATE_* variables
//! - `parse`: durations, booleans and status lists as users type them
//! - `target`: `http://` and `tcp://` endpoints
//! - `preset`: each mesh's readiness (and quit) URL
//! - `backoff`: the delay schedule between probes (pure)
//! - `probe`: one attempt against one endpoint
//! - `reason`: why an endpoint is not ready, made safe to log
//! - `wait`: all endpoints, backoff, deadline and progress logs
//! - `signals`: which signals end the wait
//! - `exec`: replace readygate with the command
//! - `log`: stderr logging, text or JSON
//! - `exit`: the exit codes

pub mod backoff;
pub mod cli;
pub mod exec;
pub mod exit;
pub mod log;
pub mod parse;
pub mod preset;
pub mod probe;
pub mod reason;
pub mod signals;
pub mod target;
pub mod wait;
