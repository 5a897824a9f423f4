"""Overlap losses for segmentation (Dice, Tversky) and the CTC sequence loss.

>>> y_true = [[[[1.0], [1.0]], [[0.0], [0.0]]], [[[1.0], [1.0]], [[0.0], [0.0]]]]
>>> y_pred = [[[[0.0], [1.0]], [[0.0], [1.0]]], [[[0.4], [0.0]], [[0.0], [0.9]]]]
>>> [round(v, 4) for v in dice(y_true, y_pred, axis=(1, 2, 3)).tolist()]
[0.5, 0.7576]
>>> round(float(dice(y_true, y_pred)), 4)
0.6164
"""

import torch

from lamina.backend import config
from lamina.losses.base import Loss, LossFunctionWrapper, check_broadcastable, labels_like, prediction, to_tensor


def _sum(x, axis):
    if axis is None:
        return torch.sum(x)
    return torch.sum(x, dim=tuple(axis) if isinstance(axis, (list, tuple)) else axis)


def _pair(y_true, y_pred, name):
    y_pred = prediction(y_pred, name)
    y_true = labels_like(y_true, y_pred, name)
    check_broadcastable(y_true, y_pred, name)
    return y_true, y_pred


def dice(y_true, y_pred, axis=None):
    """``1 - 2 * sum(y_true * y_pred) / (sum(y_true) + sum(y_pred) + epsilon)``, summed over ``axis``.

    ``axis=None`` sums over every axis and returns a scalar.
    """
    y_true, y_pred = _pair(y_true, y_pred, "dice")
    intersection = _sum(y_true * y_pred, axis)
    return 1.0 - 2.0 * intersection / (_sum(y_true, axis) + _sum(y_pred, axis) + config.epsilon())


def tversky(y_true, y_pred, alpha=0.5, beta=0.5, axis=None):
    """``1 - TP / (TP + alpha * sum(y_true * (1 - y_pred)) + beta * sum((1 - y_true) * y_pred) + epsilon)``.

    Keras weights the missed positives by ``alpha`` and the false alarms by ``beta``; with both
    0.5 this is the Dice loss.
    """
    y_true, y_pred = _pair(y_true, y_pred, "tversky")
    intersection = _sum(y_true * y_pred, axis)
    missed = _sum((1.0 - y_pred) * y_true, axis)
    false_alarms = _sum(y_pred * (1.0 - y_true), axis)
    return 1.0 - intersection / (intersection + missed * alpha + false_alarms * beta + config.epsilon())


def ctc(y_true, y_pred):
    """Connectionist temporal classification loss per sequence.

    Args:
        y_true: integer labels ``(batch, max_label_length)``, padded with 0 (0 is the blank class).
        y_pred: logits ``(batch, time, num_classes)`` (not softmax-normalized).

    Returns:
        The negative log-likelihood of each label sequence, shape ``(batch,)``.
    """
    y_pred = prediction(y_pred, "ctc")
    y_true = to_tensor(y_true, "y_true", loss="ctc").to(y_pred.device)
    if y_true.dim() != 2:
        raise ValueError("Targets `y_true` are expected to be a tensor of shape `(batch_size, max_length)` in "
                         f"integer format. Received: y_true.shape={tuple(y_true.shape)}")
    if y_pred.dim() != 3:
        raise ValueError("Logits `y_pred` are expected to be a tensor of shape `(batch_size, max_length, "
                         f"num_classes)`. Received: y_pred.shape={tuple(y_pred.shape)}")
    labels = y_true.long()
    batch, steps = y_pred.shape[0], y_pred.shape[1]
    input_length = torch.full((batch,), steps, dtype=torch.long, device=y_pred.device)
    label_length = torch.sum(labels != 0, dim=-1)
    log_probs = torch.log_softmax(y_pred, dim=-1).transpose(0, 1)
    return torch.nn.functional.ctc_loss(log_probs, labels, input_length, label_length, blank=0, reduction="none",
                                        zero_infinity=False)


class Dice(LossFunctionWrapper):
    """Dice loss. Args: ``reduction``, ``name``; ``axis`` (axes to sum over, ``None`` for all); ``dtype``.

    >>> y_true = [[[[1.0], [1.0]], [[0.0], [0.0]]], [[[1.0], [1.0]], [[0.0], [0.0]]]]
    >>> y_pred = [[[[0.0], [1.0]], [[0.0], [1.0]]], [[[0.4], [0.0]], [[0.0], [0.9]]]]
    >>> [round(v, 4) for v in Dice(axis=(1, 2, 3), reduction=None)(y_true, y_pred).tolist()]
    [0.5, 0.7576]
    """

    def __init__(self, reduction="sum_over_batch_size", name="dice", axis=None, dtype=None):
        super().__init__(dice, name=name, reduction=reduction, dtype=dtype, axis=axis)
        self.axis = axis

    def get_config(self):
        return {**Loss.get_config(self), "axis": self.axis}


class Tversky(LossFunctionWrapper):
    """Tversky loss (Salehi et al., 2017).

    Args: ``alpha``, ``beta`` (the weights of the two kinds of error); ``reduction``, ``name``;
    ``axis`` (axes to sum over, ``None`` for all); ``dtype``.
    """

    def __init__(self, alpha=0.5, beta=0.5, reduction="sum_over_batch_size", name="tversky", axis=None,
                 dtype=None):
        super().__init__(tversky, name=name, reduction=reduction, dtype=dtype, alpha=alpha, beta=beta, axis=axis)
        self.alpha = alpha
        self.beta = beta
        self.axis = axis

    def get_config(self):
        return {**Loss.get_config(self), "alpha": self.alpha, "beta": self.beta, "axis": self.axis}


class CTC(LossFunctionWrapper):
    """CTC loss for label sequences padded with 0 (the blank). Args: ``reduction``, ``name``, ``dtype``."""

    def __init__(self, reduction="sum_over_batch_size", name="ctc", dtype=None):
        super().__init__(ctc, name=name, reduction=reduction, dtype=dtype)

    def get_config(self):
        return Loss.get_config(self)
