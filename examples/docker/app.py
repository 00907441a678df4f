"""Stand-in application for examples/docker: serves 200 on :8080 (a real one would dial Redis,
Cloud SQL, ... at start, which is exactly what fails before the sidecar is ready)."""
import http.server

http.server.ThreadingHTTPServer(("", 8080), http.server.SimpleHTTPRequestHandler).serve_forever()
