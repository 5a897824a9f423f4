"""A local HTTP server for download tests (127.0.0.1, a thread, stopped at the end)."""

import contextlib
import http.server
import socket
import threading


class _Handler(http.server.BaseHTTPRequestHandler):
    files = {}  # path -> bytes
    truncated = set()  # paths served with a Content-Length larger than the body

    def do_GET(self):  # noqa: N802 - http.server's name
        body = self.files.get(self.path)
        if body is None:
            self.send_error(404, "Not Found")
            return
        self.send_response(200)
        length = len(body) * 2 if self.path in self.truncated else len(body)
        self.send_header("Content-Length", str(length))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()
        if self.path in self.truncated:
            self.close_connection = True

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def serve(files, truncated=()):
    """Yields the base URL of a server that serves ``files`` (``{"/name": bytes}``)."""
    handler = type("Handler", (_Handler,), {"files": dict(files), "truncated": set(truncated)})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.timeout = 5
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def closed_port_url():
    """A URL on 127.0.0.1 where nothing listens (connection refused, like an offline machine)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
