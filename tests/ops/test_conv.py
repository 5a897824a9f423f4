"""Convolution and pooling against direct NumPy loops with TensorFlow padding rules."""

import itertools
import math

import numpy as np
import pytest
import torch

from lamina import ops

RNG = np.random.default_rng(0)


def _tf_same(size, k, s, d=1):
    effective = (k - 1) * d + 1
    out = math.ceil(size / s)
    total = max((out - 1) * s + effective - size, 0)
    return total // 2, total - total // 2


def np_conv(x, w, strides, padding, dilation, groups=1):
    """Channels-last reference: x (N, *S, C), w (*K, C // groups, F)."""
    n = x.ndim - 2
    ks = w.shape[:n]
    if padding == "same":
        pads = [_tf_same(x.shape[1 + i], ks[i], strides[i], dilation[i]) for i in range(n)]
    elif padding == "causal":
        pads = [((ks[0] - 1) * dilation[0], 0)]
    else:
        pads = [(0, 0)] * n
    x = np.pad(x, [(0, 0), *pads, (0, 0)])
    out_sizes = [(x.shape[1 + i] - ((ks[i] - 1) * dilation[i] + 1)) // strides[i] + 1 for i in range(n)]
    cin, filters = w.shape[-2], w.shape[-1]
    per_group = filters // groups
    out = np.zeros((x.shape[0], *out_sizes, filters))
    for pos in itertools.product(*[range(o) for o in out_sizes]):
        for kpos in itertools.product(*[range(k) for k in ks]):
            idx = tuple(pos[i] * strides[i] + kpos[i] * dilation[i] for i in range(n))
            patch = x[(slice(None), *idx)]  # (N, C)
            for g in range(groups):
                sel = slice(g * per_group, (g + 1) * per_group)
                out[(slice(None), *pos, sel)] += patch[:, g * cin:(g + 1) * cin] @ w[(*kpos, slice(None), sel)]
    return out


def np_conv_transpose(x, w, strides, padding, output_padding, dilation):
    """Adjoint of the forward convolution with an output of the Keras/TF size; w (*K, F, C)."""
    n = x.ndim - 2
    ks = w.shape[:n]
    sizes = []
    for i in range(n):
        eff = (ks[i] - 1) * dilation[i] + 1
        size, s = x.shape[1 + i], strides[i]
        op = output_padding[i] if output_padding else None
        if padding == "valid":
            sizes.append((size - 1) * s + eff + (max(eff, s) - eff if op is None else op))
        else:
            sizes.append(size * s if op is None else (size - 1) * s + eff % 2 + op)
    befores = []
    for i in range(n):
        eff = (ks[i] - 1) * dilation[i] + 1
        total = max((x.shape[1 + i] - 1) * strides[i] + eff - sizes[i], 0) if padding == "same" else 0
        befores.append(total // 2)
    out = np.zeros((x.shape[0], *sizes, w.shape[-2]))
    for pos in itertools.product(*[range(o) for o in x.shape[1:-1]]):
        for kpos in itertools.product(*[range(k) for k in ks]):
            idx = tuple(pos[i] * strides[i] + kpos[i] * dilation[i] - befores[i] for i in range(n))
            if all(0 <= idx[i] < sizes[i] for i in range(n)):
                out[(slice(None), *idx)] += x[(slice(None), *pos)] @ w[kpos].T
    return out


def np_pool(x, pool, strides, padding, kind):
    n = x.ndim - 2
    pads = [_tf_same(x.shape[1 + i], pool[i], strides[i]) for i in range(n)] if padding == "same" else [(0, 0)] * n
    fill = -np.inf if kind == "max" else np.nan
    xp = np.pad(x, [(0, 0), *pads, (0, 0)], constant_values=fill)
    out_sizes = [(xp.shape[1 + i] - pool[i]) // strides[i] + 1 for i in range(n)]
    out = np.zeros((x.shape[0], *out_sizes, x.shape[-1]))
    for pos in itertools.product(*[range(o) for o in out_sizes]):
        window = xp[(slice(None), *[slice(pos[i] * strides[i], pos[i] * strides[i] + pool[i]) for i in range(n)])]
        window = window.reshape(x.shape[0], -1, x.shape[-1])
        out[(slice(None), *pos)] = window.max(axis=1) if kind == "max" else np.nanmean(window, axis=1)
    return out


def _to_first(a):
    return np.moveaxis(a, -1, 1)


CONV_CASES = [
    # rank, spatial, kernel, strides, padding, dilation
    (1, (9,), (3,), (2,), "same", (1,)),
    (1, (8,), (4,), (1,), "causal", (2,)),
    (1, (7,), (2,), (3,), "valid", (1,)),
    (2, (6, 7), (2, 2), (2, 2), "same", (1, 1)),
    (2, (7, 5), (4, 3), (3, 2), "same", (1, 1)),
    (2, (7, 8), (3, 2), (1, 1), "same", (2, 3)),
    (2, (6, 6), (3, 3), (2, 1), "valid", (1, 1)),
    (3, (4, 5, 3), (2, 3, 2), (2, 2, 1), "same", (1, 1, 1)),
    (3, (5, 4, 4), (2, 2, 2), (1, 1, 1), "valid", (2, 1, 1)),
]


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("rank,spatial,kernel,strides,padding,dilation", CONV_CASES)
def test_conv_matches_reference(rank, spatial, kernel, strides, padding, dilation, data_format):
    x = RNG.normal(size=(2, *spatial, 3))
    w = RNG.normal(size=(*kernel, 3, 4))
    expected = np_conv(x, w, strides, padding, dilation)
    inputs = x if data_format == "channels_last" else _to_first(x)
    out = ops.conv(inputs, w, strides, padding, data_format, dilation).numpy()
    if data_format == "channels_first":
        out = np.moveaxis(out, 1, -1)
    np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-10)


def test_grouped_conv_matches_reference():
    x = RNG.normal(size=(2, 6, 5, 4))
    w = RNG.normal(size=(3, 3, 2, 6))
    np.testing.assert_allclose(ops.conv(x, w, 1, "same").numpy(), np_conv(x, w, (1, 1), "same", (1, 1), groups=2),
                               rtol=1e-10, atol=1e-10)


def test_depthwise_and_separable_conv():
    x = RNG.normal(size=(2, 7, 6, 3))
    depthwise = RNG.normal(size=(3, 2, 3, 2))
    # depthwise == grouped conv whose output channel c * multiplier + m uses kernel[..., c, m]
    expected = np_conv(x, depthwise.reshape(3, 2, 1, 6), (2, 2), "same", (1, 1), groups=3)
    out = ops.depthwise_conv(x, depthwise, strides=2, padding="same")
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-10, atol=1e-10)
    pointwise = RNG.normal(size=(1, 1, 6, 5))
    separable = ops.separable_conv(x, depthwise, pointwise, strides=2, padding="same")
    np.testing.assert_allclose(separable.numpy(), expected @ pointwise[0, 0], rtol=1e-10, atol=1e-10)


TRANSPOSE_CASES = [
    ((5,), (3,), (2,), "same", None, (1,)),
    ((4,), (4,), (2,), "same", None, (1,)),
    ((4,), (2,), (3,), "valid", None, (1,)),
    ((4,), (3,), (2,), "valid", (1,), (1,)),
    ((5,), (3,), (1,), "same", None, (2,)),
    ((3, 4), (3, 3), (2, 2), "same", None, (1, 1)),
    ((3, 4), (3, 2), (2, 3), "valid", None, (1, 1)),
    ((3, 3), (3, 3), (2, 2), "same", (1, 0), (1, 1)),
    ((2, 3, 2), (2, 3, 2), (2, 1, 2), "same", None, (1, 1, 1)),
]


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("spatial,kernel,strides,padding,output_padding,dilation", TRANSPOSE_CASES)
def test_conv_transpose_matches_reference(spatial, kernel, strides, padding, output_padding, dilation, data_format):
    x = RNG.normal(size=(2, *spatial, 3))
    w = RNG.normal(size=(*kernel, 4, 3))
    expected = np_conv_transpose(x, w, strides, padding, output_padding, dilation)
    inputs = x if data_format == "channels_last" else _to_first(x)
    out = ops.conv_transpose(inputs, w, strides, padding, output_padding, data_format, dilation).numpy()
    if data_format == "channels_first":
        out = np.moveaxis(out, 1, -1)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-10)


POOL_CASES = [
    ((9,), (2,), None, "valid"),
    ((9,), (3,), (2,), "same"),
    ((5, 7), (2, 2), (2, 2), "same"),
    ((6, 5), (3, 2), (2, 1), "same"),
    ((6, 6), (3, 3), (1, 2), "valid"),
    ((5, 4, 3), (2, 2, 2), (2, 2, 2), "same"),
]


@pytest.mark.parametrize("kind", ["max", "average"])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("spatial,pool,strides,padding", POOL_CASES)
def test_pooling_matches_reference(spatial, pool, strides, padding, data_format, kind):
    x = RNG.normal(size=(2, *spatial, 3))
    expected = np_pool(x, pool, strides or pool, padding, kind)
    fn = ops.max_pool if kind == "max" else ops.average_pool
    out = fn(x if data_format == "channels_last" else _to_first(x), pool, strides, padding, data_format).numpy()
    if data_format == "channels_first":
        out = np.moveaxis(out, 1, -1)
    np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-10)


def test_conv_and_pool_gradients():
    x = torch.tensor(RNG.normal(size=(1, 5, 4, 2)), requires_grad=True)
    w = torch.tensor(RNG.normal(size=(2, 2, 2, 3)), requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b: ops.conv(a, b, 2, "same"), (x, w))
    assert torch.autograd.gradcheck(lambda a, b: ops.conv_transpose(a, b.transpose(-1, -2), 2, "same"), (x, w))
    assert torch.autograd.gradcheck(lambda a: ops.average_pool(a, 2, 2, "same"), (x,))
    assert torch.autograd.gradcheck(lambda a: ops.max_pool(a, 2, 1, "same"), (x,))


def test_conv_accepts_float32_lists_and_keeps_dtype():
    x = np.ones((1, 4, 1), dtype="float32")
    out = ops.conv(x, [[[1.0]], [[1.0]]], padding="valid")
    assert out.dtype == torch.float32 and out.shape == (1, 3, 1)


def test_conv_errors():
    with pytest.raises(ValueError, match=r"kernel must have rank 4.*Received: inputs.shape=\(1, 4, 4, 2\)"):
        ops.conv(torch.zeros(1, 4, 4, 2), torch.zeros(3, 2, 4))
    with pytest.raises(ValueError, match="must be a multiple of the kernel's input channels"):
        ops.conv(torch.zeros(1, 4, 4, 3), torch.zeros(3, 3, 2, 4))
    with pytest.raises(ValueError, match=r"`padding` must be one of \('valid', 'same'\). Received: padding='causal'"):
        ops.conv(torch.zeros(1, 4, 4, 2), torch.zeros(3, 3, 2, 4), padding="causal")
    with pytest.raises(ValueError, match="Received: strides=\\(1, 2, 3\\)"):
        ops.max_pool(torch.zeros(1, 4, 4, 2), 2, strides=(1, 2, 3))
    with pytest.raises(ValueError, match="Received: data_format='nhwc'"):
        ops.average_pool(torch.zeros(1, 4, 4, 2), 2, data_format="nhwc")
