"""Every layer lamina has, through ``.keras``, legacy ``.h5`` and ``.weights.h5``: identical predictions.

The table names Keras layers with arguments and an input. A key is a layer class name, optionally
followed by a variant in brackets naming further classes the row covers (``"RNN[LSTMCell]"`` covers
``RNN`` and ``LSTMCell``; ``"StringLookup[adapted]"`` is a second StringLookup row).
`test_table_covers_every_exported_layer_class` keeps the table complete: a new layer class in
``lamina.layers`` fails it until it has a row (or a justified entry in ``NOT_IN_TABLE``).
"""

import inspect
import re

import numpy as np
import pytest
import torch

import lamina
from lamina.saving import register_keras_serializable

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


def _adapted(layer, data):
    layer.adapt(data)
    return layer


WORDS = np.array([["the cat sat"], ["the dog"], ["a cat and a dog"], ["the end"]])
TOKENS = np.array([["a"], ["b"], ["c"], ["b"], ["b"], ["d"]])

# name: (constructor, input shape(s) without batch, input kind)
# kinds: "float", "int" (0..9), "small_int" (0..4), "string" (words of TOKENS), "text" (sentences),
# "list" (several inputs, called with a list), "attention" (several inputs, called positionally)
TABLE = {
    # core
    "Dense": (lambda L: L.Dense(3, activation="tanh"), (4,), "float"),
    "EinsumDense": (lambda L: L.EinsumDense("ab,bc->ac", output_shape=3, bias_axes="c"), (4,), "float"),
    "Activation": (lambda L: L.Activation("softmax"), (4,), "float"),
    "Identity": (lambda L: L.Identity(), (4,), "float"),
    "Embedding": (lambda L: L.Embedding(10, 3), (5,), "int"),
    "Masking": (lambda L: L.Masking(0.0), (5, 4), "float"),
    "Lambda": (lambda L: L.Lambda(scaled_square), (4,), "float"),
    "TorchModuleWrapper": (lambda L: L.TorchModuleWrapper(TinyLinear(4, 3)), (4,), "float"),
    # activations
    "ReLU": (lambda L: L.ReLU(max_value=1.0), (4,), "float"),
    "LeakyReLU": (lambda L: L.LeakyReLU(negative_slope=0.2), (4,), "float"),
    "PReLU": (lambda L: L.PReLU(), (4,), "float"),
    "ELU": (lambda L: L.ELU(), (4,), "float"),
    "Softmax": (lambda L: L.Softmax(), (4,), "float"),
    # regularization (identity at inference)
    "Dropout": (lambda L: L.Dropout(0.5), (4,), "float"),
    "SpatialDropout1D": (lambda L: L.SpatialDropout1D(0.3), (5, 4), "float"),
    "SpatialDropout2D": (lambda L: L.SpatialDropout2D(0.3), (4, 4, 2), "float"),
    "SpatialDropout3D": (lambda L: L.SpatialDropout3D(0.3), (3, 3, 3, 2), "float"),
    "GaussianNoise": (lambda L: L.GaussianNoise(0.1), (4,), "float"),
    "GaussianDropout": (lambda L: L.GaussianDropout(0.1), (4,), "float"),
    "AlphaDropout": (lambda L: L.AlphaDropout(0.1), (4,), "float"),
    "ActivityRegularization": (lambda L: L.ActivityRegularization(l1=0.01), (4,), "float"),
    # reshaping
    "Flatten": (lambda L: L.Flatten(), (3, 4), "float"),
    "Reshape": (lambda L: L.Reshape((2, 2)), (4,), "float"),
    "Permute": (lambda L: L.Permute((2, 1)), (3, 4), "float"),
    "RepeatVector": (lambda L: L.RepeatVector(2), (4,), "float"),
    "Cropping1D": (lambda L: L.Cropping1D(1), (6, 4), "float"),
    "Cropping2D": (lambda L: L.Cropping2D(1), (6, 6, 2), "float"),
    "Cropping3D": (lambda L: L.Cropping3D(((1, 0), (0, 1), (1, 1))), (4, 4, 4, 2), "float"),
    "ZeroPadding1D": (lambda L: L.ZeroPadding1D(1), (6, 4), "float"),
    "ZeroPadding2D": (lambda L: L.ZeroPadding2D(1), (6, 6, 2), "float"),
    "ZeroPadding3D": (lambda L: L.ZeroPadding3D((1, 0, 2)), (3, 3, 3, 2), "float"),
    "UpSampling1D": (lambda L: L.UpSampling1D(2), (6, 4), "float"),
    "UpSampling2D": (lambda L: L.UpSampling2D(2), (4, 4, 2), "float"),
    "UpSampling3D": (lambda L: L.UpSampling3D((2, 1, 2)), (2, 2, 2, 2), "float"),
    # convolutions
    "Conv1D": (lambda L: L.Conv1D(3, 2), (6, 4), "float"),
    "Conv2D": (lambda L: L.Conv2D(3, 2), (6, 6, 4), "float"),
    "Conv3D": (lambda L: L.Conv3D(2, 2, padding="same"), (4, 4, 4, 3), "float"),
    "Conv1DTranspose": (lambda L: L.Conv1DTranspose(3, 3, strides=2), (6, 4), "float"),
    "Conv2DTranspose": (lambda L: L.Conv2DTranspose(3, 2), (6, 6, 4), "float"),
    "Conv3DTranspose": (lambda L: L.Conv3DTranspose(2, 2), (3, 3, 3, 2), "float"),
    "SeparableConv1D": (lambda L: L.SeparableConv1D(3, 2, depth_multiplier=2), (6, 4), "float"),
    "SeparableConv2D": (lambda L: L.SeparableConv2D(3, 2), (6, 6, 4), "float"),
    "DepthwiseConv1D": (lambda L: L.DepthwiseConv1D(2, depth_multiplier=2), (6, 4), "float"),
    "DepthwiseConv2D": (lambda L: L.DepthwiseConv2D(2), (6, 6, 4), "float"),
    # pooling
    "MaxPooling1D": (lambda L: L.MaxPooling1D(), (6, 4), "float"),
    "MaxPooling2D": (lambda L: L.MaxPooling2D(), (6, 6, 2), "float"),
    "MaxPooling3D": (lambda L: L.MaxPooling3D(), (4, 4, 4, 2), "float"),
    "AveragePooling1D": (lambda L: L.AveragePooling1D(padding="same"), (5, 4), "float"),
    "AveragePooling2D": (lambda L: L.AveragePooling2D(), (6, 6, 2), "float"),
    "AveragePooling3D": (lambda L: L.AveragePooling3D(), (4, 4, 4, 2), "float"),
    "GlobalMaxPooling1D": (lambda L: L.GlobalMaxPooling1D(), (6, 4), "float"),
    "GlobalMaxPooling2D": (lambda L: L.GlobalMaxPooling2D(), (6, 6, 2), "float"),
    "GlobalMaxPooling3D": (lambda L: L.GlobalMaxPooling3D(keepdims=True), (4, 4, 4, 2), "float"),
    "GlobalAveragePooling1D": (lambda L: L.GlobalAveragePooling1D(), (6, 4), "float"),
    "GlobalAveragePooling2D": (lambda L: L.GlobalAveragePooling2D(), (6, 6, 2), "float"),
    "GlobalAveragePooling3D": (lambda L: L.GlobalAveragePooling3D(), (4, 4, 4, 2), "float"),
    # normalization
    "BatchNormalization": (lambda L: L.BatchNormalization(), (6, 4), "float"),
    "LayerNormalization": (lambda L: L.LayerNormalization(), (6, 4), "float"),
    "GroupNormalization": (lambda L: L.GroupNormalization(groups=2), (6, 4), "float"),
    "UnitNormalization": (lambda L: L.UnitNormalization(), (4,), "float"),
    "RMSNormalization": (lambda L: L.RMSNormalization(), (6, 4), "float"),
    "SpectralNormalization": (lambda L: L.SpectralNormalization(L.Dense(3)), (4,), "float"),
    "Normalization": (lambda L: _adapted(L.Normalization(), np.arange(24, dtype="float32").reshape(6, 4)), (4,),
                      "float"),
    # recurrent
    "SimpleRNN": (lambda L: L.SimpleRNN(3), (5, 4), "float"),
    "LSTM": (lambda L: L.LSTM(3, return_sequences=True), (5, 4), "float"),
    "GRU": (lambda L: L.GRU(3), (5, 4), "float"),
    "RNN[SimpleRNNCell]": (lambda L: L.RNN(L.SimpleRNNCell(3)), (5, 4), "float"),
    "RNN[LSTMCell]": (lambda L: L.RNN(L.LSTMCell(3), return_sequences=True), (5, 4), "float"),
    "RNN[GRUCell]": (lambda L: L.RNN(L.GRUCell(3), go_backwards=True), (5, 4), "float"),
    "RNN[StackedRNNCells]": (lambda L: L.RNN(L.StackedRNNCells([L.LSTMCell(3), L.GRUCell(2)])), (5, 4), "float"),
    "ConvLSTM2D": (lambda L: L.ConvLSTM2D(2, 2), (3, 5, 5, 2), "float"),
    "Bidirectional": (lambda L: L.Bidirectional(L.LSTM(3)), (5, 4), "float"),
    "TimeDistributed": (lambda L: L.TimeDistributed(L.Dense(2)), (5, 4), "float"),
    # merging
    "Concatenate": (lambda L: L.Concatenate(), [(4,), (3,)], "list"),
    "Add": (lambda L: L.Add(), [(4,), (4,)], "list"),
    "Multiply": (lambda L: L.Multiply(), [(4,), (4,)], "list"),
    "Average": (lambda L: L.Average(), [(4,), (4,)], "list"),
    "Maximum": (lambda L: L.Maximum(), [(4,), (4,), (4,)], "list"),
    "Minimum": (lambda L: L.Minimum(), [(4,), (4,)], "list"),
    "Subtract": (lambda L: L.Subtract(), [(4,), (4,)], "list"),
    "Dot": (lambda L: L.Dot(axes=1, normalize=True), [(4,), (4,)], "list"),
    # attention
    "Attention": (lambda L: L.Attention(use_scale=True, score_mode="concat"), [(5, 4), (6, 4)], "list"),
    "AdditiveAttention": (lambda L: L.AdditiveAttention(), [(5, 4), (6, 4)], "list"),
    "MultiHeadAttention": (lambda L: L.MultiHeadAttention(2, 3), [(5, 4), (5, 4)], "attention"),
    "GroupQueryAttention": (lambda L: L.GroupQueryAttention(head_dim=2, num_query_heads=4, num_key_value_heads=2),
                            [(5, 4), (6, 4)], "attention"),
    # preprocessing: image (inference is deterministic)
    "Rescaling": (lambda L: L.Rescaling(1 / 255, offset=-1), (4, 4, 2), "float"),
    "Resizing": (lambda L: L.Resizing(3, 5), (6, 6, 2), "float"),
    "CenterCrop": (lambda L: L.CenterCrop(3, 4), (6, 6, 2), "float"),
    "RandomCrop": (lambda L: L.RandomCrop(4, 3, seed=1), (6, 6, 2), "float"),
    "RandomFlip": (lambda L: L.RandomFlip(seed=1), (4, 4, 2), "float"),
    "RandomRotation": (lambda L: L.RandomRotation(0.2, seed=1), (4, 4, 2), "float"),
    "RandomTranslation": (lambda L: L.RandomTranslation(0.2, 0.1, seed=1), (4, 4, 2), "float"),
    "RandomZoom": (lambda L: L.RandomZoom(0.2, seed=1), (4, 4, 2), "float"),
    "RandomContrast": (lambda L: L.RandomContrast(0.3, seed=1), (4, 4, 2), "float"),
    # preprocessing: numeric and categorical
    "CategoryEncoding": (lambda L: L.CategoryEncoding(num_tokens=5, output_mode="count"), (3,), "small_int"),
    "Discretization": (lambda L: L.Discretization(bin_boundaries=[-1.0, 0.0, 1.0]), (4,), "float"),
    "Discretization[adapted]": (lambda L: _adapted(L.Discretization(num_bins=4), np.linspace(-2, 2, 40)), (4,),
                                "float"),
    "Hashing": (lambda L: L.Hashing(num_bins=7, salt=3), (3,), "int"),
    "Hashing[string]": (lambda L: L.Hashing(num_bins=7), (1,), "string"),
    "IntegerLookup": (lambda L: L.IntegerLookup(vocabulary=[1, 2, 3, 7]), (3,), "int"),
    "IntegerLookup[adapted]": (lambda L: _adapted(L.IntegerLookup(output_mode="multi_hot"),
                                                  np.array([[1], [2], [2], [5], [9], [9], [9]])), (3,), "int"),
    "StringLookup": (lambda L: L.StringLookup(vocabulary=["c", "a", "b"]), (1,), "string"),
    "StringLookup[adapted]": (lambda L: _adapted(L.StringLookup(), TOKENS), (1,), "string"),
    "TextVectorization": (lambda L: _adapted(L.TextVectorization(max_tokens=8, output_sequence_length=4), WORDS),
                          (1,), "text"),
}

# Exported layer classes without a row of their own, and why.
NOT_IN_TABLE = {
    "Layer": "the abstract base class; subclassed layers are covered by the subclassed-model tests",
    "InputLayer": "every model of the table starts with one, and the .keras/.h5 loads rebuild it",
}

# Layer bugs found by this test, owned by the layer's author (reported); xfail until fixed.
KNOWN_ISSUES = {}


def _classes(key):
    """The class names a table key covers: ``"RNN[LSTMCell]"`` -> ``["RNN", "LSTMCell"]``."""
    name, _, variant = key.partition("[")
    extra = [n for n in re.split(r"[\[\],\s]+", variant) if n and n[0].isupper()]
    return [name] + extra


def _model(key):
    make, shape, kind = TABLE[key]
    layer = make(lamina.layers)
    if isinstance(shape, list):
        inputs = [lamina.Input(s) for s in shape]
        outputs = layer(*inputs) if kind == "attention" else layer(inputs)
    else:
        dtype = {"int": "int32", "small_int": "int32", "string": "string", "text": "string"}.get(kind, "float32")
        inputs = lamina.Input(shape, dtype=dtype)
        outputs = layer(inputs)
    name = re.sub(r"\W+", "_", key.lower()).strip("_")
    return lamina.Model(inputs, outputs, name=f"{name}_model")


def _data(key):
    _, shape, kind = TABLE[key]
    rng = np.random.default_rng(0)
    if kind in ("int", "small_int"):
        return rng.integers(0, 10 if kind == "int" else 5, size=(3,) + shape).astype("int32")
    if kind == "string":
        return np.array([["a"], ["d"], ["never seen"]])
    if kind == "text":
        return np.array([["the cat"], ["a dog sat on the end"], ["unknown words"]])
    if isinstance(shape, list):
        return [rng.normal(size=(3,) + s).astype("float32") for s in shape]
    return rng.normal(size=(3,) + shape).astype("float32")


def _predict(model, x, kind):
    if kind in ("string", "text"):  # string arrays are not tensors: call the model on them directly
        return model(x).detach().cpu().numpy()
    return predict(model, x)


def _randomize(model):
    rng = np.random.default_rng(1)
    weights = []
    for w in model.get_weights():
        if w.dtype.kind == "f":
            weights.append(rng.uniform(0.5, 1.5, size=w.shape).astype(w.dtype))
        else:  # counters, lookup state: keep them (random values would not be meaningful)
            weights.append(w)
    model.set_weights(weights)
    return model


def _exported_layer_classes():
    names = {}
    for attr in dir(lamina.layers):
        obj = getattr(lamina.layers, attr)
        if inspect.isclass(obj) and issubclass(obj, lamina.layers.Layer):
            names.setdefault(obj, obj.__name__)
    return set(names.values())


def test_table_covers_every_exported_layer_class():
    covered = {name for key in TABLE for name in _classes(key)}
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
    name = _classes(key)[0]
    x, kind = _data(key), TABLE[key][2]
    model = _model(key)
    _predict(model, x, kind)  # a layer that creates weights on its first real call has them now
    model = _randomize(model)
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
        assert loaded.layers[-1].get_config() == model.layers[-1].get_config()
    assert [w.shape for w in loaded.weights] == [w.shape for w in model.weights]
    np.testing.assert_array_equal(_predict(loaded, x, kind), expected)
