"""Normalization layers: Layer/Group/Unit/RMS normalization here, BatchNormalization and
SpectralNormalization beside them.

Each follows Keras 3's formulas and defaults (``epsilon=1e-3`` for layer and group
normalization, ``1e-6`` for RMS), computes half-precision inputs in float32, and
calls the fused torch kernel (``F.layer_norm``, ``F.group_norm``, ``F.rms_norm``)
when the normalized axes allow it.

>>> import torch
>>> from lamina import layers
>>> out = layers.LayerNormalization()(torch.tensor([[1.0, 3.0]]))
>>> [round(v, 4) for v in out[0].tolist()]
[-0.9995, 0.9995]
"""

import torch
import torch.nn.functional as F

from lamina import constraints, initializers, regularizers
from lamina.engine.input_spec import InputSpec
from lamina.engine.layer import Layer
from lamina.layers.batch_normalization import BatchNormalization
from lamina.layers.conv_base import serialize
from lamina.layers.spectral_normalization import SpectralNormalization

__all__ = ["BatchNormalization", "LayerNormalization", "GroupNormalization", "UnitNormalization",
           "RMSNormalization", "SpectralNormalization"]

_HALF = (torch.float16, torch.bfloat16)


def _axis_argument(axis, layer):
    if isinstance(axis, (list, tuple)) and all(isinstance(a, int) for a in axis):
        return list(axis)
    if isinstance(axis, int) and not isinstance(axis, bool):
        return axis
    raise TypeError(f"The `axis` argument of {layer} must be an int or a list/tuple of ints. Received: axis={axis!r}")


def _param_shape(layer, input_shape):
    """Builds ``layer.axis`` into a list (as Keras does) and returns the weight shape it spans."""
    ndim = len(input_shape)
    axes = layer.axis if isinstance(layer.axis, list) else [layer.axis]
    for axis in axes:
        if not -ndim <= axis < ndim:
            raise ValueError(
                f'Layer "{layer.name}" ({type(layer).__name__}): axis {axis} is out of bounds for inputs of rank '
                f"{ndim}. Received: axis={layer.axis}, input_shape={tuple(input_shape)}"
            )
    shape = tuple(input_shape[a] for a in axes)
    if any(d is None for d in shape):
        raise ValueError(
            f'Layer "{layer.name}" ({type(layer).__name__}) needs known sizes along axis {layer.axis}. '
            f"Received: input_shape={tuple(input_shape)}"
        )
    layer.axis = axes
    return shape


def _check_axes_in_shape(layer, input_shape):
    axes = layer.axis if isinstance(layer.axis, list) else [layer.axis]
    for axis in axes:
        if not -len(input_shape) <= axis < len(input_shape):
            raise ValueError(
                f"Axis {axis} is out of bounds for input shape {tuple(input_shape)}. Received: axis={layer.axis}"
            )
    return tuple(input_shape)


def _layout(x, axis):
    """``(sorted axes, trailing?, broadcast shape)`` of the normalized ``axis`` list for ``x``."""
    ndim = x.dim()
    axes = sorted(a % ndim for a in axis)
    broadcast = [1] * ndim
    for a in axes:
        broadcast[a] = x.shape[a]
    return axes, axes == list(range(ndim - len(axes), ndim)), broadcast


def _weight_kwargs(layer, which):
    return {"initializer": getattr(layer, f"{which}_initializer"), "name": which, "autocast": False,
            "regularizer": getattr(layer, f"{which}_regularizer"), "constraint": getattr(layer, f"{which}_constraint")}


class _AffineNormalization(Layer):
    """Stores the ``center``/``scale`` arguments and their ``gamma``/``beta`` weights."""

    supports_masking = True

    def __init__(self, epsilon, center, scale, beta_initializer, gamma_initializer, beta_regularizer,
                 gamma_regularizer, beta_constraint, gamma_constraint, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = float(epsilon)
        self.center = bool(center)
        self.scale = bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.gamma = None
        self.beta = None

    def _affine_config(self):
        return {
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "beta_initializer": serialize(initializers, self.beta_initializer),
            "gamma_initializer": serialize(initializers, self.gamma_initializer),
            "beta_regularizer": serialize(regularizers, self.beta_regularizer),
            "gamma_regularizer": serialize(regularizers, self.gamma_regularizer),
            "beta_constraint": serialize(constraints, self.beta_constraint),
            "gamma_constraint": serialize(constraints, self.gamma_constraint),
        }

    def _params(self, dtype):
        gamma = self.gamma.value.to(dtype) if self.gamma is not None else None
        beta = self.beta.value.to(dtype) if self.beta is not None else None
        return gamma, beta

    def compute_output_shape(self, input_shape):
        return _check_axes_in_shape(self, input_shape)


class LayerNormalization(_AffineNormalization):
    """Normalizes each sample over ``axis``: ``(x - mean) / sqrt(var + epsilon) * gamma + beta``.

    Args:
        axis: int or list of ints, the axes to normalize (weights span them).
        epsilon: added to the variance (``1e-3``).
        center, scale: whether to add ``beta`` / multiply by ``gamma``.
        rms_scaling: ignore ``center``/``scale`` and compute ``x * rsqrt(var + epsilon) * gamma``
            (Keras 3's formula: the *variance*, not the mean square).
        beta_initializer, gamma_initializer, beta_regularizer, gamma_regularizer,
            beta_constraint, gamma_constraint: for the weights.

    >>> import torch
    >>> layer = LayerNormalization(axis=[1, 2])
    >>> layer(torch.randn(2, 3, 4)).shape, layer.gamma.shape
    (torch.Size([2, 3, 4]), (3, 4))
    """

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True, rms_scaling=False, beta_initializer="zeros",
                 gamma_initializer="ones", beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, **kwargs):
        super().__init__(epsilon, center, scale, beta_initializer, gamma_initializer, beta_regularizer,
                         gamma_regularizer, beta_constraint, gamma_constraint, **kwargs)
        self.axis = _axis_argument(axis, "LayerNormalization")
        self.rms_scaling = bool(rms_scaling)

    def build(self, input_shape):
        shape = _param_shape(self, input_shape)
        if self.scale or self.rms_scaling:
            self.gamma = self.add_weight(shape=shape, **_weight_kwargs(self, "gamma"))
        if self.center and not self.rms_scaling:
            self.beta = self.add_weight(shape=shape, **_weight_kwargs(self, "beta"))

    def call(self, inputs):
        x = inputs.float() if inputs.dtype in _HALF else inputs
        axes, trailing, broadcast = _layout(x, self.axis)
        gamma, beta = self._params(x.dtype)
        if self.rms_scaling:
            variance = torch.var(x, dim=axes, correction=0, keepdim=True)
            out = x * torch.rsqrt(variance + self.epsilon)
            out = out * gamma.reshape(broadcast) if gamma is not None else out
        elif trailing:
            normalized = tuple(broadcast[a] for a in axes)
            out = F.layer_norm(x, normalized, gamma.reshape(normalized) if gamma is not None else None,
                               beta.reshape(normalized) if beta is not None else None, self.epsilon)
        else:
            variance, mean = torch.var_mean(x, dim=axes, correction=0, keepdim=True)
            inv = torch.rsqrt(variance + self.epsilon)
            if gamma is not None:
                inv = inv * gamma.reshape(broadcast)
            shift = -mean * inv
            if beta is not None:
                shift = shift + beta.reshape(broadcast)
            out = x * inv + shift
        return out.to(inputs.dtype) if out.dtype != inputs.dtype else out

    def __repr__(self):
        return f"<LayerNormalization name={self.name}, axis={self.axis}, built={self.built}>"

    def get_config(self):
        config = self._affine_config()
        config["rms_scaling"] = self.rms_scaling
        order = ("epsilon", "center", "scale", "rms_scaling")
        return {**super().get_config(), "axis": self.axis, **{k: config[k] for k in order},
                **{k: v for k, v in config.items() if k not in order}}


class GroupNormalization(_AffineNormalization):
    """Normalizes groups of channels of each sample (over the group's channels and all spatial axes).

    Channels ``[g * C / groups, (g + 1) * C / groups)`` form group ``g``; ``groups=-1`` puts
    each channel in its own group (instance normalization), ``groups=1`` gives layer
    normalization over all non-batch axes.

    Args:
        groups: number of groups (default 32); must divide the number of channels.
        axis: the channels axis (``-1``).
        epsilon, center, scale, beta_*, gamma_*: as in `LayerNormalization`.

    >>> import torch
    >>> GroupNormalization(groups=2)(torch.randn(2, 5, 5, 4)).shape
    torch.Size([2, 5, 5, 4])
    """

    def __init__(self, groups=32, axis=-1, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, **kwargs):
        super().__init__(epsilon, center, scale, beta_initializer, gamma_initializer, beta_regularizer,
                         gamma_regularizer, beta_constraint, gamma_constraint, **kwargs)
        if not isinstance(groups, int) or isinstance(groups, bool) or (groups <= 0 and groups != -1):
            raise ValueError(
                f"The `groups` argument of GroupNormalization must be a positive int or -1. Received: groups={groups!r}"
            )
        if not isinstance(axis, int) or isinstance(axis, bool):
            raise TypeError(f"The `axis` argument of GroupNormalization must be an int. Received: axis={axis!r}")
        self.groups = groups
        self.axis = axis

    def build(self, input_shape):
        ndim = len(input_shape)
        if not -ndim <= self.axis < ndim:
            raise ValueError(
                f'Layer "{self.name}" (GroupNormalization): axis {self.axis} is out of bounds for inputs of rank '
                f"{ndim}. Received: axis={self.axis}, input_shape={tuple(input_shape)}"
            )
        channels = input_shape[self.axis]
        if channels is None:
            raise ValueError(
                f'Layer "{self.name}" (GroupNormalization): axis {self.axis} of the input should have a defined '
                f"dimension. Received: input_shape={tuple(input_shape)}"
            )
        if self.groups == -1:
            self.groups = channels
        if channels < self.groups:
            raise ValueError(
                f'Layer "{self.name}" (GroupNormalization): the number of groups ({self.groups}) cannot be more '
                f"than the number of channels ({channels}). Received: groups={self.groups}, "
                f"input_shape={tuple(input_shape)}"
            )
        if channels % self.groups:
            raise ValueError(
                f'Layer "{self.name}" (GroupNormalization): the number of channels ({channels}) must be a multiple '
                f"of the number of groups ({self.groups}). Received: groups={self.groups}, "
                f"input_shape={tuple(input_shape)}"
            )
        self.input_spec = InputSpec(ndim=ndim, axes={self.axis: channels})
        if self.scale:
            self.gamma = self.add_weight(shape=(channels,), **_weight_kwargs(self, "gamma"))
        if self.center:
            self.beta = self.add_weight(shape=(channels,), **_weight_kwargs(self, "beta"))

    def call(self, inputs):
        x = inputs.float() if inputs.dtype in _HALF else inputs
        gamma, beta = self._params(x.dtype)
        axis = self.axis % x.dim()
        if axis == 1:  # torch's layout; contiguous because its channels-last backward can crash (torch 2.13)
            out = F.group_norm(x.contiguous(), self.groups, gamma, beta, self.epsilon)
        else:  # split the channels axis into (groups, channels // groups): a view, no transpose
            shape = x.shape
            grouped = x.reshape(*shape[:axis], self.groups, shape[axis] // self.groups, *shape[axis + 1:])
            dims = [d for d in range(1, grouped.dim()) if d != axis]
            variance, mean = torch.var_mean(grouped, dim=dims, correction=0, keepdim=True)
            out = ((grouped - mean) * torch.rsqrt(variance + self.epsilon)).reshape(shape)
            broadcast = [1] * x.dim()
            broadcast[axis] = shape[axis]
            if gamma is not None:
                out = out * gamma.view(broadcast)
            if beta is not None:
                out = out + beta.view(broadcast)
        return out.to(inputs.dtype) if out.dtype != inputs.dtype else out

    def __repr__(self):
        return f"<GroupNormalization name={self.name}, groups={self.groups}, built={self.built}>"

    def get_config(self):
        return {**super().get_config(), "groups": self.groups, "axis": self.axis, **self._affine_config()}


class UnitNormalization(Layer):
    """Scales each sample to unit L2 norm over ``axis``: ``x / sqrt(max(sum(x ** 2), 1e-12))``.

    >>> import torch
    >>> UnitNormalization()(torch.tensor([[3.0, 4.0]])).tolist()
    [[0.6000000238418579, 0.800000011920929]]
    """

    supports_masking = True

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = _axis_argument(axis, "UnitNormalization")

    def call(self, inputs):
        if not inputs.is_floating_point():
            inputs = inputs.to(self._dtype_policy.torch_compute_dtype)
        square_sum = torch.sum(torch.square(inputs), dim=self.axis, keepdim=True)
        return inputs * torch.rsqrt(torch.clamp(square_sum, min=1e-12))

    def compute_output_shape(self, input_shape):
        return _check_axes_in_shape(self, input_shape)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


class RMSNormalization(Layer):
    """Root-mean-square normalization: ``x * rsqrt(mean(x ** 2, axis) + epsilon) * scale``.

    Args:
        axis: int or list of ints, the axes to normalize (the ``scale`` weight spans them).
        epsilon: added to the mean square (``1e-6``).

    >>> import torch
    >>> layer = RMSNormalization()
    >>> [round(v, 4) for v in layer(torch.tensor([[1.0, 7.0]]))[0].tolist()]
    [0.2, 1.4]
    >>> layer.scale.shape
    (2,)
    """

    def __init__(self, axis=-1, epsilon=1e-6, **kwargs):
        super().__init__(**kwargs)
        self.axis = _axis_argument(axis, "RMSNormalization")
        self.epsilon = float(epsilon)
        self.scale = None

    def build(self, input_shape):
        if isinstance(self.axis, list):
            self.axis = sorted(self.axis)
        shape = _param_shape(self, input_shape)
        self.scale = self.add_weight(shape=shape, initializer="ones", name="scale")

    def call(self, inputs):
        x = inputs.float() if inputs.dtype in _HALF else inputs
        axes, trailing, broadcast = _layout(x, self.axis)
        scale = self.scale.value.to(x.dtype)
        if trailing:
            normalized = tuple(broadcast[a] for a in axes)
            out = F.rms_norm(x, normalized, scale.reshape(normalized), self.epsilon)
        else:
            out = x * torch.rsqrt(torch.mean(torch.square(x), dim=axes, keepdim=True) + self.epsilon)
            out = out * scale.reshape(broadcast)
        return out.to(inputs.dtype) if out.dtype != inputs.dtype else out

    def compute_output_shape(self, input_shape):
        return _check_axes_in_shape(self, input_shape)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon}
