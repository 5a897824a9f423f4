"""`AUC`: area under the ROC or precision-recall curve, by a Riemann sum over thresholds.

Thresholds are ``num_thresholds`` points: ``-epsilon``, ``i / (num_thresholds - 1)`` for
the inner ones, and ``1 + epsilon``, so predictions of exactly 0 and 1 are counted
(or the user's ``thresholds`` between the same two end points). PR-AUC with
``'interpolation'`` interpolates true and false positives between thresholds
(Davis & Goadrich, 2006), as Keras does.

>>> m = AUC(num_thresholds=3)
>>> float(m([0, 0, 1, 1], [0, 0.5, 0.3, 0.9]))
0.75
"""

import numpy as np
import torch

from lamina.backend import config
from lamina.backend.dtypes import to_torch_dtype
from lamina.metrics.base import Metric
from lamina.metrics.confusion_utils import is_evenly_distributed_thresholds, update_confusion_matrix_variables
from lamina.metrics.utils import convert, divide_no_nan

_CURVES = {"roc": "ROC", "pr": "PR"}
_SUMMATIONS = ("interpolation", "majoring", "minoring")


class AUC(Metric):
    """Approximates the area under the ROC (default) or PR curve.

    Args:
        num_thresholds: number of thresholds (> 1) when ``thresholds`` is not given.
        curve: ``'ROC'`` or ``'PR'``.
        summation_method: ``'interpolation'`` (mid-point; for PR, Keras's interpolation of
            true/false positives), ``'minoring'`` or ``'majoring'``.
        name: the metric's name.
        dtype: dtype of the state and result.
        thresholds: explicit thresholds in [0, 1] (``num_thresholds`` is then ignored).
        multi_label: compute one AUC per label (last axis of rank-2 inputs) and average them;
            otherwise every label-prediction pair is one data point.
        num_labels: number of labels with ``multi_label``; otherwise read from the first batch.
        label_weights: per-label weights: of the label AUCs in the average with ``multi_label``,
            of the individual predictions otherwise.
        from_logits: apply a sigmoid to ``y_pred`` first.
    """

    _direction = "up"

    def __init__(self, num_thresholds=200, curve="ROC", summation_method="interpolation", name=None, dtype=None,
                 thresholds=None, multi_label=False, num_labels=None, label_weights=None, from_logits=False):
        if not isinstance(curve, str) or curve.lower() not in _CURVES:
            raise ValueError(f'Invalid AUC curve value: "{curve}". Expected values are ["PR", "ROC"]. '
                             f"Received: curve={curve!r}")
        if not isinstance(summation_method, str) or summation_method.lower() not in _SUMMATIONS:
            raise ValueError(f'Invalid AUC summation method value: "{summation_method}". Expected values are '
                             '["interpolation", "majoring", "minoring"]. '
                             f"Received: summation_method={summation_method!r}")
        self._init_from_thresholds = thresholds is not None
        if thresholds is not None:
            thresholds = sorted(float(t) for t in thresholds)
            if any(t < 0 or t > 1 for t in thresholds):
                raise ValueError(f"Threshold values must be in [0, 1]. Received: thresholds={thresholds}")
            self.num_thresholds = len(thresholds) + 2
            self._thresholds_distributed_evenly = is_evenly_distributed_thresholds([0.0] + thresholds + [1.0])
        else:
            if not isinstance(num_thresholds, int) or num_thresholds <= 1:
                raise ValueError(f"Argument `num_thresholds` must be an integer > 1. "
                                 f"Received: num_thresholds={num_thresholds}")
            self.num_thresholds = num_thresholds
            thresholds = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            self._thresholds_distributed_evenly = True
        eps = config.epsilon()
        self._thresholds = np.array([0.0 - eps] + thresholds + [1.0 + eps])
        self.curve = _CURVES[curve.lower()]
        self.summation_method = summation_method.lower()
        super().__init__(name=name, dtype=dtype)
        self.multi_label = multi_label
        self.num_labels = num_labels
        self.label_weights = None if label_weights is None else convert(label_weights, self.dtype)
        if self.label_weights is not None and bool((self.label_weights < 0).any()):
            raise ValueError("All values of `label_weights` must be non-negative. "
                             f"Received: label_weights={label_weights}")
        self._from_logits = from_logits
        self._built = False
        if multi_label:
            if num_labels:
                self._build((None, num_labels))
        else:
            if num_labels:
                raise ValueError("`num_labels` is needed only when `multi_label` is True. "
                                 f"Received: num_labels={num_labels}")
            self._build(None)

    @property
    def thresholds(self):
        """The thresholds, end points included."""
        return list(self._thresholds)

    def _build(self, shape, device=None):
        if self.multi_label:
            if len(shape) != 2:
                raise ValueError(f"`y_pred` must have rank 2 when `multi_label=True`. Found rank {len(shape)}. "
                                 f"Full shape received for `y_pred`: {tuple(shape)}")
            self._num_labels = shape[1]
            variable_shape = (self.num_thresholds, self._num_labels)
        else:
            variable_shape = (self.num_thresholds,)
        for attr in ("true_positives", "false_positives", "true_negatives", "false_negatives"):
            setattr(self, attr, self.add_variable(shape=variable_shape, initializer="zeros", name=attr, device=device))
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Accumulates the confusion counts at every threshold.

        Args:
            y_true: labels, cast to bool, shaped like ``y_pred``.
            y_pred: probabilities (or logits with ``from_logits=True``).
            sample_weight: weights broadcastable to ``y_true``.
        """
        y_pred = self._convert(y_pred, self.dtype)
        if not self._built:
            self._build(tuple(y_pred.shape), device=y_pred.device)
        if self._from_logits:
            y_pred = torch.sigmoid(y_pred)
        label_weights = None if self.multi_label else self.label_weights
        update_confusion_matrix_variables(
            {"tp": self.true_positives, "tn": self.true_negatives, "fp": self.false_positives,
             "fn": self.false_negatives},
            y_true, y_pred, self._thresholds, thresholds_distributed_evenly=self._thresholds_distributed_evenly,
            sample_weight=sample_weight, multi_label=self.multi_label, label_weights=label_weights, name=self.name,
        )

    def _average(self, per_label):
        if not self.multi_label:
            return per_label.sum()
        by_label = per_label.sum(dim=0)
        if self.label_weights is None:
            return by_label.mean()
        weights = self.label_weights.to(by_label.device)
        return divide_no_nan((by_label * weights).sum(), weights.sum())

    def interpolate_pr_auc(self):
        """PR-AUC with TP and predicted positives P = TP + FP linear between thresholds.

        Over an interval [A, B] precision is ``(TP_A + slope * (P - P_A)) / P`` with
        ``slope = dTP / dP``; its integral over P is ``dTP + intercept * log(P_B / P_A)``
        (``intercept = TP_B - slope * P_B``), scaled by ``slope / total positives``.
        """
        tp, fp, fn = self.true_positives.value, self.false_positives.value, self.false_negatives.value
        dtp = tp[:-1] - tp[1:]
        p = tp + fp
        dp = p[:-1] - p[1:]
        slope = divide_no_nan(dtp, dp.clamp_min(0))
        intercept = tp[1:] - slope * p[1:]
        both_positive = (p[:-1] > 0) & (p[1:] > 0)
        ratio = torch.where(both_positive, divide_no_nan(p[:-1], p[1:].clamp_min(0)), torch.ones_like(p[1:]))
        increments = divide_no_nan(slope * (dtp + intercept * torch.log(ratio)), (tp[1:] + fn[1:]).clamp_min(0))
        return self._average(increments)

    def result(self):
        if not self._built:
            return torch.zeros((), dtype=to_torch_dtype(self.dtype), device=self._state_device())
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self.interpolate_pr_auc()
        tp, fp, fn, tn = (v.value for v in (self.true_positives, self.false_positives, self.false_negatives,
                                            self.true_negatives))
        recall = divide_no_nan(tp, tp + fn)
        if self.curve == "ROC":
            x, y = divide_no_nan(fp, fp + tn), recall
        else:
            x, y = recall, divide_no_nan(tp, tp + fp)
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2.0
        elif self.summation_method == "minoring":
            heights = torch.minimum(y[:-1], y[1:])
        else:
            heights = torch.maximum(y[:-1], y[1:])
        return self._average((x[:-1] - x[1:]) * heights)

    def reset_state(self):
        if self._built:
            super().reset_state()

    def get_config(self):
        label_weights = None if self.label_weights is None else self.label_weights.tolist()
        config_ = {
            **super().get_config(),
            "num_thresholds": self.num_thresholds,
            "curve": self.curve,
            "summation_method": self.summation_method,
            "multi_label": self.multi_label,
            "num_labels": self.num_labels,
            "label_weights": label_weights,
            "from_logits": self._from_logits,
        }
        if self._init_from_thresholds:
            config_["thresholds"] = self.thresholds[1:-1]
        return config_
