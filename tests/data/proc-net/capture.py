#!/usr/bin/env python3
"""Captures real /proc/net/tcp and /proc/net/tcp6 tables with sockets in as many TCP states as
can be produced on purpose, for readygate's parser tests (src/procnet.rs).

Run as root: python3 tests/data/proc-net/capture.py OUTDIR
It re-executes itself in a private network namespace (unshare -n), so the tables hold only its
own sockets, and uses iptables there to drop chosen packets (SYN_SENT, SYN_RECV, FIN_WAIT1,
LAST_ACK). Sockets of uid 1000 come from a forked child that switches uid before opening them.
"""
import os
import socket
import subprocess
import sys
import time

HERE_STATES = {}


def ipt(*rule, v6=False):
    subprocess.run(["ip6tables" if v6 else "iptables", *rule], check=True)


def pair(family, host, port):
    """A listener and a connected client/server pair on (host, port)."""
    lst = socket.socket(family, socket.SOCK_STREAM)
    lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lst.bind((host, port))
    lst.listen(8)
    cli = socket.create_connection((host, port))
    srv, _ = lst.accept()
    return lst, cli, srv


def wait_state(path, port, state, seconds=5):
    """Waits until a socket with local or remote port `port` is in `state` (hex) in `path`."""
    end = time.time() + seconds
    hexport = "%04X" % port
    while time.time() < end:
        with open(path) as f:
            for line in f.readlines()[1:]:
                parts = line.split()
                if parts[3] == state and (parts[1].endswith(":" + hexport) or parts[2].endswith(":" + hexport)):
                    return
        time.sleep(0.01)
    raise SystemExit(f"{path}: no socket on port {port} reached state {state}")


def main(out):
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    keep = []
    # ESTABLISHED (01) and LISTEN (0A), IPv4 and IPv6, and an IPv4-mapped IPv6 connection.
    keep += pair(socket.AF_INET, "127.0.0.1", 8080)
    keep += pair(socket.AF_INET6, "::1", 8443)
    v6any = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    v6any.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    v6any.bind(("::", 9090))
    v6any.listen(8)
    keep.append(v6any)
    mapped = socket.create_connection(("127.0.0.1", 9090))
    keep += [mapped, v6any.accept()[0]]

    # TIME_WAIT (06): the client closes first, the server then closes too.
    for family, host, port in ((socket.AF_INET, "127.0.0.1", 7001), (socket.AF_INET6, "::1", 7002)):
        lst, cli, srv = pair(family, host, port)
        cli.close()
        srv.close()
        lst.close()
    wait_state("/proc/net/tcp", 7001, "06")
    wait_state("/proc/net/tcp6", 7002, "06")

    # FIN_WAIT2 (05) and CLOSE_WAIT (08): the client closes, the server keeps its end open.
    lst, cli, srv = pair(socket.AF_INET, "127.0.0.1", 7003)
    cli.shutdown(socket.SHUT_WR)
    keep += [lst, cli, srv]
    wait_state("/proc/net/tcp", 7003, "05")

    # SYN_SENT (02): SYNs to port 7004 are dropped.
    ipt("-A", "INPUT", "-p", "tcp", "--dport", "7004", "--syn", "-j", "DROP")
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setblocking(False)
    s.connect_ex(("127.0.0.1", 7004))
    keep.append(s)
    wait_state("/proc/net/tcp", 7004, "02")

    # SYN_RECV (03, a request socket): the client's final ACK to port 7005 is dropped.
    ipt("-A", "INPUT", "-p", "tcp", "--dport", "7005", "!", "--syn", "-j", "DROP")
    lst = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lst.bind(("127.0.0.1", 7005))
    lst.listen(8)
    c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    c.setblocking(False)
    c.connect_ex(("127.0.0.1", 7005))
    keep += [lst, c]
    wait_state("/proc/net/tcp", 7005, "03")

    # FIN_WAIT1 (04): the client's FIN to port 7006 is never acknowledged (the server's packets
    # to it are dropped once it has closed).
    lst, cli, srv = pair(socket.AF_INET, "127.0.0.1", 7006)
    ipt("-A", "INPUT", "-p", "tcp", "--sport", "7006", "-j", "DROP")
    cli.shutdown(socket.SHUT_WR)
    keep += [lst, cli, srv]
    wait_state("/proc/net/tcp", 7006, "04")

    # LAST_ACK (09): the server closes after the client's FIN; the client's last ACK is dropped.
    lst, cli, srv = pair(socket.AF_INET, "127.0.0.1", 7007)
    cli.shutdown(socket.SHUT_WR)
    wait_state("/proc/net/tcp", 7007, "08")
    ipt("-A", "INPUT", "-p", "tcp", "--dport", "7007", "-j", "DROP")
    srv.close()
    keep += [lst, cli]
    wait_state("/proc/net/tcp", 7007, "09")

    # Sockets of uid 1000, made by a child that dropped to that uid: a listener and a connection
    # (IPv4 and IPv6), a request socket of its listener (SYN_RECV: the final ACK to port 3002 is
    # dropped), and an orphan: a connection it closed (close(), not shutdown) whose peer stays
    # open, left in FIN_WAIT2 with no file behind it.
    ipt("-A", "INPUT", "-p", "tcp", "--dport", "3002", "!", "--syn", "-j", "DROP")
    ready_r, ready_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(ready_r)
        os.setgid(1000)
        os.setuid(1000)
        held = [*pair(socket.AF_INET, "127.0.0.1", 3000), *pair(socket.AF_INET6, "::1", 3001)]
        lst = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        lst.bind(("127.0.0.1", 3002))
        lst.listen(8)
        c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        c.setblocking(False)
        c.connect_ex(("127.0.0.1", 3002))
        held += [lst, c]
        wait_state("/proc/net/tcp", 3002, "03")
        o_lst, o_cli, o_srv = pair(socket.AF_INET, "127.0.0.1", 3003)
        o_cli.close()
        held += [o_lst, o_srv]
        wait_state("/proc/net/tcp", 3003, "05")
        os.write(ready_w, b"x")
        time.sleep(30)  # the parent kills this child once it has captured the tables
        os._exit(0)
    os.close(ready_w)
    if os.read(ready_r, 1) != b"x":
        raise SystemExit("the uid 1000 child failed before opening its sockets")

    for name in ("tcp", "tcp6"):
        with open(f"/proc/net/{name}", "rb") as f:
            data = f.read()
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
    os.kill(pid, 9)
    os.waitpid(pid, 0)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: capture.py OUTDIR (as root)")
    if os.environ.get("CAPTURE_IN_NETNS") != "1":
        env = dict(os.environ, CAPTURE_IN_NETNS="1")
        os.execvpe("unshare", ["unshare", "-n", "--", sys.executable, *sys.argv], env)
    main(sys.argv[1])
