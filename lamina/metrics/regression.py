"""Regression metrics: mean errors, cosine similarity, log-cosh and the R2 score.

The loss-named ones (`MeanSquaredError`, `MeanAbsoluteError`, ...) are running means
of the per-sample functions of `lamina.losses`.

>>> float(RootMeanSquaredError()([[0, 1], [0, 0]], [[1, 1], [0, 0]]))
0.5
>>> float(CosineSimilarity(axis=1)([[0.0, 1.0], [1.0, 1.0]], [[1.0, 0.0], [1.0, 1.0]]))
0.5
>>> round(float(R2Score()([[1.0], [4.0], [3.0]], [[2.0], [4.0], [4.0]])), 6)
0.571429
"""

import warnings

import torch

from lamina.backend import config
from lamina.backend.dtypes import to_torch_dtype
from lamina.metrics.base import Metric
from lamina.metrics.reduction import Mean, MeanMetricWrapper
from lamina.metrics.utils import (
    check_broadcastable,
    check_same_shape,
    convert,
    loss_function,
    squeeze_or_expand_to_same_rank,
)


def cosine_similarity(y_true, y_pred, axis=-1):
    """Per sample, ``sum(l2_normalize(y_true) * l2_normalize(y_pred), axis)`` (1 for equal directions)."""
    y_pred = convert(y_pred)
    if not y_pred.is_floating_point():
        y_pred = y_pred.to(to_torch_dtype(config.floatx()))
    y_true = convert(y_true, y_pred.dtype, y_pred.device).to(y_pred.device)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    check_same_shape("cosine_similarity", y_true, y_pred)
    return (_l2_normalize(y_true, axis) * _l2_normalize(y_pred, axis)).sum(dim=axis)


def _l2_normalize(x, axis):
    inv_norm = torch.rsqrt(x.square().sum(dim=axis, keepdim=True))
    return x * torch.clamp_max(inv_norm, 1.0 / config.epsilon())


class _LossMean(MeanMetricWrapper):
    _loss_name = None
    _direction = "down"

    def __init__(self, name=None, dtype=None):
        super().__init__(loss_function(self._loss_name), name=name, dtype=dtype)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


class MeanSquaredError(_LossMean):
    """The running mean of ``mean(square(y_true - y_pred), axis=-1)``."""

    _loss_name = "mean_squared_error"

    def __init__(self, name="mean_squared_error", dtype=None):
        super().__init__(name=name, dtype=dtype)


class MeanAbsoluteError(_LossMean):
    """The running mean of ``mean(abs(y_true - y_pred), axis=-1)``."""

    _loss_name = "mean_absolute_error"

    def __init__(self, name="mean_absolute_error", dtype=None):
        super().__init__(name=name, dtype=dtype)


class MeanAbsolutePercentageError(_LossMean):
    """The running mean of ``100 * mean(abs((y_true - y_pred) / max(abs(y_true), epsilon)), axis=-1)``."""

    _loss_name = "mean_absolute_percentage_error"

    def __init__(self, name="mean_absolute_percentage_error", dtype=None):
        super().__init__(name=name, dtype=dtype)


class MeanSquaredLogarithmicError(_LossMean):
    """The running mean of ``mean(square(log(y_true + 1) - log(y_pred + 1)), axis=-1)`` (clipped at epsilon)."""

    _loss_name = "mean_squared_logarithmic_error"

    def __init__(self, name="mean_squared_logarithmic_error", dtype=None):
        super().__init__(name=name, dtype=dtype)


class LogCoshError(_LossMean):
    """The running mean of ``mean(log(cosh(y_pred - y_true)), axis=-1)``."""

    _loss_name = "log_cosh"

    def __init__(self, name="logcosh", dtype=None):
        super().__init__(name=name, dtype=dtype)


class RootMeanSquaredError(Mean):
    """``sqrt`` of the running (weighted) mean of ``square(y_pred - y_true)``.

    >>> float(RootMeanSquaredError()([[0, 1], [0, 0]], [[1, 1], [0, 0]], sample_weight=[1, 0]))
    0.7071067
    """

    _direction = "down"

    def __init__(self, name="root_mean_squared_error", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Adds the squared errors (weighted by ``sample_weight``) to the running mean."""
        y_pred = self._convert(y_pred, self.dtype)
        y_true = self._convert(y_true, self.dtype, like=y_pred)
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        check_same_shape(self.name, y_true, y_pred)
        super().update_state((y_pred - y_true).square(), sample_weight=sample_weight)

    def result(self):
        return torch.sqrt(super().result())


class CosineSimilarity(MeanMetricWrapper):
    """The running mean of the cosine similarity of ``y_true`` and ``y_pred`` along ``axis``.

    Args:
        name: the metric's name.
        dtype: dtype of the state and result.
        axis: the axis along which the similarity is computed.
    """

    _direction = "up"

    def __init__(self, name="cosine_similarity", dtype=None, axis=-1):
        super().__init__(cosine_similarity, name, dtype=dtype, axis=axis)
        self.axis = axis

    def get_config(self):
        # Keras 3 leaves ``axis`` out of the config.
        return {"name": self.name, "dtype": self.dtype}


class R2Score(Metric):
    """The coefficient of determination ``1 - SS_res / SS_tot``, per output and aggregated.

    Args:
        class_aggregation: ``None`` (one score per output), ``'uniform_average'`` or
            ``'variance_weighted_average'``.
        num_regressors: number of independent regressors for the adjusted R2 (0: plain R2).
        name: the metric's name.
        dtype: dtype of the state and result.

    Inputs are ``(batch_size, num_outputs)``.
    """

    _direction = "up"
    _AGGREGATIONS = (None, "uniform_average", "variance_weighted_average")

    def __init__(self, class_aggregation="uniform_average", num_regressors=0, name="r2_score", dtype=None):
        super().__init__(name=name, dtype=dtype)
        if class_aggregation not in self._AGGREGATIONS:
            raise ValueError(f"Invalid value for argument `class_aggregation`. Expected one of "
                             f"{self._AGGREGATIONS}. Received: class_aggregation={class_aggregation}")
        if num_regressors < 0:
            raise ValueError(f"Invalid value for argument `num_regressors`. Expected a value >= 0. "
                             f"Received: num_regressors={num_regressors}")
        self.class_aggregation = class_aggregation
        self.num_regressors = num_regressors
        self.num_samples = self.add_variable(shape=(), initializer="zeros", name="num_samples")
        self._built = False

    def _build(self, y_true_shape, y_pred_shape):
        if len(y_pred_shape) != 2 or len(y_true_shape) != 2:
            raise ValueError(f"R2Score expects 2D inputs with shape (batch_size, output_dim). Received input "
                             f"shapes: y_pred.shape={tuple(y_pred_shape)} and y_true.shape={tuple(y_true_shape)}.")
        num_classes = y_pred_shape[-1]
        for attr, name in (("squared_sum", "squared_sum"), ("sum", "sum"), ("total_mse", "residual"),
                           ("count", "count")):
            setattr(self, attr, self.add_variable(shape=(num_classes,), initializer="zeros", name=name))
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Accumulates sums of targets, squared targets, squared residuals and weights per output."""
        y_pred = self._convert(y_pred, self.dtype)
        y_true = self._convert(y_true, self.dtype, like=y_pred)
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        if not self._built:
            self._build(y_true.shape, y_pred.shape)
        if y_true.shape != y_pred.shape or y_pred.shape[-1] != self.sum.shape[0]:
            raise ValueError(f"Metric '{self.name}': expected `y_true` and `y_pred` of shape (batch_size, "
                             f"{self.sum.shape[0]}). Received: y_true.shape={tuple(y_true.shape)}, "
                             f"y_pred.shape={tuple(y_pred.shape)}")
        weight = torch.ones((), dtype=y_true.dtype, device=y_true.device) if sample_weight is None else \
            self._convert(sample_weight, self.dtype, like=y_true)
        if weight.dim() == 1:
            weight = weight.unsqueeze(1)
        check_broadcastable(self.name, weight.shape, y_true.shape, target="y_true")
        weight = weight.expand(y_true.shape)
        weighted_true = y_true * weight
        self.sum.assign_add(weighted_true.sum(dim=0))
        self.squared_sum.assign_add((y_true * weighted_true).sum(dim=0))
        self.total_mse.assign_add(((y_true - y_pred).square() * weight).sum(dim=0))
        self.count.assign_add(weight.sum(dim=0))
        self.num_samples.assign_add(float(y_true.numel()))

    def result(self):
        if not self._built:
            return torch.zeros((), dtype=self.num_samples.value.dtype, device=self.num_samples.device)
        mean = self.sum.value / self.count.value
        total = self.squared_sum.value - self.sum.value * mean
        raw_scores = 1 - self.total_mse.value / total
        raw_scores = torch.where(torch.isinf(raw_scores), torch.zeros_like(raw_scores), raw_scores)
        if self.class_aggregation == "uniform_average":
            score = raw_scores.mean()
        elif self.class_aggregation == "variance_weighted_average":
            score = (total * raw_scores).sum() / total.sum()
        else:
            score = raw_scores
        if self.num_regressors != 0:
            n = float(self.num_samples.value)
            if self.num_regressors > n - 1:
                warnings.warn("More independent predictors than datapoints in adjusted R2 score. "
                              "Falling back to standard R2 score.", stacklevel=2)
            elif self.num_regressors == n - 1:
                warnings.warn("Division by zero in Adjusted R2 score. Falling back to standard R2 score.",
                              stacklevel=2)
            else:
                score = 1.0 - (1.0 - score) * (n - 1.0) / (n - self.num_regressors - 1.0)
        return score

    def get_config(self):
        return {**super().get_config(), "class_aggregation": self.class_aggregation,
                "num_regressors": self.num_regressors}
