#!/usr/bin/env python3
"""listeners.py: the cost of one mesh-mode listener look (netlink sock_diag), against reading /proc/net/tcp.

Prints a Markdown section ("Cost of one listener look"); bench/run.py appends it to its report.

Usage (root): python3 bench/listeners.py [--sizes 0,1000,10000] [--foreign 5000] [--rounds 200] [--bin PATH] [--out FILE]

It re-executes itself in a private network namespace (unshare -n) where it opens ztunnel's three
listeners (15001, 15006, 15008) and, for each size N, N/2 connected pairs on 127.0.0.1 (N established
sockets); then runs examples/listeners_look.rs (built like the shipped binary: musl, release profile),
which times ROUNDS of each: the mesh look (exact sock_diag queries for the five ports), the dump of every
listener, and a read of /proc/net/tcp and tcp6. A last row puts --foreign listeners in another namespace:
the listening hash is shared by all namespaces, so a node's other pods are what a dump walks past. The
budget is 1 ms per mesh look.
"""
import argparse
import json
import os
import platform
import resource
import socket
import statistics
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TARGET = "x86_64-unknown-linux-musl"
BUDGET_US = 1000.0


def build():
    r = subprocess.run(["cargo", "build", "--quiet", "--release", "--locked", "--target", TARGET,
                        "--example", "listeners_look"], cwd=ROOT, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"building examples/listeners_look.rs failed:\n{r.stderr}")
    target_dir = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    return os.path.join(target_dir, TARGET, "release", "examples", "listeners_look")


def open_pairs(n_sockets):
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1024)
    held = []
    for _ in range(n_sockets // 2):
        client = socket.create_connection(listener.getsockname())
        server, _ = listener.accept()
        held += [client, server]
    listener.close()  # only established sockets stay: the look must find just ztunnel's three
    return held


def ztunnel_listeners():
    held = []
    for family, addr, port in [(socket.AF_INET, "127.0.0.1", 15001), (socket.AF_INET, "0.0.0.0", 15006),
                               (socket.AF_INET6, "::", 15008)]:
        s = socket.socket(family, socket.SOCK_STREAM)
        s.bind((addr, port))
        s.listen()
        held.append(s)
    return held


def foreign_listeners(n):
    """A child in its own network namespace holding n listeners until its stdin closes."""
    code = ("import socket,sys\nheld=[]\n"
            f"for _ in range({n}):\n"
            "    s=socket.socket(); s.bind(('0.0.0.0',0)); s.listen(); held.append(s)\n"
            "print('ready',flush=True); sys.stdin.read()\n")
    child = subprocess.Popen(["unshare", "-n", "--", sys.executable, "-c", code],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    if child.stdout.readline().strip() != "ready":
        raise SystemExit("the foreign namespace's listeners did not start")
    return child


def measure(binary, rounds):
    r = subprocess.run([binary, str(rounds)], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"listeners_look failed:\n{r.stderr}")
    m = json.loads(r.stdout)
    if m["listeners"] != 3 or not m["ztunnel_only"]:
        raise SystemExit(f"the look found {m['listeners']} listeners (ztunnel only: {m['ztunnel_only']}), want "
                         "ztunnel's 3")
    return m


def reset_close(sockets):
    for s in sockets:
        # Reset, not closed: no TIME_WAIT left behind for the next size.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="0,1000,10000")
    ap.add_argument("--foreign", type=int, default=5000, help="listeners in another namespace (0: no such row)")
    ap.add_argument("--rounds", type=int, default=200)
    ap.add_argument("--bin", help="a built listeners_look (default: build it)")
    ap.add_argument("--out", help="write the section here instead of stdout")
    args = ap.parse_args()
    if os.environ.get("LISTENERS_BENCH_IN_NETNS") != "1":
        if os.geteuid() != 0:
            raise SystemExit("listeners.py: run as root (unshare -n)")
        binary = os.path.abspath(args.bin) if args.bin else build()
        env = dict(os.environ, LISTENERS_BENCH_IN_NETNS="1")
        os.execvpe("unshare", ["unshare", "-n", "--", sys.executable, *sys.argv, "--bin", binary], env)
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    ztunnel = ztunnel_listeners()
    rows = []
    for n in (int(s) for s in args.sizes.split(",")):
        held = open_pairs(n)
        rows.append((f"{n} established here", measure(args.bin, args.rounds)))
        reset_close(held)
    if args.foreign:
        child = foreign_listeners(args.foreign)
        try:
            rows.append((f"{args.foreign} listeners in another namespace", measure(args.bin, args.rounds)))
        finally:
            child.stdin.close()
            child.wait()
    reset_close(ztunnel)

    out = []
    add = out.append
    add("## Cost of one listener look (mesh mode detection)")
    add("")
    add(f"Generated by `bench/listeners.py` ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, kernel "
        f"{platform.release()}, {args.rounds} rounds a row).")
    add("")
    add("Method: in a private network namespace holding ztunnel's three listeners (15001, 15006, 15008) and N "
        "established sockets (N/2 connected pairs on 127.0.0.1), `examples/listeners_look.rs` (musl, release "
        "profile) times `pod::listeners::look_mesh_ports`, the mesh look (exact sock_diag queries: which socket "
        "takes a connection to 127.0.0.1, then [::1], on 15001, 15006, 15008, 15020, 15021), and "
        "`pod::listeners::look`, a sock_diag dump of every listening socket (IPv4, then IPv6). For comparison, "
        "the same process reads `/proc/net/tcp` and `/proc/net/tcp6` whole (what `--wait-app-exit` reads). "
        "Both looks found exactly ztunnel's three listeners. Wall-clock medians; CPU is the calling thread's "
        "(CLOCK_THREAD_CPUTIME_ID, which holds the kernel's work too, and no preemption by the machine's "
        "other load): the budget, 1 ms per mesh look, is checked against its worst CPU time.")
    add("")
    add("| sockets | mesh look µs | mesh look CPU µs max | dump µs | dump CPU µs max | "
        "/proc/net/tcp+tcp6 µs | budget |")
    add("|---|---|---|---|---|---|---|")
    for label, m in rows:
        verdict = "ok" if max(m["mesh_cpu_us"]) <= BUDGET_US else "MISS"
        add(f"| {label} | {statistics.median(m['mesh_us']):.0f} | {max(m['mesh_cpu_us']):.0f} | "
            f"{statistics.median(m['dump_us']):.0f} | {max(m['dump_cpu_us']):.0f} | "
            f"{statistics.median(m['proc_us']):.0f} | {verdict} |")
    add("")
    add("The dump asks only for sockets in TCP_LISTEN, so the kernel skips the established-connection hash, "
        "whose size makes the /proc read slow; but the listening hash it walks is shared by every namespace, "
        "so its cost grows with the listeners of all the node's pods (the last row). The "
        "mesh look is ten hash lookups at most, whatever the node holds.")
    text = "\n".join(out) + "\n"
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
    sys.stdout.write(text)


if __name__ == "__main__":
    main()
