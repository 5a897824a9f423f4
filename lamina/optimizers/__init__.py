"""Optimizers with Keras 3 names, defaults, update rules and configs, and `get`/`serialize`/`deserialize`.

>>> from lamina import optimizers
>>> optimizer = optimizers.get("adam")
>>> type(optimizer).__name__, float(optimizer.learning_rate)
('Adam', 0.0010000000474974513)
>>> optimizers.serialize(optimizers.SGD(momentum=0.9))["config"]["momentum"]
0.9
"""

from lamina.optimizers import schedules
from lamina.optimizers.adadelta import Adadelta
from lamina.optimizers.adagrad import Adagrad
from lamina.optimizers.adam import Adam, AdamW
from lamina.optimizers.adamax import Adamax
from lamina.optimizers.base import Optimizer
from lamina.optimizers.ftrl import Ftrl
from lamina.optimizers.lion import Lion
from lamina.optimizers.nadam import Nadam
from lamina.optimizers.rmsprop import RMSprop
from lamina.optimizers.sgd import SGD
from lamina.saving import registry

__all__ = [
    "Adadelta", "Adagrad", "Adam", "AdamW", "Adamax", "Ftrl", "Lion", "Nadam", "Optimizer", "RMSprop", "SGD",
    "deserialize", "get", "schedules", "serialize",
]

_ALL_OBJECTS = (Optimizer, Adam, AdamW, SGD, RMSprop, Adadelta, Adagrad, Adamax, Nadam, Ftrl, Lion)
# Built-in names are matched case-insensitively, as in Keras ("Adam", "adam", "ADAM").
_MODULE_OBJECTS = {cls.__name__.lower(): cls for cls in _ALL_OBJECTS}
# Keys that tf.keras 2 optimizers write and Keras 3 optimizers do not take.
_KERAS2_ONLY_KEYS = ("jit_compile", "is_legacy_optimizer")


def serialize(optimizer):
    """The Keras 3 serialized dict of ``optimizer`` (``module`` is ``'keras.optimizers'``)."""
    return registry.serialize_keras_object(optimizer)


def deserialize(config, custom_objects=None):
    """Creates an optimizer from a serialized dict (Keras 3, or Keras 2 with ``Custom>`` names and legacy keys)."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(
            f"Could not interpret serialized optimizer: expected a dict with a 'class_name' key. Received: {config!r}"
        )
    config = dict(config)
    class_name = config["class_name"]
    if class_name.startswith("Custom>") and class_name[len("Custom>"):].lower() in _MODULE_OBJECTS:
        class_name = class_name[len("Custom>"):]  # tf.keras 2.11+ optimizers register as "Custom>Adam"
    if class_name.lower() in _MODULE_OBJECTS:
        config["class_name"] = class_name.lower()
        config["registered_name"] = None
        inner = dict(config.get("config") or {})
        for key in _KERAS2_ONLY_KEYS:
            inner.pop(key, None)
        if "lr" in inner and "learning_rate" not in inner:
            inner["learning_rate"] = inner.pop("lr")
        config["config"] = inner
    return registry.deserialize_keras_object(
        config, module_objects=_MODULE_OBJECTS, custom_objects=custom_objects, printable_module_name="optimizer"
    )


def get(identifier):
    """An optimizer from an instance, a name (``'adam'``), or a serialized dict; ``None`` stays ``None``."""
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        obj = deserialize(identifier)
    elif isinstance(identifier, str):
        if identifier.lower() not in _MODULE_OBJECTS and registry.get_registered_object(identifier) is None:
            raise ValueError(
                f"Could not interpret optimizer identifier: {identifier}. Expected one of "
                f"{sorted(n for n in _MODULE_OBJECTS if n != 'optimizer')} or a registered name."
            )
        obj = deserialize({"class_name": identifier, "config": {}})
    else:
        obj = identifier
    if isinstance(obj, Optimizer):
        return obj
    raise ValueError(f"Could not interpret optimizer identifier: {identifier}")
