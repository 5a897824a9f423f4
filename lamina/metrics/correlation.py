"""Correlation metrics: `PearsonCorrelation` and `ConcordanceCorrelation` (Keras 3).

Each function returns one coefficient per sample, computed along ``axis``; each class is the
running (weighted) mean of its function.

>>> round(float(pearson_correlation([[1.0, 2.0, 3.0]], [[1.0, 2.0, 2.0]])[0]), 6)
0.866025
>>> round(float(ConcordanceCorrelation()([[1.0, 2.0, 3.0]], [[1.0, 2.0, 3.0]])), 5)
1.0
"""


from lamina.backend import config
from lamina.backend.dtypes import to_torch_dtype
from lamina.metrics.reduction import MeanMetricWrapper
from lamina.metrics.utils import check_same_shape, convert, squeeze_or_expand_to_same_rank


def _centered(y_true, y_pred, axis, name):
    y_pred = convert(y_pred)
    if not y_pred.is_floating_point():
        y_pred = y_pred.to(to_torch_dtype(config.floatx()))
    y_true = convert(y_true, y_pred.dtype, y_pred.device).to(y_pred.device)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    check_same_shape(name, y_true, y_pred)
    mean_true, mean_pred = y_true.mean(dim=axis, keepdim=True), y_pred.mean(dim=axis, keepdim=True)
    return y_true - mean_true, y_pred - mean_pred, mean_true.squeeze(axis), mean_pred.squeeze(axis)


def pearson_correlation(y_true, y_pred, axis=-1):
    """Per sample, ``cov(y_true, y_pred) / (std(y_true) * std(y_pred))`` along ``axis``.

    As in Keras, a constant ``y_true`` or ``y_pred`` gives NaN (0 / 0).
    """
    true_c, pred_c, _, _ = _centered(y_true, y_pred, axis, "pearson_correlation")
    covariance = (true_c * pred_c).mean(dim=axis)
    std_true, std_pred = true_c.square().mean(dim=axis).sqrt(), pred_c.square().mean(dim=axis).sqrt()
    return covariance / (std_true * std_pred)


def concordance_correlation(y_true, y_pred, axis=-1):
    """Per sample, Lin's ``2 cov / (var(y_true) + var(y_pred) + (mean(y_true) - mean(y_pred))^2 + epsilon)``."""
    true_c, pred_c, mean_true, mean_pred = _centered(y_true, y_pred, axis, "concordance_correlation")
    covariance = (true_c * pred_c).mean(dim=axis)
    denominator = true_c.square().mean(dim=axis) + pred_c.square().mean(dim=axis) + (mean_true - mean_pred).square()
    return 2.0 * covariance / (denominator + config.epsilon())


class _CorrelationMetric(MeanMetricWrapper):
    _direction = "up"

    def __init__(self, fn, name, dtype, axis):
        super().__init__(fn, name=name, dtype=dtype, axis=axis)
        self.axis = axis

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "axis": self.axis}


class PearsonCorrelation(_CorrelationMetric):
    """The running mean of the per-sample Pearson correlation along ``axis``.

    Args:
        name: the metric's name.
        dtype: dtype of the state and result.
        axis: the axis along which the correlation is computed.
    """

    def __init__(self, name="pearson_correlation", dtype=None, axis=-1):
        super().__init__(pearson_correlation, name=name, dtype=dtype, axis=axis)


class ConcordanceCorrelation(_CorrelationMetric):
    """The running mean of the per-sample concordance correlation coefficient along ``axis``.

    Args:
        name: the metric's name.
        dtype: dtype of the state and result.
        axis: the axis along which the coefficient is computed.
    """

    def __init__(self, name="concordance_correlation", dtype=None, axis=-1):
        super().__init__(concordance_correlation, name=name, dtype=dtype, axis=axis)
