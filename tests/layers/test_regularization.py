"""Regularization layers: harness, statistics of the noise, seeds, masks and errors."""

import math

import numpy as np
import pytest
import torch

from lamina import layers
from lamina.backend import random
from tests.layers.harness import run_layer_test

RANDOM_LAYERS = [
    (layers.Dropout, {"rate": 0.5}, (2, 3, 4)),
    (layers.Dropout, {"rate": 0.2, "noise_shape": (None, 1, None), "seed": 3}, (2, 3, 4)),
    (layers.SpatialDropout1D, {"rate": 0.5}, (2, 3, 4)),
    (layers.SpatialDropout2D, {"rate": 0.5, "data_format": "channels_first"}, (2, 3, 4, 5)),
    (layers.SpatialDropout3D, {"rate": 0.5}, (1, 2, 3, 4, 5)),
    (layers.GaussianNoise, {"stddev": 0.3, "seed": 1}, (2, 5)),
    (layers.GaussianDropout, {"rate": 0.3}, (2, 5)),
    (layers.AlphaDropout, {"rate": 0.3}, (2, 5)),
]


@pytest.mark.parametrize("cls, kwargs, shape", RANDOM_LAYERS, ids=[c[0].__name__ for c in RANDOM_LAYERS])
def test_harness_inference_is_identity(cls, kwargs, shape):
    x = np.random.default_rng(0).standard_normal(shape).astype("float32")
    run_layer_test(cls, kwargs, input_data=x, expected_output_shape=shape, expected_output=x,
                   expected_num_trainable_weights=0, expected_num_non_trainable_weights=0, supports_masking=True)


@pytest.mark.parametrize("cls, kwargs, shape", RANDOM_LAYERS, ids=[c[0].__name__ for c in RANDOM_LAYERS])
def test_harness_training(cls, kwargs, shape):
    run_layer_test(cls, kwargs, input_shape=shape, call_kwargs={"training": True}, expected_output_shape=shape,
                   deterministic=False, supports_masking=True)


def test_activity_regularization_harness_and_loss():
    run_layer_test(layers.ActivityRegularization, {"l1": 0.1, "l2": 0.2}, input_shape=(2, 3),
                   expected_output_shape=(2, 3), expected_num_trainable_weights=0, supports_masking=True)
    layer = layers.ActivityRegularization(l1=0.1, l2=0.2, name="act_reg")
    x = np.array([[1.0, -2.0, 3.0]], dtype="float32")
    out = layer(x)
    np.testing.assert_array_equal(out.numpy(), x)
    expected = 0.1 * np.abs(x).sum() + 0.2 * (x**2).sum()
    assert len(layer.losses) == 1
    np.testing.assert_allclose(float(layer.losses[0]), expected, rtol=1e-6)
    assert layer.get_config() == {"name": "act_reg", "trainable": True, "dtype": "float32", "l1": 0.1, "l2": 0.2}


# ---- statistics ----------------------------------------------------------------------------------------

def test_dropout_statistics_and_scaling():
    rate = 0.3
    out = layers.Dropout(rate, seed=0)(torch.ones(400, 500), training=True).numpy()
    dropped = np.mean(out == 0)
    assert abs(dropped - rate) < 0.01  # 200k Bernoulli draws: std of the fraction is ~0.001
    np.testing.assert_allclose(out[out != 0], 1 / (1 - rate), rtol=1e-6)
    assert abs(out.mean() - 1.0) < 0.01
    # without a seed (torch's generator and kernel)
    out = layers.Dropout(rate)(torch.ones(400, 500), training=True).numpy()
    assert abs(np.mean(out == 0) - rate) < 0.01
    np.testing.assert_allclose(out[out != 0], 1 / (1 - rate), rtol=1e-6)


def test_dropout_rate_zero_and_inference_are_identity():
    x = torch.randn(3, 4)
    assert torch.equal(layers.Dropout(0.0)(x, training=True), x)
    assert torch.equal(layers.Dropout(0.9)(x), x)
    assert torch.equal(layers.Dropout(0.9)(x, training=False), x)


def test_dropout_noise_shape_broadcasts_with_none_entries():
    out = layers.Dropout(0.5, noise_shape=(None, 1, None), seed=2)(torch.ones(8, 6, 5), training=True).numpy()
    assert (out == out[:, :1, :]).all()  # one decision per (sample, feature), shared over axis 1
    assert 0 < np.mean(out == 0) < 1


def test_dropout_seeds_give_repeatable_streams():
    x = torch.ones(50, 50)
    a, b = layers.Dropout(0.5, seed=7), layers.Dropout(0.5, seed=7)
    first_a, first_b = a(x, training=True), b(x, training=True)
    assert torch.equal(first_a, first_b)
    assert not torch.equal(first_a, a(x, training=True))  # the stream advances
    random.set_random_seed(11)
    c = layers.Dropout(0.5)(x, training=True)
    random.set_random_seed(11)
    assert torch.equal(c, layers.Dropout(0.5)(x, training=True))


def test_spatial_dropout_drops_whole_channels():
    out = layers.SpatialDropout2D(0.5, seed=1)(torch.ones(4, 3, 3, 8), training=True).numpy()
    per_channel = out.reshape(4, 9, 8)
    assert (per_channel == per_channel[:, :1, :]).all()
    out = layers.SpatialDropout2D(0.5, data_format="channels_first", seed=1)(torch.ones(4, 8, 3, 3), training=True)
    per_channel = out.numpy().reshape(4, 8, 9)
    assert (per_channel == per_channel[:, :, :1]).all()
    np.testing.assert_allclose(np.unique(per_channel), [0.0, 2.0])
    out = layers.SpatialDropout3D(0.5, seed=1)(torch.ones(2, 2, 2, 2, 6), training=True).numpy().reshape(2, 8, 6)
    assert (out == out[:, :1, :]).all()


def test_gaussian_noise_statistics():
    out = layers.GaussianNoise(0.5, seed=0)(torch.zeros(300, 300), training=True).numpy()
    assert abs(out.mean()) < 0.01 and abs(out.std() - 0.5) < 0.01


def test_gaussian_dropout_statistics():
    rate = 0.2
    out = layers.GaussianDropout(rate, seed=0)(torch.ones(300, 300), training=True).numpy()
    assert abs(out.mean() - 1.0) < 0.01
    assert abs(out.std() - math.sqrt(rate / (1 - rate))) < 0.01


def test_alpha_dropout_against_numpy_formula():
    rate = 0.25
    alpha, scale = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
    alpha_p = -alpha * scale
    a = ((1 - rate) * (1 + rate * alpha_p**2)) ** -0.5
    b = -a * alpha_p * rate
    x = torch.randn(200, 200, generator=torch.Generator().manual_seed(0))
    out = layers.AlphaDropout(rate, seed=5)(x, training=True).numpy()
    xn = x.numpy().astype("float64")
    kept = np.isclose(out, a * xn + b, rtol=1e-5, atol=1e-6)
    dropped = np.isclose(out, a * alpha_p + b, rtol=1e-6)
    assert (kept | dropped).all()
    assert abs(np.mean(~kept) - rate) < 0.01
    # SELU self-normalization: unit-normal inputs keep mean 0 and variance 1
    assert abs(out.mean()) < 0.02 and abs(out.var() - 1.0) < 0.03


def test_masks_pass_through_dropout():
    x = torch.ones(2, 3, 4)
    x._keras_mask = torch.tensor([[True, False, True], [False, True, True]])
    out = layers.Dropout(0.5)(x, training=True)
    assert torch.equal(out._keras_mask, x._keras_mask)


# ---- configs and errors ------------------------------------------------------------------------------------

def test_configs_match_keras():
    assert layers.Dropout(0.5, name="drop").get_config() == {
        "name": "drop", "trainable": True, "dtype": "float32", "rate": 0.5, "seed": None, "noise_shape": None}
    # Keras 3.15.1 writes no `trainable` for spatial dropout (its constructor refuses one).
    assert list(layers.SpatialDropout2D(0.1).get_config()) == ["rate", "seed", "name", "dtype", "data_format"]
    assert list(layers.SpatialDropout1D(0.1).get_config()) == ["rate", "seed", "name", "dtype"]
    assert list(layers.GaussianNoise(0.1).get_config())[3:] == ["stddev", "seed"]
    assert list(layers.GaussianDropout(0.1).get_config())[3:] == ["rate", "seed"]
    assert list(layers.AlphaDropout(0.1).get_config())[3:] == ["rate", "seed", "noise_shape"]


@pytest.mark.parametrize("rate", [1.0, -0.1, 1.5, "0.5", None])
def test_rate_is_validated(rate):
    for cls in (layers.Dropout, layers.SpatialDropout1D, layers.GaussianDropout, layers.AlphaDropout):
        with pytest.raises(ValueError, match=rf"Invalid value received for argument `rate` of {cls.__name__}. "
                                             rf"Expected a float value in \[0, 1\). Received: rate="):
            cls(rate)


def test_other_argument_errors():
    with pytest.raises(ValueError, match="Received: stddev=-1"):
        layers.GaussianNoise(-1)
    with pytest.raises(ValueError, match="Received: seed='a'"):
        layers.Dropout(0.5, seed="a")
    with pytest.raises(ValueError, match=r'Input 0 of layer "sd" is incompatible with the layer: expected ndim=4'):
        layers.SpatialDropout2D(0.5, name="sd")(torch.ones(2, 3))
