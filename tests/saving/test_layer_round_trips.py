"""Every layer lamina has, through ``.keras``, legacy ``.h5`` and ``.weights.h5``: identical predictions.

The table names Keras layers with arguments and an input; layers that lamina does not have yet
are skipped and join automatically once they land in ``lamina.layers``.
"""

import importlib

import numpy as np
import pytest

import lamina

from .conftest import predict

# name: (constructor, input shape(s) without batch, input kind)
TABLE = {
    "Dense": (lambda L: L.Dense(3, activation="tanh"), (4,), "float"),
    "EinsumDense": (lambda L: L.EinsumDense("ab,bc->ac", output_shape=3, bias_axes="c"), (4,), "float"),
    "Activation": (lambda L: L.Activation("softmax"), (4,), "float"),
    "Identity": (lambda L: L.Identity(), (4,), "float"),
    "Embedding": (lambda L: L.Embedding(10, 3), (5,), "int"),
    "Masking": (lambda L: L.Masking(0.0), (5, 4), "float"),
    "ReLU": (lambda L: L.ReLU(max_value=1.0), (4,), "float"),
    "LeakyReLU": (lambda L: L.LeakyReLU(negative_slope=0.2), (4,), "float"),
    "PReLU": (lambda L: L.PReLU(), (4,), "float"),
    "ELU": (lambda L: L.ELU(), (4,), "float"),
    "Softmax": (lambda L: L.Softmax(), (4,), "float"),
    "Dropout": (lambda L: L.Dropout(0.5), (4,), "float"),
    "SpatialDropout1D": (lambda L: L.SpatialDropout1D(0.3), (5, 4), "float"),
    "GaussianNoise": (lambda L: L.GaussianNoise(0.1), (4,), "float"),
    "GaussianDropout": (lambda L: L.GaussianDropout(0.1), (4,), "float"),
    "AlphaDropout": (lambda L: L.AlphaDropout(0.1), (4,), "float"),
    "ActivityRegularization": (lambda L: L.ActivityRegularization(l1=0.01), (4,), "float"),
    "Flatten": (lambda L: L.Flatten(), (3, 4), "float"),
    "Reshape": (lambda L: L.Reshape((2, 2)), (4,), "float"),
    "Permute": (lambda L: L.Permute((2, 1)), (3, 4), "float"),
    "RepeatVector": (lambda L: L.RepeatVector(2), (4,), "float"),
    "Cropping1D": (lambda L: L.Cropping1D(1), (6, 4), "float"),
    "Cropping2D": (lambda L: L.Cropping2D(1), (6, 6, 2), "float"),
    "ZeroPadding1D": (lambda L: L.ZeroPadding1D(1), (6, 4), "float"),
    "ZeroPadding2D": (lambda L: L.ZeroPadding2D(1), (6, 6, 2), "float"),
    "UpSampling1D": (lambda L: L.UpSampling1D(2), (6, 4), "float"),
    "UpSampling2D": (lambda L: L.UpSampling2D(2), (4, 4, 2), "float"),
    "Conv1D": (lambda L: L.Conv1D(3, 2), (6, 4), "float"),
    "Conv2D": (lambda L: L.Conv2D(3, 2), (6, 6, 4), "float"),
    "Conv2DTranspose": (lambda L: L.Conv2DTranspose(3, 2), (6, 6, 4), "float"),
    "SeparableConv2D": (lambda L: L.SeparableConv2D(3, 2), (6, 6, 4), "float"),
    "DepthwiseConv2D": (lambda L: L.DepthwiseConv2D(2), (6, 6, 4), "float"),
    "MaxPooling2D": (lambda L: L.MaxPooling2D(), (6, 6, 2), "float"),
    "AveragePooling2D": (lambda L: L.AveragePooling2D(), (6, 6, 2), "float"),
    "GlobalAveragePooling2D": (lambda L: L.GlobalAveragePooling2D(), (6, 6, 2), "float"),
    "GlobalMaxPooling1D": (lambda L: L.GlobalMaxPooling1D(), (6, 4), "float"),
    "BatchNormalization": (lambda L: L.BatchNormalization(), (6, 4), "float"),
    "LayerNormalization": (lambda L: L.LayerNormalization(), (6, 4), "float"),
    "GroupNormalization": (lambda L: L.GroupNormalization(groups=2), (6, 4), "float"),
    "UnitNormalization": (lambda L: L.UnitNormalization(), (4,), "float"),
    "SimpleRNN": (lambda L: L.SimpleRNN(3), (5, 4), "float"),
    "LSTM": (lambda L: L.LSTM(3, return_sequences=True), (5, 4), "float"),
    "GRU": (lambda L: L.GRU(3), (5, 4), "float"),
    "Bidirectional": (lambda L: L.Bidirectional(L.LSTM(3)), (5, 4), "float"),
    "TimeDistributed": (lambda L: L.TimeDistributed(L.Dense(2)), (5, 4), "float"),
    "Concatenate": (lambda L: L.Concatenate(), [(4,), (3,)], "float"),
    "Add": (lambda L: L.Add(), [(4,), (4,)], "float"),
    "Multiply": (lambda L: L.Multiply(), [(4,), (4,)], "float"),
    "MultiHeadAttention": (lambda L: L.MultiHeadAttention(2, 3), [(5, 4), (5, 4)], "attention"),
}


# Layer bugs found by this test, owned by the layer's author (reported); xfail until fixed.
KNOWN_ISSUES = {}


def _layer_class(name):
    try:
        return getattr(importlib.import_module("lamina.layers"), name)
    except (ImportError, AttributeError):
        return None


def _model(name):
    make, shape, kind = TABLE[name]
    layer = make(lamina.layers)
    if isinstance(shape, list):
        inputs = [lamina.Input(s) for s in shape]
        outputs = layer(inputs[0], inputs[1]) if kind == "attention" else layer(inputs)
    else:
        inputs = lamina.Input(shape, dtype="int32" if kind == "int" else "float32")
        outputs = layer(inputs)
    return lamina.Model(inputs, outputs, name=f"{name.lower()}_model")


def _data(name):
    _, shape, kind = TABLE[name]
    rng = np.random.default_rng(0)
    if kind == "int":
        return rng.integers(0, 10, size=(2,) + shape).astype("int32")
    if isinstance(shape, list):
        return [rng.normal(size=(2,) + s).astype("float32") for s in shape]
    return rng.normal(size=(2,) + shape).astype("float32")


def _randomize(model):
    rng = np.random.default_rng(1)
    model.set_weights([rng.uniform(0.5, 1.5, size=w.shape).astype(w.dtype) for w in model.get_weights()])
    return model


@pytest.mark.parametrize("name", sorted(TABLE))
@pytest.mark.parametrize("suffix", [".keras", ".h5", ".weights.h5"])
def test_round_trip(tmp_path, name, suffix):
    if _layer_class(name) is None:
        pytest.skip(f"lamina.layers.{name} is not available yet")
    if (name, suffix) in KNOWN_ISSUES:
        pytest.xfail(KNOWN_ISSUES[name, suffix])
    x = _data(name)
    model = _model(name)
    predict(model, x)  # a layer that creates weights on its first real call has them now
    model = _randomize(model)
    expected = predict(model, x)
    path = tmp_path / f"m{suffix}"
    if suffix == ".weights.h5":
        model.save_weights(path)
        loaded = _model(name)
        predict(loaded, x)
        loaded.load_weights(path)
    else:
        model.save(path)
        loaded = lamina.models.load_model(path)
        assert type(loaded.layers[-1]).__name__ == name
        assert loaded.layers[-1].get_config() == model.layers[-1].get_config()
    np.testing.assert_array_equal(predict(loaded, x), expected)
