"""Reshaping layers: Flatten, Reshape, Permute, RepeatVector, Cropping, ZeroPadding, UpSampling.

None of these layers has weights; each is a thin wrapper over one torch view/pad/
interpolate call. Sizes follow Keras: ``data_format`` defaults to
``lamina.config.image_data_format()`` and is stored resolved in the config.

>>> import torch
>>> from lamina import layers
>>> layers.Reshape((3, 2))(torch.zeros(4, 6)).shape
torch.Size([4, 3, 2])
>>> layers.ZeroPadding2D(1)(torch.zeros(1, 2, 2, 3)).shape
torch.Size([1, 4, 4, 3])
"""

import math

import torch.nn.functional as F

from lamina.backend.config import standardize_data_format
from lamina.engine.input_spec import InputSpec
from lamina.engine.layer import Layer


def _int_tuple(value, n, name, layer, allow_zero=True):
    """``value`` (an int or ``n`` ints) as a tuple of ``n`` non-negative (or positive) ints."""
    values = (value,) * n if isinstance(value, int) else tuple(value) if isinstance(value, (list, tuple)) else None
    low = 0 if allow_zero else 1
    if values is None or len(values) != n or not all(isinstance(v, int) and v >= low for v in values):
        kind = "non-negative" if allow_zero else "positive"
        raise ValueError(
            f"The `{name}` argument of {layer} must be an int or a tuple of {n} {kind} ints. "
            f"Received: {name}={value!r}"
        )
    return values


def _pairs(value, n, name, layer):
    """Symmetric (``int`` or ``n`` ints) or explicit (``n`` pairs) amounts, as ``n`` pairs."""
    if isinstance(value, int) or (isinstance(value, (list, tuple)) and all(isinstance(v, int) for v in value)):
        return tuple((v, v) for v in _int_tuple(value, n, name, layer))
    if isinstance(value, (list, tuple)) and len(value) == n:
        return tuple(_int_tuple(v, 2, name, layer) for v in value)
    raise ValueError(
        f"The `{name}` argument of {layer} must be an int, a tuple of {n} ints or a tuple of {n} tuples of "
        f"2 ints. Received: {name}={value!r}"
    )


def _spatial_axes(data_format, rank):
    """Indices of the spatial axes for a ``rank``-D input."""
    return tuple(range(2, rank)) if data_format == "channels_first" else tuple(range(1, rank - 1))


class Flatten(Layer):
    """Flattens every axis but the batch axis: ``(batch, ...) -> (batch, prod(...))``.

    With ``data_format='channels_first'`` the channels axis is moved last first, so
    the flattened order is the channels_last order (as Keras).

    Args:
        data_format: ``'channels_last'`` or ``'channels_first'``.

    >>> import torch
    >>> Flatten()(torch.zeros(2, 3, 4)).shape
    torch.Size([2, 12])
    """

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(data_format)
        self.input_spec = InputSpec(min_ndim=1)

    def call(self, inputs):
        if self.data_format == "channels_first" and inputs.dim() > 2:
            inputs = inputs.movedim(1, -1)
        return inputs.reshape(inputs.shape[0], -1)

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        size = None if any(d is None for d in rest) else math.prod(rest)
        return (input_shape[0], size)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


class Reshape(Layer):
    """Reshapes the non-batch axes to ``target_shape`` (one entry may be ``-1``).

    >>> import torch
    >>> Reshape((-1, 2))(torch.zeros(3, 8)).shape
    torch.Size([3, 4, 2])
    """

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(target_shape, (list, tuple)) or not all(
            isinstance(d, int) and (d > 0 or d == -1) for d in target_shape
        ):
            raise ValueError(
                "The `target_shape` argument of Reshape must be a tuple of positive ints, with at most one -1. "
                f"Received: target_shape={target_shape!r}"
            )
        if list(target_shape).count(-1) > 1:
            raise ValueError(
                "There must be at most one unknown dimension (-1) in target_shape. "
                f"Received: target_shape={tuple(target_shape)}"
            )
        self.target_shape = tuple(target_shape)

    def _resolve(self, input_shape):
        """The non-batch output shape for ``input_shape``; ``None`` where unknown."""
        rest = input_shape[1:]
        if any(d is None for d in rest):
            return tuple(None if d == -1 else d for d in self.target_shape)
        size = math.prod(rest)
        known = math.prod(d for d in self.target_shape if d != -1)
        if -1 in self.target_shape:
            fits = known > 0 and size % known == 0
            resolved = tuple(size // known if d == -1 else d for d in self.target_shape) if fits else None
        else:
            resolved = self.target_shape if known == size else None
        if resolved is None:
            raise ValueError(
                f'Layer "{self.name}" (Reshape) cannot reshape an input with {size} values per sample into '
                "target_shape: the total size of the tensor must be unchanged. "
                f"Received: input_shape={tuple(input_shape)}, target_shape={self.target_shape}"
            )
        return resolved

    def call(self, inputs):
        return inputs.reshape((inputs.shape[0],) + self._resolve(tuple(inputs.shape)))

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + self._resolve(tuple(input_shape))

    def get_config(self):
        return {**super().get_config(), "target_shape": self.target_shape}


class Permute(Layer):
    """Permutes the non-batch axes; ``dims`` is 1-indexed (``(2, 1)`` swaps axes 1 and 2).

    >>> import torch
    >>> Permute((2, 1))(torch.zeros(5, 3, 4)).shape
    torch.Size([5, 4, 3])
    """

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        dims = tuple(dims) if isinstance(dims, (list, tuple)) else dims
        if not isinstance(dims, tuple) or sorted(dims) != list(range(1, len(dims) + 1)):
            raise ValueError(
                "Invalid permutation argument `dims` for Permute Layer. The set of indices in `dims` must be "
                f"consecutive and start from 1. Received: dims={dims!r}"
            )
        self.dims = dims
        self.input_spec = InputSpec(ndim=len(dims) + 1)

    def call(self, inputs):
        return inputs.permute((0,) + self.dims)

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + tuple(input_shape[d] for d in self.dims)

    def get_config(self):
        return {**super().get_config(), "dims": self.dims}


class RepeatVector(Layer):
    """Repeats a ``(batch, features)`` input ``n`` times: ``(batch, n, features)``.

    >>> import torch
    >>> RepeatVector(3)(torch.zeros(2, 4)).shape
    torch.Size([2, 3, 4])
    """

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise TypeError(f"RepeatVector expects a positive integer `n`. Received: n={n!r}")
        self.n = n
        self.input_spec = InputSpec(ndim=2)

    def call(self, inputs):
        return inputs.unsqueeze(1).expand(-1, self.n, -1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.n, input_shape[1])

    def get_config(self):
        return {**super().get_config(), "n": self.n}


class _Cropping(Layer):
    """Removes ``_pairs[i]`` = (before, after) entries from spatial axis ``i``."""

    rank = None

    def __init__(self, cropping, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self._pairs = _pairs(cropping, self.rank, "cropping", type(self).__name__)
        self.cropping = self._pairs
        self.data_format = standardize_data_format(data_format)
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def _cropped(self, input_shape):
        shape = list(input_shape)
        for axis, (before, after) in zip(_spatial_axes(self.data_format, self.rank + 2), self._pairs):
            if shape[axis] is not None:
                if before + after >= shape[axis]:
                    raise ValueError(
                        f'`cropping` of layer "{self.name}" ({type(self).__name__}) must be smaller than the '
                        f"input size along axis {axis}. Received: input_shape={tuple(input_shape)}, "
                        f"cropping={self.cropping}"
                    )
                shape[axis] -= before + after
        return tuple(shape)

    def call(self, inputs):
        shape = self._cropped(tuple(inputs.shape))
        index = [slice(None)] * inputs.dim()
        for axis, (before, _) in zip(_spatial_axes(self.data_format, self.rank + 2), self._pairs):
            index[axis] = slice(before, before + shape[axis])
        return inputs[tuple(index)]

    def compute_output_shape(self, input_shape):
        return self._cropped(input_shape)

    def get_config(self):
        return {**super().get_config(), "cropping": self.cropping, "data_format": self.data_format}


class Cropping1D(_Cropping):
    """Crops the steps axis of ``(batch, steps, features)``: ``cropping`` = int or (before, after).

    >>> import torch
    >>> Cropping1D((1, 2))(torch.zeros(2, 6, 3)).shape
    torch.Size([2, 3, 3])
    """

    rank = 1

    def __init__(self, cropping=(1, 1), **kwargs):
        pair = _int_tuple(cropping, 2, "cropping", "Cropping1D")
        super().__init__((pair,), "channels_last", **kwargs)
        self.cropping = pair

    def get_config(self):
        config = super().get_config()
        del config["data_format"]
        return config


class Cropping2D(_Cropping):
    """Crops height and width: ``cropping`` = int, (h, w) or ((top, bottom), (left, right)).

    >>> import torch
    >>> Cropping2D(((1, 0), (2, 2)))(torch.zeros(1, 5, 6, 3)).shape
    torch.Size([1, 4, 2, 3])
    """

    rank = 2

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(cropping, data_format, **kwargs)


class Cropping3D(_Cropping):
    """Crops the three spatial axes: ``cropping`` = int, 3 ints, or 3 (before, after) pairs.

    >>> import torch
    >>> Cropping3D(1)(torch.zeros(1, 4, 4, 4, 2)).shape
    torch.Size([1, 2, 2, 2, 2])
    """

    rank = 3

    def __init__(self, cropping=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        super().__init__(cropping, data_format, **kwargs)


class _ZeroPadding(Layer):
    """Adds ``padding[i]`` = (before, after) zeros to spatial axis ``i``."""

    rank = None

    def __init__(self, padding, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self._pairs = _pairs(padding, self.rank, "padding", type(self).__name__)
        self.padding = self._pairs
        self.data_format = standardize_data_format(data_format)
        self.input_spec = InputSpec(ndim=self.rank + 2)
        # F.pad takes (before, after) pairs starting from the last axis.
        pads = [(0, 0)] * (self.rank + 1)
        for axis, pair in zip(_spatial_axes(self.data_format, self.rank + 2), self._pairs):
            pads[axis - 1] = pair
        self._torch_pad = tuple(p for pair in reversed(pads) for p in pair)

    def call(self, inputs):
        return F.pad(inputs, self._torch_pad)

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        for axis, (before, after) in zip(_spatial_axes(self.data_format, self.rank + 2), self._pairs):
            if shape[axis] is not None:
                shape[axis] += before + after
        return tuple(shape)

    def get_config(self):
        return {**super().get_config(), "padding": self.padding, "data_format": self.data_format}


class ZeroPadding1D(_ZeroPadding):
    """Pads the steps axis with zeros: ``padding`` = int or (before, after).

    >>> import torch
    >>> ZeroPadding1D((1, 2))(torch.ones(2, 3, 4)).shape
    torch.Size([2, 6, 4])
    """

    rank = 1

    def __init__(self, padding=1, data_format=None, **kwargs):
        pair = _int_tuple(padding, 2, "padding", "ZeroPadding1D")
        super().__init__((pair,), data_format, **kwargs)
        self.padding = pair


class ZeroPadding2D(_ZeroPadding):
    """Pads height and width with zeros: int, (h, w) or ((top, bottom), (left, right)).

    >>> import torch
    >>> ZeroPadding2D(((1, 0), (0, 2)))(torch.ones(1, 2, 2, 3)).shape
    torch.Size([1, 3, 4, 3])
    """

    rank = 2

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(padding, data_format, **kwargs)


class ZeroPadding3D(_ZeroPadding):
    """Pads the three spatial axes with zeros.

    >>> import torch
    >>> ZeroPadding3D(1)(torch.ones(1, 2, 2, 2, 3)).shape
    torch.Size([1, 4, 4, 4, 3])
    """

    rank = 3

    def __init__(self, padding=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        super().__init__(padding, data_format, **kwargs)


class UpSampling1D(Layer):
    """Repeats each step ``size`` times along the steps axis of ``(batch, steps, features)``.

    >>> import torch
    >>> UpSampling1D(3)(torch.zeros(2, 4, 5)).shape
    torch.Size([2, 12, 5])
    """

    def __init__(self, size=2, **kwargs):
        super().__init__(**kwargs)
        self.size = _int_tuple(size, 1, "size", "UpSampling1D", allow_zero=False)[0]
        self.input_spec = InputSpec(ndim=3)

    def call(self, inputs):
        return inputs.repeat_interleave(self.size, dim=1)

    def compute_output_shape(self, input_shape):
        steps = None if input_shape[1] is None else input_shape[1] * self.size
        return (input_shape[0], steps, input_shape[2])

    def get_config(self):
        return {**super().get_config(), "size": self.size}


class _UpSampling(Layer):
    """Scales the spatial axes by integer ``size`` factors with torch's ``interpolate``."""

    rank = None
    _interpolations = ("nearest",)

    def __init__(self, size, data_format=None, interpolation="nearest", **kwargs):
        super().__init__(**kwargs)
        name = type(self).__name__
        self.size = _int_tuple(size, self.rank, "size", name, allow_zero=False)
        self.data_format = standardize_data_format(data_format)
        self.interpolation = str(interpolation).lower()
        if self.interpolation not in self._interpolations:
            raise ValueError(
                f"The `interpolation` argument of {name} must be one of {self._interpolations}. "
                f"Received: interpolation={interpolation!r}"
            )
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def call(self, inputs):
        channels_last = self.data_format == "channels_last"
        x = inputs.movedim(-1, 1) if channels_last else inputs
        if self.interpolation == "nearest":
            out = F.interpolate(x, scale_factor=self.size, mode="nearest")
        else:
            # Half-pixel centres without antialiasing: TensorFlow's `tf.image.resize` (Keras's kernel).
            size = tuple(d * s for d, s in zip(x.shape[2:], self.size))
            out = F.interpolate(x, size=size, mode=self.interpolation, align_corners=False)
        return out.movedim(1, -1) if channels_last else out

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        for axis, factor in zip(_spatial_axes(self.data_format, self.rank + 2), self.size):
            if shape[axis] is not None:
                shape[axis] *= factor
        return tuple(shape)

    def get_config(self):
        return {**super().get_config(), "size": self.size, "data_format": self.data_format}


class UpSampling2D(_UpSampling):
    """Scales height and width by ``size``, with ``'nearest'`` or ``'bilinear'`` interpolation.

    ``'bilinear'`` uses half-pixel centres (TensorFlow's ``tf.image.resize``, which Keras
    uses), i.e. ``torch.nn.functional.interpolate(..., align_corners=False)``.

    >>> import torch
    >>> UpSampling2D((2, 3))(torch.zeros(1, 2, 2, 4)).shape
    torch.Size([1, 4, 6, 4])
    """

    rank = 2
    _interpolations = ("nearest", "bilinear")

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(size, data_format, interpolation, **kwargs)

    def get_config(self):
        return {**super().get_config(), "interpolation": self.interpolation}


class UpSampling3D(_UpSampling):
    """Repeats entries ``size`` times along each of the three spatial axes.

    >>> import torch
    >>> UpSampling3D(2)(torch.zeros(1, 1, 2, 3, 4)).shape
    torch.Size([1, 2, 4, 6, 4])
    """

    rank = 3

    def __init__(self, size=(2, 2, 2), data_format=None, **kwargs):
        super().__init__(size, data_format, **kwargs)
