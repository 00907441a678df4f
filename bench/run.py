#!/usr/bin/env python3
"""run.py: benchmark readygate against the shell loops users write by hand; prints and writes a Markdown report.

Usage:
  python3 bench/run.py --readygate PATH [--readygate-static PATH] [--smoke] [--out docs/benchmarks.md]

--smoke is the CI mode: a short run (~30-40 s) that proves the harness works. It never fails on a timing or a
missed target, only when the harness itself (or a contender's basic behaviour, e.g. never running the command)
is broken. A full run takes about 4 minutes on 2 cores. --strict makes a full run exit 1 on any MISS.
Python 3.11 standard library only, plus gcc (bench/stamp.c, bench/runner.c are compiled at run time) and curl
(the hand-written loops use it). See docs/benchmarks.md for the method.
"""
import argparse
import ctypes
import datetime
import fcntl
import json
import os
import random
import shlex
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
MONO = time.CLOCK_MONOTONIC
MIB = 1024 * 1024

# Targets readygate must reach at its defaults.
T_LAT_MEDIAN_MS = 25.0
T_LAT_MAX_MS = 60.0
T_WAIT_CPU_MS_PER_S = 1.0
T_WAIT_PROBES_PER_S = 20.0
T_OVERHEAD_MS = 0.5
T_RSS_KIB = 1024
T_BINARY_BYTES = MIB

CURL = "/usr/bin/curl"
LOOP = 'until {curl} -fsS "$URL" >/dev/null; do sleep {s}; done; exec "$@"'

# (full, smoke) settings
PLAN = {
    "latency_trials": (30, 2),
    "overhead_rounds": (200, 20),
    "wait_seconds": (30.0, 3.0),
    "hung_trials": (3, 1),
    "hung_cap_after_s": (5.0, 2.0),  # how long after the endpoint starts answering before a trial is "stalled"
}


def log(msg):
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


class HarnessError(Exception):
    """The harness (or a contender's basic behaviour) is broken: the run cannot be trusted."""


# -- isolation ---------------------------------------------------------------------------------------------------
def enter_netns():
    """Move this process into a fresh network namespace with lo up; returns a description of where we run.

    Done with unshare(2) before any child exists, so every endpoint and contender shares the private loopback
    and nothing on the host can connect to (or be hit by) the benchmark.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(0x40000000) != 0:  # CLONE_NEWNET
        return f"host loopback (unshare(CLONE_NEWNET) failed: {os.strerror(ctypes.get_errno())})"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        req = struct.pack("16sH22x", b"lo", 0)
        flags = struct.unpack_from("16sH", fcntl.ioctl(s, 0x8913, req))[1]  # SIOCGIFFLAGS
        fcntl.ioctl(s, 0x8914, struct.pack("16sH22x", b"lo", flags | 0x1))  # SIOCSIFFLAGS |= IFF_UP
    return "private network namespace (unshare CLONE_NEWNET), loopback only"


# -- helpers built at run time -----------------------------------------------------------------------------------
def build_helpers(tmp, ci):
    """Compile the C helpers statically; musl-gcc when present (musl starts faster than static glibc, whose
    start-up runs dozens of CPUID instructions, each a VM exit on a virtual machine), else gcc."""
    gcc = shutil.which("gcc")
    if not gcc:
        raise HarnessError("gcc not found: install gcc and libc6-dev (bench/install-deps.sh)")
    cc = shutil.which("musl-gcc") or gcc
    out = {}
    for name in ("stamp", "runner", "floor"):
        src, exe = os.path.join(HERE, name + ".c"), os.path.join(tmp, name)
        r = subprocess.run([cc, "-O2", "-static", "-o", exe, src], capture_output=True, text=True)
        if r.returncode != 0:
            raise HarnessError(f"static build of {name}.c with {cc} failed (need libc6-dev or musl-tools):\n"
                               f"{r.stderr}")
        out[name] = exe
    out["tokio-floor"] = build_tokio_floor()
    return out, f"{os.path.basename(cc)} -O2 -static"


def build_tokio_floor():
    """bench/tokio-floor: the least a gate on readygate's stack (a tokio runtime with its signal
    handlers) costs; built like readygate's static release (the repository's .cargo/config.toml)."""
    cargo = shutil.which("cargo")
    if not cargo:
        raise HarnessError("cargo not found: needed to build bench/tokio-floor")
    crate = os.path.join(HERE, "tokio-floor")
    target = "x86_64-unknown-linux-musl"
    r = subprocess.run([cargo, "build", "--quiet", "--release", "--locked", "--target", target],
                       cwd=crate, capture_output=True, text=True)
    if r.returncode != 0:
        raise HarnessError(f"building bench/tokio-floor failed:\n{r.stderr}")
    return os.path.join(crate, "target", target, "release", "tokio-floor")


# -- contenders --------------------------------------------------------------------------------------------------
class Contender:
    def __init__(self, name, label, argv_fn, env_fn=lambda url: {}):
        self.name, self.label, self.argv_fn, self.env_fn = name, label, argv_fn, env_fn

    def argv(self, url, cmd):
        return self.argv_fn(url) + list(cmd)


def make_contenders(readygate):
    cs = []
    if readygate:
        cs.append(Contender("readygate", "readygate (defaults)", lambda url: [readygate, "--url", url, "--"]))
    for s in ("1", "0.5"):
        script = LOOP.format(curl=CURL, s=s)
        cs.append(Contender(f"curl-{s}s", f"sh+curl loop, sleep {s}",
                            lambda url, script=script: ["sh", "-c", script, "sh"],
                            lambda url: {"URL": url}))
    return cs


def make_floor(tools, interval_ms):
    """The reference row: bench/floor.c, the least a gate can do; shows this machine's exec + probe floor."""
    return Contender("floor", f"reference: minimal C gate, {interval_ms} ms interval (bench/floor.c)",
                     lambda url: [tools["floor"], url.split(":")[2].split("/")[0], str(interval_ms), "--"])


def make_tokio_floor(tools):
    """The second reference row: bench/tokio-floor, readygate's runtime and nothing else."""
    return Contender("tokio-floor", "reference: tokio runtime + signal handlers + one GET, then exec (bench/tokio-floor)",
                     lambda url: [tools["tokio-floor"], url.split(":")[2].split("/")[0], "--"])


def base_env(tmp):
    """The contenders' environment: readygate at its defaults, curl without proxies or a .curlrc."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("READYGATE_") and not k.lower().endswith("_proxy")}
    env["CURL_HOME"] = tmp
    return env


# -- one trial ---------------------------------------------------------------------------------------------------
class Bench:
    def __init__(self, args, tools, tmp):
        self.args, self.tools, self.tmp = args, tools, tmp
        self.env = base_env(tmp)
        self.children = []
        self.seq = 0

    def start_endpoint(self, mode):
        p = subprocess.Popen([sys.executable, os.path.join(HERE, "endpoint.py"), "--mode", mode],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        self.children.append(p)
        line = p.stdout.readline()
        if not line:
            raise HarnessError(f"endpoint ({mode}) exited before reporting its port")
        return p, json.loads(line)["port"]

    def stop_endpoint(self, p):
        try:
            p.stdin.write("stop\n")
            p.stdin.flush()
        except BrokenPipeError:
            pass
        line = p.stdout.readline()
        p.wait(timeout=10)
        self.children.remove(p)
        if not line:
            raise HarnessError("endpoint died without statistics")
        return json.loads(line)

    def runner_argv(self, contender, url, cmd, deadline_s):
        self.seq += 1
        out = os.path.join(self.tmp, f"run{self.seq}.out")
        err = os.path.join(self.tmp, f"run{self.seq}.err")
        if contender is None:  # the command run directly
            argv = list(cmd)
        else:
            argv = contender.argv(url, cmd)
        env = dict(self.env)
        if contender is not None:
            env.update(contender.env_fn(url))
        full = [self.tools["runner"], out, str(int(deadline_s * 1000)), err, "--"] + argv
        return full, env, out, err

    @staticmethod
    def read_runner(out, err):
        try:
            with open(out) as f:
                t0, t1, status, killed, ut, st, maxrss, hwm = (int(x) for x in f.read().split())
        except (OSError, ValueError) as e:
            raise HarnessError(f"runner produced no result ({e})")
        with open(err, errors="replace") as f:
            stderr = f.read()
        return {"t0": t0, "t1": t1, "status": status, "killed": bool(killed), "cpu_us": ut + st,
                "maxrss_kib": maxrss, "vmhwm_kib": hwm, "stderr": stderr}

    def run_one(self, contender, url, cmd, deadline_s):
        argv, env, out, err = self.runner_argv(contender, url, cmd, deadline_s)
        r = subprocess.run(argv, env=env)
        if r.returncode != 0:
            raise HarnessError(f"runner failed ({r.returncode}) for {shlex.join(argv)}")
        return self.read_runner(out, err)

    def stamp_cmd(self):
        self.seq += 1
        path = os.path.join(self.tmp, f"stamp{self.seq}")
        return path, [self.tools["stamp"], path]

    def gated_trial(self, contender, mode, flip_delay_s, deadline_s):
        """One contender against a fresh endpoint that flips `flip_delay_s` after the gate starts."""
        ep, port = self.start_endpoint(mode)
        url = f"http://127.0.0.1:{port}/healthz/ready"
        stamp_path, cmd = self.stamp_cmd()
        try:
            t_sched = time.clock_gettime_ns(MONO)
            ep.stdin.write(f"flip {t_sched + int(flip_delay_s * 1e9)}\n")
            ep.stdin.flush()
            res = self.run_one(contender, url, cmd, deadline_s)
        finally:
            stats = self.stop_endpoint(ep)
        res["ep"] = stats
        res["stamp"] = None
        if os.path.exists(stamp_path):
            with open(stamp_path) as f:
                res["stamp"] = int(f.read())
        return res

    def cleanup(self):
        for p in self.children:
            p.kill()
            p.wait()
        self.children.clear()


def exit_code(status):
    if os.WIFEXITED(status):
        return os.WEXITSTATUS(status)
    return 128 + os.WTERMSIG(status)


def rotated(items, i):
    k = i % len(items)
    return items[k:] + items[:k]


# -- the measurements --------------------------------------------------------------------------------------------
def measure_latency(b, contenders, trials, rng):
    """Detection latency in 503-then-200 and refuse-then-listen modes; per trial one random flip delay shared
    by all contenders, run round-robin with a rotating start."""
    res = {}
    for mode in ("503", "refuse"):
        for i in range(trials):
            delay = rng.uniform(0.3, 1.5)
            for c in rotated(contenders, i):
                r = b.gated_trial(c, mode, delay, deadline_s=delay + 10.0)
                ep = r["ep"]
                if r["killed"] or r["stamp"] is None or exit_code(r["status"]) != 0:
                    raise HarnessError(
                        f"{c.name} never ran the command in latency mode {mode} (exit {exit_code(r['status'])}, "
                        f"killed={r['killed']}); its stderr:\n{r['stderr'][-2000:]}")
                lat_ms = (r["stamp"] - ep["flip_ns"]) / 1e6
                waited_s = (ep["flip_ns"] - r["t0"]) / 1e9
                before = ep["requests_before_flip"] if mode == "503" else ep["syns_before_flip"]
                rate = None if before is None else before / waited_s
                res.setdefault((mode, c.name), []).append({"lat_ms": lat_ms, "rate": rate, "delay": waited_s})
                log(f"latency {mode:6} {c.name:9} trial {i + 1}/{trials}: flip {waited_s:.3f}s after start, "
                    f"command {lat_ms:8.2f} ms after flip, {before} probes before flip")
    return res


def measure_overhead(b, contenders, rounds):
    """Wall time of fork+exec+wait of `/bin/true` directly vs behind each gate with a ready endpoint."""
    ep, port = b.start_endpoint("ready")
    url = f"http://127.0.0.1:{port}/healthz/ready"
    everyone = [None] + contenders
    res = {}
    try:
        for i in range(rounds):
            for c in rotated(everyone, i):
                r = b.run_one(c, url, ["/bin/true"], deadline_s=10.0)
                name = "direct" if c is None else c.name
                if r["killed"] or exit_code(r["status"]) != 0:
                    raise HarnessError(f"{name} failed to run /bin/true with a ready endpoint "
                                       f"(exit {exit_code(r['status'])}):\n{r['stderr'][-2000:]}")
                res.setdefault(name, []).append((r["t1"] - r["t0"]) / 1e6)
                res.setdefault(name + "/cpu", []).append(r["cpu_us"] / 1000)
        res["endpoint_rtt"] = [probe_rtt_ms(port) for _ in range(min(rounds, 100))]
    finally:
        stats = b.stop_endpoint(ep)
    expected = rounds * len(contenders) + len(res["endpoint_rtt"])
    log(f"overhead: {rounds} rounds; endpoint saw {stats['requests']} requests (expected {expected}); "
        f"endpoint round trip from Python {statistics.median(res['endpoint_rtt']):.3f} ms median")
    return res


def probe_rtt_ms(port):
    """One connect + GET + full 200 response + close against the endpoint, timed from Python: an upper bound
    of what the endpoint itself adds to any gate's overhead."""
    t = time.perf_counter_ns()
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(b"GET /healthz/ready HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        while s.recv(4096):
            pass
    return (time.perf_counter_ns() - t) / 1e6


def measure_waiting(b, contenders, seconds):
    """All contenders wait concurrently (each on its own never-ready 503 endpoint) for `seconds`, then are
    killed; CPU from wait4 rusage, probes from the endpoint, RSS from VmHWM and ru_maxrss."""
    running = []
    try:
        for c in contenders:
            ep, port = b.start_endpoint("503")
            url = f"http://127.0.0.1:{port}/healthz/ready"
            stamp_path, cmd = b.stamp_cmd()
            argv, env, out, err = b.runner_argv(c, url, cmd, seconds)
            p = subprocess.Popen(argv, env=env)
            b.children.append(p)
            running.append((c, ep, p, out, err, stamp_path))
        res = {}
        for c, ep, p, out, err, stamp_path in running:
            if p.wait() != 0:
                raise HarnessError(f"runner failed for {c.name}")
            b.children.remove(p)
            r = b.read_runner(out, err)
            stats = b.stop_endpoint(ep)
            wall = (r["t1"] - r["t0"]) / 1e9
            res[c.name] = {
                "wall_s": wall, "cpu_ms_per_s": r["cpu_us"] / 1000 / wall, "cpu_ms": r["cpu_us"] / 1000,
                "probes_per_s": stats["requests"] / wall, "probes": stats["requests"],
                "vmhwm_kib": r["vmhwm_kib"], "maxrss_kib": r["maxrss_kib"], "killed": r["killed"],
                "exit": None if r["killed"] else exit_code(r["status"]), "ran_command": os.path.exists(stamp_path),
            }
            if res[c.name]["ran_command"]:
                raise HarnessError(f"{c.name} ran the command although the endpoint answered 503 throughout")
            log(f"waiting {c.name:9}: {wall:.1f}s, cpu {r['cpu_us'] / 1000:.1f} ms, {stats['requests']} probes, "
                f"VmHWM {r['vmhwm_kib']} KiB, ru_maxrss {r['maxrss_kib']} KiB, "
                f"{'killed at deadline' if r['killed'] else 'exited ' + str(exit_code(r['status']))}")
        return res
    finally:
        for _, ep, p, *_ in running:
            if p.poll() is None:
                p.kill()
                p.wait()
            if ep.poll() is None:
                ep.kill()
                ep.wait()
        b.children = [p for p in b.children if p.poll() is None]


def measure_hung(b, contenders, trials, cap_after_s, rng):
    """The endpoint accepts and reads but does not answer until T (1-3 s), then answers; time from T until the
    command starts. hung: held requests are answered at T. hung-drop: they never are; only new requests are."""
    res = {}
    for mode in ("hung", "hung-drop"):
        for i in range(trials):
            delay = rng.uniform(1.0, 3.0)
            for c in rotated(contenders, i):
                r = b.gated_trial(c, mode, delay, deadline_s=delay + cap_after_s)
                ep = r["ep"]
                if r["stamp"] is not None:
                    v = (r["stamp"] - ep["flip_ns"]) / 1e6
                elif r["killed"]:
                    v = None  # stalled past the cap
                else:
                    raise HarnessError(f"{c.name} exited {exit_code(r['status'])} without running the command "
                                       f"against a hung endpoint:\n{r['stderr'][-2000:]}")
                res.setdefault((mode, c.name), []).append(v)
                log(f"{mode:9} {c.name:9} trial {i + 1}/{trials}: answering at {delay:.2f}s, "
                    + (f"command {v:.1f} ms later" if v is not None else f"still waiting {cap_after_s:.0f}s later"))
    return res


# -- footprint ---------------------------------------------------------------------------------------------------
def elf_info(path):
    """(machine, static, stripped) of an ELF file, read from its headers."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"\x7fELF" or data[4] != 2:
        return ("not ELF64", None, None)
    machine = {0x3E: "x86_64", 0xB7: "aarch64"}.get(struct.unpack_from("<H", data, 18)[0], "other")
    phoff, shoff = struct.unpack_from("<QQ", data, 32)
    phentsize, phnum, shentsize, shnum = struct.unpack_from("<HHHH", data, 54)
    interp = any(struct.unpack_from("<I", data, phoff + i * phentsize)[0] == 3 for i in range(phnum))
    symtab = any(struct.unpack_from("<I", data, shoff + i * shentsize + 4)[0] == 2 for i in range(shnum))
    return (machine, not interp, not symtab)


def curl_loop_footprint():
    """Bytes a shell loop needs in the image: sh, sleep, curl and the shared libraries curl loads."""
    files = {os.path.realpath(shutil.which(x) or x) for x in ("sh", "sleep", CURL)}
    try:
        out = subprocess.run(["ldd", CURL], capture_output=True, text=True, timeout=10).stdout
        for line in out.splitlines():
            parts = line.split("=>")
            path = (parts[1] if len(parts) > 1 else parts[0]).split("(")[0].strip()
            if path.startswith("/"):
                files.add(os.path.realpath(path))
    except (OSError, subprocess.SubprocessError):
        pass
    return sum(os.path.getsize(p) for p in files if os.path.exists(p)), len(files)


# -- report ------------------------------------------------------------------------------------------------------
def summary(xs):
    xs = [x for x in xs if x is not None]
    if not xs:
        return None
    return statistics.median(xs), min(xs), max(xs)


def fmt3(s, nd=1):
    if s is None:
        return "n/a", "n/a", "n/a"
    return tuple(f"{v:.{nd}f}" for v in s)


def machine():
    info = {}
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    info["cores"] = os.cpu_count()
    with open("/proc/sys/kernel/osrelease") as f:
        info["kernel"] = f.read().strip()
    with open("/proc/meminfo") as f:
        info["mem"] = f.readline().split(":", 1)[1].strip()
    return info


def cpu_stat():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    with open("/proc/loadavg") as f:
        load = f.read().split()[0]
    return {"total": sum(v[:8]), "steal": v[7] if len(v) > 7 else 0, "load": load}


def version_of(argv):
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=5)
        if r.returncode != 0:
            return f"unknown: {shlex.join(argv[1:])} exited {r.returncode}"
        return (r.stdout or r.stderr).strip().splitlines()[0]
    except (OSError, subprocess.SubprocessError, IndexError):
        return "unknown"


def verdict(ok):
    return "PASS" if ok else "MISS"


def build_report(ctx, lat, over, wait, hung, foot):
    L = []
    add = L.append
    m = ctx["machine"]
    add("# readygate benchmarks")
    add("")
    add("Generated by `bench/run.py`; do not edit by hand, re-run it. "
        + ("**Smoke run (CI mode): sample sizes are tiny and the waiting window is short; the verdicts are "
           "indicative only.**" if ctx["smoke"] else "Full run."))
    add("")
    add(f"- Date: {ctx['date']}")
    add(f"- Command: `{ctx['command']}`")
    add(f"- Machine: {m['cpu']}, {m['cores']} cores, kernel {m['kernel']}, {m['mem']} RAM")
    add(f"- Noise: load average {ctx['before']['load']} at start, {ctx['after']['load']} at end; CPU steal "
        f"{ctx['steal_pct']:.2f}% of CPU time during the run (a shared VM: treat single-digit-ms differences "
        "with care, compare medians)")
    add(f"- Network: {ctx['netns']}")
    add(f"- readygate: `{ctx['readygate']}` ({ctx['rg_version']}); curl: {ctx['curl_version']}")
    add(f"- Helpers: bench/stamp.c, bench/runner.c, bench/floor.c compiled with `{ctx['static']}`")
    add("")
    add("## Method")
    add("")
    add("- **Contenders**, run in the same invocation, round-robin per trial (the starting contender rotates "
        "each trial): `readygate --url URL -- CMD` at its defaults; "
        f"`sh -c '{LOOP.format(curl='curl', s='1')}' sh CMD` (the usual hand-written loop); the same loop with "
        "`sleep 0.5` (Istio `pilot-agent wait`'s cadence). URL is `http://127.0.0.1:PORT/healthz/ready`. "
        "Proxy variables and READYGATE_* are removed from their environment; CURL_HOME points at an empty dir.")
    add("- **Endpoint**: `bench/endpoint.py`, one Python process per trial on a fresh port of 127.0.0.1, "
        "single-threaded (selectors), HTTP/1.1 with keep-alive honoured; it serves every contender the same way, "
        "so its own response time (tens of µs) is in every number, equally.")
    add("- **Clock**: everything uses CLOCK_MONOTONIC. The gated command is `bench/stamp.c`, a static program "
        "whose first statement reads clock_gettime(CLOCK_MONOTONIC) and writes it to a file: \"the command "
        "started\" means the gate's exec of the command has completed and its main() runs. The endpoint reads "
        "`time.clock_gettime_ns(CLOCK_MONOTONIC)` right after it flipped (for refuse mode, right after "
        "`listen()` returned). Detection latency = stamp - flip.")
    add("- **Gate start** is `bench/runner.c`'s clock read just before fork(); it forks, puts the child in its "
        "own process group, execs the contender and wait4()s it (so rusage covers the gate and every child it "
        "reaped: curl, sleep), and SIGKILLs the group at a deadline. The flip is scheduled 0.3-1.5 s "
        "(uniform random, the same delay for every contender of a trial) after a clock read taken just before "
        "the runner is spawned.")
    add("- **Probes per second before the flip**: 503 mode counts HTTP requests the endpoint parsed. Refuse "
        "mode has no listener to count with, so the endpoint counts TCP SYNs (no ACK) to the port on an "
        "AF_PACKET socket bound to lo (needs root; shown as n/a otherwise); every SYN there is answered by a "
        "kernel RST, i.e. a real ECONNREFUSED, not a listening-then-reset stand-in.")
    add("- **Overhead when ready**: the runner's fork-to-wait4 wall time of `/bin/true` run directly vs. behind "
        "each gate with an endpoint that answers 200 at once; the overhead is the difference of medians.")
    add("- **Cost of waiting**: all contenders wait at the same time (each on its own endpoint answering 503 "
        f"forever) for {ctx['wait_s']:.0f} s, then the runner SIGKILLs them. CPU = user+sys from wait4 rusage "
        "of the gate process plus the children it had reaped (the one curl/sleep in flight at the kill is lost: "
        "under one probe). Peak RSS: `VmHWM` of the gate process itself, read from /proc just before the kill "
        "(the number the target applies to), and ru_maxrss, the largest RSS of the gate or any reaped child "
        "(for the loops: curl). Running them concurrently does not change per-process CPU accounting and saves "
        "minutes on 2 cores.")
    add("- **Hung endpoint**: the endpoint accepts and reads requests but answers none until T (uniform 1-3 s "
        "after the gate starts). `hung`: at T it answers the held requests and everything after with 200. "
        "`hung-drop`: requests received before T are never answered (a proxy that hung and came back does not "
        f"answer old connections); new ones get 200. Time from T until the command starts; a contender still "
        f"waiting {ctx['hung_cap']:.0f} s after T is counted as stalled.")
    add("- **Reference row** (overhead and waiting tables only): `bench/floor.c`, a static C program doing one "
        "blocking connect + GET + read per probe and then execvp, with no timeouts or logging. It is not a "
        "contender and no target applies to it: it shows what exec, page faults and a loopback TCP exchange "
        "cost on this machine, i.e. the floor under any gate.")
    add("- Medians, minima and maxima over all trials; n is the number of trials per cell.")
    add("")

    rg = "readygate" if ctx["has_rg"] else None
    add("## Targets (readygate at its defaults)")
    add("")
    if not rg:
        add("readygate was not measured in this run (no --readygate given).")
    else:
        add("| metric | target | measured | verdict |")
        add("|---|---|---|---|")
        for mode, title in (("503", "503 then 200"), ("refuse", "refused then listening")):
            s = summary(x["lat_ms"] for x in lat[(mode, rg)])
            add(f"| detection latency, {title}: median | <= {T_LAT_MEDIAN_MS:.0f} ms | {s[0]:.1f} ms | "
                f"{verdict(s[0] <= T_LAT_MEDIAN_MS)} |")
            add(f"| detection latency, {title}: max | <= {T_LAT_MAX_MS:.0f} ms | {s[2]:.1f} ms | "
                f"{verdict(s[2] <= T_LAT_MAX_MS)} |")
        w = wait[rg]
        # The waiting targets are averages over 30 s; a smoke run's short window sits in the fast early part of
        # the backoff, so judging it would be meaningless.
        short = ctx["wait_s"] < 30
        wv = (lambda ok: f"n/a ({ctx['wait_s']:.0f} s window; the target is over 30 s)") if short else verdict
        add(f"| CPU while waiting ({ctx['wait_s']:.0f} s, 503 forever) | <= {T_WAIT_CPU_MS_PER_S} ms/s | "
            f"{w['cpu_ms_per_s']:.3f} ms/s | {wv(w['cpu_ms_per_s'] <= T_WAIT_CPU_MS_PER_S)} |")
        add(f"| probes while waiting (average) | <= {T_WAIT_PROBES_PER_S:.0f} /s | {w['probes_per_s']:.2f} /s | "
            f"{wv(w['probes_per_s'] <= T_WAIT_PROBES_PER_S)} |")
        od = statistics.median(over[rg]) - statistics.median(over["direct"])
        add(f"| overhead when ready (median over direct) | <= {T_OVERHEAD_MS} ms | {od:.3f} ms | "
            f"{verdict(od <= T_OVERHEAD_MS)} |")
        rss = w["vmhwm_kib"] if w["vmhwm_kib"] > 0 else w["maxrss_kib"]
        add(f"| peak RSS (VmHWM of the waiting gate) | <= 1024 KiB | {rss} KiB | {verdict(rss <= T_RSS_KIB)} |")
        size, (arch, static, stripped) = foot["size"], foot["elf"]
        caveat = []
        if arch != "x86_64":
            caveat.append(arch)
        if not static:
            caveat.append("NOT static")
        if not stripped:
            caveat.append("NOT stripped")
        note = f" ({', '.join(caveat)}: not the release binary the target names)" if caveat else ""
        add(f"| binary size, `{foot['path']}`{note} | <= 1 MiB | {size} B ({size / MIB:.2f} MiB) | "
            f"{verdict(size <= T_BINARY_BYTES and not caveat)} |")
        add("")
        add("Where the time and memory go, with profiles and the levers: "
            "[bench/README.md, investigation notes](../bench/README.md#investigation-notes).")
    add("")

    names = ctx["names"]
    labels = ctx["labels"]
    add("## Detection latency")
    add("")
    add("Time from the endpoint becoming ready until the command started. Probes/s is the rate the endpoint "
        "saw before the flip (median over trials).")
    add("")
    add("| mode | contender | median ms | min ms | max ms | probes/s before flip | n |")
    add("|---|---|---|---|---|---|---|")
    for mode, title in (("503", "503 then 200"), ("refuse", "refused then listening")):
        for n in names:
            xs = lat[(mode, n)]
            med, lo, hi = fmt3(summary(x["lat_ms"] for x in xs))
            rs = summary(x["rate"] for x in xs)
            rate = "n/a (no CAP_NET_RAW)" if rs is None else f"{rs[0]:.1f}"
            add(f"| {title} | {labels[n]} | {med} | {lo} | {hi} | {rate} | {len(xs)} |")
    add("")
    add("## Overhead when already ready")
    add("")
    add("Wall time of fork + exec + wait of `/bin/true`; the endpoint answers 200 at once.")
    add("")
    add("| contender | median ms | min ms | max ms | median over direct | CPU ms (user+sys, median) | n |")
    add("|---|---|---|---|---|---|---|")
    base = statistics.median(over["direct"])
    for n in ["direct"] + names + ["floor", "tokio-floor"]:
        med, lo, hi = fmt3(summary(over[n]), 3)
        extra = "-" if n == "direct" else f"+{statistics.median(over[n]) - base:.3f} ms"
        cpu = statistics.median(over[n + "/cpu"])
        label = "`/bin/true` directly" if n == "direct" else labels.get(n) or ctx["ref_labels"][n]
        add(f"| {label} | {med} | {lo} | {hi} | {extra} | {cpu:.3f} | "
            f"{len(over[n])} |")
    add("")
    if "readygate" in over and "tokio-floor" in over:
        floor_extra = statistics.median(over["tokio-floor"]) - base
        rg_extra = statistics.median(over["readygate"]) - base
        add(f"The tokio floor adds {floor_extra:+.3f} ms by itself: building the runtime readygate is "
            f"specified to use (tokio current_thread with I/O, timers and signal handlers) and one GET. "
            f"readygate adds {rg_extra - floor_extra:+.3f} ms on top of that floor (its HTTP client, "
            "option parsing, logging and backoff set-up).")
        add("")
    rtt = summary(over["endpoint_rtt"])
    add(f"The endpoint's own share: one connect + GET + 200 + close, timed from a Python client, takes "
        f"{rtt[0]:.3f} ms median ({rtt[1]:.3f}-{rtt[2]:.3f}, n={len(over['endpoint_rtt'])}); every gate "
        "pays about that once here, and a real sidecar answers faster than this Python endpoint.")
    add("")
    add("## Cost of waiting")
    add("")
    add(f"Endpoint answers 503 for the whole {ctx['wait_s']:.0f} s; all contenders at once, each on its own "
        "endpoint.")
    add("")
    add("| contender | wall s | CPU ms total | CPU ms/s | probes | probes/s | CPU ms/probe | VmHWM of gate KiB | ru_maxrss (gate or child) KiB | ended |")
    add("|---|---|---|---|---|---|---|---|---|---|")
    for n in names + ["floor"]:
        w = wait[n]
        ended = "killed at deadline" if w["killed"] else f"exited {w['exit']} early"
        label = labels.get(n) or "reference: minimal C gate, 100 ms interval (bench/floor.c)"
        add(f"| {label} | {w['wall_s']:.1f} | {w['cpu_ms']:.1f} | {w['cpu_ms_per_s']:.3f} | {w['probes']} | "
            f"{w['probes_per_s']:.2f} | {w['cpu_ms'] / max(1, w['probes']):.3f} | {w['vmhwm_kib']} | {w['maxrss_kib']} | {ended} |")
    add("")
    add("## Hung endpoint")
    add("")
    add("Time from the endpoint starting to answer (T) until the command started; `stalled` counts trials "
        f"still waiting {ctx['hung_cap']:.0f} s after T (then killed).")
    add("")
    add("| variant | contender | median ms | min ms | max ms | stalled | n |")
    add("|---|---|---|---|---|---|---|")
    for mode in ("hung", "hung-drop"):
        for n in names:
            xs = hung[(mode, n)]
            med, lo, hi = fmt3(summary(xs))
            add(f"| {mode} | {labels[n]} | {med} | {lo} | {hi} | {sum(x is None for x in xs)} | {len(xs)} |")
    add("")
    add("## Footprint")
    add("")
    add("| what | bytes | notes |")
    add("|---|---|---|")
    if rg:
        arch, static, stripped = foot["elf"]
        add(f"| readygate `{foot['path']}` | {foot['size']} | {arch}, {'static' if static else 'dynamic'}, "
            f"{'stripped' if stripped else 'not stripped'}{'' if foot['given_static'] else '; the --readygate binary (no --readygate-static given)'} |")
    add(f"| sh + sleep + curl + curl's shared libraries | {foot['curl_bytes']} | {foot['curl_files']} files "
        "from this Debian host; none of them exist in distroless or scratch images |")
    add("")
    return "\n".join(L)


# -- main --------------------------------------------------------------------------------------------------------
def main():
    ap = argparse.ArgumentParser(description="Benchmark readygate against hand-written sh+curl loops.")
    ap.add_argument("--readygate", default=os.environ.get("READYGATE_BIN"),
                    help="readygate binary to measure (default: $READYGATE_BIN)")
    ap.add_argument("--readygate-static", help="static stripped release binary for the footprint row "
                    "(default: measure --readygate and say so)")
    ap.add_argument("--smoke", action="store_true", help="short CI run; never fails on timings")
    ap.add_argument("--out", help="write the Markdown report here (e.g. docs/benchmarks.md)")
    ap.add_argument("--json", help="also write raw results as JSON here")
    ap.add_argument("--seed", type=int, default=None, help="seed for the random flip delays")
    ap.add_argument("--strict", action="store_true", help="exit 1 if readygate misses a target (full runs)")
    ap.add_argument("--no-netns", action="store_true", help="use the host loopback instead of a private netns")
    args = ap.parse_args()
    ci = os.environ.get("CI") == "true"
    command = "python3 bench/run.py " + shlex.join(sys.argv[1:])

    if args.readygate:
        args.readygate = os.path.abspath(args.readygate)
        if not os.access(args.readygate, os.X_OK):
            sys.exit(f"bench: --readygate {args.readygate} is not an executable file")
    elif ci:
        sys.exit("bench: CI=true but no --readygate (or READYGATE_BIN) given: refusing to benchmark only curl")
    else:
        log("no --readygate given: measuring only the sh+curl loops")
    for path in (args.out, args.json):
        if path:  # fail now, not after minutes of measuring
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            with open(path, "a"):
                pass
    if not os.access(CURL, os.X_OK):
        sys.exit(f"bench: {CURL} not found (install curl: bench/install-deps.sh)")

    netns = "host loopback (--no-netns)" if args.no_netns else enter_netns()
    log(f"network: {netns}")
    k = 1 if args.smoke else 0
    plan = {key: v[k] for key, v in PLAN.items()}
    rng = random.Random(args.seed)
    contenders = make_contenders(args.readygate)
    tmp = tempfile.mkdtemp(prefix="readygate-bench-")
    t_start = time.monotonic()
    before = cpu_stat()
    b = None
    try:
        tools, static = build_helpers(tmp, ci)
        b = Bench(args, tools, tmp)
        log(f"plan: {plan}")
        lat = measure_latency(b, contenders, plan["latency_trials"], rng)
        over = measure_overhead(b, contenders + [make_floor(tools, 15), make_tokio_floor(tools)],
                                plan["overhead_rounds"])
        wait = measure_waiting(b, contenders + [make_floor(tools, 100)], plan["wait_seconds"])
        hung = measure_hung(b, contenders, plan["hung_trials"], plan["hung_cap_after_s"], rng)
    except HarnessError as e:
        log(f"HARNESS FAILURE: {e}")
        return 1
    finally:
        if b:
            b.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)
    after = cpu_stat()
    dt = max(1, after["total"] - before["total"])

    foot_path = args.readygate_static or args.readygate
    foot = {"path": foot_path, "given_static": bool(args.readygate_static)}
    if foot_path:
        foot["size"] = os.path.getsize(foot_path)
        foot["elf"] = elf_info(foot_path)
    foot["curl_bytes"], foot["curl_files"] = curl_loop_footprint()
    ctx = {
        "smoke": args.smoke, "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": command, "machine": machine(), "before": before, "after": after,
        "steal_pct": 100.0 * (after["steal"] - before["steal"]) / dt, "netns": netns,
        "readygate": args.readygate, "rg_version": version_of([args.readygate, "--version"]) if args.readygate else "-",
        "curl_version": version_of([CURL, "--version"]).split(" (")[0], "static": static,
        "wait_s": plan["wait_seconds"], "hung_cap": plan["hung_cap_after_s"], "has_rg": bool(args.readygate),
        "names": [c.name for c in contenders], "labels": {c.name: c.label for c in contenders},
        "ref_labels": {"floor": "reference: minimal C gate (bench/floor.c): blocking GET, then exec",
                       "tokio-floor": "reference: tokio runtime + 4 signal handlers + one GET, then exec "
                                      "(bench/tokio-floor)"},
    }
    report = build_report(ctx, lat, over, wait, hung, foot)
    if args.readygate and os.geteuid() != 0:
        log("skipping bench/appexit.py (the --wait-app-exit check's cost): it needs root for its network namespace")
    elif args.readygate:  # the --wait-app-exit check's cost: its own script and section
        extra = ["--sizes", "0,1000", "--seconds", "2"] if args.smoke else ["--seconds", "10"]
        r = subprocess.run([sys.executable, os.path.join(HERE, "appexit.py"), "--readygate", args.readygate, *extra],
                           capture_output=True, text=True)
        if r.returncode != 0:
            log(f"HARNESS FAILURE: bench/appexit.py: {r.stderr[-1000:]}")
            return 1
        report += "\n" + r.stdout.rstrip("\n")
    if os.geteuid() != 0:
        log("skipping bench/listeners.py (the mesh-mode listener look's cost): it needs root for its network namespace")
    else:  # the mesh-mode listener look's cost (issue 22): its own script and section
        extra = ["--sizes", "0,1000", "--foreign", "1000", "--rounds", "50"] if args.smoke else []
        r = subprocess.run([sys.executable, os.path.join(HERE, "listeners.py"), *extra], capture_output=True, text=True)
        if r.returncode != 0:
            log(f"HARNESS FAILURE: bench/listeners.py: {r.stderr[-1000:]}")
            return 1
        report += "\n" + r.stdout.rstrip("\n")
    print(report)
    if args.out:
        with open(args.out, "w") as f:
            f.write(report + "\n")
        log(f"wrote {args.out}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"latency": {f"{m}/{n}": v for (m, n), v in lat.items()}, "overhead": over,
                       "waiting": wait, "hung": {f"{m}/{n}": v for (m, n), v in hung.items()},
                       "footprint": foot, "context": {k: v for k, v in ctx.items() if k != "labels"}}, f, indent=1)
    misses = report.count("| MISS |")
    log(f"done in {time.monotonic() - t_start:.0f} s; {misses} target(s) missed"
        + (" (smoke: timings never fail the run)" if args.smoke else ""))
    if args.strict and not args.smoke and misses:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
