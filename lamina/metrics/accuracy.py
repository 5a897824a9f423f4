"""Accuracy metrics and their stateless functions (Keras 3 semantics).

Each function returns match values (1.0 or 0.0, in floatx): one per entry for `accuracy` and
`binary_accuracy`, one per sample for the others, as in Keras 3; each class is the
`MeanMetricWrapper` of its function.

>>> float(BinaryAccuracy()([[1], [1], [0], [0]], [[0.98], [1], [0], [0.6]]))
0.75
>>> float(SparseCategoricalAccuracy()([[2], [1]], [[0.1, 0.6, 0.3], [0.05, 0.95, 0]]))
0.5
>>> float(TopKCategoricalAccuracy(k=1)([[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]]))
0.5
"""

import torch

from lamina.backend import config
from lamina.backend.dtypes import to_torch_dtype
from lamina.metrics.reduction import MeanMetricWrapper
from lamina.metrics.utils import check_same_shape, convert, squeeze_or_expand_to_same_rank


def _floatx():
    return to_torch_dtype(config.floatx())


def _pair(y_true, y_pred, true_dtype=None, pred_dtype=None):
    """Converts both; ``y_true`` joins ``y_pred``'s device. ``true_dtype='pred'`` copies y_pred's dtype."""
    y_pred = convert(y_pred, pred_dtype)
    dtype = y_pred.dtype if true_dtype == "pred" else true_dtype
    y_true = convert(y_true, dtype, y_pred.device).to(y_pred.device)
    return y_true, y_pred


def accuracy(y_true, y_pred):
    """Per entry, 1.0 where ``y_pred == y_true`` (as Keras 3: no mean over the last axis)."""
    y_true, y_pred = _pair(y_true, y_pred, true_dtype="pred")
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    check_same_shape("accuracy", y_true, y_pred)
    return torch.eq(y_true, y_pred).to(_floatx())


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """Per entry, 1.0 where ``(y_pred > threshold) == y_true`` (as Keras 3: no mean over the last axis)."""
    y_true, y_pred = _pair(y_true, y_pred)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    check_same_shape("binary_accuracy", y_true, y_pred)
    if not y_pred.is_floating_point():
        y_pred = y_pred.to(_floatx())
    predicted = (y_pred > torch.as_tensor(threshold, dtype=y_pred.dtype)).to(y_true.dtype)
    return torch.eq(y_true, predicted).to(_floatx())


def categorical_accuracy(y_true, y_pred):
    """Per sample, whether ``argmax(y_pred) == argmax(y_true)`` (one-hot ``y_true``)."""
    y_true, y_pred = _pair(y_true, y_pred)
    if y_true.dim() == 0 or y_pred.dim() == 0:
        raise ValueError("categorical_accuracy expects `y_true` and `y_pred` with a class axis. "
                         f"Received: y_true.shape={tuple(y_true.shape)}, y_pred.shape={tuple(y_pred.shape)}")
    y_true = torch.argmax(y_true, dim=-1)
    return _match_labels(y_true, y_pred, squeeze_any=True)


def sparse_categorical_accuracy(y_true, y_pred):
    """Per sample, whether ``argmax(y_pred)`` equals the integer label ``y_true``."""
    y_true, y_pred = _pair(y_true, y_pred)
    if y_pred.dim() == 0:
        raise ValueError("sparse_categorical_accuracy expects `y_pred` with a class axis. "
                         f"Received: y_pred.shape={tuple(y_pred.shape)}")
    matches = _match_labels(y_true, y_pred, squeeze_any=False)
    if matches.dim() > 1 and matches.shape[-1] == 1:
        matches = matches.squeeze(-1)
    return matches


def _match_labels(y_true, y_pred, squeeze_any):
    original_shape = y_true.shape
    reshape = False
    if y_true.dim() == y_pred.dim() and (squeeze_any or y_true.shape[-1] == 1):
        y_true = y_true.squeeze(-1)
        reshape = True
    predicted = torch.argmax(y_pred, dim=-1).to(y_true.dtype)
    check_same_shape("accuracy", y_true, predicted)
    matches = torch.eq(y_true, predicted).to(_floatx())
    return matches.reshape(original_shape) if reshape else matches


def _in_top_k(targets, predictions, k):
    """Whether each target's score is at least the k-th largest score (ties count as in)."""
    k = min(int(k), predictions.shape[-1])
    kth = torch.topk(predictions, k, dim=-1).values[..., -1:]
    target_scores = torch.gather(predictions, -1, targets.long().unsqueeze(-1))
    return (target_scores >= kth).squeeze(-1)


def _top_k(y_true_labels, y_pred, k, name):
    original_shape = y_true_labels.shape
    if y_pred.dim() < 2:
        raise ValueError(f"{name} expects `y_pred` of shape (batch_size, num_classes). "
                         f"Received: y_pred.shape={tuple(y_pred.shape)}")
    y_pred = y_pred.reshape(-1, y_pred.shape[-1])
    labels = y_true_labels.reshape(-1)
    if labels.shape[0] != y_pred.shape[0]:
        raise ValueError(f"{name}: `y_true` must have one label per row of `y_pred`. "
                         f"Received: y_true.shape={tuple(original_shape)}, y_pred.shape={tuple(y_pred.shape)}")
    matches = _in_top_k(labels, y_pred, k).to(_floatx())
    return matches.reshape(original_shape) if len(original_shape) > 1 else matches


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    """Per sample, whether the one-hot target is among the ``k`` highest scores."""
    y_true, y_pred = _pair(y_true, y_pred)
    return _top_k(torch.argmax(y_true, dim=-1), y_pred, k, "top_k_categorical_accuracy")


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5, from_sorted_ids=False):
    """Per sample, whether the integer target is among the ``k`` highest scores.

    With ``from_sorted_ids=True``, ``y_pred`` holds class ids sorted by decreasing score.
    """
    y_true, y_pred = _pair(y_true, y_pred)
    if not from_sorted_ids:
        return _top_k(y_true, y_pred, k, "sparse_top_k_categorical_accuracy")
    original_shape = y_true.shape
    labels = y_true.reshape(-1, 1).to(y_pred.dtype)
    ids = y_pred.reshape(labels.shape[0], -1)[:, : int(k)]
    matches = torch.eq(ids, labels).any(dim=-1).to(_floatx())
    return matches.reshape(original_shape) if len(original_shape) > 1 else matches


class _AccuracyBase(MeanMetricWrapper):
    _direction = "up"

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


class Accuracy(_AccuracyBase):
    """How often ``y_pred`` equals ``y_true`` exactly.

    >>> float(Accuracy()([[1], [2], [3], [4]], [[0], [2], [3], [4]]))
    0.75
    """

    def __init__(self, name="accuracy", dtype=None):
        super().__init__(fn=accuracy, name=name, dtype=dtype)


class BinaryAccuracy(_AccuracyBase):
    """How often ``y_pred > threshold`` matches binary ``y_true``.

    Args:
        name: the metric's name.
        dtype: dtype of the state and result.
        threshold: a float in (0, 1).
    """

    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        if threshold is not None and (threshold <= 0 or threshold >= 1):
            raise ValueError("Invalid value for argument `threshold`. Expected a value in interval (0, 1). "
                             f"Received: threshold={threshold}")
        super().__init__(fn=binary_accuracy, name=name, dtype=dtype, threshold=threshold)
        self.threshold = threshold

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "threshold": self.threshold}


class CategoricalAccuracy(_AccuracyBase):
    """How often ``argmax(y_pred)`` matches one-hot ``y_true``.

    >>> float(CategoricalAccuracy()([[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]]))
    0.5
    """

    def __init__(self, name="categorical_accuracy", dtype=None):
        super().__init__(fn=categorical_accuracy, name=name, dtype=dtype)


class SparseCategoricalAccuracy(_AccuracyBase):
    """How often ``argmax(y_pred)`` matches integer ``y_true``."""

    def __init__(self, name="sparse_categorical_accuracy", dtype=None):
        super().__init__(fn=sparse_categorical_accuracy, name=name, dtype=dtype)


class TopKCategoricalAccuracy(_AccuracyBase):
    """How often one-hot targets are among the ``k`` highest predictions."""

    def __init__(self, k=5, name="top_k_categorical_accuracy", dtype=None):
        super().__init__(fn=top_k_categorical_accuracy, name=name, dtype=dtype, k=k)
        self.k = k

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "k": self.k}


class SparseTopKCategoricalAccuracy(_AccuracyBase):
    """How often integer targets are among the ``k`` highest predictions.

    Args:
        k: how many top predictions count.
        name: the metric's name.
        dtype: dtype of the state and result.
        from_sorted_ids: ``y_pred`` holds the top class ids, best first, instead of scores.

    >>> m = SparseTopKCategoricalAccuracy(k=1, from_sorted_ids=True)
    >>> float(m([2, 1], [[2, 0], [0, 1]]))
    0.5
    """

    def __init__(self, k=5, name="sparse_top_k_categorical_accuracy", dtype=None, from_sorted_ids=False):
        super().__init__(fn=sparse_top_k_categorical_accuracy, name=name, dtype=dtype, k=k,
                         from_sorted_ids=from_sorted_ids)
        self.k = k
        self.from_sorted_ids = from_sorted_ids

    def get_config(self):
        config = {"name": self.name, "dtype": self.dtype, "k": self.k}
        if self.from_sorted_ids:
            config["from_sorted_ids"] = True
        return config
