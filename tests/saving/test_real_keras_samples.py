"""Files written by real tf.keras 2.21 and Keras 3.15.1 (samples/README.md) load in lamina.

Predictions must equal the writer's own ``predict`` outputs saved beside the files, stored
weights must land in the right variables, and optimizer state must be restored. Cases whose
layers are not in lamina yet are skipped, and join automatically when the layers land.
"""

import importlib
import warnings

import h5py
import numpy as np
import pytest

import lamina
from lamina.saving import object_graph

from .conftest import mlp, predict, sample

CONV, LSTM = ("Conv2D", "BatchNormalization", "Dropout", "Flatten"), ("Embedding", "LSTM")

# (file, inputs, expected outputs, layer classes it needs)
PREDICTIONS = [
    ("tfk_mlp_functional.h5", "tfk_x_mlp.npy", "tfk_y_mlp.npy", ()),
    ("tfk_mlp_functional.keras", "tfk_x_mlp.npy", "tfk_y_mlp.npy", ()),
    ("k3_mlp_functional.keras", "k3_x_mlp.npy", "k3_y_mlp.npy", ()),
    ("k3_mlp_functional_legacy.h5", "k3_x_mlp.npy", "k3_y_mlp.npy", ()),
    ("tfk_conv_bn.h5", "tfk_x_conv.npy", "tfk_y_conv.npy", CONV),
    ("k3_conv_bn.keras", "k3_x_conv.npy", "k3_y_conv.npy", CONV),
    ("k3_conv_bn_legacy.h5", "k3_x_conv.npy", "k3_y_conv.npy", CONV),
    ("tfk_emb_lstm.h5", "tfk_x_tok.npy", "tfk_y_lstm.npy", LSTM),
    ("k3_emb_lstm.keras", "k3_x_tok.npy", "k3_y_lstm.npy", LSTM),
]

# (weights-only file, full-model file of the same model, inputs, outputs, layers)
WEIGHTS = [
    ("tfk_mlp_functional_weights.h5", "tfk_mlp_functional.h5", "tfk_x_mlp.npy", "tfk_y_mlp.npy", ()),
    ("tfk_mlp_functional.weights.h5", "tfk_mlp_functional.h5", "tfk_x_mlp.npy", "tfk_y_mlp.npy", ()),
    ("k3_mlp_functional.weights.h5", "k3_mlp_functional.keras", "k3_x_mlp.npy", "k3_y_mlp.npy", ()),
    ("k3_mlp_functional.keras", "k3_mlp_functional.keras", "k3_x_mlp.npy", "k3_y_mlp.npy", ()),
    ("k3_mlp_functional_legacy.h5", "k3_mlp_functional.keras", "k3_x_mlp.npy", "k3_y_mlp.npy", ()),
    ("tfk_conv_bn_weights.h5", "tfk_conv_bn.h5", "tfk_x_conv.npy", "tfk_y_conv.npy", CONV),
    ("k3_conv_bn.weights.h5", "k3_conv_bn.keras", "k3_x_conv.npy", "k3_y_conv.npy", CONV),
    ("tfk_emb_lstm_weights.h5", "tfk_emb_lstm.h5", "tfk_x_tok.npy", "tfk_y_lstm.npy", LSTM),
    ("k3_emb_lstm.weights.h5", "k3_emb_lstm.keras", "k3_x_tok.npy", "k3_y_lstm.npy", LSTM),
]

# Files without stored predictions: loading must put every stored tensor in its variable.
STRUCTURE = [
    ("tfk_mlp_sequential.h5", ()), ("tfk_seq_input_shape.h5", ()), ("tfk_two_inputs_shared.h5", ("Concatenate",)),
    ("tfk_nested.h5", ()), ("tfk_nested_sequential.h5", ()), ("tfk_dtypes.h5", ()),
    ("tfk_frozen_nested.h5", ("BatchNormalization",)), ("k3_frozen_nested.h5", ("BatchNormalization",)),
    ("k3_mlp_sequential.keras", ()), ("k3_two_inputs_shared.keras", ("Concatenate",)), ("k3_nested.keras", ()),
    ("k3_nested_legacy.h5", ()), ("k3_nested_sequential_legacy.h5", ()),
    ("k3torch_conv_bn.keras", CONV), ("tfk_opt_sgd_momentum.h5", ()),
]

TRAINED = ["tfk_mlp_trained_adam.h5", "k3_mlp_trained_adam.keras", "k3_mlp_trained_adam_legacy.h5",
           "k3torch_mlp_trained_adam.keras", "k3jax_mlp_trained_adam.keras", "tfk_opt_legacy_adam.h5",
           "tfk_opt_sgd_momentum.h5"]


def require(names):
    for name in names:
        try:
            getattr(importlib.import_module("lamina.layers"), name)
        except (ImportError, AttributeError):
            pytest.skip(f"lamina.layers.{name} is not available yet")


def load(name, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return lamina.models.load_model(sample(name), **kwargs)


@pytest.mark.parametrize("name, x, y, needs", PREDICTIONS, ids=[c[0] for c in PREDICTIONS])
def test_predictions_match_the_writer(name, x, y, needs):
    require(needs)
    model = load(name)
    np.testing.assert_allclose(predict(model, np.load(sample(x))), np.load(sample(y)), rtol=1e-5, atol=2e-6)


@pytest.mark.parametrize("name, full, x, y, needs", WEIGHTS, ids=[c[0] for c in WEIGHTS])
def test_weights_only_files_load_into_an_equal_model(name, full, x, y, needs):
    require(needs)
    model = load(full, compile=False)
    model.set_weights([np.zeros_like(w) for w in model.get_weights()])
    model.load_weights(sample(name))
    np.testing.assert_allclose(predict(model, np.load(sample(x))), np.load(sample(y)), rtol=1e-5, atol=2e-6)


@pytest.mark.parametrize("name", ["tfk_mlp_functional_weights.h5", "tfk_mlp_functional.weights.h5",
                                  "k3_mlp_functional.weights.h5"])
def test_weights_load_into_a_model_built_in_lamina_code(name):
    model = mlp()
    model.load_weights(sample(name))
    prefix = name.split("_")[0]
    np.testing.assert_allclose(predict(model, np.load(sample(f"{prefix}_x_mlp.npy"))),
                               np.load(sample(f"{prefix}_y_mlp.npy")), rtol=1e-5, atol=2e-6)


def _legacy_stored(path):
    with h5py.File(path, "r") as f:
        group = f["model_weights"]
        out = {}
        for layer in group.attrs["layer_names"]:
            layer = layer.decode() if isinstance(layer, bytes) else layer
            names = group[layer].attrs["weight_names"]
            out[layer] = [group[layer][n.decode() if isinstance(n, bytes) else n][()] for n in names]
        return out


def _keras3_stored(path):
    import io
    import zipfile

    with zipfile.ZipFile(path) as archive, h5py.File(io.BytesIO(archive.read("model.weights.h5"))) as f:
        out = {}

        def collect(name, obj):  # visititems stops at the first non-None return
            if isinstance(obj, h5py.Dataset):
                out[name] = obj[()]

        f.visititems(collect)
        return out


@pytest.mark.parametrize("name, needs", STRUCTURE, ids=[c[0] for c in STRUCTURE])
def test_every_stored_tensor_lands_in_its_variable(name, needs):
    require(needs)
    model = load(name, compile=False)
    if name.endswith(".h5"):
        from lamina.saving.legacy_h5 import layer_weights

        stored = _legacy_stored(sample(name))
        layers = {layer.name: layer for layer in model.layers}
        for layer_name, values in stored.items():
            assert len(values) == len(layer_weights(layers[layer_name]))
            for value, variable in zip(values, layer_weights(layers[layer_name])):
                np.testing.assert_array_equal(variable.numpy(), value)
    else:
        stored = _keras3_stored(sample(name))
        count = 0
        for path, obj in object_graph.walk(model):
            for index, variable in enumerate(object_graph.own_variables(obj)):
                key = f"{path}/vars/{index}" if path else f"vars/{index}"
                np.testing.assert_array_equal(variable.numpy(), stored[key])
                count += 1
        assert count == len([k for k in stored if not k.startswith("optimizer")])


@pytest.mark.parametrize("name", TRAINED)
def test_optimizer_state_is_restored_and_training_resumes(name):
    model = load(name)
    assert model.compiled
    variables = model.optimizer.variables
    with h5py.File(sample(name)) if name.endswith(".h5") else _null() as f:
        if f is not None:
            names = [n.decode() if isinstance(n, bytes) else n for n in f["optimizer_weights"].attrs["weight_names"]]
            stored = [f["optimizer_weights"][n][()] for n in names]
            assert int(variables[0].numpy()) == int(stored[0])
            assert all(any(np.array_equal(v.numpy(), s) for v in variables) for s in stored[1:] if np.ndim(s))
    assert int(variables[0].numpy()) >= 1 and any(np.abs(v.numpy()).sum() > 0 for v in variables[2:])
    x = np.random.default_rng(0).normal(size=(8, 4)).astype("float32")
    units = model.outputs[0].shape[-1]
    y = np.zeros((8, 1)) if units > 1 else np.zeros((8, units))
    before = int(variables[0].numpy())
    model.fit(x, y if units > 1 and "sparse" in str(model.loss) else np.zeros((8, units)), epochs=1, batch_size=8,
              verbose=0)
    assert int(model.optimizer.variables[0].numpy()) == before + 1


class _null:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def test_keras3_paths_of_lamina_models_match_keras_files():
    """The object-graph walk of lamina models gives exactly Keras 3's dataset paths."""
    for name, needs in [("k3_mlp_functional.keras", ()), ("k3_nested.keras", ()), ("k3_conv_bn.keras", CONV),
                        ("k3_emb_lstm.keras", LSTM), ("k3_two_inputs_shared.keras", ("Concatenate",)),
                        ("k3_mlp_sequential.keras", ()), ("k3_mlp_trained_adam.keras", ())]:
        try:
            require(needs)
        except pytest.skip.Exception:
            continue
        model = load(name)
        ours = []
        for path, obj in object_graph.walk(model):
            ours += [f"{path}/vars/{i}" if path else f"vars/{i}" for i in range(len(object_graph.own_variables(obj)))]
        assert sorted(ours) == sorted(_keras3_stored(sample(name))), name


def test_inline_vocabulary_string_lookup_from_keras3():
    """Keras 3.15 stores an inline StringLookup vocabulary in the config (with its hashing `salt` key)."""
    model = load("k3_stringlookup.keras")
    lookup = model.get_layer("lookup")
    assert lookup.get_vocabulary() == ["[UNK]", "a", "b", "c"]
    np.testing.assert_array_equal(model.predict(np.array([["a"], ["c"], ["zz"], ["b"]]), verbose=0),
                                  [[1], [3], [0], [2]])


def test_unsupported_features_fail_cleanly():
    # An int8-quantized Dense: not in lamina, refused with a clear message.
    with pytest.raises(ValueError, match="quantization_config"):
        load("k3_dtypes.keras")
