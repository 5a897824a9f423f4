"""Transposed convolution layers: Conv1DTranspose, Conv2DTranspose, Conv3DTranspose.

The kernel keeps the Keras layout ``(*kernel_size, filters, in_channels)``. Output sizes
follow Keras/TensorFlow: ``'valid'`` gives ``(n - 1) * s + max(k, s)``, ``'same'`` gives
``n * s``, and ``output_padding`` sets the extra size at the end explicitly. The TF
cropping is expressed as torch's ``padding``/``output_padding`` so one fused
``conv_transpose`` call (bias included) does the work; the rare layouts torch cannot
express go through `lamina.ops.conv_transpose`.

>>> import torch
>>> from lamina import layers
>>> layer = layers.Conv2DTranspose(4, 3, strides=2, padding="same")
>>> layer(torch.ones(1, 5, 5, 2)).shape
torch.Size([1, 10, 10, 4])
>>> layer.kernel.shape
(3, 3, 4, 2)
"""

import torch.nn.functional as F

from lamina import activations, constraints, initializers, ops, regularizers
from lamina.engine.input_spec import InputSpec
from lamina.engine.layer import Layer
from lamina.layers.conv_base import (
    MEMORY_FORMAT,
    channel_axis,
    known_channels,
    positive,
    serialize,
    set_output_args,
    set_window_args,
    standardize_tuple,
)
from lamina.layers.core import drop_tf_keras_extras
from lamina.ops.conv import _transpose_crop, conv_transpose_output_length

_CONV_T = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}


def torch_padding(size, kernel, stride, dilation, padding, output_padding):
    """torch's ``(padding, output_padding)`` giving the Keras output, or None if torch cannot express it."""
    start, length = _transpose_crop(size, kernel, stride, padding, output_padding, dilation)
    full = (size - 1) * stride + (kernel - 1) * dilation + 1
    extra = length - (full - 2 * start)
    if 0 <= extra < max(stride, dilation):
        return start, extra
    return None


class BaseConvTranspose(Layer):
    """N-D transposed convolution; subclasses fix ``rank``. Args are those of `Conv2DTranspose`."""

    rank = None

    def __init__(self, filters, kernel_size, strides=1, padding="valid", output_padding=None, data_format=None,
                 dilation_rate=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None, **kwargs):
        layer = type(self).__name__
        super().__init__(activity_regularizer=activity_regularizer,
                         **drop_tf_keras_extras(kwargs, layer, fixed={"groups": 1}))
        self.filters = positive(filters, "filters", layer)
        set_window_args(self, kernel_size, strides, dilation_rate, padding)
        self.output_padding = None
        if output_padding is not None:
            self.output_padding = standardize_tuple(output_padding, self.rank, "output_padding", layer,
                                                    allow_zero=True)
            if any(p >= s for p, s in zip(self.output_padding, self.strides)):
                raise ValueError(
                    f"The `output_padding` of {layer} must be smaller than `strides` along each axis. "
                    f"Received: output_padding={self.output_padding}, strides={self.strides}"
                )
        set_output_args(self, data_format, activation, use_bias, kernel_initializer, bias_initializer,
                        kernel_regularizer, bias_regularizer, kernel_constraint, bias_constraint)

    def build(self, input_shape):
        channels = known_channels(self, input_shape)
        self.kernel = self.add_weight(shape=self.kernel_size + (self.filters, channels),
                                      initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint, name="kernel")
        if self.use_bias:
            self.bias = self.add_weight(shape=(self.filters,), initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint,
                                        name="bias")
        self.input_spec = InputSpec(ndim=self.rank + 2, axes={channel_axis(self.data_format): channels})

    def call(self, inputs):
        kernel = self.kernel.value
        bias = self.bias.value if self.bias is not None else None
        if inputs.dtype != kernel.dtype:
            if inputs.is_floating_point():
                kernel = kernel.to(inputs.dtype)
                bias = bias.to(inputs.dtype) if bias is not None else None
            else:
                inputs = inputs.to(kernel.dtype)
        out = self._fused(inputs, kernel, bias)
        if out is None:  # a cropping torch's padding cannot express: crop in ops, then add the bias
            out = ops.conv_transpose(inputs, kernel, self.strides, self.padding, self.output_padding,
                                     self.data_format, self.dilation_rate)
            if bias is not None:
                out = out + (bias if self._channels_last else bias.view(-1, *([1] * self.rank)))
        return out if self._linear else self.activation(out)

    def _fused(self, inputs, kernel, bias):
        rank = self.rank
        x = inputs.movedim(-1, 1) if self._channels_last else inputs
        output_padding = self.output_padding or (None,) * rank
        pads = [torch_padding(n, k, s, d, self.padding, p) for n, k, s, d, p in
                zip(x.shape[2:], self.kernel_size, self.strides, self.dilation_rate, output_padding)]
        if any(p is None for p in pads):
            return None
        weight = kernel.permute(rank + 1, rank, *range(rank))
        if self._channels_last and rank > 1:
            weight = weight.contiguous(memory_format=MEMORY_FORMAT[rank])
        out = _CONV_T[rank](x, weight, bias, self.strides, [p for p, _ in pads], [e for _, e in pads], 1,
                            self.dilation_rate)
        return out.movedim(1, -1) if self._channels_last else out

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        spatial = input_shape[1:-1] if self._channels_last else input_shape[2:]
        output_padding = self.output_padding or (None,) * self.rank
        sizes = tuple(None if n is None else conv_transpose_output_length(n, k, s, self.padding, p, d)
                      for n, k, s, d, p in zip(spatial, self.kernel_size, self.strides, self.dilation_rate,
                                               output_padding))
        if self._channels_last:
            return (input_shape[0],) + sizes + (self.filters,)
        return (input_shape[0], self.filters) + sizes

    def __repr__(self):
        return (f"<{type(self).__name__} name={self.name}, filters={self.filters}, "
                f"kernel_size={self.kernel_size}, built={self.built}>")

    def get_config(self):
        config = {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "output_padding": self.output_padding,
            "data_format": self.data_format,
            "dilation_rate": self.dilation_rate,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": serialize(initializers, self.kernel_initializer),
            "bias_initializer": serialize(initializers, self.bias_initializer),
            "kernel_regularizer": serialize(regularizers, self.kernel_regularizer),
            "bias_regularizer": serialize(regularizers, self.bias_regularizer),
            "activity_regularizer": serialize(regularizers, self.activity_regularizer),
            "kernel_constraint": serialize(constraints, self.kernel_constraint),
            "bias_constraint": serialize(constraints, self.bias_constraint),
        }
        return config


class Conv1DTranspose(BaseConvTranspose):
    """1-D transposed convolution (``(batch, steps, channels)`` -> ``(batch, new_steps, filters)``).

    Args are those of `Conv2DTranspose`, with tuples of 1 int.

    >>> import torch
    >>> Conv1DTranspose(2, 3, strides=2)(torch.ones(1, 4, 3)).shape
    torch.Size([1, 9, 2])
    """

    rank = 1


class Conv2DTranspose(BaseConvTranspose):
    """2-D transposed convolution (sometimes called deconvolution).

    Args:
        filters: number of output channels.
        kernel_size: int or tuple of 2 ints.
        strides: int or tuple of 2 ints.
        padding: ``'valid'`` or ``'same'``.
        output_padding: int or tuple of 2 ints, each smaller than the stride: the
            amount added at the end of each output axis (``None``: inferred).
        data_format: ``'channels_last'`` (default) or ``'channels_first'``.
        dilation_rate: int or tuple of 2 ints; ``> 1`` excludes ``strides > 1``.
        activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
            bias_regularizer, activity_regularizer, kernel_constraint, bias_constraint:
            as in `Dense`.

    Input shape:
        ``(batch, rows, cols, channels)`` (``channels_last``) or ``(batch, channels, rows, cols)``.

    Output shape:
        ``(batch, new_rows, new_cols, filters)`` or ``(batch, filters, new_rows, new_cols)``, with
        ``new = (n - 1) * strides + kernel_size + output_padding`` for ``'valid'`` padding.

    >>> import torch
    >>> Conv2DTranspose(3, 3, strides=2, output_padding=1)(torch.ones(1, 4, 4, 2)).shape
    torch.Size([1, 10, 10, 3])
    """

    rank = 2


class Conv3DTranspose(BaseConvTranspose):
    """3-D transposed convolution. Args are those of `Conv2DTranspose`, with tuples of 3 ints.

    >>> import torch
    >>> Conv3DTranspose(2, 2, strides=2)(torch.ones(1, 2, 2, 2, 1)).shape
    torch.Size([1, 4, 4, 4, 2])
    """

    rank = 3
