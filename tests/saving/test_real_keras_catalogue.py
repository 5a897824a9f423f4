"""Every layer of the shared table, saved by real Keras, loads in lamina with the writer's predictions.

``samples/catalogue/`` was written by ``samples/scripts/make_catalogue.py``: ``tfk_*.h5`` by
tf_keras 2.21.0 (legacy HDF5), ``k3_*.keras`` by Keras 3.15.1 (TensorFlow backend), each with the
inputs and the writer's predictions in ``*.npz``. The files load with ``safe_mode`` on.
"""

import json
import os

import numpy as np
import pytest

import lamina

from . import layer_table

CATALOGUE = os.path.join(os.path.dirname(__file__), "samples", "catalogue")
with open(os.path.join(CATALOGUE, "manifest.json")) as _f:
    MANIFEST = json.load(_f)

# (file, reason) lamina cannot match yet; strict xfails, so a fix shows up as a failure to remove.
KNOWN_ISSUES = {
    "k3_RandomCrop.keras": "Keras 3.15.1 returns the uncropped input at inference although its own output shape is "
                           "the crop (keras-team/keras#21868, fixed by PR #22328); lamina center-crops, as Keras "
                           "documents and tf.keras 2 does (tfk_RandomCrop.h5 passes)",
}


def _inputs(name, count):
    data = np.load(os.path.join(CATALOGUE, os.path.splitext(name)[0] + ".npz"))
    xs = [data[f"x{i}"] for i in range(count)]
    return (xs if count > 1 else xs[0]), data["y"]


def _predict(model, x):
    if isinstance(x, np.ndarray) and x.dtype.kind == "U":
        return model(x).detach().cpu().numpy()  # string inputs are not tensors
    return np.asarray(model.predict(x, verbose=0))


def test_the_catalogue_covers_the_table_in_both_libraries():
    assert MANIFEST["versions"] == {"tf_keras": "2.21.0", "keras": "3.15.1"}
    rows = {entry["row"] for entry in MANIFEST["files"].values()}
    assert rows == set(layer_table.TABLE), sorted(set(layer_table.TABLE) - rows)
    assert len(MANIFEST["files"]) > 190
    for name, why in MANIFEST["not_written"].items():  # only rows the writer itself cannot save
        assert name.startswith("tfk_"), (name, why)


@pytest.mark.parametrize("name", [
    pytest.param(name, marks=pytest.mark.xfail(reason=KNOWN_ISSUES[name], strict=True)) if name in KNOWN_ISSUES
    else name for name in sorted(MANIFEST["files"])])
def test_real_keras_file_loads_with_the_same_predictions(name):
    entry = MANIFEST["files"][name]
    x, expected = _inputs(name, entry["inputs"])
    model = lamina.models.load_model(os.path.join(CATALOGUE, name))
    layer_names = [type(layer).__name__ for layer in model.layers]
    assert layer_table.classes(entry["row"])[0] in layer_names, layer_names
    np.testing.assert_allclose(_predict(model, x), expected, rtol=1e-5, atol=1e-5, err_msg=name)
