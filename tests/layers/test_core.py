"""Core layers: Dense, EinsumDense, Activation, Identity, Embedding, Masking (Lambda and
TorchModuleWrapper are in test_core_wrappers.py)."""

import json

import numpy as np
import pytest
import torch

from lamina import layers
from tests.layers.harness import run_layer_test

RNG = np.random.default_rng(0)


def _x(*shape):
    return RNG.standard_normal(shape).astype("float32")


# ---- Dense --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("input_shape, output_shape", [((2, 3), (2, 4)), ((2, 5, 3), (2, 5, 4)),
                                                       ((2, 2, 5, 3), (2, 2, 5, 4))])
def test_dense_harness(input_shape, output_shape):
    run_layer_test(layers.Dense, {"units": 4, "activation": "tanh"}, input_shape=input_shape,
                   expected_output_shape=output_shape, expected_num_trainable_weights=2,
                   expected_num_non_trainable_weights=0, expected_weight_names=["kernel", "bias"],
                   expected_weight_shapes=[(3, 4), (4,)], supports_masking=False)


def test_dense_harness_without_bias_and_with_penalties():
    layer, _ = run_layer_test(layers.Dense, {"units": 2, "use_bias": False, "kernel_regularizer": "l2",
                                             "activity_regularizer": "l1", "kernel_constraint": "non_neg"},
                              input_shape=(3, 4), expected_output_shape=(3, 2), expected_weight_names=["kernel"])
    assert len(layer.losses) == 2


@pytest.mark.parametrize("shape", [(4, 3), (2, 4, 3)])
def test_dense_against_numpy(shape):
    layer = layers.Dense(5, activation="relu")
    x = _x(*shape)
    out = layer(x).detach().numpy()
    kernel, bias = layer.get_weights()
    np.testing.assert_allclose(out, np.maximum(x @ kernel + bias, 0), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("activation", ["sigmoid", "relu"])  # relu runs in place on the matmul's output
@pytest.mark.parametrize("shape", [(4, 5), (4, 2, 5)])
def test_dense_gradients_match_finite_differences(activation, shape):
    layer = layers.Dense(3, activation=activation, bias_initializer="random_normal", dtype="float64")
    x = torch.randn(*shape, dtype=torch.float64, requires_grad=True)
    layer(x)
    assert torch.autograd.gradcheck(lambda x, k, b: layer(x), (x, layer.kernel.value, layer.bias.value))


def test_dense_relu_leaves_its_input_alone():
    x = torch.randn(4, 3)
    before = x.clone()
    layer = layers.Dense(3, activation="relu", kernel_initializer="identity", use_bias=False)
    layer(x)
    torch.testing.assert_close(x, before)


def test_dense_config_is_keras_and_json():
    layer = layers.Dense(3, activation="relu", name="hidden")
    config = layer.get_config()
    # Keras 3.15.1's keys: activity_regularizer only when set (then right after dtype).
    assert list(config) == ["name", "trainable", "dtype", "units", "activation", "use_bias", "kernel_initializer",
                            "bias_initializer", "kernel_regularizer", "bias_regularizer", "kernel_constraint",
                            "bias_constraint", "quantization_config"]
    assert list(layers.Dense(3, activity_regularizer="l2").get_config())[:4] == [
        "name", "trainable", "dtype", "activity_regularizer"]
    assert config["activation"] == "relu" and config["units"] == 3
    assert config["kernel_initializer"]["class_name"] == "GlorotUniform"
    assert config["kernel_initializer"]["module"] == "keras.initializers"
    assert config["bias_initializer"]["class_name"] == "Zeros"
    assert json.loads(json.dumps(config)) == config
    assert layers.Dense(2).get_config()["activation"] == "linear"


def test_dense_reads_keras_3_15_configs():
    # keys written by Keras 3.15 (no activity_regularizer, quantization_config present)
    config = {"name": "d", "trainable": True, "dtype": {"module": "keras", "class_name": "DTypePolicy",
                                                        "config": {"name": "float32"}, "registered_name": None},
              "units": 8, "activation": "relu", "use_bias": True,
              "kernel_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform",
                                     "config": {"seed": None}, "registered_name": None},
              "bias_initializer": {"module": "keras.initializers", "class_name": "Zeros", "config": {},
                                   "registered_name": None},
              "kernel_regularizer": None, "bias_regularizer": None, "kernel_constraint": None,
              "bias_constraint": None, "quantization_config": None}
    layer = layers.Dense.from_config(config)
    assert layer.units == 8 and layer(np.ones((1, 2), "float32")).shape == (1, 8)


def test_dense_repr_and_lazy_build():
    layer = layers.Dense(3, name="hidden")
    assert repr(layer) == "<Dense name=hidden, units=3, built=False>"
    assert layer.weights == []
    layer.build((None, 4))
    assert repr(layer) == "<Dense name=hidden, units=3, built=True>"
    assert [w.path for w in layer.weights] == ["hidden/kernel", "hidden/bias"]
    assert layer.compute_output_shape((None, 7, 4)) == (None, 7, 3)


def test_dense_mixed_precision_computes_in_float16():
    layer = layers.Dense(3, dtype="mixed_bfloat16")
    out = layer(np.ones((2, 4), "float32"))
    assert out.dtype == torch.bfloat16 and layer.kernel.dtype == "float32"


def test_dense_input_errors_are_keras_messages():
    layer = layers.Dense(2, name="dense")
    layer(np.ones((1, 3), "float32"))
    with pytest.raises(ValueError, match=r'Input 0 of layer "dense" is incompatible with the layer: expected axis -1 '
                                         r"of input shape to have value 3, but received input with shape \(1, 2\)"):
        layer(np.ones((1, 2), "float32"))
    with pytest.raises(ValueError, match=r'Input 0 of layer "dense_1" is incompatible with the layer: expected '
                                         r"min_ndim=2, found ndim=1"):
        layers.Dense(2, name="dense_1")(np.ones((3,), "float32"))


def test_set_weights_errors():
    layer = layers.Dense(2, name="d")
    layer.build((None, 3))
    with pytest.raises(ValueError, match=r"weight list of length 1, but the layer was expecting 2 weights"):
        layer.set_weights([np.zeros((3, 2))])
    with pytest.raises(ValueError, match=r"\(3, 2\) is not compatible with provided weight shape \(2, 3\)"):
        layer.set_weights([np.zeros((2, 3)), np.zeros(2)])


@pytest.mark.parametrize("units", [0, -1, 2.5, "3", None, True])
def test_dense_units_validated(units):
    with pytest.raises(ValueError, match=rf"expected a positive integer. Received: units={units!r}"):
        layers.Dense(units)


def test_dense_unknown_activation_and_kwargs():
    with pytest.raises(ValueError, match="Could not interpret activation function identifier: 'relux'"):
        layers.Dense(2, activation="relux")
    with pytest.raises(TypeError, match=r"Unrecognized keyword arguments passed to Dense: \{'kernel_size': 3\}"):
        layers.Dense(2, kernel_size=3)
    with pytest.raises(ValueError, match="does not support `lora_rank`"):
        layers.Dense(2, lora_rank=4)


@pytest.mark.parametrize("argument, value, what", [
    ("activation", "relux", "activation function"), ("kernel_initializer", "glorot_unifrom", "initializer"),
    ("bias_regularizer", "l3", "regularizer"), ("kernel_constraint", "nonnegative", "constraint"),
])
def test_unknown_identifiers_name_the_layer_and_the_value(argument, value, what):
    with pytest.raises(ValueError, match=rf"^Dense 'head': Could not interpret {what} identifier: '{value}'"):
        layers.Dense(2, name="head", **{argument: value})
    with pytest.raises(ValueError, match=rf"^Conv2D 'conv2d(_\d+)?': Could not interpret {what} identifier: '{value}'"):
        layers.Conv2D(2, 3, **{argument: value})
    # A cell built inside its layer's constructor: both are named, innermost last.
    with pytest.raises(ValueError, match=r"^LSTM: LSTMCell '\w+': Could not interpret activation function identifier"):
        layers.LSTM(2, recurrent_activation="hard_sigmoidd")


# ---- EinsumDense ------------------------------------------------------------------------------------------

EINSUM_CASES = [
    ("ab,bc->ac", (4,), None, (2, 3), (2, 4), [(3, 4)]),
    ("ab,bc->ac", 4, "c", (2, 3), (2, 4), [(3, 4), (4,)]),
    ("abc,cde->abde", (None, 2, 4), "de", (2, 5, 3), (2, 5, 2, 4), [(3, 2, 4), (2, 4)]),
    ("abc,cd->abd", (None, 4), "d", (2, 5, 3), (2, 5, 4), [(3, 4), (4,)]),
    ("...b,bc->...c", (4,), "c", (2, 5, 3), (2, 5, 4), [(3, 4), (4,)]),
    ("ab...,bc->ac...", (4,), "c", (2, 3, 5), (2, 4, 5), [(3, 4), (4, 1)]),
]


@pytest.mark.parametrize("equation, output_shape, bias_axes, input_shape, expected, weight_shapes", EINSUM_CASES,
                         ids=[c[0] for c in EINSUM_CASES])
def test_einsum_dense_harness(equation, output_shape, bias_axes, input_shape, expected, weight_shapes):
    layer, out = run_layer_test(layers.EinsumDense, {"equation": equation, "output_shape": output_shape,
                                                     "bias_axes": bias_axes, "activation": "relu"},
                                input_shape=input_shape, expected_output_shape=expected,
                                expected_weight_shapes=weight_shapes,
                                expected_weight_names=["kernel", "bias"][:len(weight_shapes)])


def test_einsum_dense_against_numpy_and_dense():
    layer = layers.EinsumDense("abc,cde->abde", output_shape=(None, 2, 4), bias_axes="de")
    x = _x(2, 5, 3)
    out = layer(x).detach().numpy()
    kernel, bias = layer.get_weights()
    np.testing.assert_allclose(out, np.einsum("abc,cde->abde", x, kernel) + bias, rtol=1e-5, atol=1e-6)
    dense, einsum = layers.Dense(4), layers.EinsumDense("ab,bc->ac", 4, bias_axes="c")
    y = _x(3, 6)
    dense(y), einsum(y)
    einsum.set_weights(dense.get_weights())
    np.testing.assert_allclose(einsum(y).detach().numpy(), dense(y).detach().numpy(), rtol=1e-6, atol=1e-6)


def test_einsum_dense_config_and_errors():
    config = layers.EinsumDense("ab,bc->ac", 4, name="e").get_config()
    assert list(config)[3:] == ["output_shape", "equation", "activation", "bias_axes", "kernel_initializer",
                                "bias_initializer", "kernel_regularizer", "bias_regularizer", "activity_regularizer",
                                "kernel_constraint", "bias_constraint", "quantization_config"]
    assert config["output_shape"] == (4,)
    with pytest.raises(ValueError, match="Invalid einsum equation 'ab->b'"):
        layers.EinsumDense("ab->b", 4)(np.ones((2, 3), "float32"))
    with pytest.raises(ValueError, match="Bias dimension 'x' was requested"):
        layers.EinsumDense("ab,bc->ac", 4, bias_axes="x")(np.ones((2, 3), "float32"))
    with pytest.raises(ValueError, match="Weight dimension 'c' did not have a known size"):
        layers.EinsumDense("ab,bc->ac", (None,))(np.ones((2, 3), "float32"))
    with pytest.raises(ValueError, match="expects inputs of rank 2. Received: input_shape=\\(2, 3, 4\\)"):
        layers.EinsumDense("ab,bc->ac", 4)(np.ones((2, 3, 4), "float32"))


# ---- Activation, Identity -------------------------------------------------------------------------------------

def test_activation_and_identity():
    run_layer_test(layers.Activation, {"activation": "relu"}, input_shape=(2, 3, 4), expected_output_shape=(2, 3, 4),
                   supports_masking=True)
    run_layer_test(layers.Identity, {}, input_shape=(2, 3), expected_output_shape=(2, 3), supports_masking=True)
    x = _x(3, 4)
    np.testing.assert_allclose(layers.Activation("tanh")(x).detach().numpy(), np.tanh(x), rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(layers.Identity()(x).detach().numpy(), x)
    assert layers.Activation("swish").get_config()["activation"] == "silu"
    assert layers.Activation(torch.relu).activation is torch.relu
    with pytest.raises(ValueError, match="Could not interpret activation function identifier: 'nope'"):
        layers.Activation("nope")


# ---- Embedding ----------------------------------------------------------------------------------------------

def test_embedding_harness():
    run_layer_test(layers.Embedding, {"input_dim": 10, "output_dim": 4}, input_shape=(2, 5), input_dtype="int64",
                   expected_output_shape=(2, 5, 4), expected_weight_names=["embeddings"],
                   expected_weight_shapes=[(10, 4)], expected_num_non_trainable_weights=0, supports_masking=False)
    tokens = np.array([[1, 0, 3, 0], [0, 2, 2, 9]], dtype="int32")
    run_layer_test(layers.Embedding, {"input_dim": 10, "output_dim": 3, "mask_zero": True}, input_data=tokens,
                   expected_output_shape=(2, 4, 3), supports_masking=True, expected_mask=tokens != 0)


def test_embedding_lookup_against_numpy():
    layer = layers.Embedding(7, 3)
    tokens = np.array([[1, 6, 0], [2, 2, 5]])
    out = layer(tokens).detach().numpy()
    np.testing.assert_array_equal(out, layer.get_weights()[0][tokens])
    assert layer(tokens.astype("int32")).dtype == torch.float32
    weights = layer.get_weights()[0]
    assert np.abs(weights).max() <= 0.05  # Keras's "uniform" initializer: U(-0.05, 0.05)


def test_embedding_gradient_is_scatter_add():
    layer = layers.Embedding(5, 2, dtype="float64")
    tokens = torch.tensor([[1, 1, 3]])
    out = layer(tokens)
    (grad,) = torch.autograd.grad(out.sum(), [layer.embeddings.value])
    expected = np.zeros((5, 2))
    np.add.at(expected, tokens.numpy().ravel(), 1.0)
    np.testing.assert_array_equal(grad.detach().numpy(), expected)
    assert torch.autograd.gradcheck(lambda e: torch.nn.functional.embedding(tokens, e), (layer.embeddings.value,))


def test_embedding_mask_zero():
    layer = layers.Embedding(10, 3, mask_zero=True)
    out = layer(np.array([[4, 0, 2]]))
    assert out._keras_mask.tolist() == [[True, False, True]]
    assert layers.Embedding(10, 3).compute_mask(torch.tensor([[0]])) is None


def test_embedding_keras2_arguments_and_config():
    matrix = np.arange(12, dtype="float32").reshape(4, 3)
    layer = layers.Embedding(4, 3, weights=[matrix], input_length=5, trainable=False, name="emb")
    assert layer.built
    np.testing.assert_array_equal(layer(np.array([[3]])).detach().numpy()[0, 0], matrix[3])
    config = layer.get_config()
    assert config["batch_input_shape"] == [None, 5]
    assert list(layers.Embedding(4, 3).get_config())[3:] == [
        "input_dim", "output_dim", "embeddings_initializer", "embeddings_regularizer", "activity_regularizer",
        "embeddings_constraint", "mask_zero", "quantization_config"]
    assert layers.Embedding(4, 3).get_config()["embeddings_initializer"]["class_name"] == "RandomUniform"
    keras2 = {"name": "emb", "trainable": True, "dtype": "float32", "batch_input_shape": [None, None],
              "input_dim": 20, "output_dim": 4, "embeddings_initializer": {
                  "module": "keras.initializers", "class_name": "RandomUniform",
                  "config": {"minval": -0.05, "maxval": 0.05, "seed": None}, "registered_name": None},
              "embeddings_regularizer": None, "activity_regularizer": None, "embeddings_constraint": None,
              "mask_zero": False, "input_length": None}
    assert layers.Embedding.from_config(keras2).output_dim == 4


def test_embedding_float_inputs():
    layer = layers.Embedding(5, 2, name="emb")
    # whole numbers in a float tensor are cast, as Keras does (Input(shape) defaults to float32)
    as_floats = layer(np.array([[1.0, 4.0]], "float32")).detach().numpy()
    np.testing.assert_array_equal(as_floats, layer(np.array([[1, 4]])).detach().numpy())
    with pytest.raises(ValueError, match=r'Layer "emb" \(Embedding\) expects integer indices.*'
                                         r"Received: inputs.dtype=float32"):
        layer(np.array([[1.5, 2.0]], "float32"))
    with pytest.raises(TypeError, match="Received: inputs.dtype=bool"):
        layer(torch.tensor([[True]]))
    with pytest.raises(ValueError, match=r"index outside \[0, input_dim=5\). Received: indices in \[0, 7\]"):
        layer(np.array([[0, 7]]))


def test_embedding_argument_errors():
    with pytest.raises(ValueError, match="Received: input_dim=0"):
        layers.Embedding(0, 3)
    with pytest.raises(ValueError, match="Received: output_dim=-2"):
        layers.Embedding(3, -2)


# ---- Masking ---------------------------------------------------------------------------------------------------

def test_masking_harness_and_values():
    x = _x(2, 4, 3)
    x[0, 1] = 0.0
    x[1, 3] = 0.0
    mask = np.any(x != 0, axis=-1)
    # Masking is discontinuous at its masked steps (a nudge unmasks them): no finite differences.
    run_layer_test(layers.Masking, {}, input_data=x, expected_output_shape=(2, 4, 3), expected_output=x,
                   supports_masking=True, expected_mask=mask, run_gradient_check=False)
    y = x.copy()
    y[1, 0] = -1.0
    y[1, 0, 0] = -1.0
    out = layers.Masking(mask_value=-1.0)(y)
    expected_mask = np.any(y != -1.0, axis=-1)
    np.testing.assert_array_equal(out._keras_mask.numpy(), expected_mask)
    np.testing.assert_array_equal(out.detach().numpy(), y * expected_mask[..., None])
    assert layers.Masking(mask_value=2.0).get_config()["mask_value"] == 2.0
