//! Times readygate's listener look (`pod::listeners::look`, netlink sock_diag) and, for
//! comparison, a read of `/proc/net/tcp` and `/proc/net/tcp6`, each `ROUNDS` times in this
//! network namespace. bench/listeners.py runs it among sockets it opens and reports the numbers.
//!
//! Usage: listeners_look ROUNDS  (prints one JSON object on stdout: microseconds per round)

use std::time::Instant;

use readygate::pod::listeners::{look, MeshPorts};

fn micros(mut f: impl FnMut(), rounds: usize) -> Vec<f64> {
    let mut out: Vec<f64> = (0..rounds)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    out.sort_by(f64::total_cmp);
    out
}

fn list(v: &[f64]) -> String {
    let items: Vec<String> = v.iter().map(|x| format!("{x:.1}")).collect();
    format!("[{}]", items.join(","))
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(100);
    let found = look().unwrap_or_else(|e| panic!("look: {e}"));
    let mesh = MeshPorts::of(&found);
    let look_us = micros(
        || {
            look().unwrap_or_else(|e| panic!("look: {e}"));
        },
        rounds,
    );
    let proc_us = micros(
        || {
            for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
                std::fs::read(table).unwrap_or_else(|e| panic!("{table}: {e}"));
            }
        },
        rounds,
    );
    println!(
        "{{\"listeners\":{},\"ztunnel_only\":{},\"look_us\":{},\"proc_us\":{}}}",
        found.len(),
        mesh.ztunnel_only(),
        list(&look_us),
        list(&proc_us)
    );
}
