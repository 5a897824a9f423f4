"""`OpLayer`: an op (``x + y``, ``x[:, 0]``, ``lamina.ops.concatenate``) recorded in a graph.

>>> import lamina
>>> a = lamina.Input((3,), name="a")
>>> y = a[:, :2] * 2.0
>>> type(y._keras_history[0]).__name__, y.shape
('Multiply', (None, 2))
"""

from lamina.engine.layer import Layer

# Keras 3 class names of the ops whose name is not the CamelCase of the op name.
_KERAS_NAMES = {"getitem": "GetItem", "divide": "TrueDivide", "mod": "Mod", "absolute": "Absolute"}
_OPS_BY_KERAS_NAME = {v: k for k, v in _KERAS_NAMES.items()}


def _camel(name):
    return _KERAS_NAMES.get(name) or "".join(part.capitalize() for part in name.split("_"))


def op_name_from_keras(class_name):
    """The lamina op name for a Keras 3 op class name (``"GetItem"`` -> ``"getitem"``)."""
    from lamina.backend.naming import to_snake_case

    return _OPS_BY_KERAS_NAME.get(class_name) or to_snake_case(class_name)


class OpLayer(Layer):
    """Applies an op (a Python operator or a `lamina.ops` function) to its inputs.

    Each op gets its own subclass named as Keras 3 names the op (``Multiply``,
    ``GetItem``, ``Concatenate``...), made by `op_layer_class`, so configs and
    summaries read as in Keras.

    Args:
        kwargs: fixed keyword arguments of the op (e.g. ``axis``).
    """

    _keras_module = "keras.src.ops.numpy"
    op = None

    def __init__(self, kwargs=None, name=None, **base_kwargs):
        if name is None:
            from lamina.backend.naming import unique_name

            name = unique_name(self.op)
        super().__init__(name=name, **base_kwargs)
        self.op_kwargs = dict(kwargs or {})
        self._fn = _resolve(self.op)
        self.built = True

    def call(self, *args):
        return self._fn(*args, **self.op_kwargs)

    def get_config(self):
        config = {"name": self.name}
        config.update(serialize_value(self.op_kwargs))
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        name = config.pop("name", None)
        for key in ("trainable", "dtype"):
            config.pop(key, None)
        return cls(kwargs=deserialize_value(config), name=name)


_OP_CLASSES = {}


def op_layer_class(op):
    """The `OpLayer` subclass for the op named ``op`` (created once)."""
    cls = _OP_CLASSES.get(op)
    if cls is None:
        _resolve(op)  # fail early for unknown ops
        cls = _OP_CLASSES[op] = type(_camel(op), (OpLayer,), {"op": op, "__module__": __name__})
    return cls


def _resolve(op):
    from lamina.engine.symbolic import OPERATORS

    if op in OPERATORS:
        return OPERATORS[op]
    from lamina import ops

    fn = getattr(ops, op, None)
    if fn is None or not callable(fn):
        raise ValueError(f"Unknown op for a symbolic call: {op!r}.")
    return fn


def serialize_value(value):
    if isinstance(value, slice):
        return {"class_name": "__slice__", "config": {"start": value.start, "stop": value.stop, "step": value.step}}
    if value is Ellipsis:
        return {"class_name": "__ellipsis__", "config": {}}
    if isinstance(value, (list, tuple)):
        return [serialize_value(v) for v in value]
    if isinstance(value, dict):
        return {k: serialize_value(v) for k, v in value.items()}
    return value


def deserialize_value(value):
    if isinstance(value, dict) and value.get("class_name") == "__slice__":
        c = value["config"]
        return slice(c.get("start"), c.get("stop"), c.get("step"))
    if isinstance(value, dict) and value.get("class_name") == "__ellipsis__":
        return Ellipsis
    if isinstance(value, list):
        return [deserialize_value(v) for v in value]
    if isinstance(value, dict):
        return {k: deserialize_value(v) for k, v in value.items()}
    return value
