#!/usr/bin/env python3
"""endpoint: the stand-in readiness endpoint of one benchmark trial (run by run.py, one process per trial).

Protocol: started with --mode; prints one JSON line {"port": P} once it can take traffic (or, in refuse
mode, once the port is reserved and the SYN counter runs). Then reads lines on stdin:
  "flip T"  flip to ready at CLOCK_MONOTONIC T (ns): 503 -> 200, not listening -> listening, hung -> answering
  "stop"    print one JSON line of statistics and exit (EOF on stdin does the same)
Modes:
  ready      200 to everything from the start
  503        503 until the flip, then 200
  refuse     no listener until the flip (connections are refused with RST), then listen and answer 200
  hung       accept and read requests but answer none until the flip; at the flip answer the held ones
             and everything after with 200
  hung-drop  like hung, but requests received before the flip are never answered (a proxy that hung and
             recovered does not answer old connections); requests received after the flip get 200
The flip time reported is read with time.clock_gettime_ns(CLOCK_MONOTONIC) right after the state changed
(for refuse: right after listen() returned), the clock bench/stamp.c uses.
Probe counting: HTTP requests parsed (keep-alive is honoured, so a client reusing a connection is counted per
request) and connections accepted. In refuse mode there is nothing to accept before the flip, so an AF_PACKET
socket on lo counts TCP SYNs (without ACK) to the port; that needs CAP_NET_RAW (root) and is reported as null
otherwise.
"""
import argparse
import json
import os
import selectors
import socket
import struct
import sys
import time

MONO = time.CLOCK_MONOTONIC
ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


def now_ns():
    return time.clock_gettime_ns(MONO)


class Endpoint:
    def __init__(self, mode):
        self.mode = mode
        self.sel = selectors.DefaultSelector()
        self.ready = mode == "ready"
        self.flip_at = None
        self.flip_ns = None
        self.requests = 0
        self.requests_before_flip = 0
        self.connections = 0
        self.syns = None
        self.syns_before_flip = None
        self.first_probe_ns = None
        self.held = []          # connections with a request waiting for the flip (hung modes)
        self.conns = {}         # socket -> bytearray of unparsed input
        self.lsock = None
        self.port = None
        self.pkt = None
        self.done = False

    # -- set-up -----------------------------------------------------------------------------------
    def start(self):
        if self.mode == "refuse":
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
            s.close()  # reserved by number only: until the flip, connecting gets ECONNREFUSED
            self.open_syn_counter()
        else:
            self.listen(0)
        self.ctl = bytearray()
        self.sel.register(0, selectors.EVENT_READ, self.on_control)
        print(json.dumps({"port": self.port}), flush=True)

    def listen(self, port):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        s.listen(128)
        s.setblocking(False)
        self.lsock = s
        self.port = s.getsockname()[1]
        self.sel.register(s, selectors.EVENT_READ, self.on_accept)

    def open_syn_counter(self):
        try:
            p = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
            p.bind(("lo", 0))
        except OSError:
            return
        p.setblocking(False)
        self.pkt = p
        self.syns = 0
        self.sel.register(p, selectors.EVENT_READ, self.on_packet)

    # -- events -----------------------------------------------------------------------------------
    def on_packet(self, sock):
        while True:
            try:
                data, addr = sock.recvfrom(256)
            except BlockingIOError:
                return
            if addr[2] == PACKET_OUTGOING:  # lo shows each packet twice: outgoing and incoming
                continue
            self.count_syn(data)

    def count_syn(self, data):
        proto = struct.unpack_from("!H", data, 12)[0]
        off = 14
        if proto == 0x0800:
            ihl = (data[off] & 0x0F) * 4
            if data[off + 9] != 6:
                return
            tcp = off + ihl
        elif proto == 0x86DD:
            if data[off + 6] != 6:
                return
            tcp = off + 40
        else:
            return
        if len(data) < tcp + 14:
            return
        dport = struct.unpack_from("!H", data, tcp + 2)[0]
        flags = data[tcp + 13]
        if dport == self.port and flags & 0x02 and not flags & 0x10:
            self.syns += 1
            if self.first_probe_ns is None:
                self.first_probe_ns = now_ns()

    def on_accept(self, lsock):
        while True:
            try:
                c, _ = lsock.accept()
            except BlockingIOError:
                return
            c.setblocking(False)
            c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.connections += 1
            self.conns[c] = bytearray()
            self.sel.register(c, selectors.EVENT_READ, self.on_data)

    def on_data(self, c):
        try:
            data = c.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self.close(c)
            return
        buf = self.conns[c]
        buf += data
        while True:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(buf[:end]).lower()
            del buf[: end + 4]
            self.on_request(c, head)
            if c not in self.conns:
                return

    def on_request(self, c, head):
        t = now_ns()
        self.requests += 1
        if self.first_probe_ns is None:
            self.first_probe_ns = t
        if not self.ready:
            self.requests_before_flip += 1
        close = b"connection: close" in head
        if self.ready:
            self.respond(c, 200, close)
        elif self.mode == "503":
            self.respond(c, 503, close)
        elif self.mode == "hung":
            self.held.append((c, close))
        elif self.mode == "hung-drop":
            self.sel.unregister(c)  # stuck forever: never read again, closed at stop
            self.held.append((c, close))
        else:
            self.respond(c, 503, close)

    def respond(self, c, code, close):
        body = b"OK\n" if code == 200 else b"not ready\n"
        reason = b"OK" if code == 200 else b"Service Unavailable"
        msg = b"HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n%s\r\n%s" % (
            code, reason, len(body), b"Connection: close\r\n" if close else b"", body)
        try:
            c.sendall(msg)
        except OSError:
            self.close(c)
            return
        if close:
            self.close(c)

    def close(self, c):
        if c in self.conns:
            try:
                self.sel.unregister(c)
            except (KeyError, ValueError):
                pass
            del self.conns[c]
        c.close()

    def flip(self):
        if self.mode == "refuse":
            self.listen(self.port)
        self.ready = True
        self.flip_ns = now_ns()
        self.syns_before_flip = self.syns
        if self.mode == "hung":
            held, self.held = self.held, []
            for c, close in held:
                if c in self.conns:
                    self.respond(c, 200, close)

    def on_control(self, fd):
        data = os.read(fd, 4096)  # raw reads: a buffered readline could hide a second line from select
        if not data:
            self.done = True
            return
        self.ctl += data
        while b"\n" in self.ctl:
            line, _, rest = bytes(self.ctl).partition(b"\n")
            self.ctl = bytearray(rest)
            cmd, _, arg = line.decode().strip().partition(" ")
            if cmd == "stop":
                self.done = True
            elif cmd == "flip":
                self.flip_at = int(arg)

    # -- loop -------------------------------------------------------------------------------------
    def run(self):
        self.start()
        while not self.done:
            timeout = None
            if self.flip_at is not None and not self.ready:
                timeout = max(0.0, (self.flip_at - now_ns()) / 1e9)
            for key, _ in self.sel.select(timeout):
                key.data(key.fileobj)
            if self.flip_at is not None and not self.ready and now_ns() >= self.flip_at:
                self.flip()
        if self.pkt is not None:
            self.on_packet(self.pkt)  # drain what arrived just before "stop"
        print(json.dumps({
            "port": self.port, "flip_ns": self.flip_ns, "requests": self.requests,
            "requests_before_flip": self.requests_before_flip, "connections": self.connections,
            "syns": self.syns, "syns_before_flip": self.syns_before_flip,
            "first_probe_ns": self.first_probe_ns, "stop_ns": now_ns(),
        }), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mode", required=True, choices=["ready", "503", "refuse", "hung", "hung-drop"])
    Endpoint(ap.parse_args().mode).run()
    os._exit(0)  # held connections die with the process


if __name__ == "__main__":
    main()
