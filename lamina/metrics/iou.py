"""Intersection-over-union metrics from an accumulated confusion matrix.

``iou = tp / (tp + fp + fn)`` per class; classes that never occur (in labels or
predictions) are left out of the mean.

>>> float(MeanIoU(num_classes=2)([0, 0, 1, 1], [0, 1, 0, 1]))
0.3333333
>>> float(BinaryIoU(target_class_ids=[0, 1], threshold=0.3)([0, 1, 0, 1], [0.1, 0.2, 0.4, 0.7]))
0.3333333
"""

import warnings

import torch

from lamina.backend import config
from lamina.backend.dtypes import to_torch_dtype
from lamina.metrics.base import Metric
from lamina.metrics.confusion_utils import confusion_matrix
from lamina.metrics.utils import check_broadcastable


class _IoUBase(Metric):
    """Accumulates a ``(num_classes, num_classes)`` confusion matrix (rows: labels)."""

    _direction = "up"

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None, sparse_y_true=True,
                 sparse_y_pred=True, axis=-1):
        # Keras keeps the confusion matrix in int64 by default (float weights are then truncated).
        super().__init__(name=name, dtype=dtype or "int64")
        if not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f"`num_classes` must be a positive integer. Received: num_classes={num_classes!r}")
        self.num_classes = num_classes
        self.ignore_class = ignore_class
        self.sparse_y_true = sparse_y_true
        self.sparse_y_pred = sparse_y_pred
        self.axis = axis
        self.total_cm = self.add_variable(shape=(num_classes, num_classes), initializer="zeros",
                                          name="total_confusion_matrix")

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Adds the (weighted) confusion matrix of this batch.

        Args:
            y_true: class ids (or one-hot/scores when ``sparse_y_true=False``).
            y_pred: class ids (or scores when ``sparse_y_pred=False``).
            sample_weight: weights broadcastable to the flattened labels.
        """
        y_pred = self._convert(y_pred)
        y_true = self._convert(y_true, like=y_pred)
        if not self.sparse_y_true:
            y_true = torch.argmax(y_true, dim=self.axis)
        if not self.sparse_y_pred:
            y_pred = torch.argmax(y_pred, dim=self.axis)
        y_true, y_pred = y_true.to(self.dtype_torch).reshape(-1), y_pred.to(self.dtype_torch).reshape(-1)
        if y_true.shape != y_pred.shape:
            raise ValueError(f"Metric '{self.name}': `y_true` and `y_pred` must hold the same number of labels. "
                             f"Received: {y_true.shape[0]} and {y_pred.shape[0]}")
        if sample_weight is None:
            weight = torch.ones((), dtype=self.dtype_torch, device=y_true.device)
        else:
            weight = self._convert(sample_weight, like=y_true)
            if weight.is_floating_point() and not self.dtype_torch.is_floating_point:
                warnings.warn(f"Metric '{self.name}': float `sample_weight` with the integer dtype {self.dtype} "
                              "is truncated to integers, as in Keras. Pass integer weights or a float `dtype`.",
                              stacklevel=2)
            weight = weight.to(self.dtype_torch)
        if weight.dim() > 1:
            weight = weight.reshape(-1)
        check_broadcastable(self.name, weight.shape, y_true.shape)
        weight = weight.expand(y_true.shape)
        if self.ignore_class is not None:
            valid = (y_true != self.ignore_class).to(self.dtype_torch)
            y_true, y_pred, weight = y_true * valid, y_pred * valid, weight * valid
        current = confusion_matrix(y_true, y_pred, self.num_classes, weights=weight, dtype=self.dtype_torch,
                                   name=self.name)
        self.total_cm.assign_add(current)

    @property
    def dtype_torch(self):
        return self.total_cm.value.dtype


class IoU(_IoUBase):
    """The mean IoU over ``target_class_ids`` (the IoU of that class when there is one).

    Args:
        num_classes: number of classes.
        target_class_ids: the classes whose IoUs are averaged.
        name: the metric's name.
        dtype: dtype of the confusion matrix (default int64, as in Keras; the result is floatx).
        ignore_class: a label id left out of the counts (e.g. a "void" class).
        sparse_y_true: labels are ids; ``False`` takes the argmax over ``axis``.
        sparse_y_pred: predictions are ids; ``False`` takes the argmax over ``axis``.
        axis: the class axis for the argmax.
    """

    def __init__(self, num_classes, target_class_ids, name=None, dtype=None, ignore_class=None,
                 sparse_y_true=True, sparse_y_pred=True, axis=-1):
        super().__init__(num_classes=num_classes, name=name, dtype=dtype, ignore_class=ignore_class,
                         sparse_y_true=sparse_y_true, sparse_y_pred=sparse_y_pred, axis=axis)
        target_class_ids = list(target_class_ids)
        if not target_class_ids or max(target_class_ids) >= num_classes or min(target_class_ids) < 0:
            raise ValueError(f"Target class ids must be in [0, {num_classes}). "
                             f"Received: target_class_ids={target_class_ids}")
        self.target_class_ids = target_class_ids

    def result(self):
        cm = self.total_cm.value.to(to_torch_dtype(config.floatx()))
        true_positives = torch.diagonal(cm)
        denominator = cm.sum(dim=0) + cm.sum(dim=1) - true_positives
        ids = torch.tensor(self.target_class_ids, device=cm.device)
        true_positives, denominator = true_positives[ids], denominator[ids]
        num_valid = (denominator > 1e-9).to(cm.dtype).sum()
        iou = true_positives / (denominator + config.epsilon())
        return iou.sum() / (num_valid + config.epsilon())

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes, "target_class_ids": self.target_class_ids,
                "ignore_class": self.ignore_class, "sparse_y_true": self.sparse_y_true,
                "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}


class BinaryIoU(IoU):
    """IoU for binary tasks: predictions ``>= threshold`` are class 1, others class 0.

    Args:
        target_class_ids: ``[0]``, ``[1]`` or ``[0, 1]``.
        threshold: the decision threshold on ``y_pred``.
        name: the metric's name.
        dtype: dtype of the state and result.
    """

    def __init__(self, target_class_ids=(0, 1), threshold=0.5, name=None, dtype=None):
        super().__init__(num_classes=2, target_class_ids=target_class_ids, name=name, dtype=dtype)
        self.threshold = threshold

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Thresholds ``y_pred`` and accumulates the 2x2 confusion matrix."""
        y_pred = self._convert(y_pred, config.floatx())
        return super().update_state(y_true, (y_pred >= self.threshold).to(y_pred.dtype), sample_weight)

    def get_config(self):
        return {"target_class_ids": self.target_class_ids, "threshold": self.threshold, "name": self.name,
                "dtype": self.dtype}


class MeanIoU(IoU):
    """The mean of the per-class IoUs over all ``num_classes`` classes (arguments as `IoU`).

    >>> m = MeanIoU(num_classes=2, dtype="float32")  # the default int64 state would truncate these weights
    >>> round(float(m([0, 0, 1, 1], [0, 1, 0, 1], sample_weight=[0.3, 0.3, 0.3, 0.1])), 6)
    0.238095
    """

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None, sparse_y_true=True,
                 sparse_y_pred=True, axis=-1):
        super().__init__(num_classes=num_classes, target_class_ids=list(range(num_classes)), name=name,
                         dtype=dtype, ignore_class=ignore_class, sparse_y_true=sparse_y_true,
                         sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self):
        return {"num_classes": self.num_classes, "name": self.name, "dtype": self.dtype,
                "ignore_class": self.ignore_class, "sparse_y_true": self.sparse_y_true,
                "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}


class OneHotIoU(IoU):
    """`IoU` for one-hot labels (and score predictions unless ``sparse_y_pred=True``)."""

    def __init__(self, num_classes, target_class_ids, name=None, dtype=None, ignore_class=None,
                 sparse_y_pred=False, axis=-1):
        super().__init__(num_classes=num_classes, target_class_ids=target_class_ids, name=name, dtype=dtype,
                         ignore_class=ignore_class, sparse_y_true=False, sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self):
        return {"num_classes": self.num_classes, "target_class_ids": self.target_class_ids, "name": self.name,
                "dtype": self.dtype, "ignore_class": self.ignore_class, "sparse_y_pred": self.sparse_y_pred,
                "axis": self.axis}


class OneHotMeanIoU(MeanIoU):
    """`MeanIoU` for one-hot labels (and score predictions unless ``sparse_y_pred=True``)."""

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None, sparse_y_pred=False, axis=-1):
        super().__init__(num_classes=num_classes, name=name, dtype=dtype, ignore_class=ignore_class,
                         sparse_y_true=False, sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self):
        return {"num_classes": self.num_classes, "name": self.name, "dtype": self.dtype,
                "ignore_class": self.ignore_class, "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}
