"""Depthwise and separable convolutions: DepthwiseConv1D/2D, SeparableConv1D/2D.

A depthwise convolution filters each input channel on its own with
``depth_multiplier`` kernels (``depthwise_kernel`` ``(*kernel_size, channels,
depth_multiplier)``, output channel ``c * depth_multiplier + m``); a separable one
follows it with a 1x1 convolution (``pointwise_kernel`` ``(*ones, channels *
depth_multiplier, filters)``). Both run as grouped torch convolutions with the
memory layout described in `lamina.layers.conv_base`.

>>> import torch
>>> from lamina import layers
>>> layers.DepthwiseConv2D(3, depth_multiplier=2)(torch.ones(1, 5, 5, 3)).shape
torch.Size([1, 3, 3, 6])
>>> layers.SeparableConv2D(4, 3, padding="same")(torch.ones(1, 5, 5, 3)).shape
torch.Size([1, 5, 5, 4])
"""

from lamina import activations, constraints, initializers, regularizers
from lamina.engine.input_spec import InputSpec
from lamina.engine.layer import Layer
from lamina.layers.conv_base import (
    channel_axis,
    convolve,
    known_channels,
    output_sizes,
    positive,
    serialize,
    set_output_args,
    set_window_args,
)
from lamina.layers.core import drop_tf_keras_extras


class _DepthwiseBase(Layer):
    """Shared arguments, depthwise kernel and output shape of the depthwise and separable layers."""

    rank = None
    _has_pointwise = False

    def _init_common(self, kernel_size, strides, padding, data_format, dilation_rate, depth_multiplier, activation,
                     use_bias, depthwise_initializer, bias_initializer, depthwise_regularizer, bias_regularizer,
                     depthwise_constraint, bias_constraint):
        self.depth_multiplier = positive(depth_multiplier, "depth_multiplier", type(self).__name__)
        set_window_args(self, kernel_size, strides, dilation_rate, padding)
        set_output_args(self, data_format, activation, use_bias, depthwise_initializer, bias_initializer,
                        depthwise_regularizer, bias_regularizer, depthwise_constraint, bias_constraint,
                        kernel="depthwise_kernel")

    def _build_depthwise(self, input_shape):
        channels = known_channels(self, input_shape)
        self.compute_output_shape(input_shape)  # rejects inputs smaller than the kernel
        self.depthwise_kernel = self.add_weight(shape=self.kernel_size + (channels, self.depth_multiplier),
                                                initializer=self.depthwise_initializer,
                                                regularizer=self.depthwise_regularizer,
                                                constraint=self.depthwise_constraint, name="depthwise_kernel")
        self.input_spec = InputSpec(ndim=self.rank + 2, axes={channel_axis(self.data_format): channels})
        return channels

    def _add_bias(self, size):
        if self.use_bias:
            self.bias = self.add_weight(shape=(size,), initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint,
                                        name="bias")

    def _depthwise(self, inputs, bias, activation=None):
        kernel = self.depthwise_kernel.value
        *spatial, channels, multiplier = kernel.shape
        grouped = kernel.reshape(*spatial, 1, channels * multiplier)  # output channel c * multiplier + m
        return convolve(inputs, grouped, bias, self.strides, self.padding, self.dilation_rate, channels,
                        self._channels_last, activation)

    def _output_channels(self, input_shape):
        raise NotImplementedError

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        spatial = input_shape[1:-1] if self._channels_last else input_shape[2:]
        sizes = output_sizes(self, spatial, input_shape)
        channels = self._output_channels(input_shape)
        if self._channels_last:
            return (input_shape[0],) + sizes + (channels,)
        return (input_shape[0], channels) + sizes


class _DepthwiseConv(_DepthwiseBase):
    def __init__(self, kernel_size, strides=1, padding="valid", depth_multiplier=1, data_format=None,
                 dilation_rate=1, activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, depthwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer,
                         **drop_tf_keras_extras(kwargs, type(self).__name__, fixed={"groups": 1}))
        self._init_common(kernel_size, strides, padding, data_format, dilation_rate, depth_multiplier, activation,
                          use_bias, depthwise_initializer, bias_initializer, depthwise_regularizer, bias_regularizer,
                          depthwise_constraint, bias_constraint)

    def build(self, input_shape):
        channels = self._build_depthwise(input_shape)
        self._add_bias(channels * self.depth_multiplier)

    def call(self, inputs):
        return self._depthwise(inputs, self.bias.value if self.bias is not None else None,
                               None if self._linear else self.activation)

    def _output_channels(self, input_shape):
        channels = input_shape[channel_axis(self.data_format)]
        return None if channels is None else channels * self.depth_multiplier

    def __repr__(self):
        return (f"<{type(self).__name__} name={self.name}, kernel_size={self.kernel_size}, "
                f"depth_multiplier={self.depth_multiplier}, built={self.built}>")

    def get_config(self):
        return {
            **super().get_config(),
            "depth_multiplier": self.depth_multiplier,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "data_format": self.data_format,
            "dilation_rate": self.dilation_rate,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "depthwise_initializer": serialize(initializers, self.depthwise_initializer),
            "bias_initializer": serialize(initializers, self.bias_initializer),
            "depthwise_regularizer": serialize(regularizers, self.depthwise_regularizer),
            "bias_regularizer": serialize(regularizers, self.bias_regularizer),
            "activity_regularizer": serialize(regularizers, self.activity_regularizer),
            "depthwise_constraint": serialize(constraints, self.depthwise_constraint),
            "bias_constraint": serialize(constraints, self.bias_constraint),
        }


class _SeparableConv(_DepthwiseBase):
    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 depth_multiplier=1, activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 pointwise_initializer="glorot_uniform", bias_initializer="zeros", depthwise_regularizer=None,
                 pointwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, pointwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer,
                         **drop_tf_keras_extras(kwargs, type(self).__name__, fixed={"groups": 1}, ignored=(
                             "kernel_initializer", "kernel_regularizer", "kernel_constraint")))
        self.filters = positive(filters, "filters", type(self).__name__)
        self._init_common(kernel_size, strides, padding, data_format, dilation_rate, depth_multiplier, activation,
                          use_bias, depthwise_initializer, bias_initializer, depthwise_regularizer, bias_regularizer,
                          depthwise_constraint, bias_constraint)
        self.pointwise_initializer = initializers.get(pointwise_initializer)
        self.pointwise_regularizer = regularizers.get(pointwise_regularizer)
        self.pointwise_constraint = constraints.get(pointwise_constraint)
        self.pointwise_kernel = None

    def build(self, input_shape):
        channels = self._build_depthwise(input_shape)
        self.pointwise_kernel = self.add_weight(shape=(1,) * self.rank + (channels * self.depth_multiplier,
                                                                          self.filters),
                                                initializer=self.pointwise_initializer,
                                                regularizer=self.pointwise_regularizer,
                                                constraint=self.pointwise_constraint, name="pointwise_kernel")
        self._add_bias(self.filters)

    def call(self, inputs):
        depthwise = self._depthwise(inputs, None)
        return convolve(depthwise, self.pointwise_kernel.value, self.bias.value if self.bias is not None else None,
                        (1,) * self.rank, "valid", (1,) * self.rank, 1, self._channels_last,
                        None if self._linear else self.activation)

    def _output_channels(self, input_shape):
        return self.filters

    def __repr__(self):
        return (f"<{type(self).__name__} name={self.name}, filters={self.filters}, "
                f"kernel_size={self.kernel_size}, built={self.built}>")

    def get_config(self):
        return {
            **super().get_config(),
            "depth_multiplier": self.depth_multiplier,
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "data_format": self.data_format,
            "dilation_rate": self.dilation_rate,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "depthwise_initializer": serialize(initializers, self.depthwise_initializer),
            "pointwise_initializer": serialize(initializers, self.pointwise_initializer),
            "bias_initializer": serialize(initializers, self.bias_initializer),
            "depthwise_regularizer": serialize(regularizers, self.depthwise_regularizer),
            "pointwise_regularizer": serialize(regularizers, self.pointwise_regularizer),
            "bias_regularizer": serialize(regularizers, self.bias_regularizer),
            "activity_regularizer": serialize(regularizers, self.activity_regularizer),
            "depthwise_constraint": serialize(constraints, self.depthwise_constraint),
            "pointwise_constraint": serialize(constraints, self.pointwise_constraint),
            "bias_constraint": serialize(constraints, self.bias_constraint),
        }


class DepthwiseConv1D(_DepthwiseConv):
    """1-D depthwise convolution: each channel filtered by its own ``depth_multiplier`` kernels.

    Args are those of `DepthwiseConv2D`, with tuples of 1 int.

    >>> import torch
    >>> DepthwiseConv1D(3)(torch.ones(2, 8, 4)).shape
    torch.Size([2, 6, 4])
    """

    rank = 1


class DepthwiseConv2D(_DepthwiseConv):
    """2-D depthwise convolution.

    Args:
        kernel_size: int or tuple of 2 ints.
        strides: int or tuple of 2 ints.
        padding: ``'valid'`` or ``'same'``.
        depth_multiplier: output channels per input channel.
        data_format: ``'channels_last'`` (default) or ``'channels_first'``.
        dilation_rate: int or tuple of 2 ints; ``> 1`` excludes ``strides > 1``.
        activation, use_bias: as in `Dense`.
        depthwise_initializer, depthwise_regularizer, depthwise_constraint: for the
            ``depthwise_kernel`` of shape ``(*kernel_size, channels, depth_multiplier)``.
        bias_initializer, bias_regularizer, bias_constraint, activity_regularizer: as in `Dense`.

    Output shape:
        ``(batch, new_rows, new_cols, channels * depth_multiplier)`` (``channels_last``).

    >>> import torch
    >>> layer = DepthwiseConv2D(3, depth_multiplier=2)
    >>> layer(torch.ones(1, 5, 5, 3)).shape, layer.depthwise_kernel.shape
    (torch.Size([1, 3, 3, 6]), (3, 3, 3, 2))
    """

    rank = 2


class SeparableConv1D(_SeparableConv):
    """1-D separable convolution (depthwise, then pointwise). Args are those of `SeparableConv2D`.

    >>> import torch
    >>> SeparableConv1D(4, 3)(torch.ones(2, 8, 3)).shape
    torch.Size([2, 6, 4])
    """

    rank = 1


class SeparableConv2D(_SeparableConv):
    """2-D separable convolution: a depthwise convolution, then a 1x1 convolution to ``filters``.

    Args:
        filters: number of output channels.
        kernel_size, strides, padding, data_format, dilation_rate, depth_multiplier: as in
            `DepthwiseConv2D`.
        activation, use_bias: as in `Dense`.
        depthwise_initializer, pointwise_initializer, bias_initializer,
        depthwise_regularizer, pointwise_regularizer, bias_regularizer, activity_regularizer,
        depthwise_constraint, pointwise_constraint, bias_constraint: for the
            ``depthwise_kernel``, ``pointwise_kernel`` and ``bias`` weights and the output.

    >>> import torch
    >>> layer = SeparableConv2D(4, 3, depth_multiplier=2)
    >>> layer(torch.ones(1, 5, 5, 3)).shape
    torch.Size([1, 3, 3, 4])
    >>> [w.shape for w in layer.weights]
    [(3, 3, 3, 2), (1, 1, 6, 4), (4,)]
    """

    rank = 2
