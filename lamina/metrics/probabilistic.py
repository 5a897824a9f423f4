"""Probabilistic metrics: running means of the crossentropy, KL-divergence and Poisson losses.

Each wraps the per-sample function of `lamina.losses` with the same name.

>>> m = BinaryCrossentropy(from_logits=True)
>>> m.get_config()
{'name': 'binary_crossentropy', 'dtype': 'float32', 'from_logits': True, 'label_smoothing': 0}
"""

from lamina.metrics.reduction import MeanMetricWrapper
from lamina.metrics.utils import loss_function


class _LossMetric(MeanMetricWrapper):
    _direction = "down"

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


class KLDivergence(_LossMetric):
    """The running mean of ``sum(y_true * log(y_true / y_pred), axis=-1)`` (both clipped to [eps, 1])."""

    def __init__(self, name="kl_divergence", dtype=None):
        super().__init__(loss_function("kl_divergence"), name=name, dtype=dtype)


class Poisson(_LossMetric):
    """The running mean of ``mean(y_pred - y_true * log(y_pred + eps), axis=-1)``."""

    def __init__(self, name="poisson", dtype=None):
        super().__init__(loss_function("poisson"), name=name, dtype=dtype)


class BinaryCrossentropy(_LossMetric):
    """The running mean of the binary crossentropy.

    Args:
        name: the metric's name.
        dtype: dtype of the state and result.
        from_logits: ``y_pred`` holds logits rather than probabilities.
        label_smoothing: a float in [0, 1]; labels become ``y * (1 - s) + s / 2``.
    """

    def __init__(self, name="binary_crossentropy", dtype=None, from_logits=False, label_smoothing=0):
        super().__init__(loss_function("binary_crossentropy"), name=name, dtype=dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing)
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing

    def get_config(self):
        return {**super().get_config(), "from_logits": self.from_logits, "label_smoothing": self.label_smoothing}


class CategoricalCrossentropy(_LossMetric):
    """The running mean of the categorical crossentropy of one-hot labels.

    Args:
        name: the metric's name.
        dtype: dtype of the state and result.
        from_logits: ``y_pred`` holds logits rather than probabilities.
        label_smoothing: a float in [0, 1].
        axis: the class axis.
    """

    def __init__(self, name="categorical_crossentropy", dtype=None, from_logits=False, label_smoothing=0,
                 axis=-1):
        super().__init__(loss_function("categorical_crossentropy"), name=name, dtype=dtype,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis

    def get_config(self):
        return {**super().get_config(), "from_logits": self.from_logits, "label_smoothing": self.label_smoothing,
                "axis": self.axis}


class SparseCategoricalCrossentropy(_LossMetric):
    """The running mean of the crossentropy of integer labels.

    Args:
        name: the metric's name.
        dtype: dtype of the state and result.
        from_logits: ``y_pred`` holds logits rather than probabilities.
        ignore_class: a label id whose samples count with weight 0 (``None``: none).
        axis: the class axis.
    """

    def __init__(self, name="sparse_categorical_crossentropy", dtype=None, from_logits=False, ignore_class=None,
                 axis=-1):
        super().__init__(loss_function("sparse_categorical_crossentropy"), name=name, dtype=dtype,
                         from_logits=from_logits, ignore_class=ignore_class, axis=axis)
        self.from_logits = from_logits
        self.ignore_class = ignore_class
        self.axis = axis

    def get_config(self):
        return {**super().get_config(), "from_logits": self.from_logits, "ignore_class": self.ignore_class,
                "axis": self.axis}
