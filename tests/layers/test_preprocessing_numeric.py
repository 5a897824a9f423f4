"""Normalization, Discretization, CategoryEncoding and Hashing against NumPy references."""

import json

import numpy as np
import pytest
import torch

from lamina import layers
from lamina.layers.preprocessing_hashing import fingerprint64, siphash64
from tests.layers.harness import run_layer_test

RNG = np.random.default_rng(0)


# ---- Normalization ----------------------------------------------------------------------------------------

def test_normalization_adapt_matches_numpy():
    data = RNG.normal(3.0, 2.0, (50, 4)).astype("float32")
    layer = layers.Normalization()
    layer.adapt(data)
    np.testing.assert_allclose(layer.mean.numpy(), data.mean(0), rtol=1e-5)
    np.testing.assert_allclose(layer.variance.numpy(), data.var(0), rtol=1e-5)
    assert int(layer.count.numpy()) == 50
    assert [w.name for w in layer.weights] == ["mean", "variance", "count"] and not layer.trainable_weights
    x = RNG.normal(size=(3, 4)).astype("float32")
    np.testing.assert_allclose(layer(x).numpy(), (x - data.mean(0)) / np.sqrt(data.var(0)), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("axis, reduce", [(None, None), ((1, 2), (0, 3)), (-1, (0, 1, 2)), (2, (0, 1, 3))])
def test_normalization_streaming_adapt_equals_one_shot(axis, reduce):
    data = (RNG.normal(size=(40, 3, 4, 2)) * 1e3 + 1e6).astype("float64")
    streamed = layers.Normalization(axis=axis, dtype="float64")
    streamed.adapt(iter([data[:7], data[7:30], data[30:]]))
    batched = layers.Normalization(axis=axis, dtype="float64")
    batched.adapt(torch.tensor(data), batch_size=9)
    mean, var = data.mean(axis=reduce), data.var(axis=reduce)
    for layer in (streamed, batched):
        np.testing.assert_allclose(layer.mean.numpy(), mean, rtol=1e-12)
        np.testing.assert_allclose(layer.variance.numpy(), var, rtol=1e-9)


def test_normalization_fixed_stats_invert_harness_and_config():
    layer, _ = run_layer_test(layers.Normalization, {"mean": [1.0, 2.0], "variance": [4.0, 9.0]},
                              input_shape=(3, 2), expected_output_shape=(3, 2), expected_num_trainable_weights=0,
                              expected_num_non_trainable_weights=0)
    x = np.array([[3.0, 5.0]], "float32")
    np.testing.assert_allclose(layer(x).numpy(), [[1.0, 1.0]])
    inverse = layers.Normalization(mean=[1.0, 2.0], variance=[4.0, 9.0], invert=True)
    np.testing.assert_allclose(inverse(layer(x)).numpy(), x, rtol=1e-6)
    zero_var = layers.Normalization(mean=0.0, variance=0.0)
    np.testing.assert_allclose(zero_var(np.array([[1e-8]], "float32")).numpy(), [[0.1]], rtol=1e-5)  # epsilon 1e-7
    config = layer.get_config()
    assert list(config)[3:] == ["axis", "invert", "mean", "variance"] and config["mean"] == [1.0, 2.0]
    assert json.loads(json.dumps(config)) == {**config, "axis": [-1]}
    run_layer_test(layers.Normalization, {"axis": -1}, input_shape=(4, 3), expected_weight_names=["mean", "variance",
                                                                                                  "count"])


def test_normalization_errors():
    with pytest.raises(ValueError, match="both `mean` and `variance` must be set"):
        layers.Normalization(mean=1.0)
    layer = layers.Normalization()
    layer.adapt(np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"data of shape \(4, 2\)"):
        layer.adapt(np.ones((4, 2)))
    with pytest.raises(TypeError, match="numeric data"):
        layers.Normalization().adapt(np.array([["a"]]))
    with pytest.raises(ValueError, match="cannot be adapted"):
        layers.Normalization(mean=0.0, variance=1.0).adapt(np.ones((2, 1)))


# ---- Discretization -----------------------------------------------------------------------------------------

def test_discretization_buckets_like_np_digitize():
    boundaries = [-1.0, 0.0, 0.5, 2.0]
    x = np.array([[-3.0, -1.0, 0.2], [0.5, 1.9, 7.0]], "float32")
    layer, out = run_layer_test(layers.Discretization, {"bin_boundaries": boundaries}, input_data=x,
                                expected_output=np.digitize(x, boundaries), expected_output_dtype="int64",
                                run_training_check=False, run_float64_check=False)
    encoded = layers.Discretization(bin_boundaries=boundaries, output_mode="count")(x).numpy()
    expected = np.stack([np.bincount(row, minlength=5) for row in np.digitize(x, boundaries)])
    np.testing.assert_array_equal(encoded, expected)
    one_hot = layers.Discretization(bin_boundaries=boundaries, output_mode="one_hot")(x[:, :1]).numpy()
    np.testing.assert_array_equal(one_hot, np.eye(5)[np.digitize(x[:, 0], boundaries)])


def test_discretization_adapt_quantiles():
    layer = layers.Discretization(num_bins=4)
    data = RNG.permutation(np.arange(1000.0))
    layer.adapt(data)
    np.testing.assert_allclose(layer.bin_boundaries, np.quantile(data, [0.25, 0.5, 0.75]), atol=15)
    restored = layers.Discretization.from_config(json.loads(json.dumps(layer.get_config())))
    np.testing.assert_array_equal(restored(data).numpy(), layer(data).numpy())
    streamed = layers.Discretization(num_bins=4)
    streamed.adapt(iter([data[:500], data[500:]]))
    np.testing.assert_allclose(streamed.bin_boundaries, layer.bin_boundaries, atol=15)


def test_discretization_errors():
    with pytest.raises(ValueError, match="either `num_bins` or `bin_boundaries`"):
        layers.Discretization()
    with pytest.raises(ValueError, match="Both `num_bins` and `bin_boundaries`"):
        layers.Discretization(bin_boundaries=[0.0], num_bins=5)
    with pytest.raises(ValueError, match="Cannot adapt a Discretization layer"):
        layers.Discretization(bin_boundaries=[0.0]).adapt(np.ones(3))
    with pytest.raises(ValueError, match="Received: output_mode='tf_idf'"):
        layers.Discretization(num_bins=2, output_mode="tf_idf")


# ---- CategoryEncoding ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["one_hot", "multi_hot", "count"])
def test_category_encoding_modes(mode):
    x = np.array([[0, 3, 3], [2, 1, 0]])
    counts = np.stack([np.bincount(row, minlength=5) for row in x]).astype("float32")
    if mode == "one_hot":
        expected = np.eye(5, dtype="float32")[x]
    else:
        expected = counts if mode == "count" else (counts > 0).astype("float32")
    run_layer_test(layers.CategoryEncoding, {"num_tokens": 5, "output_mode": mode}, input_data=x,
                   expected_output=expected, run_training_check=False, run_float64_check=False)


def test_category_encoding_shapes_weights_and_errors():
    assert layers.CategoryEncoding(4, "one_hot")(np.array([[1], [2]])).shape == (2, 4)
    assert layers.CategoryEncoding(4)(np.array([1, 3])).tolist() == [0.0, 1.0, 0.0, 1.0]
    weighted = layers.CategoryEncoding(3, "count")(np.array([[0, 2, 2]]), count_weights=np.array([[0.5, 1.0, 2.0]]))
    assert weighted.tolist() == [[0.5, 0.0, 3.0]]
    with pytest.raises(ValueError, match="num_tokens=3. Received: inputs with min=0 and max=3"):
        layers.CategoryEncoding(3)(np.array([[0, 3]]))
    with pytest.raises(ValueError, match="Received: output_mode='tf_idf'"):
        layers.CategoryEncoding(3, output_mode="tf_idf")
    assert list(layers.CategoryEncoding(3, name="c").get_config()) == ["name", "trainable", "dtype", "num_tokens",
                                                                      "output_mode", "sparse"]


# ---- Hashing -------------------------------------------------------------------------------------------------

# Reference values of FarmHash Fingerprint64 from Google's C++ implementation (the pyfarmhash bindings).
FARMHASH = [(b"", 0x9AE16A3B2F90404F), (b"a", 0xB3454265B6DF75E3), (b"abcd", 0x1A5502DE4A1F8101),
            (b"hello world", 0x588FB7478BD6B01B), (b"x" * 17, 0x9CE745A1F3812FA5), (b"y" * 40, 0x3D596369A03CFDE),
            (b"lamina " * 20, 0x385909498612DB55), (bytes(range(200)), 0x74C7FCC26D66FB3)]


@pytest.mark.parametrize("data, expected", FARMHASH)
def test_fingerprint64_matches_farmhash(data, expected):
    assert fingerprint64(data) == expected


def test_siphash_matches_reference_vector():
    # The SipHash-2-4 paper's test vector: key 00..0f, message 00..0e.
    key = (int.from_bytes(bytes(range(8)), "little"), int.from_bytes(bytes(range(8, 16)), "little"))
    assert siphash64(bytes(range(15)), key) == 0xA129CA6149BE45E5


def test_hashing_matches_keras_examples():
    inputs = [["A"], ["B"], ["C"], ["D"], ["E"]]
    assert layers.Hashing(3)(inputs).flatten().tolist() == [1, 0, 1, 1, 2]
    assert layers.Hashing(3, mask_value="")([["A"], ["B"], [""], ["C"], ["D"]]).flatten().tolist() == [1, 1, 0, 2, 2]
    assert layers.Hashing(3, salt=[133, 137])(inputs).flatten().tolist() == [1, 2, 1, 0, 2]
    assert layers.Hashing(3, salt=133)(np.array(inputs)).flatten().tolist() == [0, 0, 2, 1, 0]
    assert layers.Hashing(3)(np.array([b"Hello", b"TensorFlow", b"2.x"], dtype=object)).tolist() == [0, 2, 2]


def test_hashing_integers_hash_their_decimal_strings_and_encodings():
    ints = np.array([[12, -7, 123456789012]])
    expected = [fingerprint64(str(v).encode()) % 5 for v in ints[0]]
    assert layers.Hashing(5)(ints).tolist() == [expected]
    assert layers.Hashing(5)(torch.tensor(ints)).dtype == torch.int64
    counts = layers.Hashing(5, output_mode="count")(ints).numpy()
    np.testing.assert_array_equal(counts, [np.bincount(expected, minlength=5)])
    run_layer_test(layers.Hashing, {"num_bins": 4, "output_mode": "multi_hot"}, input_data=np.array([[1, 2], [3, 4]]),
                   expected_output_shape=(2, 4), run_training_check=False, run_float64_check=False)


def test_hashing_config_and_errors():
    config = layers.Hashing(3, salt=7, name="h").get_config()
    assert config == {"name": "h", "trainable": True, "dtype": "int64", "num_bins": 3, "salt": [7, 7],
                      "mask_value": None, "output_mode": "int", "sparse": False}
    with pytest.raises(ValueError, match="Received: num_bins=0"):
        layers.Hashing(0)
    with pytest.raises(ValueError, match="Received: salt="):
        layers.Hashing(2, salt="x")
    with pytest.raises(ValueError, match="Received: output_mode='tf_idf'"):
        layers.Hashing(2, output_mode="tf_idf")
