"""F-scores: `FBetaScore` and `F1Score` for multi-class and multi-label predictions.

``f = (1 + b^2) * precision * recall / (b^2 * precision + recall)`` per class, then
averaged as ``average`` says.

>>> import numpy as np
>>> m = F1Score(threshold=0.5)
>>> y_true = np.array([[1, 1, 1], [1, 0, 0], [1, 1, 0]])
>>> y_pred = np.array([[0.2, 0.6, 0.7], [0.2, 0.6, 0.6], [0.6, 0.8, 0.0]], np.float32)
>>> np.round(m(y_true, y_pred).numpy(), 4).tolist()
[0.5, 0.8, 0.6667]
"""

import torch

from lamina.backend import config
from lamina.backend.dtypes import to_torch_dtype
from lamina.metrics.base import Metric
from lamina.metrics.utils import check_broadcastable

_AVERAGES = (None, "micro", "macro", "weighted")


class FBetaScore(Metric):
    """The F-beta score, the weighted harmonic mean of precision and recall.

    Args:
        average: ``None`` (one score per class), ``'micro'`` (global counts), ``'macro'``
            (mean of the class scores) or ``'weighted'`` (mean weighted by class support).
        beta: the weight of recall (a positive float).
        threshold: predictions ``> threshold`` count as positive; with ``None`` the
            highest score of each sample does (when it is not 0).
        name: the metric's name.
        dtype: dtype of the state and result.

    Inputs are ``(batch_size, num_classes)``.
    """

    _direction = "up"

    def __init__(self, average=None, beta=1.0, threshold=None, name="fbeta_score", dtype=None):
        super().__init__(name=name, dtype=dtype)
        if average not in _AVERAGES:
            raise ValueError("Invalid `average` argument value. Expected one of: {None, 'micro', 'macro', "
                             f"'weighted'}}. Received: average={average}")
        if not isinstance(beta, float):
            raise ValueError(f"Invalid `beta` argument value. It should be a Python float. "
                             f"Received: beta={beta} of type '{type(beta)}'")
        if beta <= 0.0:
            raise ValueError(f"Invalid `beta` argument value. It should be > 0. Received: beta={beta}")
        if threshold is not None:
            if not isinstance(threshold, float):
                raise ValueError(f"Invalid `threshold` argument value. It should be a Python float. "
                                 f"Received: threshold={threshold} of type '{type(threshold)}'")
            if threshold > 1.0 or threshold <= 0.0:
                raise ValueError(f"Invalid `threshold` argument value. It should verify 0 < threshold <= 1. "
                                 f"Received: threshold={threshold}")
        self.average = average
        self.beta = beta
        self.threshold = threshold
        self.axis = None if average == "micro" else 0
        self._built = False

    def _build(self, y_true_shape, y_pred_shape, device):
        if len(y_pred_shape) != 2 or len(y_true_shape) != 2:
            raise ValueError(f"FBetaScore expects 2D inputs with shape (batch_size, output_dim). Received input "
                             f"shapes: y_pred.shape={tuple(y_pred_shape)} and y_true.shape={tuple(y_true_shape)}.")
        shape = () if self.average == "micro" else (y_pred_shape[-1],)
        for name in ("true_positives", "false_positives", "false_negatives", "intermediate_weights"):
            setattr(self, name, self.add_variable(shape=shape, initializer="zeros", name=name, device=device))
        self._num_classes = y_pred_shape[-1]
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Accumulates per-class (or global, for ``'micro'``) TP, FP, FN and support."""
        y_pred = self._convert(y_pred, self.dtype)
        y_true = self._convert(y_true, self.dtype, like=y_pred)
        if not self._built:
            self._build(y_true.shape, y_pred.shape, y_pred.device)
        if y_true.shape != y_pred.shape or y_pred.dim() != 2 or y_pred.shape[-1] != self._num_classes:
            raise ValueError(f"Metric '{self.name}': expected `y_true` and `y_pred` of shape (batch_size, "
                             f"{self._num_classes}). Received: y_true.shape={tuple(y_true.shape)}, "
                             f"y_pred.shape={tuple(y_pred.shape)}")
        if self.threshold is None:
            top = y_pred.amax(dim=-1, keepdim=True)
            # The highest score is the prediction, unless it is 0 (no [0, 0, 0] -> [1, 1, 1]).
            predicted = (y_pred >= top) & (y_pred.abs() > 1e-9)
        else:
            predicted = y_pred > self.threshold
        predicted = predicted.to(y_pred.dtype)
        weight = None
        if sample_weight is not None:
            # Scalar, per-sample (batch,) or per-entry (batch, num_classes) weights: trailing axes are added up
            # to the rank of y_true (keras-team/keras#23335; Keras 3.15 always added one axis).
            weight = self._convert(sample_weight, self.dtype, like=y_pred)
            while weight.dim() < y_true.dim():
                weight = weight.unsqueeze(-1)
            check_broadcastable(self.name, weight.shape, y_pred.shape, target="y_pred")

        def weighted_sum(values):
            if weight is not None:
                values = values * weight
            return values.sum() if self.axis is None else values.sum(dim=self.axis)

        self.true_positives.assign_add(weighted_sum(predicted * y_true))
        self.false_positives.assign_add(weighted_sum(predicted * (1 - y_true)))
        self.false_negatives.assign_add(weighted_sum((1 - predicted) * y_true))
        self.intermediate_weights.assign_add(weighted_sum(y_true))

    def result(self):
        if not self._built:
            return torch.zeros((), dtype=to_torch_dtype(self.dtype), device=self._state_device())
        eps = config.epsilon()
        tp, fp, fn = self.true_positives.value, self.false_positives.value, self.false_negatives.value
        precision = tp / (tp + fp + eps)
        recall = tp / (tp + fn + eps)
        b2 = self.beta**2
        score = (precision * recall) / (b2 * precision + recall + eps) * (1 + b2)
        if self.average == "weighted":
            support = self.intermediate_weights.value
            return (score * support / (support.sum() + eps)).sum()
        if self.average is not None:
            return score.mean()
        return score

    def get_config(self):
        return {**super().get_config(), "average": self.average, "beta": self.beta, "threshold": self.threshold}


class F1Score(FBetaScore):
    """The F1 score: `FBetaScore` with ``beta=1``.

    Args:
        average: ``None``, ``'micro'``, ``'macro'`` or ``'weighted'`` (see `FBetaScore`).
        threshold: the decision threshold, or ``None`` for the per-sample argmax.
        name: the metric's name.
        dtype: dtype of the state and result.
    """

    def __init__(self, average=None, threshold=None, name="f1_score", dtype=None):
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name, dtype=dtype)

    def get_config(self):
        config_ = super().get_config()
        del config_["beta"]
        return config_
