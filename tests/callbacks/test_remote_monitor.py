"""RemoteMonitor: posts each epoch's logs to a local HTTP server (form field or JSON); an absent server warns."""

import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from lamina.callbacks import RemoteMonitor
from tests.callbacks.helpers import data, tiny_model


@pytest.fixture
def server():
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.path, dict(self.headers), body.decode()))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    httpd = HTTPServer(("127.0.0.1", 0), Handler)
    httpd.timeout = 5
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", received
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


def _fit(monitor, epochs=2):
    return tiny_model().fit(*data(), epochs=epochs, verbose=0, callbacks=[monitor])


def test_form_field_posts(server):
    root, received = server
    history = _fit(RemoteMonitor(root=root, path="/publish/epoch/end/", headers={"X-Run": "7"}))
    assert [r[0] for r in received] == ["/publish/epoch/end/"] * 2
    path, headers, body = received[1]
    assert headers["Content-Type"] == "application/x-www-form-urlencoded" and headers["X-Run"] == "7"
    payload = json.loads(urllib.parse.parse_qs(body)["data"][0])
    assert payload == {"epoch": 1, "loss": history.history["loss"][1]}


def test_json_posts_with_a_custom_field_ignored(server):
    root, received = server
    history = _fit(RemoteMonitor(root=root, path="/p", field="ignored", send_as_json=True), epochs=1)
    _, headers, body = received[0]
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body) == {"epoch": 0, "loss": history.history["loss"][0]}


def test_unreachable_server_warns_and_training_goes_on():
    with pytest.warns(UserWarning, match="Could not reach RemoteMonitor root server at http://127.0.0.1:9"):
        history = _fit(RemoteMonitor(root="http://127.0.0.1:9", timeout=2), epochs=1)
    assert history.epoch == [0]
