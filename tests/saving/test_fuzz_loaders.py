"""Fuzzing the loaders (hypothesis): corrupted bytes, truncations and mutated configs.

Every outcome must be a loaded model or one of lamina's file errors (`FileFormatError`,
`WeightsMismatchError`, `DeserializationError`, all `ValueError` subclasses): never another
exception (a raw ``KeyError``, ``OSError``, ``TypeError`` from deep in h5py, zipfile or a layer
constructor), a crash or a hang, and a model given to ``load_weights`` is either fully updated or
untouched. ``LAMINA_FUZZ_EXAMPLES`` raises the example count for a longer local run (CI keeps 40).
"""

import json
import os
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lamina
from lamina.saving import DeserializationError, FileFormatError
from lamina.saving.errors import WeightsMismatchError

from .conftest import mlp, randomize

LAMINA_ERRORS = (FileFormatError, WeightsMismatchError, DeserializationError)
FUZZ = settings(max_examples=int(os.environ.get("LAMINA_FUZZ_EXAMPLES", 40)), deadline=None,
                suppress_health_check=list(HealthCheck), derandomize=True)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz")
    model = randomize(mlp())
    paths = {}
    for name in ("m.keras", "m.h5"):
        model.save(folder / name)
        paths[name] = (folder / name).read_bytes()
    model.save_weights(folder / "w.weights.h5")
    paths["w.weights.h5"] = (folder / "w.weights.h5").read_bytes()
    model.save_weights(folder / "w.h5")
    paths["w.h5"] = (folder / "w.h5").read_bytes()
    return _Files((folder, paths, [w.copy() for w in model.get_weights()]))


class _Files(tuple):
    """The fixture's value, with a short repr (hypothesis prints it with every falsifying example)."""

    def __repr__(self):
        return f"<fuzz files in {self[0]}>"


def _check_load(path, is_weights, reference_weights):
    """Loads ``path`` into an existing model (every format) and, for model files, as a new model."""
    target = mlp()
    before = [w.copy() for w in target.get_weights()]
    try:
        target.load_weights(path)
    except LAMINA_ERRORS:
        after = target.get_weights()
        assert all(np.array_equal(a, b) for a, b in zip(before, after)), "half-loaded model"
    else:  # loaded: every weight was assigned (possibly corrupted values, never a mix)
        after = target.get_weights()
        assert all(not np.array_equal(a, b) for a, b in zip(before, after) if a.size > 1)
    if not is_weights:
        try:
            lamina.models.load_model(path, compile=False)
        except LAMINA_ERRORS:
            pass


@pytest.mark.parametrize("name", ["m.keras", "m.h5", "w.weights.h5", "w.h5"])
@FUZZ
@given(data=st.data())
def test_corrupted_bytes(files, name, data):
    folder, contents, reference = files
    raw = bytearray(contents[name])
    for _ in range(data.draw(st.integers(1, 8))):
        position = data.draw(st.integers(0, len(raw) - 1))
        raw[position] = data.draw(st.integers(0, 255))
    path = folder / f"corrupt_{name}"
    path.write_bytes(bytes(raw))
    _check_load(path, name.startswith("w."), reference)


@FUZZ
@given(data=st.data())
def test_corrupted_weights_inside_a_valid_archive(files, data):
    """The zip's CRCs stop corrupted bytes of ``m.keras`` early; here the archive is valid and only
    ``model.weights.h5`` is corrupted, so the HDF5 reader behind ``load_model`` is the one fuzzed."""
    folder, contents, reference = files
    with zipfile.ZipFile(folder / "m.keras") as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}
    raw = bytearray(members["model.weights.h5"])
    for _ in range(data.draw(st.integers(1, 8))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):
        raw = raw[: data.draw(st.integers(0, len(raw) - 1))]
    path = folder / "inner.keras"
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, bytes(raw) if name == "model.weights.h5" else content)
    _check_load(path, False, reference)


@pytest.mark.parametrize("name", ["m.keras", "m.h5", "w.weights.h5", "w.h5"])
@FUZZ
@given(cut=st.floats(0, 1, exclude_max=True))
def test_truncated(files, name, cut):
    folder, contents, reference = files
    path = folder / f"cut_{name}"
    path.write_bytes(contents[name][: int(cut * len(contents[name]))])
    target = mlp()
    before = target.get_weights()
    with pytest.raises(FileFormatError):
        target.load_weights(path)
    assert all(np.array_equal(a, b) for a, b in zip(before, target.get_weights()))
    if not name.startswith("w."):
        with pytest.raises(FileFormatError):
            lamina.models.load_model(path)


JSON = st.recursive(st.none() | st.booleans() | st.integers(-5, 5) | st.floats(allow_nan=False) | st.text(max_size=8),
                    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children,
                                                                                     max_size=3), max_leaves=8)


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, prefix + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, prefix + (index,))


@FUZZ
@given(data=st.data())
def test_mutated_config(files, data):
    folder, contents, reference = files
    with zipfile.ZipFile(folder / "m.keras") as archive:
        config = json.loads(archive.read("config.json"))
    for _ in range(data.draw(st.integers(1, 3))):
        paths = [p for p in _paths(config) if p]
        path = data.draw(st.sampled_from(paths))
        parent = config
        for key in path[:-1]:
            parent = parent[key]
        if data.draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = data.draw(JSON)
    bad = folder / "mutated.keras"
    with zipfile.ZipFile(folder / "m.keras") as old, zipfile.ZipFile(bad, "w") as new:
        for info in old.infolist():
            new.writestr(info, json.dumps(config) if info.filename == "config.json" else old.read(info))
    try:
        lamina.models.load_model(bad)
    except LAMINA_ERRORS:
        pass
