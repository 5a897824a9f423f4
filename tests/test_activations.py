"""Activations against NumPy formulas, finite-difference gradients, and get/serialize round trips."""

import math

import numpy as np
import pytest
import torch

import lamina
from lamina import activations
from lamina.saving import registry

_erf = np.vectorize(math.erf)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _softplus(x):
    return np.log1p(np.exp(-np.abs(x))) + np.maximum(x, 0)


def _softmax(x, axis=-1):
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def _sparsemax(x):
    # Reference: the simplex projection computed row by row with a plain sort.
    out = np.zeros_like(x)
    for index in np.ndindex(x.shape[:-1]):
        z = np.sort(x[index])[::-1]
        cumulative = np.cumsum(z)
        k = np.arange(1, len(z) + 1)
        k_max = k[1 + k * z > cumulative][-1]
        tau = (cumulative[k_max - 1] - 1) / k_max
        out[index] = np.maximum(x[index] - tau, 0)
    return out


SELU_ALPHA, SELU_SCALE = 1.6732632423543772848, 1.0507009873554804934  # Klambauer et al. (2017)

# name -> (numpy reference, kwargs)
REFERENCES = {
    "relu": (lambda x: np.maximum(x, 0), {}),
    "relu6": (lambda x: np.clip(x, 0, 6), {}),
    "leaky_relu": (lambda x: np.where(x >= 0, x, 0.2 * x), {}),
    "elu": (lambda x: np.where(x > 0, x, np.exp(x) - 1), {}),
    "selu": (lambda x: SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * (np.exp(x) - 1)), {}),
    "celu": (lambda x: np.maximum(x, 0) + np.minimum(0, 0.5 * (np.exp(x / 0.5) - 1)), {"alpha": 0.5}),
    "gelu": (lambda x: 0.5 * x * (1 + _erf(x / np.sqrt(2))), {}),
    "sigmoid": (_sigmoid, {}),
    "hard_sigmoid": (lambda x: np.clip(x + 3, 0, 6) / 6, {}),
    "sparse_sigmoid": (lambda x: np.where(x <= -1, 0, np.where(x >= 1, 1, 0.5 * (x + 1))), {}),
    "silu": (lambda x: x * _sigmoid(x), {}),
    "swish": (lambda x: x * _sigmoid(x), {}),
    "hard_silu": (lambda x: x * np.clip(x + 3, 0, 6) / 6, {}),
    "hard_swish": (lambda x: x * np.clip(x + 3, 0, 6) / 6, {}),
    "softmax": (_softmax, {}),
    "log_softmax": (lambda x: np.log(_softmax(x)), {}),
    "sparsemax": (_sparsemax, {}),
    "softplus": (_softplus, {}),
    "softsign": (lambda x: x / (np.abs(x) + 1), {}),
    "sparse_plus": (lambda x: np.where(x <= -1, 0, np.where(x >= 1, x, (x + 1) ** 2 / 4)), {}),
    "squareplus": (lambda x: (x + np.sqrt(x**2 + 4)) / 2, {}),
    "tanh": (np.tanh, {}),
    "tanh_shrink": (lambda x: x - np.tanh(x), {}),
    "hard_tanh": (lambda x: np.clip(x, -1, 1), {}),
    "soft_shrink": (lambda x: np.where(x > 0.5, x - 0.5, np.where(x < -0.5, x + 0.5, 0)), {}),
    "hard_shrink": (lambda x: np.where(np.abs(x) > 0.5, x, 0), {}),
    "threshold": (lambda x: np.where(x > 0.3, x, -2.0), {"threshold": 0.3, "default_value": -2.0}),
    "log_sigmoid": (lambda x: -_softplus(-x), {}),
    "mish": (lambda x: x * np.tanh(_softplus(x)), {}),
    "glu": (lambda x: x[..., :2] * _sigmoid(x[..., 2:]), {}),
    "exponential": (np.exp, {}),
    "linear": (lambda x: x, {}),
}
# lamina's own functions, beside the Keras names: tf.keras 2's hard sigmoid, for its legacy files.
LAMINA_ONLY = {"lamina>hard_sigmoid_keras2": (lambda x: np.clip(0.2 * x + 0.5, 0, 1), {})}
NUMERIC = {**REFERENCES, **LAMINA_ONLY}


def _input(dtype):
    rng = np.random.default_rng(0)
    # Avoid the kinks at 0, +-0.5, +-1, +-2.5, +-3 so finite differences stay smooth.
    x = rng.uniform(-4, 4, size=(3, 4)).astype(dtype)
    for kink in (0.0, 0.3, 0.5, 1.0, 2.5, 3.0):
        for sign in (1, -1):
            close = np.abs(x - sign * kink) < 0.05
            x[close] += 0.1
    return x


def test_every_keras_name_is_covered():
    assert set(REFERENCES) == set(activations.ALL_OBJECTS_DICT)


@pytest.mark.parametrize("dtype,tol", [("float32", 1e-5), ("float64", 1e-12)])
@pytest.mark.parametrize("name", sorted(NUMERIC))
def test_matches_numpy_reference(name, dtype, tol):
    reference, kwargs = NUMERIC[name]
    x = _input(dtype)
    out = activations.get(name)(torch.from_numpy(x), **kwargs)
    assert out.dtype == getattr(torch, dtype)
    np.testing.assert_allclose(out.numpy(), reference(x.astype("float64")), rtol=tol * 10, atol=tol)


@pytest.mark.parametrize("name", sorted(set(NUMERIC) - {"swish", "hard_swish"}))
def test_gradients_match_finite_differences(name):
    _, kwargs = NUMERIC[name]
    x = torch.from_numpy(_input("float64")).requires_grad_(True)
    fn = activations.get(name)
    assert torch.autograd.gradcheck(lambda t: fn(t, **kwargs), (x,))


def test_relu_options_match_keras_examples():
    x = [-10.0, -5.0, 0.0, 5.0, 10.0]
    np.testing.assert_allclose(activations.relu(x, threshold=5.0).numpy(), [0, 0, 0, 0, 10])
    np.testing.assert_allclose(activations.relu(x, max_value=6.0).numpy(), [0, 0, 0, 5, 6])
    # negative_slope applies below the threshold: slope * (x - threshold)
    out = activations.relu(x, negative_slope=0.5, max_value=7.0, threshold=2.0)
    np.testing.assert_allclose(out.numpy(), [-6.0, -3.5, -1.0, 5.0, 7.0])


def test_softmax_axes_and_one_dimensional_input():
    x = np.random.default_rng(1).normal(size=(2, 3, 4)).astype("float32")
    np.testing.assert_allclose(activations.softmax(x, axis=1).numpy(), _softmax(x, axis=1), rtol=1e-5)
    expected = np.exp(x) / np.exp(x).sum(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(activations.softmax(x, axis=(1, 2)).numpy(), expected, rtol=1e-5)
    np.testing.assert_allclose(activations.softmax(x, axis=None).numpy(), np.exp(x) / np.exp(x).sum(), rtol=1e-5)
    np.testing.assert_allclose(activations.log_softmax(x, axis=(0, 2)).numpy(),
                               np.log(np.exp(x) / np.exp(x).sum(axis=(0, 2), keepdims=True)), rtol=1e-5, atol=1e-6)
    # Keras 3 normalizes a 1-D input over its only axis (Keras 2 raised).
    np.testing.assert_allclose(activations.softmax([1.0, 2.0, 3.0]).numpy(), _softmax(np.array([1.0, 2.0, 3.0])),
                               rtol=1e-6)


def test_softmax_warns_on_size_one_axis_and_keeps_logits():
    logits = torch.zeros(2, 1)
    with pytest.warns(UserWarning, match="axis -1 of a tensor of shape \\(2, 1\\)"):
        out = activations.softmax(logits)
    assert out._keras_logits is logits
    assert activations.sigmoid(logits)._keras_logits is logits


def test_softmax_rejects_bad_axis():
    with pytest.raises(ValueError, match="Received: axis=3"):
        activations.softmax(torch.zeros(2, 2), axis=3)


def test_glu_rejects_odd_axis():
    with pytest.raises(ValueError, match=r"even size.*Received: x.shape=\(2, 3\), axis=-1"):
        activations.glu(torch.zeros(2, 3))


def test_input_types_and_integer_inputs():
    expected = np.array([0.0, 2.0], dtype="float32")
    for value in ([-1.0, 2.0], np.array([-1.0, 2.0], "float32"), torch.tensor([-1.0, 2.0]),
                  lamina.Variable([-1.0, 2.0])):
        out = activations.relu(value)
        assert isinstance(out, torch.Tensor)
        np.testing.assert_array_equal(out.detach().numpy(), expected)
    assert activations.relu(torch.tensor([-1, 2])).dtype == torch.int64
    assert activations.sigmoid(torch.tensor([0, 1])).dtype == torch.float32
    assert activations.gelu(lamina.Variable([1.0]), approximate=True).shape == (1,)


def test_gelu_approximate_formula():
    x = _input("float64")
    expected = 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))
    out = activations.gelu(torch.from_numpy(x), approximate=True)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-10, atol=1e-15)


def test_get_accepts_none_names_callables_and_dicts():
    assert activations.get(None) is activations.linear
    assert activations.get("relu") is activations.relu
    assert activations.get("swish") is activations.silu
    assert activations.get("hard_swish") is activations.hard_silu
    assert activations.get(torch.tanh) is torch.tanh
    assert activations.get({"class_name": "function", "config": "elu", "module": "keras.activations",
                            "registered_name": "function"}) is activations.elu


@pytest.mark.parametrize("name", sorted(activations.ALL_OBJECTS_DICT))
def test_serialize_round_trip(name):
    fn = activations.get(name)
    serialized = activations.serialize(fn)
    assert serialized == fn.__name__
    assert activations.deserialize(serialized) is fn
    assert activations.get(serialized) is fn


def test_lamina_only_activation_serializes_by_its_registered_name():
    fn = activations.hard_sigmoid_keras2
    assert activations.serialize(fn)["config"] == "lamina>hard_sigmoid_keras2"
    assert activations.deserialize(activations.serialize(fn)) is fn
    assert activations.get("hard_sigmoid") is activations.hard_sigmoid  # the name keeps its Keras 3 meaning


def test_serialize_aliases_like_keras():
    assert activations.serialize(activations.swish) == "silu"
    assert activations.serialize(activations.hard_swish) == "hard_silu"
    assert lamina.saving.serialize_keras_object(activations.relu) == "relu"


def test_custom_activation_round_trip():
    def scaled_tanh(x):
        return 2 * torch.tanh(x)

    config = activations.serialize(scaled_tanh)
    assert config["class_name"] == "function" and config["config"] == "scaled_tanh"
    assert activations.deserialize(config, custom_objects={"scaled_tanh": scaled_tanh}) is scaled_tanh
    registered = registry.register_keras_serializable(package="test_act")(scaled_tanh)
    assert activations.serialize(registered)["config"] == "test_act>scaled_tanh"
    assert activations.get(activations.serialize(registered)) is scaled_tanh


def test_unknown_identifiers_raise():
    with pytest.raises(ValueError, match="Could not interpret activation function identifier: 'nope'"):
        activations.get("nope")
    with pytest.raises(ValueError, match="Could not interpret activation function identifier: 3"):
        activations.get(3)
    with pytest.raises(ValueError, match="Unknown activation function: 'nope'"):
        activations.deserialize("nope")
    with pytest.raises(ValueError, match="cannot be serialized"):
        activations.serialize(3)
