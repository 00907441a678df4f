#!/usr/bin/env python3
"""Readiness endpoint for tests/scratch/run.sh: answers 503 to the first N GETs, then 200.

Usage: endpoint.py HOST PORT N LOG [keep-alive]. Appends "listening" to LOG once bound, then
one line "STATUS PATH" per request, so the test can prove readygate polled, was refused, and
waited. With keep-alive it answers in HTTP/1.1 and keeps the connection open between requests,
as pilot-agent (Go's net/http) does; otherwise HTTP/1.0, one request per connection.
"""
import http.server
import socket
import sys

host, port, not_ready, log_path = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
keep_alive = sys.argv[5:] == ["keep-alive"]


def log(line):
    with open(log_path, "a") as f:
        f.write(line + "\n")


class Handler(http.server.BaseHTTPRequestHandler):
    seen = 0
    protocol_version = "HTTP/1.1" if keep_alive else "HTTP/1.0"

    def do_GET(self):
        Handler.seen += 1
        ready = Handler.seen > not_ready
        body = b"" if ready else b"config not received from XDS server (is Istiod running?)\n"
        self.send_response(200 if ready else 503)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        log(f"{200 if ready else 503} {self.path}")

    def log_message(self, *args):  # keep stderr quiet; LOG is the record
        pass


class Server(http.server.HTTPServer):
    # An IPv6 host means an IPv6-only socket: the test wants nothing on 127.0.0.1.
    address_family = socket.AF_INET6 if ":" in host else socket.AF_INET

    def server_bind(self):
        if self.address_family == socket.AF_INET6:
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        super().server_bind()


server = Server((host, port), Handler)
log("listening")
server.serve_forever()
