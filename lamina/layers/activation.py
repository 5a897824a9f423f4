"""Activation layers: ReLU, LeakyReLU, PReLU, ELU, Softmax.

Each is a thin layer over the function of the same name in `lamina.activations`
(or ``torch.nn.functional``), with Keras 3 arguments and defaults.

>>> import torch
>>> from lamina import layers
>>> layers.ReLU(max_value=1.0)(torch.tensor([-1.0, 0.5, 3.0])).tolist()
[0.0, 0.5, 1.0]
>>> layers.LeakyReLU()(torch.tensor([-1.0, 2.0])).tolist()
[-0.30000001192092896, 2.0]
"""

import torch
import torch.nn.functional as F

from lamina import activations, constraints, initializers, regularizers
from lamina.engine.input_spec import InputSpec
from lamina.engine.layer import Layer


def _non_negative(value, name, layer, allow_none=False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ValueError(
            f"The `{name}` of a {layer} layer cannot be {'None or ' if not allow_none else ''}a negative value. "
            f"Expected a non-negative float. Received: {name}={value!r}"
        )
    return value


class _Elementwise(Layer):
    supports_masking = True

    def compute_output_shape(self, input_shape):
        return input_shape


class ReLU(_Elementwise):
    """Rectified linear unit: ``min(max_value, x)`` above ``threshold``, ``negative_slope * (x - threshold)`` below.

    Args:
        max_value: saturation value, or ``None`` for none.
        negative_slope: slope below ``threshold``.
        threshold: the threshold below which values are damped.

    >>> import torch
    >>> ReLU(negative_slope=0.5, threshold=1.0)(torch.tensor([0.0, 2.0])).tolist()
    [-0.5, 2.0]
    """

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        self.max_value = _non_negative(max_value, "max_value", "ReLU", allow_none=True)
        self.negative_slope = _non_negative(negative_slope, "negative_slope", "ReLU")
        self.threshold = _non_negative(threshold, "threshold", "ReLU")
        self._plain = max_value is None and negative_slope == 0 and threshold == 0

    def call(self, inputs):
        if self._plain:
            return torch.relu(inputs)
        return activations.relu(inputs, negative_slope=self.negative_slope, max_value=self.max_value,
                                threshold=self.threshold)

    def get_config(self):
        return {**super().get_config(), "max_value": self.max_value, "negative_slope": self.negative_slope,
                "threshold": self.threshold}


class LeakyReLU(_Elementwise):
    """``x`` for ``x >= 0``, ``negative_slope * x`` otherwise (``negative_slope=0.3`` as Keras).

    The Keras 2 name of the argument, ``alpha``, is accepted too.
    """

    def __init__(self, negative_slope=0.3, **kwargs):
        if "alpha" in kwargs:
            negative_slope = kwargs.pop("alpha")
        super().__init__(**kwargs)
        self.negative_slope = _non_negative(negative_slope, "negative_slope", "Leaky ReLU")

    def call(self, inputs):
        return F.leaky_relu(inputs, self.negative_slope)

    def get_config(self):
        return {**super().get_config(), "negative_slope": self.negative_slope}


class PReLU(_Elementwise):
    """Parametric ReLU: ``x`` for ``x >= 0``, ``alpha * x`` otherwise, with ``alpha`` learned.

    Args:
        alpha_initializer, alpha_regularizer, alpha_constraint: for the ``alpha`` weight,
            shaped like the input without its batch axis.
        shared_axes: axes (1-indexed from the batch axis) along which ``alpha`` is shared,
            e.g. ``[1, 2]`` for one ``alpha`` per channel of ``(batch, h, w, channels)``.

    >>> import torch
    >>> layer = PReLU(alpha_initializer="ones", shared_axes=[1])
    >>> layer(torch.zeros(2, 5, 3)).shape, layer.weights[0].shape
    (torch.Size([2, 5, 3]), (1, 3))
    """

    def __init__(self, alpha_initializer="Zeros", alpha_regularizer=None, alpha_constraint=None, shared_axes=None,
                 **kwargs):
        super().__init__(**kwargs)
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        self.alpha_constraint = constraints.get(alpha_constraint)
        if shared_axes is None:
            self.shared_axes = None
        elif isinstance(shared_axes, (list, tuple)):
            self.shared_axes = list(shared_axes)
        else:
            self.shared_axes = [shared_axes]
        self.alpha = None

    def build(self, input_shape):
        shape = list(input_shape[1:])
        for axis in self.shared_axes or ():
            if not 1 <= axis < len(input_shape):
                raise ValueError(
                    f'Layer "{self.name}" (PReLU): shared axis {axis} is outside the non-batch axes of the input. '
                    f"Received: shared_axes={self.shared_axes}, input_shape={tuple(input_shape)}"
                )
            shape[axis - 1] = 1
        if any(d is None for d in shape):
            raise ValueError(
                f'Layer "{self.name}" (PReLU) needs known sizes for the axes of `alpha` (share the unknown ones '
                f"with `shared_axes`). Received: input_shape={tuple(input_shape)}"
            )
        self.alpha = self.add_weight(shape=tuple(shape), initializer=self.alpha_initializer,
                                     regularizer=self.alpha_regularizer, constraint=self.alpha_constraint,
                                     name="alpha")
        axes = {i: input_shape[i] for i in range(1, len(input_shape)) if i not in (self.shared_axes or ())}
        self.input_spec = InputSpec(ndim=len(input_shape), axes=axes)

    def call(self, inputs):
        alpha = self.alpha.value
        if alpha.dtype != inputs.dtype:
            alpha = alpha.to(inputs.dtype)
        return torch.where(inputs >= 0, inputs, alpha * inputs)

    def get_config(self):
        return {
            **super().get_config(),
            "alpha_initializer": initializers.serialize(self.alpha_initializer),
            "alpha_regularizer": None if self.alpha_regularizer is None else regularizers.serialize(
                self.alpha_regularizer),
            "alpha_constraint": None if self.alpha_constraint is None else constraints.serialize(
                self.alpha_constraint),
            "shared_axes": self.shared_axes,
        }


class ELU(_Elementwise):
    """Exponential linear unit: ``x`` for ``x > 0``, ``alpha * (exp(x) - 1)`` otherwise.

    >>> import torch
    >>> round(ELU()(torch.tensor([-1.0])).item(), 4)
    -0.6321
    """

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha = alpha

    def call(self, inputs):
        return F.elu(inputs, self.alpha)

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


def _large_negative(dtype):
    """The value masked logits take (Keras: -3e4 in float16, -1e9 otherwise)."""
    return -3e4 if dtype == torch.float16 else -1e9


class Softmax(_Elementwise):
    """Softmax over ``axis`` (an int or a tuple of ints); masked positions get probability 0.

    Args:
        axis: the axis (or axes) to normalize over.

    Call arguments:
        mask: boolean (or 0/1) tensor broadcastable to the input; ``False`` entries are
            excluded from the normalization and output as 0.

    >>> import torch
    >>> Softmax()(torch.zeros(1, 2), mask=torch.tensor([[True, False]])).tolist()
    [[1.0, 0.0]]
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = tuple(axis) if isinstance(axis, list) else axis

    def call(self, inputs, mask=None):
        if mask is not None:
            if mask.dtype != torch.bool:
                mask = mask > 0.5
            inputs = torch.where(mask, inputs, torch.full((), _large_negative(inputs.dtype), dtype=inputs.dtype,
                                                          device=inputs.device))
        if isinstance(self.axis, tuple):
            outputs = torch.exp(inputs - torch.logsumexp(inputs, dim=self.axis, keepdim=True))
        else:
            outputs = torch.softmax(inputs, dim=self.axis)
        if mask is not None:
            outputs = outputs * mask.to(outputs.dtype)
        return outputs

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}
