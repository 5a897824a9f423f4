"""Confusion-matrix metrics: counts, precision, recall and the "X at Y" family.

A prediction is positive at threshold ``t`` when ``y_pred > t``. Metrics with several
thresholds return one value per threshold. `AUC` lives in `lamina.metrics.auc`.

>>> float(Precision()([0, 1, 1, 1], [1, 0, 1, 1]))
0.6666666
>>> float(Recall(top_k=2)([[0, 0, 1, 1]], [[0.1, 0.5, 0.4, 0.2]]))
0.5
>>> TruePositives(thresholds=[0.15, 0.5])([0, 1, 1, 1], [0.1, 0.2, 0.6, 0.9]).tolist()
[3.0, 2.0]
"""

import torch

from lamina.metrics.base import Metric
from lamina.metrics.confusion_utils import (
    NEG_INF,
    is_evenly_distributed_thresholds,
    parse_init_thresholds,
    update_confusion_matrix_variables,
)
from lamina.metrics.utils import divide_no_nan


class _ThresholdedMetric(Metric):
    """Holds one Variable per confusion count in ``_keys``, each of shape ``(len(thresholds),)``."""

    _keys = ()
    _direction = "up"

    def _create_counts(self, thresholds, variable_names=None):
        self.thresholds = thresholds
        self._thresholds_distributed_evenly = is_evenly_distributed_thresholds(thresholds)
        names = {"tp": "true_positives", "fp": "false_positives", "tn": "true_negatives", "fn": "false_negatives"}
        for key in self._keys:
            variable_name = (variable_names or {}).get(key, names[key])
            setattr(self, names[key], self.add_variable(shape=(len(thresholds),), initializer="zeros",
                                                        name=variable_name))
        self._counts = {key: getattr(self, names[key]) for key in self._keys}

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Accumulates the confusion counts at every threshold.

        Args:
            y_true: labels, cast to bool, shaped like ``y_pred``.
            y_pred: scores in [0, 1].
            sample_weight: weights broadcastable to ``y_true`` (rank 0 or the same rank).
        """
        y_pred = self._convert(y_pred, self.dtype)
        update_confusion_matrix_variables(
            self._counts, y_true, y_pred, thresholds=self.thresholds,
            thresholds_distributed_evenly=self._thresholds_distributed_evenly,
            top_k=getattr(self, "top_k", None), class_id=getattr(self, "class_id", None),
            sample_weight=sample_weight, name=self.name,
        )

    def _single(self, value):
        return value[0] if len(self.thresholds) == 1 else value


class _ConfusionMatrixConditionCount(_ThresholdedMetric):
    def __init__(self, thresholds=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        # Keras names the single count variable "accumulator".
        self._create_counts(parse_init_thresholds(thresholds, default_threshold=0.5),
                            variable_names={self._keys[0]: "accumulator"})
        self.accumulator = self._counts[self._keys[0]]

    def result(self):
        return self._single(self.accumulator.value.clone())

    def get_config(self):
        return {**super().get_config(), "thresholds": self.init_thresholds}


class TruePositives(_ConfusionMatrixConditionCount):
    """The (weighted) number of true positives at each threshold (default 0.5).

    Args:
        thresholds: a float or list of floats in [0, 1].
        name: the metric's name.
        dtype: dtype of the state and result.
    """

    _keys = ("tp",)


class FalsePositives(_ConfusionMatrixConditionCount):
    """The (weighted) number of false positives at each threshold (default 0.5)."""

    _keys = ("fp",)
    _direction = "down"


class TrueNegatives(_ConfusionMatrixConditionCount):
    """The (weighted) number of true negatives at each threshold (default 0.5)."""

    _keys = ("tn",)


class FalseNegatives(_ConfusionMatrixConditionCount):
    """The (weighted) number of false negatives at each threshold (default 0.5)."""

    _keys = ("fn",)
    _direction = "down"


class _PrecisionRecall(_ThresholdedMetric):
    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        if top_k is not None and (not isinstance(top_k, int) or top_k < 1):
            raise ValueError(f"`top_k` must be a positive integer. Received: top_k={top_k!r}")
        self.init_thresholds = thresholds
        self.top_k = top_k
        self.class_id = class_id
        default = 0.5 if top_k is None else NEG_INF
        self._create_counts(parse_init_thresholds(thresholds, default_threshold=default))

    def get_config(self):
        return {**super().get_config(), "thresholds": self.init_thresholds, "top_k": self.top_k,
                "class_id": self.class_id}


class Precision(_PrecisionRecall):
    """``tp / (tp + fp)``; 0 when there are no predicted positives.

    Args:
        thresholds: a float or list of floats in [0, 1] (default 0.5, or none with ``top_k``).
        top_k: only the ``top_k`` highest scores of each sample count as predicted positives.
        class_id: compute the metric for this class (last-axis index) only.
        name: the metric's name.
        dtype: dtype of the state and result.
    """

    _keys = ("tp", "fp")

    def result(self):
        tp, fp = self.true_positives.value, self.false_positives.value
        return self._single(divide_no_nan(tp, tp + fp))


class Recall(_PrecisionRecall):
    """``tp / (tp + fn)``; 0 when there are no actual positives. Arguments as `Precision`."""

    _keys = ("tp", "fn")

    def result(self):
        tp, fn = self.true_positives.value, self.false_negatives.value
        return self._single(divide_no_nan(tp, tp + fn))


class SensitivitySpecificityBase(_ThresholdedMetric):
    """Counts at ``num_thresholds`` evenly spaced thresholds ``[0, ..., 1]`` for the "X at Y" metrics."""

    _keys = ("tp", "fp", "tn", "fn")

    def __init__(self, value, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        if not isinstance(num_thresholds, int) or num_thresholds <= 0:
            raise ValueError(f"Argument `num_thresholds` must be an integer > 0. "
                             f"Received: num_thresholds={num_thresholds}")
        self.value = value
        self.class_id = class_id
        if num_thresholds == 1:
            thresholds = [0.5]
        else:
            inner = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            thresholds = [0.0] + inner + [1.0]
        self._create_counts(thresholds)
        self._thresholds_distributed_evenly = num_thresholds > 1

    def get_config(self):
        return {**super().get_config(), "class_id": self.class_id}

    def _rates(self):
        tp, fp = self.true_positives.value, self.false_positives.value
        tn, fn = self.true_negatives.value, self.false_negatives.value
        return {"sensitivity": divide_no_nan(tp, tp + fn), "specificity": divide_no_nan(tn, tn + fp),
                "precision": divide_no_nan(tp, tp + fp)}

    def _find_max_under_constraint(self, constrained, dependent):
        """The largest ``dependent`` value where ``constrained >= value`` holds; 0 when none does."""
        feasible = constrained >= self.value
        candidates = torch.where(feasible, dependent, torch.zeros_like(dependent))
        return torch.clamp_min(candidates.max(), 0.0)


def _check_unit(name, value):
    if not 0 <= value <= 1:
        raise ValueError(f"Argument `{name}` must be in the range [0, 1]. Received: {name}={value}")


class SensitivityAtSpecificity(SensitivitySpecificityBase):
    """The best sensitivity (recall) at thresholds where specificity >= ``specificity``.

    Args:
        specificity: a float in [0, 1].
        num_thresholds: how many evenly spaced thresholds to evaluate (default 200).
        class_id: compute the metric for this class (last-axis index) only.
        name: the metric's name.
        dtype: dtype of the state and result.
    """

    def __init__(self, specificity, num_thresholds=200, class_id=None, name=None, dtype=None):
        _check_unit("specificity", specificity)
        self.specificity = specificity
        self.num_thresholds = num_thresholds
        super().__init__(specificity, num_thresholds=num_thresholds, class_id=class_id, name=name, dtype=dtype)

    def result(self):
        rates = self._rates()
        return self._find_max_under_constraint(rates["specificity"], rates["sensitivity"])

    def get_config(self):
        return {**super().get_config(), "num_thresholds": self.num_thresholds, "specificity": self.specificity}


class SpecificityAtSensitivity(SensitivitySpecificityBase):
    """The best specificity at thresholds where sensitivity >= ``sensitivity``."""

    def __init__(self, sensitivity, num_thresholds=200, class_id=None, name=None, dtype=None):
        _check_unit("sensitivity", sensitivity)
        self.sensitivity = sensitivity
        self.num_thresholds = num_thresholds
        super().__init__(sensitivity, num_thresholds=num_thresholds, class_id=class_id, name=name, dtype=dtype)

    def result(self):
        rates = self._rates()
        return self._find_max_under_constraint(rates["sensitivity"], rates["specificity"])

    def get_config(self):
        return {**super().get_config(), "num_thresholds": self.num_thresholds, "sensitivity": self.sensitivity}


class PrecisionAtRecall(SensitivitySpecificityBase):
    """The best precision at thresholds where recall >= ``recall``.

    >>> float(PrecisionAtRecall(0.5)([0, 0, 0, 1, 1], [0, 0.3, 0.8, 0.3, 0.8]))
    0.5
    """

    def __init__(self, recall, num_thresholds=200, class_id=None, name=None, dtype=None):
        _check_unit("recall", recall)
        self.recall = recall
        self.num_thresholds = num_thresholds
        super().__init__(recall, num_thresholds=num_thresholds, class_id=class_id, name=name, dtype=dtype)

    def result(self):
        rates = self._rates()
        return self._find_max_under_constraint(rates["sensitivity"], rates["precision"])

    def get_config(self):
        return {**super().get_config(), "num_thresholds": self.num_thresholds, "recall": self.recall}


class RecallAtPrecision(SensitivitySpecificityBase):
    """The best recall at thresholds where precision >= ``precision`` (0 when unreachable)."""

    def __init__(self, precision, num_thresholds=200, class_id=None, name=None, dtype=None):
        _check_unit("precision", precision)
        self.precision = precision
        self.num_thresholds = num_thresholds
        super().__init__(precision, num_thresholds=num_thresholds, class_id=class_id, name=name, dtype=dtype)

    def result(self):
        rates = self._rates()
        return self._find_max_under_constraint(rates["precision"], rates["sensitivity"])

    def get_config(self):
        return {**super().get_config(), "num_thresholds": self.num_thresholds, "precision": self.precision}
