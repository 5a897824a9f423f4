"""Tensor helpers shared by the metrics: conversion, rank matching, masks, safe division.

These follow the Keras 3 helpers of the same names (``squeeze_or_expand_to_same_rank``,
``apply_mask``, ``divide_no_nan``) so every metric treats shapes, masks and sample
weights the way Keras does.

>>> import torch
>>> a, b = squeeze_or_expand_to_same_rank(torch.zeros(4, 1), torch.zeros(4))
>>> tuple(a.shape), tuple(b.shape)
((4, 1), (4, 1))
>>> divide_no_nan(torch.tensor([1.0, 1.0]), torch.tensor([2.0, 0.0])).tolist()
[0.5, 0.0]
"""

import numpy as np
import torch

from lamina.backend import config
from lamina.backend.dtypes import to_torch_dtype
from lamina.backend.variable import Variable
from lamina.losses.base import expand_sample_weight
from lamina.losses.base import squeeze_or_expand_to_same_rank as squeeze_or_expand_to_same_rank


def get_mask(x):
    """The Keras mask attached to ``x`` (``_keras_mask``), or ``None``."""
    return getattr(x, "_keras_mask", None)


def convert(x, dtype=None, device=None):
    """``x`` as a detached `torch.Tensor` (no autograd history).

    Tensors keep their device; other values (arrays, lists, numbers) are placed on
    ``device`` (default `lamina.config.device()`). Python ints become ``int64`` as
    torch does; Python floats and float64 NumPy arrays given no ``dtype`` stay as they
    are, so callers pass the dtype they compute in.
    """
    if isinstance(x, Variable):
        x = x.value
    torch_dtype = to_torch_dtype(dtype) if dtype is not None else None
    if isinstance(x, torch.Tensor):
        x = x.detach()
        return x if torch_dtype is None or x.dtype == torch_dtype else x.to(torch_dtype)
    device = device if device is not None else config.device()
    if isinstance(x, (list, tuple)) and any(isinstance(v, (torch.Tensor, Variable)) for v in x):
        return torch.stack([convert(v, dtype, device) for v in x])
    array = np.asarray(x)
    if array.dtype == object or array.dtype.kind in "USV":
        raise TypeError(f"Expected a numeric array, tensor or number. Received: value={x!r}")
    if array.dtype.kind == "u" and array.dtype.itemsize > 1:
        array = array.astype(np.int64)
    return torch.as_tensor(array, device=device).to(torch_dtype) if torch_dtype else torch.as_tensor(
        array, device=device)


def apply_mask(sample_weight, mask, dtype, reduction="sum"):
    """Folds a Keras mask into the sample weights (``reduction='sum'``: a plain product)."""
    if mask is None:
        return sample_weight
    torch_dtype = to_torch_dtype(dtype)
    mask = convert(mask).to(torch_dtype)
    if reduction in ("mean", "sum_over_batch_size"):
        valid = mask.sum()
        mask = mask * divide_no_nan(torch.tensor(float(mask.numel()), dtype=torch_dtype, device=mask.device), valid)
    if sample_weight is None:
        return mask
    sample_weight = convert(sample_weight, dtype, mask.device)
    mask, sample_weight = squeeze_or_expand_to_same_rank(mask, sample_weight)
    return expand_sample_weight(sample_weight, mask) * mask


def divide_no_nan(numerator, denominator):
    """``numerator / denominator``, with 0 wherever the denominator is 0."""
    safe = torch.where(denominator == 0, torch.ones_like(denominator), denominator)
    return torch.where(denominator == 0, torch.zeros_like(numerator * safe), numerator / safe)


def check_broadcastable(metric_name, shape, target_shape, what="sample_weight", target="values"):
    """Raises a ValueError naming the metric when ``shape`` cannot broadcast to ``target_shape``."""
    if tuple(shape) == tuple(target_shape):
        return
    try:
        if torch.broadcast_shapes(tuple(shape), tuple(target_shape)) == tuple(target_shape):
            return
    except RuntimeError:
        pass
    raise ValueError(
        f"Metric '{metric_name}': `{what}` must be broadcastable to the shape of `{target}` "
        f"{tuple(target_shape)}. Received: {what}.shape={tuple(shape)}"
    )


def check_same_shape(metric_name, y_true, y_pred):
    """Raises a ValueError naming the metric when ``y_true`` and ``y_pred`` cannot be compared."""
    if y_true.shape == y_pred.shape:  # the common case; torch.broadcast_shapes costs ~10 us per call
        return
    try:
        torch.broadcast_shapes(tuple(y_true.shape), tuple(y_pred.shape))
    except RuntimeError:
        raise ValueError(
            f"Metric '{metric_name}': `y_true` and `y_pred` must have compatible shapes. "
            f"Received: y_true.shape={tuple(y_true.shape)}, y_pred.shape={tuple(y_pred.shape)}"
        ) from None


class LossFunction:
    """A per-sample loss function of `lamina.losses`, looked up on first call.

    Metrics named after losses wrap these.
    """

    def __init__(self, name):
        self.__name__ = name
        self._fn = None

    def __call__(self, y_true, y_pred, **kwargs):
        if self._fn is None:
            from lamina import losses

            self._fn = getattr(losses, self.__name__)
        return self._fn(y_true, y_pred, **kwargs)

    def __repr__(self):
        return f"<loss function {self.__name__}>"


_LOSS_FUNCTIONS = {}


def loss_function(name):
    """The shared `LossFunction` for ``name`` (one object per name, so it serializes by name)."""
    if name not in _LOSS_FUNCTIONS:
        _LOSS_FUNCTIONS[name] = LossFunction(name)
    return _LOSS_FUNCTIONS[name]
