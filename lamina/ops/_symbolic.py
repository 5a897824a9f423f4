"""Ops on KerasTensors: each public op records a graph node when given symbolic inputs.

>>> import lamina
>>> from lamina import ops
>>> a, b = lamina.Input((2,)), lamina.Input((3,))
>>> ops.concatenate([a, b], axis=-1).shape
(None, 5)
"""

import functools
import inspect

from lamina.engine.keras_tensor import KerasTensor


def _is_symbolic(value):
    if isinstance(value, KerasTensor):
        return True
    if isinstance(value, (list, tuple)):
        return any(isinstance(v, KerasTensor) for v in value)
    return False


def symbolic_aware(name, fn):
    """``fn`` that records an op node when any argument is (or lists) a KerasTensor."""

    @functools.wraps(fn)
    def op(*args, **kwargs):
        for value in args:
            if _is_symbolic(value):
                return _record(name, args, kwargs)
        for value in kwargs.values():
            if _is_symbolic(value):
                return _record(name, args, kwargs)
        return fn(*args, **kwargs)

    op.__wrapped_op__ = fn
    return op


def _record(name, args, kwargs):
    from lamina.engine.symbolic import symbolic_op

    return symbolic_op(name, args, kwargs)


def wrap_namespace(namespace):
    """Replaces every public function in ``namespace`` (a module's globals) by its symbolic-aware twin."""
    for name, value in list(namespace.items()):
        if name.startswith("_") or not inspect.isfunction(value) or hasattr(value, "__wrapped_op__"):
            continue
        namespace[name] = symbolic_aware(name, value)
