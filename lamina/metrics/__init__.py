"""`lamina.metrics`: Keras 3 metrics, their functions, and `get`/`serialize`/`deserialize`.

>>> type(get("auc")).__name__, get("mse").name
('AUC', 'mean_squared_error')
>>> serialize(get("mse"))["class_name"]
'MeanSquaredError'
>>> type(deserialize({"class_name": "Precision", "config": {"thresholds": 0.3}})).__name__
'Precision'
"""

import inspect

from lamina.backend.naming import to_snake_case
from lamina.metrics.accuracy import Accuracy as Accuracy
from lamina.metrics.accuracy import BinaryAccuracy as BinaryAccuracy
from lamina.metrics.accuracy import CategoricalAccuracy as CategoricalAccuracy
from lamina.metrics.accuracy import SparseCategoricalAccuracy as SparseCategoricalAccuracy
from lamina.metrics.accuracy import SparseTopKCategoricalAccuracy as SparseTopKCategoricalAccuracy
from lamina.metrics.accuracy import TopKCategoricalAccuracy as TopKCategoricalAccuracy
from lamina.metrics.accuracy import accuracy as accuracy
from lamina.metrics.accuracy import binary_accuracy as binary_accuracy
from lamina.metrics.accuracy import categorical_accuracy as categorical_accuracy
from lamina.metrics.accuracy import sparse_categorical_accuracy as sparse_categorical_accuracy
from lamina.metrics.accuracy import sparse_top_k_categorical_accuracy as sparse_top_k_categorical_accuracy
from lamina.metrics.accuracy import top_k_categorical_accuracy as top_k_categorical_accuracy
from lamina.metrics.auc import AUC as AUC
from lamina.metrics.base import Metric as Metric
from lamina.metrics.confusion import FalseNegatives as FalseNegatives
from lamina.metrics.confusion import FalsePositives as FalsePositives
from lamina.metrics.confusion import Precision as Precision
from lamina.metrics.confusion import PrecisionAtRecall as PrecisionAtRecall
from lamina.metrics.confusion import Recall as Recall
from lamina.metrics.confusion import RecallAtPrecision as RecallAtPrecision
from lamina.metrics.confusion import SensitivityAtSpecificity as SensitivityAtSpecificity
from lamina.metrics.confusion import SpecificityAtSensitivity as SpecificityAtSensitivity
from lamina.metrics.confusion import TrueNegatives as TrueNegatives
from lamina.metrics.confusion import TruePositives as TruePositives
from lamina.metrics.correlation import ConcordanceCorrelation as ConcordanceCorrelation
from lamina.metrics.correlation import PearsonCorrelation as PearsonCorrelation
from lamina.metrics.correlation import concordance_correlation as concordance_correlation
from lamina.metrics.correlation import pearson_correlation as pearson_correlation
from lamina.metrics.f_score import F1Score as F1Score
from lamina.metrics.f_score import FBetaScore as FBetaScore
from lamina.metrics.hinge import CategoricalHinge as CategoricalHinge
from lamina.metrics.hinge import Hinge as Hinge
from lamina.metrics.hinge import SquaredHinge as SquaredHinge
from lamina.metrics.iou import BinaryIoU as BinaryIoU
from lamina.metrics.iou import IoU as IoU
from lamina.metrics.iou import MeanIoU as MeanIoU
from lamina.metrics.iou import OneHotIoU as OneHotIoU
from lamina.metrics.iou import OneHotMeanIoU as OneHotMeanIoU
from lamina.metrics.probabilistic import BinaryCrossentropy as BinaryCrossentropy
from lamina.metrics.probabilistic import CategoricalCrossentropy as CategoricalCrossentropy
from lamina.metrics.probabilistic import KLDivergence as KLDivergence
from lamina.metrics.probabilistic import Poisson as Poisson
from lamina.metrics.probabilistic import SparseCategoricalCrossentropy as SparseCategoricalCrossentropy
from lamina.metrics.reduction import Mean as Mean
from lamina.metrics.reduction import MeanMetricWrapper as MeanMetricWrapper
from lamina.metrics.reduction import Reduce as Reduce
from lamina.metrics.reduction import Sum as Sum
from lamina.metrics.regression import CosineSimilarity as CosineSimilarity
from lamina.metrics.regression import LogCoshError as LogCoshError
from lamina.metrics.regression import MeanAbsoluteError as MeanAbsoluteError
from lamina.metrics.regression import MeanAbsolutePercentageError as MeanAbsolutePercentageError
from lamina.metrics.regression import MeanSquaredError as MeanSquaredError
from lamina.metrics.regression import MeanSquaredLogarithmicError as MeanSquaredLogarithmicError
from lamina.metrics.regression import R2Score as R2Score
from lamina.metrics.regression import RootMeanSquaredError as RootMeanSquaredError
from lamina.metrics.utils import LossFunction, loss_function
from lamina.saving import registry

ALL_OBJECTS = (
    Metric, Mean, Sum, MeanMetricWrapper,
    MeanSquaredError, RootMeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError, CosineSimilarity, LogCoshError, R2Score, PearsonCorrelation, ConcordanceCorrelation,
    AUC, FalseNegatives, FalsePositives, Precision, PrecisionAtRecall, Recall, RecallAtPrecision,
    SensitivityAtSpecificity, SpecificityAtSensitivity, TrueNegatives, TruePositives,
    Hinge, SquaredHinge, CategoricalHinge,
    KLDivergence, Poisson, BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy,
    Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy, TopKCategoricalAccuracy,
    SparseTopKCategoricalAccuracy,
    F1Score, FBetaScore,
    IoU, BinaryIoU, MeanIoU, OneHotIoU, OneHotMeanIoU,
)
ALL_OBJECTS_DICT = {cls.__name__: cls for cls in ALL_OBJECTS}
ALL_OBJECTS_DICT.update({to_snake_case(cls.__name__): cls for cls in ALL_OBJECTS})
ALL_OBJECTS_DICT.update({
    "bce": BinaryCrossentropy, "BCE": BinaryCrossentropy,
    "mse": MeanSquaredError, "MSE": MeanSquaredError,
    "mae": MeanAbsoluteError, "MAE": MeanAbsoluteError,
    "mape": MeanAbsolutePercentageError, "MAPE": MeanAbsolutePercentageError,
    "msle": MeanSquaredLogarithmicError, "MSLE": MeanSquaredLogarithmicError,
    "acc": Accuracy,
})

# Metric functions (keras.metrics.*) and the loss functions keras.metrics also exports.
METRIC_FUNCTIONS = {
    fn.__name__: fn for fn in (accuracy, binary_accuracy, categorical_accuracy, sparse_categorical_accuracy,
                               top_k_categorical_accuracy, sparse_top_k_categorical_accuracy,
                               pearson_correlation, concordance_correlation)
}
LOSS_FUNCTION_NAMES = (
    "binary_crossentropy", "binary_focal_crossentropy", "categorical_crossentropy",
    "categorical_focal_crossentropy", "categorical_hinge", "hinge", "huber", "kl_divergence", "log_cosh",
    "mean_absolute_error", "mean_absolute_percentage_error", "mean_squared_error",
    "mean_squared_logarithmic_error", "poisson", "sparse_categorical_crossentropy", "squared_hinge",
)


def __getattr__(name):
    # keras.metrics re-exports the per-sample loss functions; they live in lamina.losses.
    if name in LOSS_FUNCTION_NAMES:
        from lamina import losses

        return getattr(losses, name)
    raise AttributeError(f"module 'lamina.metrics' has no attribute {name!r}")


def _function_name(fn):
    if isinstance(fn, LossFunction):
        return fn.__name__, "keras.losses"
    name = getattr(fn, "__name__", None)
    if METRIC_FUNCTIONS.get(name) is fn:
        return name, "keras.metrics"
    if name in LOSS_FUNCTION_NAMES and str(getattr(fn, "__module__", "")).startswith("lamina.losses"):
        return name, "keras.losses"
    return None, None


def serialize_function(fn):
    """The Keras 3 config of a metric or loss function (registered custom functions included)."""
    name, module = _function_name(fn)
    if name is not None:
        return {"module": module, "class_name": "function", "config": name, "registered_name": "function"}
    return registry.serialize_keras_object(fn)


def deserialize_function(config, custom_objects=None):
    """The function a name or ``{"class_name": "function", ...}`` config refers to."""
    name = config.get("config") if isinstance(config, dict) and config.get("class_name") == "function" else config
    if isinstance(name, str):
        if name in METRIC_FUNCTIONS:
            return METRIC_FUNCTIONS[name]
        if name in LOSS_FUNCTION_NAMES and registry.get_registered_object(name, custom_objects) is None:
            return loss_function(name)
    return registry.deserialize_keras_object(config, module_objects=METRIC_FUNCTIONS, custom_objects=custom_objects,
                                             printable_module_name="metric function")


def serialize(metric):
    """The Keras 3 config dict of a `Metric` (or of a metric function).

    >>> serialize(Mean(name="loss"))
    {'module': 'keras.metrics', 'class_name': 'Mean', 'config': {'name': 'loss', 'dtype': 'float32'}, \
'registered_name': None}
    """
    if inspect.isfunction(metric) or isinstance(metric, LossFunction):
        return serialize_function(metric)
    return registry.serialize_keras_object(metric)


def deserialize(config, custom_objects=None):
    """The metric (or metric function) a Keras 2 or Keras 3 config, or a name, describes."""
    if isinstance(config, dict) and config.get("class_name") == "function":
        return deserialize_function(config, custom_objects)
    return registry.deserialize_keras_object(
        config, module_objects={**METRIC_FUNCTIONS, **ALL_OBJECTS_DICT}, custom_objects=custom_objects,
        printable_module_name="metric function",
    )


def get(identifier):
    """A metric from ``None``, a name, a config dict, a `Metric` class or instance, or a function.

    Names of metric classes (``'AUC'``, ``'auc'``, ``'mse'``, ``'binary_accuracy'``...) give new
    instances; functions are returned as they are.

    Raises:
        ValueError: if ``identifier`` names no known metric.

    >>> type(get("binary_accuracy")).__name__, get(binary_accuracy) is binary_accuracy
    ('BinaryAccuracy', True)
    """
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        obj = deserialize(identifier)
    elif isinstance(identifier, str):
        obj = registry.get_registered_object(identifier, module_objects=ALL_OBJECTS_DICT)
        if obj is None:
            raise ValueError(
                f"Could not interpret metric identifier: {identifier!r}. Expected the name of a metric "
                f"(e.g. 'accuracy', 'mse', 'auc', 'precision'), a config dict, a `Metric` or a function. "
                f"Received: identifier={identifier!r}"
            )
    else:
        obj = identifier
    if inspect.isclass(obj):
        obj = obj()
    if callable(obj) or isinstance(obj, Metric):
        return obj
    raise ValueError(f"Could not interpret metric identifier: expected None, a string, a config dict, a `Metric` "
                     f"or a callable. Received: identifier={identifier!r}")
