"""Regression and distribution losses: MSE, MAE, MAPE, MSLE, cosine similarity, Huber, log-cosh, KLD, Poisson.

Each function returns per-sample losses, the mean (or sum) over the last axis;
the classes wrap them into `Loss` objects with reductions and sample weights.

>>> [round(v, 3) for v in mean_squared_error([[0.0, 1.0], [0.0, 0.0]], [[1.0, 1.0], [1.0, 0.0]]).tolist()]
[0.5, 0.5]
>>> round(float(Huber()([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]])), 3)
0.155
"""

import math

import torch
import torch.nn.functional as F

from lamina.backend import config
from lamina.losses.base import (
    Loss,
    LossFunctionWrapper,
    check_broadcastable,
    labels_like,
    prediction,
    squeeze_or_expand_to_same_rank,
)


def _pair(y_true, y_pred, name, squeeze=True):
    y_pred = prediction(y_pred, name)
    y_true = labels_like(y_true, y_pred, name)
    if squeeze:
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    check_broadcastable(y_true, y_pred, name)
    return y_true, y_pred


def mean_squared_error(y_true, y_pred):
    """``mean((y_true - y_pred) ** 2, axis=-1)``."""
    y_true, y_pred = _pair(y_true, y_pred, "mean_squared_error")
    return torch.mean(torch.square(y_true - y_pred), dim=-1)


def mean_absolute_error(y_true, y_pred):
    """``mean(abs(y_true - y_pred), axis=-1)``."""
    y_true, y_pred = _pair(y_true, y_pred, "mean_absolute_error")
    return torch.mean(torch.abs(y_true - y_pred), dim=-1)


def mean_absolute_percentage_error(y_true, y_pred):
    """``100 * mean(abs((y_true - y_pred) / max(abs(y_true), epsilon)), axis=-1)``."""
    y_true, y_pred = _pair(y_true, y_pred, "mean_absolute_percentage_error")
    diff = torch.abs((y_true - y_pred) / torch.clamp(torch.abs(y_true), min=config.epsilon()))
    return 100.0 * torch.mean(diff, dim=-1)


def mean_squared_logarithmic_error(y_true, y_pred):
    """``mean((log(max(y_pred, eps) + 1) - log(max(y_true, eps) + 1)) ** 2, axis=-1)``."""
    y_true, y_pred = _pair(y_true, y_pred, "mean_squared_logarithmic_error")
    eps = config.epsilon()
    first = torch.log(torch.clamp(y_pred, min=eps) + 1.0)
    second = torch.log(torch.clamp(y_true, min=eps) + 1.0)
    return torch.mean(torch.square(first - second), dim=-1)


def _l2_normalize(x, axis):
    # x * min(rsqrt(sum(x**2)), 1 / eps), written so that zero vectors get zero (not NaN) gradients.
    eps = config.epsilon()
    return x * torch.rsqrt(torch.clamp(torch.sum(torch.square(x), dim=axis, keepdim=True), min=eps * eps))


def cosine_similarity(y_true, y_pred, axis=-1):
    """Negative cosine similarity along ``axis``: -1 for the same direction, 0 when either vector is zero."""
    y_true, y_pred = _pair(y_true, y_pred, "cosine_similarity")
    return -torch.sum(_l2_normalize(y_true, axis) * _l2_normalize(y_pred, axis), dim=axis)


def huber(y_true, y_pred, delta=1.0):
    """Mean over the last axis of ``0.5 * e**2`` where ``|e| <= delta``, else ``delta * |e| - 0.5 * delta**2``."""
    y_true, y_pred = _pair(y_true, y_pred, "huber")
    error = y_pred - y_true
    abs_error = torch.abs(error)
    linear = delta * abs_error - 0.5 * delta * delta
    return torch.mean(torch.where(abs_error <= delta, 0.5 * torch.square(error), linear), dim=-1)


def log_cosh(y_true, y_pred):
    """``mean(log(cosh(y_pred - y_true)), axis=-1)``, computed without overflow."""
    y_true, y_pred = _pair(y_true, y_pred, "log_cosh")
    x = y_pred - y_true
    return torch.mean(x + F.softplus(-2.0 * x) - math.log(2.0), dim=-1)


def kl_divergence(y_true, y_pred):
    """``sum(y_true * log(y_true / y_pred), axis=-1)`` with both clipped to ``[epsilon, 1]``."""
    y_true, y_pred = _pair(y_true, y_pred, "kl_divergence", squeeze=False)
    eps = config.epsilon()
    y_true = torch.clamp(y_true, eps, 1.0)
    y_pred = torch.clamp(y_pred, eps, 1.0)
    return torch.sum(y_true * torch.log(y_true / y_pred), dim=-1)


def poisson(y_true, y_pred):
    """``mean(y_pred - y_true * log(y_pred + epsilon), axis=-1)``."""
    y_true, y_pred = _pair(y_true, y_pred, "poisson", squeeze=False)
    return torch.mean(y_pred - y_true * torch.log(y_pred + config.epsilon()), dim=-1)


class MeanSquaredError(LossFunctionWrapper):
    """Mean of squared errors. Args: ``reduction``, ``name``, ``dtype`` as for `Loss`.

    >>> float(MeanSquaredError()([[0.0, 1.0], [0.0, 0.0]], [[1.0, 1.0], [1.0, 0.0]]))
    0.5
    """

    def __init__(self, reduction="sum_over_batch_size", name="mean_squared_error", dtype=None):
        super().__init__(mean_squared_error, name=name, reduction=reduction, dtype=dtype)

    def get_config(self):
        return Loss.get_config(self)


class MeanAbsoluteError(LossFunctionWrapper):
    """Mean of absolute errors. Args: ``reduction``, ``name``, ``dtype`` as for `Loss`."""

    def __init__(self, reduction="sum_over_batch_size", name="mean_absolute_error", dtype=None):
        super().__init__(mean_absolute_error, name=name, reduction=reduction, dtype=dtype)

    def get_config(self):
        return Loss.get_config(self)


class MeanAbsolutePercentageError(LossFunctionWrapper):
    """Mean absolute percentage error. Args: ``reduction``, ``name``, ``dtype`` as for `Loss`."""

    def __init__(self, reduction="sum_over_batch_size", name="mean_absolute_percentage_error", dtype=None):
        super().__init__(mean_absolute_percentage_error, name=name, reduction=reduction, dtype=dtype)

    def get_config(self):
        return Loss.get_config(self)


class MeanSquaredLogarithmicError(LossFunctionWrapper):
    """Mean squared logarithmic error. Args: ``reduction``, ``name``, ``dtype`` as for `Loss`."""

    def __init__(self, reduction="sum_over_batch_size", name="mean_squared_logarithmic_error", dtype=None):
        super().__init__(mean_squared_logarithmic_error, name=name, reduction=reduction, dtype=dtype)

    def get_config(self):
        return Loss.get_config(self)


class CosineSimilarity(LossFunctionWrapper):
    """Negative cosine similarity along ``axis``. Args: ``axis``; ``reduction``, ``name``, ``dtype`` as for `Loss`.

    >>> CosineSimilarity(reduction=None)([[0., 1.], [1., 1.]], [[1., 0.], [1., 1.]]).tolist()
    [-0.0, -0.9999999403953552]
    """

    def __init__(self, axis=-1, reduction="sum_over_batch_size", name="cosine_similarity", dtype=None):
        super().__init__(cosine_similarity, name=name, reduction=reduction, dtype=dtype, axis=axis)
        self.axis = axis

    def get_config(self):
        return {**Loss.get_config(self), "axis": self.axis}


class Huber(LossFunctionWrapper):
    """Huber loss: quadratic for errors up to ``delta``, linear beyond.

    Args: ``delta``; ``reduction``, ``name``, ``dtype`` as for `Loss`.
    """

    def __init__(self, delta=1.0, reduction="sum_over_batch_size", name="huber_loss", dtype=None):
        super().__init__(huber, name=name, reduction=reduction, dtype=dtype, delta=delta)
        self.delta = delta

    def get_config(self):
        return {**Loss.get_config(self), "delta": self.delta}


class LogCosh(LossFunctionWrapper):
    """Logarithm of the hyperbolic cosine of the error. Args: ``reduction``, ``name``, ``dtype`` as for `Loss`."""

    def __init__(self, reduction="sum_over_batch_size", name="log_cosh", dtype=None):
        super().__init__(log_cosh, name=name, reduction=reduction, dtype=dtype)

    def get_config(self):
        return Loss.get_config(self)


class KLDivergence(LossFunctionWrapper):
    """Kullback-Leibler divergence. Args: ``reduction``, ``name``, ``dtype`` as for `Loss`."""

    def __init__(self, reduction="sum_over_batch_size", name="kl_divergence", dtype=None):
        super().__init__(kl_divergence, name=name, reduction=reduction, dtype=dtype)

    def get_config(self):
        return Loss.get_config(self)


class Poisson(LossFunctionWrapper):
    """Poisson loss ``y_pred - y_true * log(y_pred)``. Args: ``reduction``, ``name``, ``dtype`` as for `Loss`."""

    def __init__(self, reduction="sum_over_batch_size", name="poisson", dtype=None):
        super().__init__(poisson, name=name, reduction=reduction, dtype=dtype)

    def get_config(self):
        return Loss.get_config(self)
