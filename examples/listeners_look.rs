//! Times readygate's listener looks, `pod::listeners::look_mesh_ports` (exact sock_diag
//! queries: the mesh mode's question) and `look` (a sock_diag dump of every listener), and, for
//! comparison, a read of `/proc/net/tcp` and `/proc/net/tcp6`, each `ROUNDS` times in this
//! network namespace. bench/listeners.py runs it among sockets it opens and reports the numbers.
//!
//! Usage: listeners_look ROUNDS  (prints one JSON object on stdout: microseconds per round,
//! wall-clock and this thread's CPU time, which a busy machine's preemptions do not inflate)

use std::time::Instant;

use readygate::pod::listeners::{look, look_mesh_ports, MeshPorts};

/// This thread's CPU time (user + system, the kernel's netlink dump included: it runs in the
/// reader's context), in microseconds.
fn thread_cpu_us() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the call, and
    // CLOCK_THREAD_CPUTIME_ID is a clock every Linux has; clock_gettime touches nothing else.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime");
    ts.tv_sec as f64 * 1e6 + ts.tv_nsec as f64 / 1e3
}

/// Wall-clock and CPU microseconds of `rounds` calls of `f`, each sorted.
fn micros(mut f: impl FnMut(), rounds: usize) -> (Vec<f64>, Vec<f64>) {
    let (mut wall, mut cpu): (Vec<f64>, Vec<f64>) = (0..rounds)
        .map(|_| {
            let (t, c) = (Instant::now(), thread_cpu_us());
            f();
            (t.elapsed().as_secs_f64() * 1e6, thread_cpu_us() - c)
        })
        .unzip();
    wall.sort_by(f64::total_cmp);
    cpu.sort_by(f64::total_cmp);
    (wall, cpu)
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
    let mesh = look_mesh_ports().unwrap_or_else(|e| panic!("look_mesh_ports: {e}"));
    assert_eq!(
        MeshPorts::of(&found),
        mesh,
        "the dump and the exact queries disagree"
    );
    let (mesh_us, mesh_cpu_us) = micros(
        || {
            look_mesh_ports().unwrap_or_else(|e| panic!("look_mesh_ports: {e}"));
        },
        rounds,
    );
    let (dump_us, dump_cpu_us) = micros(
        || {
            look().unwrap_or_else(|e| panic!("look: {e}"));
        },
        rounds,
    );
    let (proc_us, _) = micros(
        || {
            for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
                std::fs::read(table).unwrap_or_else(|e| panic!("{table}: {e}"));
            }
        },
        rounds,
    );
    println!(
        "{{\"listeners\":{},\"ztunnel_only\":{},\"mesh_us\":{},\"mesh_cpu_us\":{},\
         \"dump_us\":{},\"dump_cpu_us\":{},\"proc_us\":{}}}",
        found.len(),
        mesh.ztunnel_only(),
        list(&mesh_us),
        list(&mesh_cpu_us),
        list(&dump_us),
        list(&dump_cpu_us),
        list(&proc_us)
    );
}
