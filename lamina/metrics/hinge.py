"""Hinge metrics: running means of the hinge losses of `lamina.losses`.

Labels for `Hinge` and `SquaredHinge` are -1/1 (0/1 labels are converted to -1/1).

>>> Hinge().get_config()
{'name': 'hinge', 'dtype': 'float32'}
"""

from lamina.metrics.reduction import MeanMetricWrapper
from lamina.metrics.utils import loss_function


class _HingeMetric(MeanMetricWrapper):
    _loss_name = None
    _direction = "down"

    def __init__(self, name=None, dtype=None):
        super().__init__(loss_function(self._loss_name), name=name, dtype=dtype)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


class Hinge(_HingeMetric):
    """The running mean of ``mean(maximum(1 - y_true * y_pred, 0), axis=-1)``."""

    _loss_name = "hinge"

    def __init__(self, name="hinge", dtype=None):
        super().__init__(name=name, dtype=dtype)


class SquaredHinge(_HingeMetric):
    """The running mean of ``mean(square(maximum(1 - y_true * y_pred, 0)), axis=-1)``."""

    _loss_name = "squared_hinge"

    def __init__(self, name="squared_hinge", dtype=None):
        super().__init__(name=name, dtype=dtype)


class CategoricalHinge(_HingeMetric):
    """The running mean of ``maximum(neg - pos + 1, 0)``, with ``pos = sum(y_true * y_pred)`` and
    ``neg = max((1 - y_true) * y_pred)``."""

    _loss_name = "categorical_hinge"

    def __init__(self, name="categorical_hinge", dtype=None):
        super().__init__(name=name, dtype=dtype)
