"""Activation layers: harness, NumPy references, gradients, masks and argument errors."""

import numpy as np
import pytest
import torch

from lamina import layers
from tests.layers.harness import run_layer_test

X = np.random.default_rng(0).standard_normal((3, 4, 5)).astype("float32") * 3


def _np(tensor):
    return tensor.detach().numpy()


HARNESS_CASES = [
    (layers.ReLU, {}),
    (layers.ReLU, {"max_value": 2.0, "negative_slope": 0.1, "threshold": 0.5}),
    (layers.LeakyReLU, {"negative_slope": 0.1}),
    (layers.ELU, {"alpha": 0.5}),
    (layers.Softmax, {"axis": -1}),
    (layers.Softmax, {"axis": (1, 2)}),
]


@pytest.mark.parametrize("cls, kwargs", HARNESS_CASES,
                         ids=[f"{c[0].__name__}-{i}" for i, c in enumerate(HARNESS_CASES)])
def test_harness(cls, kwargs):
    run_layer_test(cls, kwargs, input_data=X, expected_output_shape=X.shape, expected_num_trainable_weights=0,
                   expected_num_non_trainable_weights=0, supports_masking=True,
                   input_mask=np.ones(X.shape, bool) if cls is layers.Softmax else None)


def test_prelu_harness():
    run_layer_test(layers.PReLU, {"alpha_initializer": "ones"}, input_data=X, expected_output_shape=X.shape,
                   expected_weight_names=["alpha"], expected_weight_shapes=[(4, 5)], supports_masking=True)
    run_layer_test(layers.PReLU, {"shared_axes": [1], "alpha_initializer": "ones"}, input_data=X,
                   expected_output_shape=X.shape, expected_weight_shapes=[(1, 5)])


def _relu_reference(x, max_value=None, negative_slope=0.0, threshold=0.0):
    out = np.where(x >= threshold, x, negative_slope * (x - threshold))
    return np.minimum(out, max_value) if max_value is not None else out


@pytest.mark.parametrize("kwargs", [{}, {"max_value": 1.5}, {"negative_slope": 0.2}, {"threshold": 1.0},
                                    {"max_value": 2.0, "negative_slope": 0.1, "threshold": 0.5}])
def test_relu_against_numpy(kwargs):
    np.testing.assert_allclose(_np(layers.ReLU(**kwargs)(X)), _relu_reference(X, **kwargs), rtol=1e-6, atol=1e-6)


def test_leaky_relu_elu_prelu_against_numpy():
    np.testing.assert_allclose(_np(layers.LeakyReLU()(X)), np.where(X >= 0, X, 0.3 * X), rtol=1e-6)
    np.testing.assert_allclose(_np(layers.LeakyReLU(alpha=0.2)(X)), np.where(X >= 0, X, 0.2 * X), rtol=1e-6)
    np.testing.assert_allclose(_np(layers.ELU(0.7)(X)), np.where(X > 0, X, 0.7 * (np.exp(X) - 1)), rtol=1e-5,
                               atol=1e-6)
    layer = layers.PReLU(shared_axes=[1])
    layer(X)
    alpha = np.random.default_rng(1).standard_normal((1, 5)).astype("float32")
    layer.set_weights([alpha])
    np.testing.assert_allclose(_np(layer(X)), np.where(X >= 0, X, alpha * X), rtol=1e-6)


def _softmax_reference(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def test_softmax_against_numpy():
    np.testing.assert_allclose(_np(layers.Softmax()(X)), _softmax_reference(X, -1), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(_np(layers.Softmax(axis=1)(X)), _softmax_reference(X, 1), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(_np(layers.Softmax(axis=[1, 2])(X)), _softmax_reference(X, (1, 2)), rtol=1e-5,
                               atol=1e-7)


def test_softmax_mask():
    mask = np.random.default_rng(2).random(X.shape) > 0.4
    mask[0, 0] = False  # a fully masked row gives zeros
    out = _np(layers.Softmax()(X, mask=torch.as_tensor(mask)))
    logits = np.where(mask, X, -1e9)
    np.testing.assert_allclose(out, _softmax_reference(logits, -1) * mask, rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(out[0, 0], 0.0)
    # a float 0/1 mask is read as mask > 0.5
    out_float = _np(layers.Softmax()(X, mask=torch.as_tensor(mask, dtype=torch.float32)))
    np.testing.assert_allclose(out_float, out, rtol=1e-6)


@pytest.mark.parametrize("layer", [layers.ReLU(max_value=2.0, negative_slope=0.1, threshold=0.5),
                                   layers.LeakyReLU(), layers.ELU(0.5), layers.Softmax(axis=(1, 2))],
                         ids=lambda layer: type(layer).__name__)
def test_gradients_match_finite_differences(layer):
    # keep away from the kinks at threshold / max_value / 0, where finite differences are not defined
    x = torch.linspace(-3, 3, 24, dtype=torch.float64).reshape(2, 3, 4) + 0.013
    layer64 = type(layer).from_config({**layer.get_config(), "dtype": "float64"})
    assert torch.autograd.gradcheck(layer64, (x.requires_grad_(True),))


def test_prelu_gradient_reaches_alpha():
    layer = layers.PReLU(alpha_initializer="zeros", dtype="float64")
    x = torch.linspace(-2, 2, 12, dtype=torch.float64).reshape(3, 4) + 0.05
    layer(x)
    assert torch.autograd.gradcheck(lambda x, a: layer(x), (x.requires_grad_(True), layer.alpha.value))


def test_configs_match_keras():
    assert layers.ReLU(name="r").get_config() == {"name": "r", "trainable": True, "dtype": "float32",
                                                  "max_value": None, "negative_slope": 0.0, "threshold": 0.0}
    assert layers.LeakyReLU().get_config()["negative_slope"] == 0.3
    assert layers.LeakyReLU.from_config({"name": "l", "trainable": True, "dtype": "float32", "alpha": 0.1}
                                        ).negative_slope == 0.1  # Keras 2 configs
    config = layers.PReLU(shared_axes=2).get_config()
    assert list(config)[3:] == ["alpha_initializer", "alpha_regularizer", "alpha_constraint", "shared_axes"]
    assert config["shared_axes"] == [2] and config["alpha_initializer"]["class_name"] == "Zeros"
    assert layers.ELU().get_config()["alpha"] == 1.0
    assert layers.Softmax().get_config()["axis"] == -1


def test_argument_errors():
    with pytest.raises(ValueError, match="`max_value` of a ReLU layer cannot be a negative value.*"
                                         "Received: max_value=-1"):
        layers.ReLU(max_value=-1)
    with pytest.raises(ValueError, match="Received: negative_slope=-0.1"):
        layers.ReLU(negative_slope=-0.1)
    with pytest.raises(ValueError, match="Received: threshold=-2"):
        layers.ReLU(threshold=-2)
    with pytest.raises(ValueError, match="Leaky ReLU layer cannot be None or a negative value.*negative_slope=None"):
        layers.LeakyReLU(negative_slope=None)
    with pytest.raises(ValueError, match=r'Layer "p" \(PReLU\): shared axis 3 is outside'):
        layers.PReLU(shared_axes=3, name="p")(torch.zeros(2, 3))
    layer = layers.PReLU(name="prelu")
    layer(torch.zeros(2, 3))
    with pytest.raises(ValueError, match=r'Input 0 of layer "prelu" is incompatible.*expected axis 1 of input shape '
                                         r"to have value 3"):
        layer(torch.zeros(2, 4))
