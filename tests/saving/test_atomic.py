"""Atomic saves: a save killed mid-write leaves the previous file intact; overwrite=False refuses."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from lamina.saving.atomic import atomic_path

from .conftest import mlp, predict, randomize

_KILLED_SAVE = textwrap.dedent("""
    import os, signal, sys
    import numpy as np
    sys.path.insert(0, {tests!r})
    from saving.conftest import mlp
    from lamina.saving import h5_utils
    model = mlp()
    model.set_weights([np.zeros_like(w) for w in model.get_weights()])
    original = h5_utils.write_array
    def slow_writer(*args, **kwargs):
        original(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGKILL)  # dies after the first dataset, mid-save
    h5_utils.write_array = slow_writer
    model.save({path!r})
""")


@pytest.mark.parametrize("name", ["model.keras", "model.h5", "w.weights.h5"])
def test_killed_save_leaves_previous_file_intact(tmp_path, name, x4):
    path = str(tmp_path / name)
    model = randomize(mlp())
    if name.endswith(".weights.h5"):
        model.save_weights(path)
    else:
        model.save(path)
    before = open(path, "rb").read()
    script = _KILLED_SAVE.format(tests=os.path.dirname(os.path.dirname(__file__)), path=path)
    if name.endswith(".weights.h5"):
        script = script.replace("model.save(", "model.save_weights(")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120)
    assert result.returncode == -9, result.stderr.decode()[-2000:]
    assert open(path, "rb").read() == before
    fresh = mlp()
    fresh.load_weights(path)
    np.testing.assert_array_equal(predict(fresh, x4), predict(model, x4))
    assert [p for p in os.listdir(tmp_path) if p != name and not p.endswith(".tmp")] == []


def test_failed_write_removes_the_temporary_file(tmp_path):
    target = tmp_path / "f.bin"
    with pytest.raises(RuntimeError, match="boom"):
        with atomic_path(target) as tmp:
            open(tmp, "w").write("partial")
            raise RuntimeError("boom")
    assert os.listdir(tmp_path) == []


def test_overwrite_false_refuses_without_a_terminal(tmp_path, monkeypatch):
    path = tmp_path / "m.keras"
    model = mlp()
    model.save(path)
    before = path.read_bytes()
    monkeypatch.setattr(sys, "stdin", open(os.devnull))
    with pytest.raises(FileExistsError, match=r"already exists and `overwrite=False`"):
        model.save(path, overwrite=False)
    assert path.read_bytes() == before


def test_overwrite_false_asks_on_a_terminal(tmp_path, monkeypatch):
    path = tmp_path / "w.weights.h5"
    model = mlp()
    model.save_weights(path)
    before = path.read_bytes()

    class Terminal:
        def isatty(self):
            return True

    monkeypatch.setattr(sys, "stdin", Terminal())
    monkeypatch.setattr("builtins.input", lambda prompt: "n")
    model.save_weights(path, overwrite=False)
    assert path.read_bytes() == before
    monkeypatch.setattr("builtins.input", lambda prompt: "y")
    randomize(model).save_weights(path, overwrite=False)
    assert path.read_bytes() != before
