"""Convolution layers: Conv1D/2D/3D here; the transposed, separable and depthwise ones beside them.

All take Keras arguments and keep Keras weight layouts (kernel ``(*kernel_size,
in_channels // groups, filters)``), so ``get_weights()`` and files match Keras.
``padding='same'`` is TensorFlow's (output size ``ceil(size / stride)``, the odd
extra pixel at the end). See `lamina.layers.conv_base` for the memory layout used.

>>> import torch
>>> from lamina import layers
>>> conv = layers.Conv2D(filters=1, kernel_size=3, strides=1, padding="valid")
>>> conv(torch.ones(1, 7, 7, 1)).shape
torch.Size([1, 5, 5, 1])
>>> [w.shape for w in conv.get_weights()]
[(3, 3, 1, 1), (1,)]
"""

from lamina.layers.conv_base import BaseConv
from lamina.layers.conv_transpose import Conv1DTranspose, Conv2DTranspose, Conv3DTranspose
from lamina.layers.separable_conv import DepthwiseConv1D, DepthwiseConv2D, SeparableConv1D, SeparableConv2D

__all__ = ["Conv1D", "Conv2D", "Conv3D", "Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose",
           "SeparableConv1D", "SeparableConv2D", "DepthwiseConv1D", "DepthwiseConv2D"]


class Conv1D(BaseConv):
    """1-D convolution (temporal convolution) over ``(batch, steps, channels)``.

    Args:
        filters: number of output channels.
        kernel_size: int or tuple of 1 int, the window length.
        strides: int or tuple of 1 int.
        padding: ``'valid'``, ``'same'`` or ``'causal'`` (left padding only, so
            ``output[t]`` does not depend on ``input[t + 1:]``).
        data_format: ``'channels_last'`` (default) or ``'channels_first'``.
        dilation_rate: int or tuple of 1 int; ``> 1`` excludes ``strides > 1``.
        groups: the channels are split in ``groups`` independent convolutions.
        activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
            bias_regularizer, activity_regularizer, kernel_constraint, bias_constraint:
            as in `Dense`.

    Input shape:
        ``(batch, steps, channels)`` (``channels_last``) or ``(batch, channels, steps)``.

    Output shape:
        ``(batch, new_steps, filters)`` (``channels_last``) or ``(batch, filters, new_steps)``.

    >>> import torch
    >>> Conv1D(4, 3, padding="causal")(torch.ones(2, 10, 3)).shape
    torch.Size([2, 10, 4])
    """

    rank = 1


class Conv2D(BaseConv):
    """2-D convolution over images ``(batch, rows, cols, channels)``.

    Args:
        filters: number of output channels.
        kernel_size: int or tuple of 2 ints, the window height and width.
        strides: int or tuple of 2 ints.
        padding: ``'valid'`` (no padding) or ``'same'`` (output size ``ceil(size / stride)``).
        data_format: ``'channels_last'`` (default) or ``'channels_first'``.
        dilation_rate: int or tuple of 2 ints; ``> 1`` excludes ``strides > 1``.
        groups: the channels are split in ``groups`` independent convolutions; both the
            input channels and ``filters`` must be divisible by it.
        activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
            bias_regularizer, activity_regularizer, kernel_constraint, bias_constraint:
            as in `Dense`.

    Input shape:
        ``(batch, rows, cols, channels)`` (``channels_last``) or ``(batch, channels, rows, cols)``.

    Output shape:
        ``(batch, new_rows, new_cols, filters)`` or ``(batch, filters, new_rows, new_cols)``.

    >>> import torch
    >>> layer = Conv2D(8, 3, strides=2, padding="same", activation="relu")
    >>> layer(torch.ones(2, 9, 9, 3)).shape
    torch.Size([2, 5, 5, 8])
    >>> layer.kernel.shape
    (3, 3, 3, 8)
    """

    rank = 2


class Conv3D(BaseConv):
    """3-D convolution over volumes ``(batch, dim1, dim2, dim3, channels)``.

    Args are those of `Conv2D`, with tuples of 3 ints.

    >>> import torch
    >>> Conv3D(2, (3, 3, 1))(torch.ones(1, 5, 5, 5, 1)).shape
    torch.Size([1, 3, 3, 5, 2])
    """

    rank = 3
