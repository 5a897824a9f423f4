"""`BaseConv` and the helpers every convolution layer shares (argument checks, output sizes, the fast conv call).

Weights keep the Keras layout (kernel ``(*kernel_size, in_channels // groups, filters)``);
``call`` hands torch a permuted *view* of the input and a kernel copy in the same
memory format, so a ``channels_last`` layer runs torch's channels-last kernels
without copying the input. Measured on the 2-core CPU (``bench/bench_conv.py``):
a (128, 28, 28, 1) -> 32x3x3 Conv2D takes 16 ms forward+backward this way, 33 ms
when the kernel is left as a strided view (torch then falls back to NCHW), the
same as raw torch in channels_last memory format. The kernel copy is made on each
call (it is a few KB and tracked by autograd), never cached, so it never goes stale
when an optimizer updates the weights.

>>> import torch
>>> from lamina.layers.conv_base import conv_output_length
>>> conv_output_length(7, 3, 1, 1, "valid"), conv_output_length(7, 3, 2, 1, "same")
(5, 4)
"""

import torch
import torch.nn.functional as F

from lamina import activations, constraints, initializers, regularizers
from lamina.backend.config import standardize_data_format
from lamina.engine.call_context import CONTEXT
from lamina.engine.input_spec import InputSpec
from lamina.engine.layer import Layer
from lamina.layers.core import drop_unsupported

_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
MEMORY_FORMAT = {2: torch.channels_last, 3: torch.channels_last_3d}


def standardize_tuple(value, n, name, layer, allow_zero=False):
    """``value`` (an int or ``n`` ints) as a tuple of ``n`` positive (or non-negative) ints."""
    values = (value,) * n if isinstance(value, int) and not isinstance(value, bool) else value
    low = 0 if allow_zero else 1
    if isinstance(values, (list, tuple)) and len(values) == n and all(
        isinstance(v, int) and not isinstance(v, bool) and v >= low for v in values
    ):
        return tuple(int(v) for v in values)
    kind = "non-negative" if allow_zero else "positive"
    raise ValueError(
        f"The `{name}` argument of {layer} must be an int or a tuple of {n} {kind} ints. Received: {name}={value!r}"
    )


def standardize_padding(padding, layer, allow_causal=False):
    """``'valid'``/``'same'`` (or ``'causal'``), lower-cased, as Keras accepts them."""
    allowed = ("valid", "same", "causal") if allow_causal else ("valid", "same")
    value = padding.lower() if isinstance(padding, str) else padding
    if value not in allowed:
        raise ValueError(
            f"The `padding` argument of {layer} must be one of {allowed}. Received: padding={padding!r}"
        )
    return value


def positive(value, name, layer):
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(
            f"Invalid value for argument `{name}` of {layer}. Expected a strictly positive integer. "
            f"Received: {name}={value!r}"
        )
    return value


def check_strides_and_dilation(strides, dilation_rate, layer):
    if max(strides) > 1 and max(dilation_rate) > 1:
        raise ValueError(
            f"{layer}: `strides > 1` not supported in conjunction with `dilation_rate > 1`. "
            f"Received: strides={strides} and dilation_rate={dilation_rate}"
        )


def set_window_args(layer, kernel_size, strides, dilation_rate, padding, allow_causal=False):
    """Checks and sets a conv layer's ``kernel_size``, ``strides``, ``dilation_rate`` and ``padding``."""
    name, rank = type(layer).__name__, layer.rank
    layer.kernel_size = standardize_tuple(kernel_size, rank, "kernel_size", name)
    layer.strides = standardize_tuple(strides, rank, "strides", name)
    layer.dilation_rate = standardize_tuple(dilation_rate, rank, "dilation_rate", name)
    check_strides_and_dilation(layer.strides, layer.dilation_rate, name)
    layer.padding = standardize_padding(padding, name, allow_causal=allow_causal)


def set_output_args(layer, data_format, activation, use_bias, kernel_initializer, bias_initializer,
                    kernel_regularizer, bias_regularizer, kernel_constraint, bias_constraint, kernel="kernel"):
    """Checks and sets a conv layer's data format, activation, bias flag and the options of its weights.

    The options of the main weight are set as ``<kernel>_initializer`` etc. (``kernel="depthwise_kernel"``
    gives ``depthwise_initializer``); the weights themselves (``<kernel>``, ``bias``) start as ``None``.
    """
    prefix = kernel.removesuffix("_kernel")
    layer.data_format = standardize_data_format(data_format)
    layer.activation = activations.get(activation)
    layer._linear = layer.activation is activations.linear
    layer.use_bias = bool(use_bias)
    setattr(layer, f"{prefix}_initializer", initializers.get(kernel_initializer))
    layer.bias_initializer = initializers.get(bias_initializer)
    setattr(layer, f"{prefix}_regularizer", regularizers.get(kernel_regularizer))
    layer.bias_regularizer = regularizers.get(bias_regularizer)
    setattr(layer, f"{prefix}_constraint", constraints.get(kernel_constraint))
    layer.bias_constraint = constraints.get(bias_constraint)
    layer.input_spec = InputSpec(ndim=layer.rank + 2)
    layer._channels_last = layer.data_format == "channels_last"
    setattr(layer, kernel, None)
    layer.bias = None


def known_channels(layer, input_shape):
    """The channel dimension of ``input_shape``; raises unless it is known and the rank is the layer's."""
    channels = input_shape[channel_axis(layer.data_format)]
    if channels is None or len(input_shape) != layer.rank + 2:
        raise ValueError(
            f'Layer "{layer.name}" ({type(layer).__name__}) expects inputs of rank {layer.rank + 2} with a known '
            f"channel dimension (data_format={layer.data_format!r}). Received: input_shape={tuple(input_shape)}"
        )
    return channels


def output_sizes(layer, spatial, input_shape):
    """The spatial output sizes of a conv layer; raises when the input is smaller than the (dilated) kernel."""
    sizes = tuple(conv_output_length(n, k, s, d, layer.padding)
                  for n, k, s, d in zip(spatial, layer.kernel_size, layer.strides, layer.dilation_rate))
    if any(n is not None and n <= 0 for n in sizes):
        raise ValueError(
            f'Layer "{layer.name}" ({type(layer).__name__}): computed output size would be negative or zero: '
            f"the input is smaller than the (dilated) kernel. Received: input_shape={input_shape}, "
            f"kernel_size={layer.kernel_size}, dilation_rate={layer.dilation_rate}"
        )
    return sizes


def conv_output_length(size, kernel, stride, dilation, padding):
    """Output length of a convolution along one axis (``None`` stays ``None``)."""
    if size is None:
        return None
    if padding in ("same", "causal"):
        return -(-size // stride)
    return (size - ((kernel - 1) * dilation + 1)) // stride + 1


def same_pads(size, kernel, stride, dilation):
    """TensorFlow's ``'same'`` padding ``(before, after)``: the odd extra pixel goes after."""
    effective = (kernel - 1) * dilation + 1
    total = max((-(-size // stride) - 1) * stride + effective - size, 0)
    return total // 2, total - total // 2


def channel_axis(data_format):
    return -1 if data_format == "channels_last" else 1


def convolve(inputs, kernel, bias, strides, padding, dilation, groups, channels_last, activation=None):
    """N-D convolution of ``inputs`` (in the layer's data format) with a Keras-layout ``kernel``.

    ``activation`` (``None`` for none) is applied to torch's fresh output, in place where it can be
    (see `activations.apply_to_fresh`), before the view back to the layer's data format.

    Symmetric padding goes to torch's conv; only the asymmetric remainder of TF ``'same'``
    padding (even kernels, strides) and ``'causal'`` padding are materialized with ``F.pad``.
    """
    rank = kernel.dim() - 2
    x = inputs.movedim(-1, 1) if channels_last else inputs
    weight = kernel.permute(rank + 1, rank, *range(rank))
    if channels_last and rank > 1:
        weight = weight.contiguous(memory_format=MEMORY_FORMAT[rank])
    if x.dtype != weight.dtype:
        if x.is_floating_point():  # mixed precision: compute in the input's (compute) dtype
            weight = weight.to(x.dtype)
            bias = bias.to(x.dtype) if bias is not None else None
        else:
            x = x.to(weight.dtype)
    symmetric = 0
    if padding == "same":
        pads = [same_pads(n, k, s, d) for n, k, s, d in zip(x.shape[2:], kernel.shape[:rank], strides, dilation)]
        symmetric = [before for before, _ in pads]
        extra = [p for before, after in reversed(pads) for p in (0, after - before)]
        if any(extra):
            x = F.pad(x, extra)
    elif padding == "causal":
        x = F.pad(x, ((kernel.shape[0] - 1) * dilation[0], 0))
    out = _CONV[rank](x, weight, bias, strides, symmetric, dilation, groups)
    if activation is not None:
        out = activations.apply_to_fresh(activation, out)
    return out.movedim(1, -1) if channels_last else out


class BaseConv(Layer):
    """N-D convolution: ``activation(conv(inputs, kernel) + bias)``; subclasses fix ``rank``.

    Args are those of `Conv2D` (see there).
    """

    rank = None

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 groups=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None, **kwargs):
        layer = type(self).__name__
        super().__init__(activity_regularizer=activity_regularizer,
                         **drop_unsupported(kwargs, layer, ("lora_rank", "lora_alpha", "dora_rank", "dora_alpha")))
        self.filters = positive(filters, "filters", layer)
        self.groups = positive(groups, "groups", layer)
        if self.filters % self.groups:
            raise ValueError(
                f"The number of filters of {layer} must be evenly divisible by the number of groups. "
                f"Received: groups={groups}, filters={filters}"
            )
        set_window_args(self, kernel_size, strides, dilation_rate, padding, allow_causal=self.rank == 1)
        set_output_args(self, data_format, activation, use_bias, kernel_initializer, bias_initializer,
                        kernel_regularizer, bias_regularizer, kernel_constraint, bias_constraint)

    def _input_channels(self, input_shape):
        channels = input_shape[channel_axis(self.data_format)]
        if channels is None:
            raise ValueError(
                f'Layer "{self.name}" ({type(self).__name__}) needs a known channel dimension to create its '
                f"kernel (data_format={self.data_format!r}). Received: input_shape={tuple(input_shape)}"
            )
        return channels

    def build(self, input_shape):
        channels = self._input_channels(input_shape)
        if channels % self.groups:
            raise ValueError(
                f'Layer "{self.name}" ({type(self).__name__}): the number of input channels must be evenly '
                f"divisible by the number of groups. Received: groups={self.groups}, input channels={channels} "
                f"(input_shape={tuple(input_shape)})"
            )
        self.compute_output_shape(input_shape)  # rejects inputs smaller than the kernel
        self.kernel = self.add_weight(shape=self.kernel_size + (channels // self.groups, self.filters),
                                      initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint, name="kernel")
        if self.use_bias:
            self.bias = self.add_weight(shape=(self.filters,), initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint,
                                        name="bias")
        self.input_spec = InputSpec(ndim=self.rank + 2, axes={channel_axis(self.data_format): channels})

    def call(self, inputs):
        linear = self._linear or CONTEXT.deferred_relu is self  # see `functional.relu_after_max_pool`
        return convolve(inputs, self.kernel.value, self.bias.value if self.bias is not None else None,
                        self.strides, self.padding, self.dilation_rate, self.groups, self._channels_last,
                        None if linear else self.activation)

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        spatial = input_shape[1:-1] if self._channels_last else input_shape[2:]
        if len(spatial) != self.rank:
            raise ValueError(
                f'Layer "{self.name}" ({type(self).__name__}) expects inputs of rank {self.rank + 2}. '
                f"Received: input_shape={input_shape}"
            )
        sizes = output_sizes(self, spatial, input_shape)
        if self._channels_last:
            return (input_shape[0],) + sizes + (self.filters,)
        return (input_shape[0], self.filters) + sizes

    def __repr__(self):
        return (f"<{type(self).__name__} name={self.name}, filters={self.filters}, "
                f"kernel_size={self.kernel_size}, built={self.built}>")

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "data_format": self.data_format,
            "dilation_rate": self.dilation_rate,
            "groups": self.groups,
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


def serialize(module, obj):
    return None if obj is None else module.serialize(obj)
