"""Weight constraints with Keras 3 names, formulas and configs, and `get`/`serialize`/`deserialize`.

A constraint is called on a weight tensor and returns the projected tensor; `Variable`s apply
theirs after each optimizer update. Norms are L2 norms along ``axis`` (an int or a list of ints,
``0`` for the input dimension of a `Dense` kernel, ``[0, 1, 2]`` for a `Conv2D` kernel), and
rescaling divides by ``epsilon() + norm`` with `lamina.config.epsilon` (1e-7), as Keras does.

>>> import torch
>>> MaxNorm(max_value=1.0)(torch.tensor([[3.0], [4.0]])).flatten().tolist()
[0.6000000238418579, 0.800000011920929]
>>> serialize(NonNeg())
{'module': 'keras.constraints', 'class_name': 'NonNeg', 'config': {}, 'registered_name': None}
"""

import torch

from lamina.backend import config
from lamina.backend.dtypes import to_torch_dtype
from lamina.backend.naming import to_snake_case
from lamina.saving import object_lookup, registry


def _tensor(w):
    if not isinstance(w, torch.Tensor):
        from lamina.ops.core import convert_to_tensor  # lazy: lamina.ops imports layers' dependencies

        w = convert_to_tensor(w)
    if not (w.is_floating_point() or w.is_complex()):
        w = w.to(to_torch_dtype(config.floatx()))
    return w


def _dims(axis, name):
    if isinstance(axis, bool) or not isinstance(axis, (int, list, tuple)):
        raise TypeError(f"Constraint `axis` must be an int or a list of ints. Received: axis={axis!r} in {name}")
    return tuple(int(a) for a in axis) if isinstance(axis, (list, tuple)) else int(axis)


def _l2_norms(w, axis):
    return torch.sqrt(torch.sum(torch.square(w), dim=axis, keepdim=True))


class Constraint:
    """Base class: ``__call__(w)`` returns the constrained tensor (the identity here).

    >>> class Clip(Constraint):
    ...     def __call__(self, w):
    ...         return w.clamp(-1.0, 1.0)
    >>> import torch
    >>> Clip()(torch.tensor([-2.0, 0.5])).tolist()
    [-1.0, 0.5]
    """

    _keras_module = "keras.constraints"

    def __call__(self, w):
        return w

    def get_config(self):
        """The constructor arguments (Keras 3 keys)."""
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"<{type(self).__name__}{' ' if args else ''}{args}>"


class MaxNorm(Constraint):
    """Rescales each weight vector whose L2 norm along ``axis`` exceeds ``max_value``.

    Computes ``w * clip(norm, 0, max_value) / (epsilon + norm)``.

    Args:
        max_value: the largest allowed norm.
        axis: the axis (or axes) the norm is taken over.

    >>> import torch
    >>> w = MaxNorm(2.0)(torch.tensor([[0.3], [0.4]]))  # within the bound: unchanged up to epsilon
    >>> [round(v, 6) for v in w.flatten().tolist()]
    [0.3, 0.4]
    """

    def __init__(self, max_value=2, axis=0):
        self.max_value = max_value
        self.axis = axis

    def __call__(self, w):
        w = _tensor(w)
        norms = _l2_norms(w, _dims(self.axis, "MaxNorm"))
        desired = torch.clamp(norms, 0, self.max_value)
        return w * (desired / (config.epsilon() + norms))

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


class MinMaxNorm(Constraint):
    """Moves the L2 norm of each weight vector along ``axis`` towards ``[min_value, max_value]``.

    Computes ``w * desired / (epsilon + norm)`` with
    ``desired = rate * clip(norm, min_value, max_value) + (1 - rate) * norm``.

    Args:
        min_value: the smallest allowed norm.
        max_value: the largest allowed norm.
        rate: 1.0 enforces the bounds at once, smaller values move towards them gradually.
        axis: the axis (or axes) the norm is taken over.

    >>> import torch
    >>> w = MinMaxNorm(min_value=1.0, max_value=2.0)(torch.tensor([[0.3], [0.4]]))  # norm 0.5 -> 1
    >>> round(float(w.norm()), 4)
    1.0
    """

    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        self.min_value = min_value
        self.max_value = max_value
        self.rate = rate
        self.axis = axis

    def __call__(self, w):
        w = _tensor(w)
        norms = _l2_norms(w, _dims(self.axis, "MinMaxNorm"))
        desired = self.rate * torch.clamp(norms, self.min_value, self.max_value) + (1 - self.rate) * norms
        return w * (desired / (config.epsilon() + norms))

    def get_config(self):
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate, "axis": self.axis}


class NonNeg(Constraint):
    """Sets negative weights to zero.

    >>> import torch
    >>> NonNeg()(torch.tensor([-1.0, 0.0, 2.0])).tolist()
    [0.0, 0.0, 2.0]
    """

    def __call__(self, w):
        w = _tensor(w)
        return w * (w >= 0.0).to(w.dtype)


class UnitNorm(Constraint):
    """Rescales each weight vector along ``axis`` to unit L2 norm: ``w / (epsilon + norm)``.

    Args:
        axis: the axis (or axes) the norm is taken over.

    >>> import torch
    >>> UnitNorm(axis=1)(torch.tensor([[3.0, 4.0]])).tolist()
    [[0.6000000238418579, 0.800000011920929]]
    """

    def __init__(self, axis=0):
        self.axis = axis

    def __call__(self, w):
        w = _tensor(w)
        return w / (config.epsilon() + _l2_norms(w, _dims(self.axis, "UnitNorm")))

    def get_config(self):
        return {"axis": self.axis}


ALL_OBJECTS = (Constraint, MaxNorm, MinMaxNorm, NonNeg, UnitNorm)
ALL_OBJECTS_DICT = {cls.__name__: cls for cls in ALL_OBJECTS}
ALL_OBJECTS_DICT.update({to_snake_case(cls.__name__): cls for cls in ALL_OBJECTS})
# Keras 2 spellings, so Keras 2 code runs unchanged.
ALL_OBJECTS_DICT.update({"maxnorm": MaxNorm, "nonneg": NonNeg, "unitnorm": UnitNorm})

max_norm, min_max_norm, non_neg, unit_norm = MaxNorm, MinMaxNorm, NonNeg, UnitNorm
maxnorm, nonneg, unitnorm = MaxNorm, NonNeg, UnitNorm


def serialize(constraint):
    """The Keras 3 config dict of a constraint (``module`` is ``"keras.constraints"``).

    >>> serialize(MaxNorm(3))["config"]
    {'max_value': 3, 'axis': 0}
    """
    return registry.serialize_keras_object(constraint)


def deserialize(config, custom_objects=None):
    """The constraint a Keras 2 or Keras 3 config (or a name) describes.

    >>> deserialize({"class_name": "UnitNorm", "config": {"axis": 1}})
    <UnitNorm axis=1>
    """
    return object_lookup.deserialize_object(config, ALL_OBJECTS_DICT, custom_objects, "constraint")


def get(identifier):
    """A constraint from ``None``, a name, a config dict, an instance, a class or a callable.

    Raises:
        ValueError: if ``identifier`` names no known constraint.

    >>> get("non_neg"), get(None)
    (<NonNeg>, None)
    """
    return object_lookup.get_object(identifier, ALL_OBJECTS_DICT, deserialize, "constraint", Constraint)
