"""The progress display of a real fit in a child process: on a pseudo-terminal, and on a pipe (as in CI logs)."""

import os
import re
import subprocess
import sys

import pytest

pty = pytest.importorskip("pty")  # POSIX only

SCRIPT = """
import numpy as np
import lamina
x = np.random.default_rng(0).normal(size=(64, 3)).astype("float32")
y = x.sum(axis=1, keepdims=True)
inputs = lamina.Input((3,))
model = lamina.Model(inputs, lamina.layers.Dense(1)(inputs))
model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
model.fit(x, y, batch_size=8, epochs=2)  # verbose='auto'
model.predict(x[:4])  # one small batch: prints nothing by default
print("done")
"""
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _run_on_a_terminal():
    controller, terminal = pty.openpty()
    child = subprocess.Popen([sys.executable, "-c", SCRIPT], stdin=subprocess.DEVNULL, stdout=terminal,
                             stderr=subprocess.PIPE, cwd=ROOT)
    os.close(terminal)
    chunks = []
    while True:
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(controller)
    _, err = child.communicate(timeout=120)
    assert child.returncode == 0, err.decode()
    return b"".join(chunks).decode("utf-8").replace("\r\n", "\n")  # the terminal's ONLCR turns \n into \r\n


def test_a_terminal_gets_a_live_bar_per_epoch():
    text = _run_on_a_terminal()
    assert "Epoch 1/2\n" in text and "Epoch 2/2\n" in text
    finals = re.findall(r"\r(8/8 ━{20} \d+s \d+(?:us|ms|s)/step - loss: \d+\.\d{4} - mae: \d+\.\d{4})\n", text)
    assert len(finals) == 2, text
    assert text.endswith("done\n"), text  # predict on one small batch printed nothing


def test_a_pipe_gets_one_line_per_epoch():
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "\r" not in done.stdout and "━" not in done.stdout
    lines = done.stdout.splitlines()
    assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2" and lines[-1] == "done", done.stdout
    assert re.fullmatch(r"8/8 - \d+s - \d+(?:us|ms|s)/step - loss: \d+\.\d{4} - mae: \d+\.\d{4}", lines[1]), lines
    assert len(lines) == 5, lines
