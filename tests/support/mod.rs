//! The one test harness: run the real binary and watch what it logs (`process`), ask the OS
//! for signals, /proc and scratch paths (`os`), serve endpoints that misbehave on demand
//! (`endpoint`, `proxy`, on `server` and `http`; `wire` for raw protocol peers), run real
//! Redis, PostgreSQL and MariaDB servers (`db`) in a private network namespace (`netns`), give
//! readygate a pod's annotations and ztunnel's listeners (`pod`), and build small C programs
//! (`cc`, `reporter`).
//! Every wait has a deadline; nothing sleeps as synchronisation.
// Each test file uses a different part of this module.
#![allow(dead_code, unused_imports)]

pub mod cc;
pub mod db;
pub mod endpoint;
pub mod http;
pub mod netns;
pub mod os;
pub mod pod;
pub mod process;
pub mod proxy;
pub mod reporter;
pub mod server;
pub mod sigrec;
pub mod wire;

pub use os::{
    can_run, closed_port, fd_count, first_child, kill, process_state, running_as_root, send_signal,
    signal_number, sigqueue, state, status_kib, temp_dir, temp_path,
};
pub use process::{
    attempt_of, eventually, finish, readygate, run, sh, wait_with_deadline, Run, Watched, EVERY_MS,
    RUN_DEADLINE,
};
