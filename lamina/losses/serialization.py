"""`get`, `serialize` and `deserialize` for losses: names, classes, Keras 2 and Keras 3 configs.

>>> get("mse") is mean_squared_error, type(get("BinaryCrossentropy")).__name__
(True, 'BinaryCrossentropy')
>>> serialize(BinaryCrossentropy(from_logits=True))["config"]["from_logits"]
True
>>> deserialize({"class_name": "Huber", "config": {"delta": 2.0}}).delta
2.0
"""

import inspect

from lamina.losses.base import Loss, LossFunctionWrapper
from lamina.losses.crossentropy import (
    BinaryCrossentropy,
    BinaryFocalCrossentropy,
    CategoricalCrossentropy,
    CategoricalFocalCrossentropy,
    CategoricalGeneralizedCrossEntropy,
    SparseCategoricalCrossentropy,
    binary_crossentropy,
    binary_focal_crossentropy,
    categorical_crossentropy,
    categorical_focal_crossentropy,
    categorical_generalized_cross_entropy,
    sparse_categorical_crossentropy,
)
from lamina.losses.hinge import CategoricalHinge, Hinge, SquaredHinge, categorical_hinge, hinge, squared_hinge
from lamina.losses.regression import (
    CosineSimilarity,
    Huber,
    KLDivergence,
    LogCosh,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredError,
    MeanSquaredLogarithmicError,
    Poisson,
    cosine_similarity,
    huber,
    kl_divergence,
    log_cosh,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    mean_squared_logarithmic_error,
    poisson,
)
from lamina.losses.segmentation import CTC, Dice, Tversky, ctc, dice, tversky
from lamina.saving import registry

ALL_OBJECTS = (
    Loss, LossFunctionWrapper,
    KLDivergence, Poisson, BinaryCrossentropy, BinaryFocalCrossentropy, CategoricalCrossentropy,
    CategoricalFocalCrossentropy, SparseCategoricalCrossentropy, CategoricalGeneralizedCrossEntropy,
    MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError, MeanSquaredLogarithmicError,
    CosineSimilarity, LogCosh, Huber, Hinge, SquaredHinge, CategoricalHinge, Dice, Tversky, CTC,
    kl_divergence, poisson, binary_crossentropy, binary_focal_crossentropy, categorical_crossentropy,
    categorical_focal_crossentropy, sparse_categorical_crossentropy, categorical_generalized_cross_entropy,
    mean_squared_error, mean_absolute_error, mean_absolute_percentage_error, mean_squared_logarithmic_error,
    cosine_similarity, log_cosh, huber, hinge, squared_hinge, categorical_hinge, dice, tversky, ctc,
)
ALL_OBJECTS_DICT = {obj.__name__: obj for obj in ALL_OBJECTS}
# Short names Keras 3 accepts, and the tf.keras 2 (``keras._legacy``) ones.
ALIASES = {
    "bce": binary_crossentropy, "BCE": binary_crossentropy,
    "kld": kl_divergence, "KLD": kl_divergence, "kullback_leibler_divergence": kl_divergence,
    "mae": mean_absolute_error, "MAE": mean_absolute_error,
    "mse": mean_squared_error, "MSE": mean_squared_error,
    "mape": mean_absolute_percentage_error, "MAPE": mean_absolute_percentage_error,
    "msle": mean_squared_logarithmic_error, "MSLE": mean_squared_logarithmic_error,
    "logcosh": log_cosh, "huber_loss": huber,
}
ALL_OBJECTS_DICT.update(ALIASES)
_BUILTIN_FUNCTIONS = {obj for obj in ALL_OBJECTS if inspect.isfunction(obj)}


def serialize_function(fn):
    """Keras 3 form of a loss function: a ``class_name: "function"`` dict (or the registry's form)."""
    if fn in _BUILTIN_FUNCTIONS:
        return {"module": "keras.losses", "class_name": "function", "config": fn.__name__,
                "registered_name": fn.__name__}
    return registry.serialize_keras_object(fn)


def serialize(loss):
    """The Keras 3 config of a `Loss` instance or loss function.

    Args:
        loss: a `Loss` or a loss function.
    """
    if inspect.isfunction(loss):
        return serialize_function(loss)
    return registry.serialize_keras_object(loss)


def deserialize(name, custom_objects=None):
    """The loss class instance or function named by a string or described by a Keras 2/3 config dict.

    Raises:
        ValueError: when the identifier names no known loss.
    """
    return registry.deserialize_keras_object(name, module_objects=ALL_OBJECTS_DICT, custom_objects=custom_objects,
                                             printable_module_name="loss function")


def get(identifier):
    """A loss from ``None``, a name (``'mse'``, ``'BinaryCrossentropy'``), a config dict, a class or a callable.

    Names of classes give a default instance; names of functions give the function.

    Raises:
        ValueError: when ``identifier`` names or describes no known loss.
    """
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        obj = deserialize(identifier)
    elif isinstance(identifier, str):
        obj = registry.get_registered_object(identifier, module_objects=ALL_OBJECTS_DICT)
    else:
        obj = identifier
    if inspect.isclass(obj):
        obj = obj()
    if callable(obj):
        return obj
    raise ValueError(
        f"Could not interpret loss identifier: {identifier!r}. Expected None, a loss name such as "
        f"'binary_crossentropy' or 'mse', a Loss class name, a serialized loss dict, a Loss instance or a "
        f"callable. Received: identifier={identifier!r}"
    )
