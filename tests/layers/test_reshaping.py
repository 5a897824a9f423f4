"""Reshaping layers: the harness, NumPy references, gradients and error messages."""

import numpy as np
import pytest
import torch

from lamina import layers
from tests.layers.harness import run_layer_test

RNG = np.random.default_rng(0)


def _x(*shape):
    return RNG.standard_normal(shape).astype("float32")


# ---- every layer through the harness -------------------------------------------------------------------

HARNESS_CASES = [
    (layers.Flatten, {}, (2, 3, 4), (2, 12)),
    (layers.Flatten, {"data_format": "channels_first"}, (2, 3, 4, 5), (2, 60)),
    (layers.Flatten, {}, (3,), (3, 1)),
    (layers.Reshape, {"target_shape": (4, 3)}, (2, 3, 4), (2, 4, 3)),
    (layers.Reshape, {"target_shape": (-1, 2)}, (2, 3, 4), (2, 6, 2)),
    (layers.Permute, {"dims": (2, 1)}, (2, 3, 4), (2, 4, 3)),
    (layers.Permute, {"dims": (3, 1, 2)}, (2, 3, 4, 5), (2, 5, 3, 4)),
    (layers.RepeatVector, {"n": 3}, (2, 4), (2, 3, 4)),
    (layers.Cropping1D, {"cropping": (1, 2)}, (2, 6, 3), (2, 3, 3)),
    (layers.Cropping2D, {"cropping": ((1, 0), (2, 1))}, (2, 5, 6, 3), (2, 4, 3, 3)),
    (layers.Cropping2D, {"cropping": 1, "data_format": "channels_first"}, (2, 3, 5, 6), (2, 3, 3, 4)),
    (layers.Cropping3D, {"cropping": (1, 0, 1)}, (1, 4, 4, 4, 2), (1, 2, 4, 2, 2)),
    (layers.ZeroPadding1D, {"padding": (2, 1)}, (2, 3, 4), (2, 6, 4)),
    (layers.ZeroPadding1D, {"padding": 1, "data_format": "channels_first"}, (2, 3, 4), (2, 3, 6)),
    (layers.ZeroPadding2D, {"padding": ((1, 0), (0, 2))}, (2, 3, 3, 2), (2, 4, 5, 2)),
    (layers.ZeroPadding2D, {"padding": 1, "data_format": "channels_first"}, (2, 2, 3, 3), (2, 2, 5, 5)),
    (layers.ZeroPadding3D, {"padding": (1, 0, 2)}, (1, 2, 2, 2, 3), (1, 4, 2, 6, 3)),
    (layers.UpSampling1D, {"size": 3}, (2, 4, 5), (2, 12, 5)),
    (layers.UpSampling2D, {"size": (2, 3)}, (2, 3, 4, 5), (2, 6, 12, 5)),
    (layers.UpSampling2D, {"size": 2, "interpolation": "bilinear"}, (2, 3, 4, 5), (2, 6, 8, 5)),
    (layers.UpSampling2D, {"size": 2, "data_format": "channels_first"}, (2, 5, 3, 4), (2, 5, 6, 8)),
    (layers.UpSampling3D, {"size": (1, 2, 3)}, (1, 2, 2, 2, 3), (1, 2, 4, 6, 3)),
]


@pytest.mark.parametrize("cls, kwargs, input_shape, output_shape", HARNESS_CASES,
                         ids=[f"{c[0].__name__}-{i}" for i, c in enumerate(HARNESS_CASES)])
def test_harness(cls, kwargs, input_shape, output_shape):
    run_layer_test(cls, kwargs, input_shape=input_shape, expected_output_shape=output_shape,
                   expected_num_trainable_weights=0, expected_num_non_trainable_weights=0)


def test_configs_match_keras():
    assert layers.Flatten(name="f").get_config() == {"name": "f", "trainable": True, "dtype": "float32",
                                                    "data_format": "channels_last"}
    assert layers.Reshape((2, -1)).get_config()["target_shape"] == (2, -1)
    assert layers.Cropping2D(1).get_config()["cropping"] == ((1, 1), (1, 1))
    assert layers.Cropping1D(2).get_config()["cropping"] == (2, 2)
    assert "data_format" not in layers.Cropping1D().get_config()
    assert layers.ZeroPadding2D((1, 2)).get_config()["padding"] == ((1, 1), (2, 2))
    assert layers.ZeroPadding1D().get_config()["padding"] == (1, 1)
    config = layers.UpSampling2D().get_config()
    assert list(config)[3:] == ["size", "data_format", "interpolation"] and config["size"] == (2, 2)
    assert list(layers.UpSampling3D().get_config())[3:] == ["size", "data_format"]
    assert layers.UpSampling1D().get_config()["size"] == 2


# ---- NumPy references ------------------------------------------------------------------------------------

def test_flatten_channels_first_uses_channels_last_order():
    x = _x(2, 3, 4, 5)
    out = layers.Flatten(data_format="channels_first")(x)
    np.testing.assert_array_equal(out.numpy(), np.transpose(x, (0, 2, 3, 1)).reshape(2, -1))
    np.testing.assert_array_equal(layers.Flatten()(x).numpy(), x.reshape(2, -1))


def test_reshape_permute_repeat_against_numpy():
    x = _x(2, 3, 4)
    np.testing.assert_array_equal(layers.Reshape((-1, 3))(x).numpy(), x.reshape(2, 4, 3))
    np.testing.assert_array_equal(layers.Permute((2, 1))(x).numpy(), np.transpose(x, (0, 2, 1)))
    v = _x(2, 5)
    np.testing.assert_array_equal(layers.RepeatVector(3)(v).numpy(), np.repeat(v[:, None, :], 3, axis=1))


def test_cropping_and_padding_against_numpy():
    x = _x(2, 5, 6, 3)
    np.testing.assert_array_equal(layers.Cropping2D(((1, 2), (0, 3)))(x).numpy(), x[:, 1:3, 0:3, :])
    x_cf = _x(2, 3, 5, 6)
    np.testing.assert_array_equal(layers.Cropping2D(((1, 2), (0, 3)), data_format="channels_first")(x_cf).numpy(),
                                  x_cf[:, :, 1:3, 0:3])
    np.testing.assert_array_equal(layers.Cropping1D((2, 1))(x[:, :, 0]).numpy(), x[:, 2:4, 0])
    np.testing.assert_array_equal(layers.ZeroPadding2D(((1, 0), (2, 3)))(x).numpy(),
                                  np.pad(x, ((0, 0), (1, 0), (2, 3), (0, 0))))
    np.testing.assert_array_equal(layers.ZeroPadding2D(((1, 0), (2, 3)), data_format="channels_first")(x).numpy(),
                                  np.pad(x, ((0, 0), (0, 0), (1, 0), (2, 3))))
    y = _x(1, 2, 3, 4, 2)
    np.testing.assert_array_equal(layers.ZeroPadding3D(((0, 1), (2, 0), (1, 1)))(y).numpy(),
                                  np.pad(y, ((0, 0), (0, 1), (2, 0), (1, 1), (0, 0))))
    np.testing.assert_array_equal(layers.Cropping3D(((0, 1), (1, 0), (1, 2)))(y).numpy(), y[:, 0:1, 1:3, 1:2, :])
    np.testing.assert_array_equal(layers.ZeroPadding1D(2)(y[0, 0]).numpy(), np.pad(y[0, 0], ((0, 0), (2, 2), (0, 0))))


def test_upsampling_nearest_against_numpy():
    x = _x(2, 3, 4, 5)
    expected = np.repeat(np.repeat(x, 2, axis=1), 3, axis=2)
    np.testing.assert_array_equal(layers.UpSampling2D((2, 3))(x).numpy(), expected)
    expected_cf = np.repeat(np.repeat(x, 2, axis=2), 3, axis=3)
    np.testing.assert_array_equal(layers.UpSampling2D((2, 3), data_format="channels_first")(x).numpy(), expected_cf)
    np.testing.assert_array_equal(layers.UpSampling1D(2)(x[0]).numpy(), np.repeat(x[0], 2, axis=1))
    y = _x(1, 2, 3, 2, 2)
    expected3 = np.repeat(np.repeat(np.repeat(y, 2, axis=1), 1, axis=2), 3, axis=3)
    np.testing.assert_array_equal(layers.UpSampling3D((2, 1, 3))(y).numpy(), expected3)


def _bilinear_reference(image, out_h, out_w):
    """TensorFlow's ``tf.image.resize(method='bilinear')``: half-pixel centres, edges clamped (NHWC)."""
    n, h, w, c = image.shape

    def coords(out_size, in_size):
        src = (np.arange(out_size) + 0.5) * in_size / out_size - 0.5
        src = np.clip(src, 0, in_size - 1)
        low = np.floor(src).astype(int)
        high = np.minimum(low + 1, in_size - 1)
        return low, high, src - low

    y0, y1, wy = coords(out_h, h)
    x0, x1, wx = coords(out_w, w)
    top = image[:, y0][:, :, x0] * (1 - wx)[None, None, :, None] + image[:, y0][:, :, x1] * wx[None, None, :, None]
    bottom = image[:, y1][:, :, x0] * (1 - wx)[None, None, :, None] + image[:, y1][:, :, x1] * wx[None, None, :, None]
    return top * (1 - wy)[None, :, None, None] + bottom * wy[None, :, None, None]


def test_upsampling_bilinear_matches_tensorflow_values():
    # tf.image.resize([[1, 2], [3, 4]], (4, 4), "bilinear"), computed by hand with half-pixel centres.
    image = np.array([[1.0, 2.0], [3.0, 4.0]], dtype="float32").reshape(1, 2, 2, 1)
    out = layers.UpSampling2D(2, interpolation="bilinear")(image).numpy()[0, :, :, 0]
    np.testing.assert_allclose(out, [[1.0, 1.25, 1.75, 2.0], [1.5, 1.75, 2.25, 2.5],
                                     [2.5, 2.75, 3.25, 3.5], [3.0, 3.25, 3.75, 4.0]], rtol=0, atol=1e-6)
    x = _x(2, 3, 5, 4)
    out = layers.UpSampling2D((3, 2), interpolation="bilinear")(x).numpy()
    np.testing.assert_allclose(out, _bilinear_reference(x.astype("float64"), 9, 10), rtol=1e-5, atol=1e-5)
    out_cf = layers.UpSampling2D((3, 2), interpolation="bilinear", data_format="channels_first")(
        np.transpose(x, (0, 3, 1, 2))).numpy()
    np.testing.assert_allclose(np.transpose(out_cf, (0, 2, 3, 1)), out, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("layer", [
    layers.UpSampling2D(2, interpolation="bilinear"), layers.UpSampling2D((1, 2)), layers.ZeroPadding2D(1),
    layers.Cropping2D(1), layers.Flatten(data_format="channels_first"), layers.Permute((3, 1, 2)),
], ids=lambda layer: type(layer).__name__)
def test_gradients_match_finite_differences(layer):
    x = torch.randn(2, 4, 3, 2, dtype=torch.float64, requires_grad=True)
    layer64 = type(layer).from_config({**layer.get_config(), "dtype": "float64"})
    assert torch.autograd.gradcheck(layer64, (x,))


def test_masks_pass_through_where_keras_does():
    assert not layers.Flatten().supports_masking
    assert not layers.Reshape((2,)).supports_masking


# ---- errors --------------------------------------------------------------------------------------------

def test_reshape_size_mismatch_names_the_layer():
    layer = layers.Reshape((4, 4), name="to_square")
    with pytest.raises(ValueError, match=r'Layer "to_square" \(Reshape\).*total size.*'
                                         r"Received: input_shape=\(2, 3, 4\), target_shape=\(4, 4\)"):
        layer(np.zeros((2, 3, 4), "float32"))
    with pytest.raises(ValueError, match="total size"):
        layers.Reshape((-1, 5))(np.zeros((2, 12), "float32"))
    with pytest.raises(ValueError, match="total size"):
        layers.Reshape((5,)).compute_output_shape((None, 12))


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match=r"at most one unknown dimension.*Received: target_shape=\(-1, -1\)"):
        layers.Reshape((-1, -1))
    with pytest.raises(ValueError, match=r"Received: target_shape=\(0, 2\)"):
        layers.Reshape((0, 2))
    with pytest.raises(ValueError, match=r"must be consecutive and start from 1. Received: dims=\(0, 1\)"):
        layers.Permute((0, 1))
    with pytest.raises(TypeError, match="Received: n=2.5"):
        layers.RepeatVector(2.5)
    with pytest.raises(ValueError, match=r"`padding` argument of ZeroPadding2D.*Received: padding=\(1, 2, 3\)"):
        layers.ZeroPadding2D((1, 2, 3))
    with pytest.raises(ValueError, match=r"Received: cropping=-1"):
        layers.Cropping1D(-1)
    with pytest.raises(ValueError, match=r"`interpolation` argument of UpSampling2D.*Received: interpolation='cubic'"):
        layers.UpSampling2D(interpolation="cubic")
    with pytest.raises(ValueError, match=r"Received: data_format='nhwc'"):
        layers.Flatten(data_format="nhwc")
    with pytest.raises(ValueError, match=r"Received: size=0"):
        layers.UpSampling1D(0)


def test_cropping_larger_than_input():
    with pytest.raises(ValueError, match=r'`cropping` of layer "crop" \(Cropping2D\) must be smaller'):
        layers.Cropping2D(((2, 2), (0, 0)), name="crop")(np.zeros((1, 4, 4, 1), "float32"))


def test_wrong_rank_is_reported_by_the_input_spec():
    with pytest.raises(ValueError, match=r'Input 0 of layer "rep" is incompatible with the layer: expected ndim=2'):
        layers.RepeatVector(2, name="rep")(np.zeros((1, 2, 3), "float32"))
