"""One table of Keras layers, each with arguments and an input: shared by lamina and real Keras.

A key is a layer class name, optionally followed by a variant in brackets naming further
classes the row covers (``"RNN[LSTMCell]"`` covers ``RNN`` and ``LSTMCell``;
``"StringLookup[adapted]"`` is a second StringLookup row). Constructors take the layers module
(``lamina.layers``, ``keras.layers`` or ``tf_keras.layers``), so the same rows build the models of
the lamina round-trip tests (``test_layer_round_trips.py``), the files lamina writes for real
Keras (``check_with_real_keras.py``) and the files real Keras writes for lamina
(``samples/scripts/make_catalogue.py``). Only NumPy is imported: real Keras environments need
no lamina.
"""

import re

import numpy as np


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
    # activations
    "ReLU": (lambda L: L.ReLU(max_value=1.0), (4,), "float"),
    "LeakyReLU": (lambda L: L.LeakyReLU(0.2), (4,), "float"),
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
    "MaxPooling1D": (lambda L: L.MaxPooling1D(2), (6, 4), "float"),
    "MaxPooling2D": (lambda L: L.MaxPooling2D(2), (6, 6, 2), "float"),
    "MaxPooling3D": (lambda L: L.MaxPooling3D(2), (4, 4, 4, 2), "float"),
    "AveragePooling1D": (lambda L: L.AveragePooling1D(2, padding="same"), (5, 4), "float"),
    "AveragePooling2D": (lambda L: L.AveragePooling2D(2), (6, 6, 2), "float"),
    "AveragePooling3D": (lambda L: L.AveragePooling3D(2), (4, 4, 4, 2), "float"),
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


def classes(key):
    """The class names a table key covers: ``"RNN[LSTMCell]"`` -> ``["RNN", "LSTMCell"]``."""
    name, _, variant = key.partition("[")
    extra = [n for n in re.split(r"[\[\],\s]+", variant) if n and n[0].isupper()]
    return [name] + extra


def file_stem(key):
    """``"RNN[LSTMCell]"`` -> ``"RNN_LSTMCell"``: the key as a file or model name."""
    return re.sub(r"\W+", "_", key).strip("_")


def make_model(key, library, table=None):
    """``Input`` -> the row's layer, as a functional model of ``library`` (lamina, keras or tf_keras)."""
    make, shape, kind = (table or TABLE)[key]
    layer = make(library.layers)
    if isinstance(shape, list):
        inputs = [library.Input(s) for s in shape]
        outputs = layer(*inputs) if kind == "attention" else layer(inputs)
    else:
        dtype = {"int": "int32", "small_int": "int32", "string": "string", "text": "string"}.get(kind, "float32")
        inputs = library.Input(shape, dtype=dtype)
        outputs = layer(inputs)
    return library.Model(inputs, outputs, name=f"{file_stem(key).lower()}_model")


def make_data(key, table=None):
    """The row's input: a batch of 3."""
    _, shape, kind = (table or TABLE)[key]
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


def randomize(model):
    """Distinct values in every float weight (in [0.5, 1.5], valid variances too); others kept."""
    rng = np.random.default_rng(1)
    weights = []
    for w in model.get_weights():
        if w.dtype.kind == "f":
            weights.append(rng.uniform(0.5, 1.5, size=w.shape).astype(w.dtype))
        else:  # counters, lookup state: keep them (random values would not be meaningful)
            weights.append(w)
    model.set_weights(weights)
    return model
