"""Convolution and pooling with Keras layouts and TensorFlow padding semantics (``keras.ops.nn``).

Kernels use the Keras layout ``(*kernel_spatial, in_channels, out_channels)``;
inputs are ``channels_last`` ``(batch, *spatial, channels)`` unless ``data_format``
(or `lamina.config.image_data_format()`) says ``channels_first``. ``'same'`` padding
is TensorFlow's: output size ``ceil(size / stride)``, the odd extra pad at the end.

>>> import torch
>>> x = torch.ones(1, 4, 4, 1)
>>> conv(x, torch.ones(2, 2, 1, 1), strides=2, padding="same").shape
torch.Size([1, 2, 2, 1])
>>> average_pool(x[:, :3, :3], 2, strides=2, padding="same")[0, :, :, 0].tolist()
[[1.0, 1.0], [1.0, 1.0]]
"""

import math

import torch
import torch.nn.functional as F

from lamina.backend import config
from lamina.ops._utils import floating

_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
_CONV_T = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}
_MAX_POOL = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}
_AVG_POOL = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}


def _tuple(value, n, name):
    if isinstance(value, int):
        return (value,) * n
    value = tuple(int(v) for v in value)
    if len(value) != n:
        raise ValueError(f"`{name}` must be an int or a tuple of {n} ints. Received: {name}={value!r}")
    return value


def _check_padding(padding, allowed=("valid", "same")):
    padding = str(padding).lower()
    if padding not in allowed:
        raise ValueError(f"`padding` must be one of {allowed}. Received: padding={padding!r}")
    return padding


def _to_channels_first(x, data_format):
    """Returns ``(x in NC..., channels_last?)``; a channels_last input becomes a permuted view."""
    data_format = config.standardize_data_format(data_format)
    if x.dim() < 3 or x.dim() > 5:
        raise ValueError(
            f"Inputs must have rank 3, 4 or 5 (batch, spatial dims, channels). Received: inputs.shape={tuple(x.shape)}"
        )
    if data_format == "channels_last":
        return x.movedim(-1, 1), True
    return x, False


def _from_channels_first(x, channels_last):
    return x.movedim(1, -1) if channels_last else x


def same_padding(size, kernel, stride, dilation=1):
    """TensorFlow's ``'same'`` padding ``(before, after)`` for one spatial axis."""
    effective = (kernel - 1) * dilation + 1
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + effective - size, 0)
    return total // 2, total - total // 2


def _pad_spatial(x, pads, value=0.0):
    flat = [p for pair in reversed(pads) for p in pair]
    if not any(flat):
        return x
    return F.pad(x, flat, value=value)


def _spatial_pads(x, kernel, strides, dilation, padding):
    spatial = x.shape[2:]
    if padding == "same":
        return [same_padding(n, k, s, d) for n, k, s, d in zip(spatial, kernel, strides, dilation)]
    if padding == "causal":
        return [((kernel[0] - 1) * dilation[0], 0)]
    return [(0, 0)] * len(spatial)


def conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """N-D convolution (1-D to 3-D) with a Keras-layout kernel ``(*k, in_channels // groups, filters)``.

    Grouped convolution is implied when the input has a multiple of the kernel's input channels.
    ``padding`` is ``'valid'``, ``'same'`` or (1-D only) ``'causal'``.
    """
    x = floating(inputs)
    kernel = floating(kernel).to(device=x.device)
    x, channels_last = _to_channels_first(x, data_format)
    n = x.dim() - 2
    if kernel.dim() != n + 2:
        raise ValueError(
            f"The kernel must have rank {n + 2} for {n}-D inputs (spatial dims, in_channels, out_channels). "
            f"Received: inputs.shape={tuple(inputs.shape)}, kernel.shape={tuple(kernel.shape)}"
        )
    allowed = ("valid", "same", "causal") if n == 1 else ("valid", "same")
    padding = _check_padding(padding, allowed)
    channels, kernel_in = x.shape[1], kernel.shape[-2]
    if kernel_in == 0 or channels % kernel_in:
        raise ValueError(
            f"The input channels ({channels}) must be a multiple of the kernel's input channels ({kernel_in}). "
            f"Received: inputs.shape={tuple(inputs.shape)}, kernel.shape={tuple(kernel.shape)}"
        )
    strides, dilation = _tuple(strides, n, "strides"), _tuple(dilation_rate, n, "dilation_rate")
    weight = kernel.permute(n + 1, n, *range(n))
    x = _pad_spatial(x, _spatial_pads(x, weight.shape[2:], strides, dilation, padding))
    out = _CONV[n](x, weight.to(x.dtype), None, strides, 0, dilation, channels // kernel_in)
    return _from_channels_first(out, channels_last)


def depthwise_conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """Depthwise convolution; ``kernel`` is ``(*k, in_channels, channel_multiplier)``."""
    kernel = floating(kernel)
    *spatial, channels, multiplier = kernel.shape
    grouped = kernel.reshape(*spatial, 1, channels * multiplier)
    return conv(inputs, grouped, strides, padding, data_format, dilation_rate)


def separable_conv(inputs, depthwise_kernel, pointwise_kernel, strides=1, padding="valid", data_format=None,
                   dilation_rate=1):
    """Depthwise convolution followed by a 1x1 convolution with ``pointwise_kernel`` ``(*ones, in, out)``."""
    depthwise = depthwise_conv(inputs, depthwise_kernel, strides, padding, data_format, dilation_rate)
    return conv(depthwise, pointwise_kernel, 1, "valid", data_format, 1)


def conv_transpose_output_length(size, kernel, stride, padding, output_padding=None, dilation=1):
    """The output length of a transposed convolution, as Keras/TensorFlow compute it."""
    effective = (kernel - 1) * dilation + 1
    if padding == "valid":
        extra = max(effective, stride) - effective if output_padding is None else output_padding
        return (size - 1) * stride + effective + extra
    if output_padding is None:
        return size * stride
    return (size - 1) * stride + effective % 2 + output_padding


def _transpose_crop(size, kernel, stride, padding, output_padding, dilation):
    """``(start, length)`` of the output inside the full transposed-convolution result."""
    effective = (kernel - 1) * dilation + 1
    length = conv_transpose_output_length(size, kernel, stride, padding, output_padding, dilation)
    if padding == "valid":
        return 0, length
    pad = stride + effective - 2 if output_padding is None else effective + effective % 2 - 2 + output_padding
    left = min(pad // 2 + pad % 2, effective - 1)
    return effective - 1 - left, length


def conv_transpose(inputs, kernel, strides=1, padding="valid", output_padding=None, data_format=None,
                   dilation_rate=1):
    """Transposed convolution; ``kernel`` is ``(*k, filters, in_channels)`` as in Keras ``ConvTranspose``.

    Output sizes and values follow TensorFlow (``'valid'``: ``(n - 1) * s + max(k, s)``,
    ``'same'``: ``n * s``), with ``output_padding`` added at the end.
    """
    x = floating(inputs)
    kernel = floating(kernel).to(device=x.device)
    x, channels_last = _to_channels_first(x, data_format)
    n = x.dim() - 2
    if kernel.dim() != n + 2 or kernel.shape[-1] != x.shape[1]:
        raise ValueError(
            f"The kernel must have shape (*kernel_size, filters, {x.shape[1]}) for these inputs. "
            f"Received: inputs.shape={tuple(inputs.shape)}, kernel.shape={tuple(kernel.shape)}"
        )
    padding = _check_padding(padding)
    strides, dilation = _tuple(strides, n, "strides"), _tuple(dilation_rate, n, "dilation_rate")
    output_padding = (None,) * n if output_padding is None else _tuple(output_padding, n, "output_padding")
    weight = kernel.permute(n + 1, n, *range(n)).to(x.dtype)
    full = _CONV_T[n](x, weight, None, strides, 0, 0, 1, dilation)
    pads = []
    for i in range(n):
        start, length = _transpose_crop(x.shape[2 + i], kernel.shape[i], strides[i], padding,
                                        output_padding[i], dilation[i])
        pads.append((-start, length - (full.shape[2 + i] - start)))
    return _from_channels_first(_pad_spatial(full, pads), channels_last)


def _pool_args(x, pool_size, strides, padding):
    n = x.dim() - 2
    pool = _tuple(pool_size, n, "pool_size")
    strides = pool if strides is None else _tuple(strides, n, "strides")
    padding = _check_padding(padding)
    return pool, strides, _spatial_pads(x, pool, strides, (1,) * n, padding)


def max_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """Max pooling over 1 to 3 spatial dims (``strides`` default to ``pool_size``)."""
    x, channels_last = _to_channels_first(floating(inputs), data_format)
    pool, strides, pads = _pool_args(x, pool_size, strides, padding)
    x = _pad_spatial(x, pads, value=float("-inf"))
    return _from_channels_first(_MAX_POOL[x.dim() - 2](x, pool, strides), channels_last)


def average_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """Average pooling; with ``'same'`` padding each window averages only the positions inside the input."""
    x, channels_last = _to_channels_first(floating(inputs), data_format)
    pool, strides, pads = _pool_args(x, pool_size, strides, padding)
    pooling = _AVG_POOL[x.dim() - 2]
    if not any(p for pair in pads for p in pair):
        return _from_channels_first(pooling(x, pool, strides), channels_last)
    ones = torch.ones((1, 1, *x.shape[2:]), dtype=x.dtype, device=x.device)
    total = pooling(_pad_spatial(x, pads), pool, strides)
    count = pooling(_pad_spatial(ones, pads), pool, strides)
    return _from_channels_first(total / count, channels_last)
