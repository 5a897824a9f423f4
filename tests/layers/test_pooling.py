"""Pooling layers against NumPy window loops (TF 'same' padding, averages over real positions only)."""

import itertools
import json
import math

import numpy as np
import pytest
import torch

from lamina import layers
from tests.layers.harness import run_layer_test

RNG = np.random.default_rng(0)


def _x(*shape):
    return RNG.standard_normal(shape).astype("float32")


def np_pool(x, pool, strides, padding, mode):
    """Channels-last pooling; 'same' windows see only positions inside the input."""
    rank = x.ndim - 2
    if padding == "same":
        sizes = [math.ceil(n / s) for n, s in zip(x.shape[1:-1], strides)]
        starts = [-(max((o - 1) * s + k - n, 0) // 2) for o, s, k, n in zip(sizes, strides, pool, x.shape[1:-1])]
    else:
        sizes = [(n - k) // s + 1 for n, k, s in zip(x.shape[1:-1], pool, strides)]
        starts = [0] * rank
    out = np.zeros((x.shape[0], *sizes, x.shape[-1]))
    for index in itertools.product(*map(range, sizes)):
        window = tuple(slice(max(st + i * s, 0), st + i * s + k) for st, i, s, k in zip(starts, index, strides, pool))
        values = x[(slice(None), *window)].reshape(x.shape[0], -1, x.shape[-1])
        out[(slice(None), *index)] = values.max(axis=1) if mode == "max" else values.mean(axis=1)
    return out


CLASSES = {("max", 1): layers.MaxPooling1D, ("max", 2): layers.MaxPooling2D, ("max", 3): layers.MaxPooling3D,
           ("average", 1): layers.AveragePooling1D, ("average", 2): layers.AveragePooling2D,
           ("average", 3): layers.AveragePooling3D}


@pytest.mark.parametrize("mode", ["max", "average"])
@pytest.mark.parametrize("shape, kwargs, out_shape", [
    ((2, 7, 3), {"pool_size": 2}, (2, 3, 3)),
    ((2, 7, 3), {"pool_size": 3, "strides": 2, "padding": "same"}, (2, 4, 3)),
    ((2, 3, 7), {"pool_size": 2, "data_format": "channels_first"}, (2, 3, 3)),
    ((2, 5, 6, 3), {"pool_size": (2, 3), "padding": "same"}, (2, 3, 2, 3)),
    ((2, 3, 5, 6), {"pool_size": 2, "strides": 1, "data_format": "channels_first"}, (2, 3, 4, 5)),
    ((1, 4, 5, 3, 2), {"pool_size": 2, "padding": "same"}, (1, 2, 3, 2, 2)),
])
def test_pooling_harness(mode, shape, kwargs, out_shape):
    run_layer_test(CLASSES[(mode, len(shape) - 2)], kwargs, input_shape=shape, expected_output_shape=out_shape,
                   expected_num_trainable_weights=0, expected_num_non_trainable_weights=0, supports_masking=False)


@pytest.mark.parametrize("mode", ["max", "average"])
@pytest.mark.parametrize("spatial, pool, strides, padding", [
    ((9,), (3,), (2,), "valid"),
    ((8,), (4,), (3,), "same"),
    ((7, 7), (2, 2), (2, 2), "valid"),  # the seed's 7x7 image: the last row/column is dropped
    ((7, 6), (2, 3), (2, 2), "same"),   # asymmetric windows
    ((5, 5), (3, 3), (1, 1), "same"),   # symmetric windows
    ((6, 5), (2, 2), (3, 1), "same"),
    ((3, 5, 4), (2, 3, 2), (1, 2, 2), "same"),
])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_pooling_matches_numpy(mode, spatial, pool, strides, padding, data_format):
    layer = CLASSES[(mode, len(spatial))](pool_size=pool, strides=strides, padding=padding, data_format=data_format)
    x = _x(2, *spatial, 3)
    out = layer(x if data_format == "channels_last" else np.moveaxis(x, -1, 1)).numpy()
    out = out if data_format == "channels_last" else np.moveaxis(out, 1, -1)
    np.testing.assert_allclose(out, np_pool(x, pool, strides, padding, mode), rtol=1e-5, atol=1e-6)
    shape = (None, *spatial, 3) if data_format == "channels_last" else (None, 3, *spatial)
    assert layer.compute_output_shape(shape)[1:] == tuple(layer(torch.zeros(1, *shape[1:])).shape[1:])


@pytest.mark.parametrize("spatial, pool, strides, padding", [
    ((9,), (3,), (2,), "valid"), ((8,), (4,), (3,), "same"), ((7, 7), (2, 2), (2, 2), "valid"),
    ((7, 6), (2, 3), (2, 2), "same"), ((5, 5), (3, 3), (1, 1), "same"), ((6, 5), (2, 2), (3, 1), "same"),
    ((5, 5), (1, 1), (1, 1), "valid"), ((3, 5, 4), (2, 3, 2), (1, 2, 2), "same"),
])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_max_pooling_without_gradient_matches_torchs_pooling(spatial, pool, strides, padding, data_format):
    # Without a gradient to record, max pooling takes maxima of strided views (no argmax indices);
    # with one it runs torch's pooling kernel. Both give the same values, NaNs included.
    layer = CLASSES[("max", len(spatial))](pool_size=pool, strides=strides, padding=padding, data_format=data_format)
    x = torch.as_tensor(_x(2, *spatial, 3) if data_format == "channels_last" else _x(2, 3, *spatial))
    x.view(-1)[5] = float("nan")
    tracked = layer(x.clone().requires_grad_())
    with torch.no_grad():
        plain = layer(x)
    torch.testing.assert_close(plain, tracked.detach(), equal_nan=True)
    assert plain.data_ptr() != x.data_ptr()  # a new tensor even for a 1x1 window
    integers = torch.arange(x.numel()).reshape(x.shape)
    torch.testing.assert_close(layer(integers), layer(integers.float().requires_grad_()).detach())


def test_average_same_counts_only_real_positions():
    # Keras: a border window of a 3x3 input with pool 2 covers 1 real position at the corner.
    x = np.arange(9, dtype="float32").reshape(1, 3, 3, 1)
    out = layers.AveragePooling2D(pool_size=2, padding="same")(x)[0, :, :, 0].tolist()
    assert out == [[2.0, 3.5], [6.5, 8.0]]


def test_pooling_matches_torch_modules():
    x = torch.as_tensor(_x(2, 8, 9, 3))
    nchw = x.permute(0, 3, 1, 2)
    torch.testing.assert_close(layers.MaxPooling2D(3, strides=2)(x),
                               torch.nn.MaxPool2d(3, stride=2)(nchw).permute(0, 2, 3, 1))
    torch.testing.assert_close(layers.AveragePooling2D((2, 3))(x),
                               torch.nn.AvgPool2d((2, 3))(nchw).permute(0, 2, 3, 1))


def test_pooling_gradients_match_finite_differences():
    for layer, shape in ((layers.MaxPooling2D(2, strides=1, padding="same", dtype="float64"), (2, 5, 5, 2)),
                         (layers.AveragePooling2D(3, 2, "same", dtype="float64"), (2, 5, 5, 2)),
                         (layers.AveragePooling1D(2, padding="same", dtype="float64"), (2, 5, 2)),
                         (layers.GlobalAveragePooling2D(dtype="float64"), (2, 3, 3, 2))):
        x = torch.randn(*shape, dtype=torch.float64, requires_grad=True)
        assert torch.autograd.gradcheck(layer, (x,))


def test_strides_default_to_pool_size_and_configs_are_keras():
    layer = layers.MaxPooling2D(pool_size=3, name="p")
    assert layer.strides == (3, 3)
    config = layer.get_config()
    assert list(config) == ["name", "trainable", "dtype", "pool_size", "padding", "strides", "data_format"]
    assert json.loads(json.dumps(config))["pool_size"] == [3, 3]
    assert layers.MaxPooling1D().get_config()["pool_size"] == (2,)
    assert list(layers.GlobalAveragePooling2D().get_config()) == ["name", "trainable", "dtype", "data_format",
                                                                  "keepdims"]
    assert layers.MaxPool2D is layers.MaxPooling2D and layers.GlobalAvgPool1D is layers.GlobalAveragePooling1D
    assert layers.AvgPool3D is layers.AveragePooling3D and layers.GlobalMaxPool3D is layers.GlobalMaxPooling3D


def test_pooling_errors():
    with pytest.raises(ValueError, match=r"`padding` argument of MaxPooling2D must be one of .* Received: padding='x'"):
        layers.MaxPooling2D(padding="x")
    with pytest.raises(ValueError, match=r"`pool_size` argument of AveragePooling2D .* Received: pool_size=\(2, 0\)"):
        layers.AveragePooling2D(pool_size=(2, 0))
    with pytest.raises(ValueError, match=r'layer "pool" is incompatible.*expected ndim=4, found ndim=3'):
        layers.MaxPooling2D(name="pool")(_x(1, 4, 4))
    with pytest.raises(ValueError, match=r"output size would be negative.*pool_size=\(3, 3\)"):
        layers.MaxPooling2D(3)(_x(1, 2, 5, 1))
    layer = layers.GlobalMaxPooling2D(name="gmp")
    with pytest.raises(ValueError, match='layer "gmp" is incompatible.*expected ndim=4, found ndim=3'):
        layer(_x(1, 4, 4))


# ---- global pooling -------------------------------------------------------------------------------------

GLOBAL = {("max", 1): layers.GlobalMaxPooling1D, ("max", 2): layers.GlobalMaxPooling2D,
          ("max", 3): layers.GlobalMaxPooling3D, ("average", 1): layers.GlobalAveragePooling1D,
          ("average", 2): layers.GlobalAveragePooling2D, ("average", 3): layers.GlobalAveragePooling3D}


@pytest.mark.parametrize("mode", ["max", "average"])
@pytest.mark.parametrize("rank", [1, 2, 3])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("keepdims", [False, True])
def test_global_pooling(mode, rank, data_format, keepdims):
    shape = (2, *range(3, 3 + rank), 4) if data_format == "channels_last" else (2, 4, *range(3, 3 + rank))
    x = _x(*shape)
    axes = tuple(range(1, rank + 1)) if data_format == "channels_last" else tuple(range(2, rank + 2))
    expected = x.max(axis=axes, keepdims=keepdims) if mode == "max" else x.mean(axis=axes, keepdims=keepdims)
    masked = mode == "average" and rank == 1
    run_layer_test(GLOBAL[(mode, rank)], {"data_format": data_format, "keepdims": keepdims}, input_data=x,
                   expected_output_shape=expected.shape, expected_output=expected, rtol=1e-5, atol=1e-6,
                   supports_masking=masked or None, input_mask=np.array([[True, False, True]] * 2) if masked else None)


def test_global_average_pooling_1d_mask():
    x = _x(2, 4, 3)
    mask = np.array([[True, True, False, True], [False, True, False, False]])
    for data_format in ("channels_last", "channels_first"):
        data = x if data_format == "channels_last" else np.moveaxis(x, -1, 1)
        out = layers.GlobalAveragePooling1D(data_format=data_format)(data, mask=torch.as_tensor(mask)).numpy()
        expected = np.stack([x[i][mask[i]].mean(axis=0) for i in range(2)])
        np.testing.assert_allclose(out, expected, rtol=1e-6)
    # a mask attached by a previous layer is used, and not propagated
    tensor = torch.as_tensor(x)
    tensor._keras_mask = torch.as_tensor(mask)
    out = layers.GlobalAveragePooling1D(keepdims=True)(tensor)
    np.testing.assert_allclose(out.numpy()[:, 0], expected, rtol=1e-6)
    assert getattr(out, "_keras_mask", None) is None


def test_seed004_pooling_on_a_7x7_image():
    image = _x(1, 7, 7, 1)
    blocks = image[0, :6, :6, 0].reshape(3, 2, 3, 2)
    maxpooled = layers.MaxPooling2D(pool_size=2, strides=2)(image)
    avepooled = layers.AveragePooling2D(pool_size=2, strides=2)(image)
    assert tuple(maxpooled.shape) == tuple(avepooled.shape) == (1, 3, 3, 1)
    np.testing.assert_allclose(maxpooled[0, :, :, 0].numpy(), blocks.max(axis=(1, 3)))
    np.testing.assert_allclose(avepooled[0, :, :, 0].numpy(), blocks.mean(axis=(1, 3)), rtol=1e-6, atol=1e-7)
    pooled = layers.GlobalAveragePooling2D()(image)
    assert tuple(pooled.shape) == (1, 1)
    np.testing.assert_allclose(pooled.numpy()[0, 0], image.mean(), rtol=1e-5)
