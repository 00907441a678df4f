#!/usr/bin/env python3
"""ab.py: the time two readygate binaries add when the proxy is already ready, run interleaved.

Usage (root; it enters a private network namespace of its own):
  python3 bench/ab.py OLD NEW [--runs 600] [--rounds 2]

Each round spawns `BINARY -q -- /bin/true`, the default mesh (0.2.0's `--mesh auto`, 0.1.0's
Istio preset), against Istio's readiness endpoint on 127.0.0.1:15020 answering 200, alternating OLD and NEW (and which goes first) so that the machine's
drift falls on both, plus `/bin/true` alone; it prints each one's median wall time over
`/bin/true`, and NEW minus OLD. Use it to tell a change in readygate from a slower machine, which
run.py's absolute figures cannot.
"""
import argparse
import http.server
import os
import socketserver
import statistics
import sys
import threading
import time

PORT = 15020  # Istio's pilot-agent, the default preset's endpoint


class Ready(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


def spawn_ms(argv):
    start = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, {"PATH": "/usr/bin:/bin"})
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"ab.py: {argv[0]} exited {os.waitstatus_to_exitcode(status)}")
    return (time.perf_counter() - start) * 1000


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--runs", type=int, default=600)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    if os.environ.get("AB_IN_NETNS") != "1":
        # Loopback only, in a namespace of its own: nothing else on the machine sees the port.
        os.execvp("unshare", ["unshare", "-n", "sh", "-c",
                              'ip link set lo up && AB_IN_NETNS=1 exec "$0" "$@"',
                              sys.executable, *sys.argv])
    server = Server(("127.0.0.1", PORT), Ready)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    gate = {name: [os.path.abspath(path), "-q", "--", "/bin/true"]
            for name, path in (("old", args.old), ("new", args.new))}
    for round_no in range(1, args.rounds + 1):
        times = {"old": [], "new": [], "true": []}
        for _ in range(20):  # warm the page cache and the endpoint
            spawn_ms(gate["old"])
            spawn_ms(gate["new"])
        for i in range(args.runs):
            for name in (("old", "new") if i % 2 == 0 else ("new", "old")):
                times[name].append(spawn_ms(gate[name]))
            times["true"].append(spawn_ms(["/bin/true"]))
        m = {name: statistics.median(values) for name, values in times.items()}
        print(f"round {round_no}: /bin/true {m['true']:.3f} ms; old +{m['old'] - m['true']:.3f} ms, "
              f"new +{m['new'] - m['true']:.3f} ms; new - old = {m['new'] - m['old']:+.3f} ms "
              f"({args.runs} runs each)")


if __name__ == "__main__":
    main()
