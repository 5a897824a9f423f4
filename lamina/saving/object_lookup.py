"""The `get`/`deserialize` lookups shared by the initializer, regularizer and constraint modules.

Each of those modules keeps its own table of names (``ALL_OBJECTS_DICT``) and printable name
(``"initializer"``...) and calls these two functions with them, so the lookup rules and error
messages are written once.

>>> from lamina import constraints
>>> get_object("non_neg", constraints.ALL_OBJECTS_DICT, constraints.deserialize, "constraint",
...            constraints.Constraint)
<NonNeg>
"""

import inspect

from lamina.saving import registry


def _instantiate(obj, factories):
    """``obj()`` for a class or one of ``factories`` (functions that build a default object), else ``obj``."""
    if inspect.isclass(obj) or any(obj is factory for factory in factories):
        return obj()
    return obj


def deserialize_object(config, module_objects, custom_objects, printable_name, factories=()):
    """The object a Keras 2/3 config or a name describes; classes (and ``factories``) are called with no arguments.

    Args:
        config: a name, or a ``{"class_name": ..., "config": ...}`` dict.
        module_objects: the module's table of names to classes and functions.
        custom_objects: extra names the caller passes, or ``None``.
        printable_name: what the objects are called in error messages (``"constraint"``).
        factories: functions in ``module_objects`` that, like classes, give a default object when called.

    >>> from lamina import initializers
    >>> deserialize_object("zeros", initializers.ALL_OBJECTS_DICT, None, "initializer")
    <Zeros>
    """
    obj = registry.deserialize_keras_object(
        config, module_objects=module_objects, custom_objects=custom_objects, printable_module_name=printable_name
    )
    return _instantiate(obj, factories)


def get_object(identifier, module_objects, deserialize, printable_name, base_class, factories=()):
    """An object from ``None``, a name, a config dict, an instance, a class or a callable.

    ``None`` stays ``None``; dicts go through the module's ``deserialize``; names are looked up in the
    registry and ``module_objects``; classes are instantiated with no arguments.

    Args:
        identifier: what the user passed.
        module_objects: the module's table of names to classes and functions.
        deserialize: the module's ``deserialize(config)``.
        printable_name: what the objects are called in error messages (``"regularizer"``).
        base_class: the module's base class; its names are left out of the list of known names.
        factories: functions in ``module_objects`` that, looked up by name, are called to give a default object.

    Raises:
        ValueError: if ``identifier`` names no known object, or is none of the accepted kinds.
    """
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        obj = deserialize(identifier)
    elif isinstance(identifier, str):
        obj = registry.get_registered_object(identifier, module_objects=module_objects)
        if obj is None:
            hidden = (base_class.__name__, base_class.__name__.lower())
            names = sorted(n for n in module_objects if n not in hidden)
            raise ValueError(
                f"Could not interpret {printable_name} identifier: {identifier!r}. Expected one of {names}, "
                f"a config dict, or a callable. Received: identifier={identifier!r}"
            )
        obj = _instantiate(obj, factories)
    else:
        obj = identifier
    if inspect.isclass(obj):
        obj = obj()
    if callable(obj):
        return obj
    raise ValueError(
        f"Could not interpret {printable_name} identifier: expected None, a string, a config dict or a callable. "
        f"Received: identifier={identifier!r}"
    )
