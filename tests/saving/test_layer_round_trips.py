"""Every layer lamina has, through ``.keras``, legacy ``.h5`` and ``.weights.h5``: identical predictions.

The rows are `layer_table.TABLE` (shared with the real-Keras files) plus two lamina-only rows.
`test_table_covers_every_exported_layer_class` keeps the table complete: a new layer class in
``lamina.layers`` fails it until it has a row (or a justified entry in ``NOT_IN_TABLE``).
"""

import inspect

import numpy as np
import pytest
import torch

import lamina
from lamina.saving import register_keras_serializable

from . import layer_table
from .conftest import predict


@register_keras_serializable(package="round_trip_tests")
class TinyLinear(torch.nn.Module):
    """A torch module that can be rebuilt from a config, so `TorchModuleWrapper` can be saved."""

    def __init__(self, features_in, features_out):
        super().__init__()
        self.features_in, self.features_out = features_in, features_out
        self.linear = torch.nn.Linear(features_in, features_out)

    def forward(self, x):
        return torch.tanh(self.linear(x))

    def get_config(self):
        return {"features_in": self.features_in, "features_out": self.features_out}


@register_keras_serializable(package="round_trip_tests")
def scaled_square(x):
    return 0.5 * x * x


# The shared rows, and the two that only lamina can build (a registered function, a torch module).
TABLE = {
    **layer_table.TABLE,
    "Lambda": (lambda L: L.Lambda(scaled_square), (4,), "float"),
    "TorchModuleWrapper": (lambda L: L.TorchModuleWrapper(TinyLinear(4, 3)), (4,), "float"),
}


def _model(key):
    return layer_table.make_model(key, lamina, TABLE)


def _data(key):
    return layer_table.make_data(key, TABLE)


# Exported layer classes without a row of their own, and why.
NOT_IN_TABLE = {
    "Layer": "the abstract base class; subclassed layers are covered by the subclassed-model tests",
    "InputLayer": "every model of the table starts with one, and the .keras/.h5 loads rebuild it",
}

# Config keys the Keras 2 schema of legacy .h5 cannot keep (tf.keras 2 would refuse the file).
KERAS2_LOSSY = {
    # tf.keras 2 refuses num_bins next to bin_boundaries, and wants the 'int' output's dtype.
    "Discretization": ("dtype",),
    "Discretization[adapted]": ("num_bins", "dtype"),
}


def _without(config, keys):
    return {k: v for k, v in config.items() if k not in keys}


# Layer bugs found by this test, owned by the layer's author (reported); xfail until fixed.
KNOWN_ISSUES = {}


def _predict(model, x, kind):
    if kind in ("string", "text"):  # string arrays are not tensors: call the model on them directly
        return model(x).detach().cpu().numpy()
    return predict(model, x)


def _exported_layer_classes():
    names = {}
    for attr in dir(lamina.layers):
        obj = getattr(lamina.layers, attr)
        if inspect.isclass(obj) and issubclass(obj, lamina.layers.Layer):
            names.setdefault(obj, obj.__name__)
    return set(names.values())


def test_table_covers_every_exported_layer_class():
    covered = {name for key in TABLE for name in layer_table.classes(key)}
    exported = _exported_layer_classes()
    assert len(exported) > 90  # the aliases (MaxPool2D, ...) count once, under their class name
    missing = sorted(exported - covered - set(NOT_IN_TABLE))
    assert missing == [], f"layer classes without a round-trip row: {missing}"
    assert sorted(covered - exported) == [], "rows for classes lamina.layers does not export"
    assert set(NOT_IN_TABLE) <= exported and not set(NOT_IN_TABLE) & covered


@pytest.mark.parametrize("key", sorted(TABLE))
@pytest.mark.parametrize("suffix", [".keras", ".h5", ".weights.h5"])
def test_round_trip(tmp_path, key, suffix):
    if (key, suffix) in KNOWN_ISSUES:
        pytest.xfail(KNOWN_ISSUES[key, suffix])
    name = layer_table.classes(key)[0]
    x, kind = _data(key), TABLE[key][2]
    model = _model(key)
    _predict(model, x, kind)  # a layer that creates weights on its first real call has them now
    model = layer_table.randomize(model)
    expected = _predict(model, x, kind)
    path = tmp_path / f"m{suffix}"
    if suffix == ".weights.h5":
        model.save_weights(path)
        loaded = _model(key)
        before = _predict(loaded, x, kind)  # builds what builds on the first call
        if any(w.dtype.kind == "f" for w in model.get_weights()):  # the load has something to prove
            assert not np.array_equal(before, expected)
        loaded.load_weights(path)
    else:
        model.save(path)
        loaded = lamina.models.load_model(path)
        assert type(loaded.layers[-1]).__name__ == name
        lossy = KERAS2_LOSSY.get(key, ()) if suffix == ".h5" else ()
        assert _without(loaded.layers[-1].get_config(), lossy) == _without(model.layers[-1].get_config(), lossy)
    assert [w.shape for w in loaded.weights] == [w.shape for w in model.weights]
    np.testing.assert_array_equal(_predict(loaded, x, kind), expected)
