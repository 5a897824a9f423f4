"""Hinge losses for maximum-margin classifiers: hinge, squared hinge and categorical hinge.

``hinge`` and ``squared_hinge`` expect labels in ``{-1, 1}``; when every label is
0 or 1 they are converted to -1 and 1 first, as Keras does.

>>> hinge([[0.0, 1.0]], [[-0.5, 0.5]]).tolist()
[0.5]
>>> float(CategoricalHinge()([[0.0, 1.0]], [[0.3, 0.6]]))
0.7
"""

import torch

from lamina.losses.base import Loss, LossFunctionWrapper, check_broadcastable, labels_like, prediction


def convert_binary_labels_to_hinge(y_true):
    """``2 * y_true - 1`` when all labels are 0 or 1, else ``y_true`` unchanged (no host sync)."""
    is_binary = torch.all((y_true == 0) | (y_true == 1))
    return torch.where(is_binary, 2.0 * y_true - 1.0, y_true)


def _margin(y_true, y_pred, name):
    y_pred = prediction(y_pred, name)
    y_true = labels_like(y_true, y_pred, name)
    check_broadcastable(y_true, y_pred, name)
    return torch.clamp(1.0 - convert_binary_labels_to_hinge(y_true) * y_pred, min=0.0)


def hinge(y_true, y_pred):
    """``mean(maximum(1 - y_true * y_pred, 0), axis=-1)``."""
    return torch.mean(_margin(y_true, y_pred, "hinge"), dim=-1)


def squared_hinge(y_true, y_pred):
    """``mean(square(maximum(1 - y_true * y_pred, 0)), axis=-1)``."""
    return torch.mean(torch.square(_margin(y_true, y_pred, "squared_hinge")), dim=-1)


def categorical_hinge(y_true, y_pred):
    """``maximum(neg - pos + 1, 0)`` with ``pos = sum(y_true * y_pred)``, ``neg = max((1 - y_true) * y_pred)``."""
    y_pred = prediction(y_pred, "categorical_hinge")
    y_true = labels_like(y_true, y_pred, "categorical_hinge")
    check_broadcastable(y_true, y_pred, "categorical_hinge")
    pos = torch.sum(y_true * y_pred, dim=-1)
    neg = torch.amax((1.0 - y_true) * y_pred, dim=-1)
    return torch.clamp(neg - pos + 1.0, min=0.0)


class Hinge(LossFunctionWrapper):
    """Hinge loss ``maximum(1 - y_true * y_pred, 0)``. Args: ``reduction``, ``name``, ``dtype`` as for `Loss`."""

    def __init__(self, reduction="sum_over_batch_size", name="hinge", dtype=None):
        super().__init__(hinge, name=name, reduction=reduction, dtype=dtype)

    def get_config(self):
        return Loss.get_config(self)


class SquaredHinge(LossFunctionWrapper):
    """Squared hinge loss. Args: ``reduction``, ``name``, ``dtype`` as for `Loss`."""

    def __init__(self, reduction="sum_over_batch_size", name="squared_hinge", dtype=None):
        super().__init__(squared_hinge, name=name, reduction=reduction, dtype=dtype)

    def get_config(self):
        return Loss.get_config(self)


class CategoricalHinge(LossFunctionWrapper):
    """Categorical hinge loss for one-hot labels. Args: ``reduction``, ``name``, ``dtype`` as for `Loss`."""

    def __init__(self, reduction="sum_over_batch_size", name="categorical_hinge", dtype=None):
        super().__init__(categorical_hinge, name=name, reduction=reduction, dtype=dtype)

    def get_config(self):
        return Loss.get_config(self)
