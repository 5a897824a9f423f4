"""`RemoteMonitor`: posts each epoch's logs to an HTTP server (with `urllib`, no extra dependency).

The body is either a form field ``<field>=<JSON of the logs>`` (the default, as Keras) or,
with ``send_as_json=True``, the JSON object itself (``Content-Type: application/json``).
An unreachable server only warns: training goes on.

>>> monitor = RemoteMonitor(root="http://127.0.0.1:9000", path="/publish/epoch/end/")
>>> monitor.url
'http://127.0.0.1:9000/publish/epoch/end/'
"""

import json
import urllib.error
import urllib.parse
import urllib.request
import warnings

import numpy as np

from lamina.callbacks.callback import Callback


class RemoteMonitor(Callback):
    """Callback used to stream events to a server.

    At the end of each epoch, ``{"epoch": epoch, **logs}`` is sent as an HTTP POST to ``root + path``.

    Args:
        root: root URL of the target server.
        path: path relative to ``root`` to which the events are sent.
        field: the form field under which the JSON data is sent (when ``send_as_json=False``).
        headers: dict of extra HTTP headers.
        send_as_json: send the request body as ``application/json`` instead of a form field.
        timeout: seconds to wait for the server before giving up (a lamina addition, so that a
            silent server cannot stall training).
    """

    def __init__(self, root="http://localhost:9000", path="/publish/epoch/end/", field="data", headers=None,
                 send_as_json=False, timeout=10.0):
        super().__init__()
        self.root = root
        self.path = path
        self.field = field
        self.headers = headers
        self.send_as_json = send_as_json
        self.timeout = timeout

    @property
    def url(self):
        return self.root + self.path

    def on_epoch_end(self, epoch, logs=None):
        send = {"epoch": epoch}
        for key, value in (logs or {}).items():
            send[key] = value.item() if isinstance(value, (np.ndarray, np.generic)) else value
        headers = dict(self.headers or {})
        if self.send_as_json:
            body = json.dumps(send).encode("utf-8")
            headers.setdefault("Content-Type", "application/json")
        else:
            body = urllib.parse.urlencode({self.field: json.dumps(send)}).encode("utf-8")
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                response.read()
        except (urllib.error.URLError, OSError, ValueError):
            warnings.warn(f"Could not reach RemoteMonitor root server at {self.root}", stacklevel=2)
