"""Reducing metrics: `Reduce`, `Sum`, `Mean` and `MeanMetricWrapper`.

`Mean` reduces each sample's values to one number (their mean over the non-batch
axes), weights it and keeps ``total`` and ``count``; its result is
``total / count`` (0 before any update). `MeanMetricWrapper` turns a function
``fn(y_true, y_pred, **kwargs)`` returning per-sample values into such a mean.

>>> m = Mean()
>>> m.update_state([1, 3, 5, 7], sample_weight=[1, 1, 0, 0])
>>> float(m.result())
2.0
>>> s = Sum()
>>> float(s([1, 3, 5, 7]))
16.0
"""

import torch

from lamina.backend.dtypes import to_torch_dtype
from lamina.metrics.base import Metric
from lamina.metrics.utils import apply_mask, check_broadcastable, get_mask, squeeze_or_expand_to_same_rank
from lamina.saving import registry

_REDUCTIONS = ("sum", "weighted_mean", "sum_over_batch_size")


def _reduce(values, reduce_fn, start):
    if values.dim() <= start:
        return values
    return reduce_fn(values, dim=tuple(range(start, values.dim())))


def reduce_to_samplewise_values(values, sample_weight, reduce_fn, dtype, metric_name="metric"):
    """Weights ``values`` and reduces them to one value per sample (Keras's rule).

    Returns ``(values, sample_weight)``: ``values`` reduced over its non-batch axes (all
    axes beyond the rank of ``sample_weight`` first) and multiplied by the weights, and
    the weights reduced to the same shape (or ``None``).
    """
    mask = get_mask(values)
    values = values.to(to_torch_dtype(dtype))
    if sample_weight is not None:
        if mask is not None:
            sample_weight = apply_mask(sample_weight, mask, dtype, reduction="sum")
        values, sample_weight = squeeze_or_expand_to_same_rank(values, sample_weight)
        weight_ndim = sample_weight.dim()
        values = _reduce(values, reduce_fn, weight_ndim)
        check_broadcastable(metric_name, sample_weight.shape, values.shape)
        sample_weight = sample_weight.expand(values.shape)
        values = values * sample_weight
        if weight_ndim > 1:
            sample_weight = _reduce(sample_weight, reduce_fn, 1)
    return _reduce(values, reduce_fn, 1), sample_weight


def _add(variable, delta):
    """Adds ``delta`` to a metric state in one in-place kernel when it already matches the state
    (a Python number, or a tensor of the state's shape, dtype and device); else `Variable.assign_add`."""
    value = variable.value
    if isinstance(delta, (int, float)) or (isinstance(delta, torch.Tensor) and delta.shape == value.shape
                                           and delta.dtype == value.dtype and delta.device == value.device):
        with torch.no_grad():
            value.add_(delta)
    else:
        variable.assign_add(delta)


class Reduce(Metric):
    """Accumulates a weighted reduction of the values it is given.

    Args:
        reduction: ``'sum'`` (a running weighted sum), ``'weighted_mean'`` (weighted sum
            divided by the sum of the weights) or ``'sum_over_batch_size'`` (weighted sum
            divided by the number of values seen).
        name: the metric's name.
        dtype: dtype of the state and of the result.
    """

    def __init__(self, reduction, name=None, dtype=None):
        if reduction not in _REDUCTIONS:
            raise ValueError(f"Invalid `reduction` for {type(self).__name__}. Expected one of {_REDUCTIONS}. "
                             f"Received: reduction={reduction!r}")
        super().__init__(name=name, dtype=dtype)
        self.reduction = reduction
        self.total = self.add_variable(shape=(), initializer="zeros", dtype=self.dtype, name="total")
        if reduction != "sum":
            self.count = self.add_variable(shape=(), initializer="zeros", dtype=self.dtype, name="count")

    def update_state(self, values, sample_weight=None):
        """Adds ``values`` (weighted by ``sample_weight``, broadcastable to them) to the state."""
        if self.reduction == "weighted_mean" and isinstance(sample_weight, (int, float)) \
                and type(values) is torch.Tensor and values.dim() == 0:
            # Fast path for a scalar (such as a batch loss) with a Python number weight: two in-place adds
            # on the state (fit and evaluate call it once per batch for the loss tracker).
            total, count = self.total.value, self.count.value
            if values.dtype == total.dtype and values.device == total.device \
                    and getattr(values, "_keras_mask", None) is None:
                weight = self._weight_tensor(sample_weight, count)
                if values.requires_grad or total.requires_grad:
                    with torch.no_grad():
                        total.add_(values.detach(), alpha=sample_weight)
                        count.add_(weight)
                else:
                    total.add_(values, alpha=sample_weight)
                    count.add_(weight)  # a 0-d tensor: adding a Python number costs 3 us more per call
                return
        mask = get_mask(values)
        values = self._convert(values, self.dtype)
        if mask is not None:
            values._keras_mask = mask
        if self.reduction == "weighted_mean" and values.dim() == 0 and isinstance(sample_weight, (int, float)):
            self.total.assign_add(values * sample_weight)
            self.count.assign_add(float(sample_weight))
            return
        if sample_weight is not None:
            sample_weight = self._convert(sample_weight, self.dtype, like=values)
        reduce_fn = torch.mean if self.reduction == "weighted_mean" else torch.sum
        size = values.numel()
        values, sample_weight = reduce_to_samplewise_values(values, sample_weight, reduce_fn, self.dtype, self.name)
        _add(self.total, values.sum())
        if self.reduction == "sum":
            return
        if self.reduction == "sum_over_batch_size":
            count = float(size)
        elif sample_weight is not None:
            count = sample_weight.sum()
        else:
            count = float(values.shape[0]) if values.dim() >= 1 else 1.0
        _add(self.count, count)

    def _weight_tensor(self, weight, like):
        """``weight`` as a 0-d tensor like ``like``, kept for the next call with the same weight."""
        cached = self.__dict__.get("_cached_weight")
        if cached is None or cached[0] != weight or cached[1].device != like.device or cached[1].dtype != like.dtype:
            cached = (weight, torch.tensor(float(weight), dtype=like.dtype, device=like.device))
            self.__dict__["_cached_weight"] = cached
        return cached[1]

    def result(self):
        if self.reduction == "sum":
            return self.total.value.clone()
        total, count = self.total.value, self.count.value
        # divide_no_nan in three kernels (the quotient at count == 0 is discarded, and no gradient flows here)
        return torch.where(count == 0, 0.0, total / count)

    def get_config(self):
        return {**super().get_config(), "reduction": self.reduction}


class Sum(Reduce):
    """The running (weighted) sum of the values given.

    >>> float(Sum()([1, 3, 5, 7], sample_weight=[1, 1, 0, 0]))
    4.0
    """

    def __init__(self, name="sum", dtype=None):
        super().__init__(reduction="sum", name=name, dtype=dtype)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


class Mean(Reduce):
    """The running (weighted) mean of the values given: ``total / count``, 0 when empty.

    >>> m = Mean()
    >>> float(m([1, 3, 5, 7]))
    4.0
    """

    def __init__(self, name="mean", dtype=None):
        super().__init__(reduction="weighted_mean", name=name, dtype=dtype)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


class MeanMetricWrapper(Mean):
    """The running mean of a function ``fn(y_true, y_pred, **kwargs)`` of per-sample values.

    A Keras mask on ``y_pred`` multiplies the sample weights.

    Args:
        fn: the function; it returns one value per sample (or per element).
        name: the metric's name (defaults to ``mean_metric_wrapper``).
        dtype: dtype of the state and of the result.
        **kwargs: keyword arguments passed on to ``fn``.

    >>> import torch
    >>> m = MeanMetricWrapper(lambda t, p: (torch.as_tensor(t) - torch.as_tensor(p)).abs(), name="l1")
    >>> float(m([0.0, 1.0], [1.0, 3.0]))
    1.5
    """

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        if not callable(fn):
            raise TypeError(f"MeanMetricWrapper expects a callable `fn`. Received: fn={fn!r}")
        super().__init__(name=name, dtype=dtype)
        self._fn = fn
        self._fn_kwargs = kwargs

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Computes ``fn(y_true, y_pred)`` and adds its per-sample mean to the state."""
        mask = get_mask(y_pred)
        if isinstance(y_pred, torch.Tensor):
            self._follow_device(y_pred)
        values = self._fn(y_true, y_pred, **self._fn_kwargs)
        sample_weight = apply_mask(sample_weight, mask, self.dtype, reduction="sum")
        super().update_state(values, sample_weight=sample_weight)

    def get_config(self):
        from lamina.metrics import serialize_function

        return {"name": self.name, "dtype": self.dtype, "fn": serialize_function(self._fn),
                **registry.serialize_keras_object(self._fn_kwargs)}

    @classmethod
    def from_config(cls, config):
        from lamina.metrics import deserialize_function

        config = dict(config)
        if "fn" in config:
            config["fn"] = deserialize_function(config["fn"])
        return cls(**config)
