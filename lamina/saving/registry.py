"""The only way a name in a config becomes a Python object.

Configs (from files or users) name classes and functions. lamina resolves those
names through two tables and nothing else: the objects each lamina module lists
for deserialization (``module_objects``) and the classes users register with
`register_keras_serializable` or pass in ``custom_objects``. No import by name,
no ``eval``, no pickle (DESIGN.md decision 8).

>>> @register_keras_serializable(package="demo")
... class Scale:
...     def __init__(self, factor=1.0):
...         self.factor = factor
...     def get_config(self):
...         return {"factor": self.factor}
>>> serialize_keras_object(Scale(2.0))["registered_name"]
'demo>Scale'
>>> deserialize_keras_object(serialize_keras_object(Scale(3.0))).factor
3.0
"""

import contextlib
import importlib
import inspect
import threading

_GLOBAL_CUSTOM_OBJECTS = {}
_GLOBAL_CUSTOM_NAMES = {}
_SCOPE = threading.local()


class DeserializationError(ValueError):
    """A config names something lamina will not create (unknown or unsafe)."""


def register_keras_serializable(package="Custom", name=None):
    """Class/function decorator registering it as ``'package>name'`` for deserialization."""

    def decorator(obj):
        registered = f"{package}>{name or obj.__name__}"
        if inspect.isclass(obj) and not hasattr(obj, "get_config"):
            raise ValueError(
                f"Cannot register a class that does not have a get_config() method. Received: {obj!r}"
            )
        _GLOBAL_CUSTOM_OBJECTS[registered] = obj
        _GLOBAL_CUSTOM_NAMES[obj] = registered
        return obj

    return decorator


def get_registered_name(obj):
    """``'package>Name'`` for registered objects, else the class or function name."""
    if obj in _GLOBAL_CUSTOM_NAMES:
        return _GLOBAL_CUSTOM_NAMES[obj]
    return obj.__name__


def get_registered_object(name, custom_objects=None, module_objects=None):
    """Looks ``name`` up in scoped, passed, registered and then module objects."""
    for table in (_scoped_objects(), custom_objects or {}, _GLOBAL_CUSTOM_OBJECTS, module_objects or {}):
        if name in table:
            return table[name]
    return None


# Where Keras 3 looks up a function serialized with module "builtins" (one of its own, e.g. a loss given as
# `keras.losses.mean_squared_error`); lamina looks in its modules of the same names.
_BUILTIN_FUNCTION_MODULES = ("activations", "constraints", "initializers", "losses", "metrics", "optimizers",
                             "regularizers")


def _builtin_function(name):
    """lamina's public function ``name`` from one of the modules above, or None (nothing else is imported)."""
    for module_name in _BUILTIN_FUNCTION_MODULES:
        module = importlib.import_module(f"lamina.{module_name}")
        obj = getattr(module, name, None) if not name.startswith("_") else None
        if inspect.isfunction(obj) and obj.__module__.startswith("lamina."):
            return obj
    return None


def get_custom_objects():
    """The global table that `register_keras_serializable` fills (mutable)."""
    return _GLOBAL_CUSTOM_OBJECTS


def _scoped_objects():
    merged = {}
    for table in getattr(_SCOPE, "stack", ()):
        merged.update(table)
    return merged


@contextlib.contextmanager
def custom_object_scope(*tables):
    """Makes the given ``{name: object}`` tables visible to deserialization inside."""
    stack = getattr(_SCOPE, "stack", [])
    _SCOPE.stack = stack + [t for t in tables if t]
    try:
        yield
    finally:
        _SCOPE.stack = stack


CustomObjectScope = custom_object_scope


@contextlib.contextmanager
def safe_mode_scope(safe_mode):
    """Sets the safe-mode default for nested deserialization (used by loaders)."""
    previous = getattr(_SCOPE, "safe_mode", True)
    _SCOPE.safe_mode = bool(safe_mode)
    try:
        yield
    finally:
        _SCOPE.safe_mode = previous


def in_safe_mode():
    return getattr(_SCOPE, "safe_mode", True)


def serialize_keras_object(obj):
    """Keras 3 serialized form: ``{"module", "class_name", "config", "registered_name"}``.

    Plain values pass through; functions become their registered or plain name.
    """
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, (list, tuple)):
        return [serialize_keras_object(x) for x in obj]
    if isinstance(obj, dict):
        return {k: serialize_keras_object(v) for k, v in obj.items()}
    if inspect.isfunction(obj) or inspect.isbuiltin(obj):
        if obj in _GLOBAL_CUSTOM_NAMES:
            return {
                "module": obj.__module__,
                "class_name": "function",
                "config": _GLOBAL_CUSTOM_NAMES[obj],
                "registered_name": "function",
            }
        return getattr(obj, "_keras_name", obj.__name__)
    if not hasattr(obj, "get_config"):
        raise TypeError(f"Cannot serialize an object without get_config(). Received: {obj!r}")
    cls = type(obj)
    registered = _GLOBAL_CUSTOM_NAMES.get(cls)
    class_name = getattr(obj, "keras_class_name", None) or cls.__name__
    return {
        "module": obj._keras_module if registered is None and hasattr(obj, "_keras_module") else cls.__module__,
        "class_name": class_name,
        "config": obj.get_config(),
        "registered_name": registered or getattr(cls, "_keras_registered_name", None),
    }


def deserialize_keras_object(config, module_objects=None, custom_objects=None, printable_module_name="object",
                             safe_mode=None):
    """Builds an object from a Keras 2 or Keras 3 serialized config.

    Resolution goes only through ``custom_objects``, registered objects and
    ``module_objects``; anything else raises `DeserializationError`.
    """
    if config is None:
        return None
    if isinstance(config, str):
        obj = get_registered_object(config, custom_objects, module_objects)
        if obj is None:
            raise DeserializationError(
                f"Unknown {printable_module_name}: '{config}'. Please ensure you are using a "
                "`lamina.utils.custom_object_scope` and that this object is included in the scope, "
                "or registered with `register_keras_serializable`."
            )
        return obj
    if not isinstance(config, dict) or "class_name" not in config:
        raise DeserializationError(
            f"Could not interpret serialized {printable_module_name}: expected a string or a dict "
            f"with a 'class_name' key. Received: {config!r}"
        )
    class_name = config["class_name"]
    inner = config.get("config", {})
    if class_name == "function":
        name = inner if isinstance(inner, str) else None
        obj = name and get_registered_object(name, custom_objects, module_objects)
        if not obj and name and config.get("module") == "builtins":
            obj = _builtin_function(name)
        if not obj:
            raise DeserializationError(f"Unknown function {inner!r} in the {printable_module_name} config. "
                                       "Register it with `register_keras_serializable` or pass it in custom_objects.")
        return obj
    if class_name == "__lambda__":
        raise DeserializationError(
            "Refusing to load a Python lambda stored as bytecode: that would run code from the file. "
            "Pass `safe_mode=False` to load it if you trust its source."
        )
    registered_name = config.get("registered_name") or class_name
    cls = (
        get_registered_object(registered_name, custom_objects, module_objects)
        or get_registered_object(class_name, custom_objects, module_objects)
    )
    if cls is None:
        raise DeserializationError(
            f"Unknown {printable_module_name}: '{registered_name}'. Please ensure you are using a "
            "`lamina.utils.custom_object_scope` and that this object is included in the scope, "
            "or registered with `register_keras_serializable`. "
            f"Received: class_name={class_name!r}, module={config.get('module')!r}"
        )
    if not inspect.isclass(cls):
        return cls
    if not isinstance(inner, dict):
        raise DeserializationError(f"The config of {class_name} must be a dict. Received: {inner!r}")
    mode = safe_mode_scope(safe_mode) if safe_mode is not None else contextlib.nullcontext()
    with custom_object_scope(custom_objects or {}), mode:
        return cls.from_config(inner) if hasattr(cls, "from_config") else cls(**inner)


# Short names that Keras also accepts.
serialize = serialize_keras_object
deserialize = deserialize_keras_object
