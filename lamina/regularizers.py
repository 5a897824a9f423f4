"""Weight regularizers with Keras 3 names, formulas and configs, and `get`/`serialize`/`deserialize`.

A regularizer maps a weight tensor to a scalar penalty tensor (same dtype and device) that
layers add to the loss. The formulas are Keras's: ``L1 = l1 * sum(|x|)``,
``L2 = l2 * sum(x ** 2)`` (no factor 1/2).

>>> import torch
>>> float(L2(2.0)(torch.ones(5, 5)))
50.0
>>> serialize(L1(0.5))
{'module': 'keras.regularizers', 'class_name': 'L1', 'config': {'l1': 0.5}, 'registered_name': None}
"""

import math

import numpy as np
import torch

from lamina.backend import config
from lamina.backend.dtypes import to_torch_dtype
from lamina.backend.naming import to_snake_case
from lamina.saving import object_lookup, registry


def _tensor(x):
    if not isinstance(x, torch.Tensor):
        from lamina.ops.core import convert_to_tensor  # lazy: lamina.ops imports layers' dependencies

        x = convert_to_tensor(x)
    if not (x.is_floating_point() or x.is_complex()):
        x = x.to(to_torch_dtype(config.floatx()))
    return x


def validate_float_arg(value, name):
    """Returns ``value`` as a float if it is a finite, non-negative number, else raises ValueError."""
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float, np.integer, np.floating))
        or math.isinf(value)
        or math.isnan(value)
        or value < 0
    ):
        raise ValueError(
            f"Invalid value for argument {name}: expected a non-negative float. Received: {name}={value!r}"
        )
    return float(value)


class Regularizer:
    """Base class: ``__call__(x)`` returns a scalar penalty; subclasses implement `get_config`.

    >>> import torch
    >>> class Sum(Regularizer):
    ...     def __call__(self, x):
    ...         return x.sum()
    ...     def get_config(self):
    ...         return {}
    >>> float(Sum()(torch.ones(3)))
    3.0
    """

    _keras_module = "keras.regularizers"

    def __call__(self, x):
        return 0.0

    def get_config(self):
        raise NotImplementedError(f"{type(self).__name__} does not implement get_config().")

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        try:
            args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        except NotImplementedError:
            args = ""
        return f"<{type(self).__name__}{' ' if args else ''}{args}>"


class L1L2(Regularizer):
    """``l1 * sum(|x|) + l2 * sum(x ** 2)``.

    Both factors default to 0 (the string ``'l1_l2'`` gives 0.01 for both, as in Keras 2).

    Args:
        l1: L1 factor (non-negative float).
        l2: L2 factor (non-negative float).

    >>> import torch
    >>> float(L1L2(l1=1.0, l2=0.5)(torch.tensor([1.0, -2.0])))
    5.5
    """

    def __init__(self, l1=0.0, l2=0.0):
        self.l1 = validate_float_arg(0.0 if l1 is None else l1, name="l1")
        self.l2 = validate_float_arg(0.0 if l2 is None else l2, name="l2")

    def __call__(self, x):
        x = _tensor(x)
        penalty = torch.zeros((), dtype=x.dtype, device=x.device)
        if self.l1:
            penalty = penalty + self.l1 * torch.sum(torch.abs(x))
        if self.l2:
            penalty = penalty + self.l2 * torch.sum(torch.square(x))
        return penalty

    def get_config(self):
        return {"l1": float(self.l1), "l2": float(self.l2)}


class L1(Regularizer):
    """``l1 * sum(|x|)``.

    Args:
        l1: L1 factor (non-negative float).

    >>> import torch
    >>> float(L1(0.1)(torch.tensor([1.0, -3.0])))
    0.4000000059604645
    """

    def __init__(self, l1=0.01):
        self.l1 = validate_float_arg(0.01 if l1 is None else l1, name="l1")

    def __call__(self, x):
        x = _tensor(x)
        return self.l1 * torch.sum(torch.abs(x))

    def get_config(self):
        return {"l1": float(self.l1)}


class L2(Regularizer):
    """``l2 * sum(x ** 2)``.

    Args:
        l2: L2 factor (non-negative float).

    >>> import torch
    >>> float(L2(0.5)(torch.tensor([1.0, -3.0])))
    5.0
    """

    def __init__(self, l2=0.01):
        self.l2 = validate_float_arg(0.01 if l2 is None else l2, name="l2")

    def __call__(self, x):
        x = _tensor(x)
        return self.l2 * torch.sum(torch.square(x))

    def get_config(self):
        return {"l2": float(self.l2)}


def _l2_normalize(x, dim):
    # As keras.ops.normalize(order=2): x * min(rsqrt(sum(x ** 2)), 1 / epsilon).
    inv_norm = torch.rsqrt(torch.sum(torch.square(x), dim=dim, keepdim=True))
    return x * torch.clamp(inv_norm, max=1.0 / config.epsilon())


class OrthogonalRegularizer(Regularizer):
    """Penalizes non-orthogonal rows (or columns) of a 2-D weight.

    After L2-normalizing the rows (``mode="rows"``) or columns, the penalty is
    ``factor * 0.5 * sum(|off-diagonal entries of the Gram matrix|) / (n * (n - 1) / 2)``
    with ``n`` the number of rows (or columns).

    Args:
        factor: the regularization factor (non-negative float).
        mode: ``"rows"`` or ``"columns"``.

    >>> import torch
    >>> float(OrthogonalRegularizer(factor=1.0)(torch.eye(3)))
    0.0
    >>> round(float(OrthogonalRegularizer(factor=1.0)(torch.ones(2, 2))), 4)
    1.0
    """

    def __init__(self, factor=0.01, mode="rows"):
        self.factor = validate_float_arg(factor, name="factor")
        if mode not in ("rows", "columns"):
            raise ValueError(
                f"Invalid value for argument `mode`. Expected one of {{'rows', 'columns'}}. Received: mode={mode!r}"
            )
        self.mode = mode

    def __call__(self, inputs):
        x = _tensor(inputs)
        if x.ndim != 2:
            raise ValueError(
                f"Inputs to OrthogonalRegularizer must have rank 2. Received: inputs.shape={tuple(x.shape)}"
            )
        if self.mode == "rows":
            x = _l2_normalize(x, dim=1)
            product = x @ x.T
        else:
            x = _l2_normalize(x, dim=0)
            product = x.T @ x
        size = product.shape[0]
        off_diagonal = product * (1.0 - torch.eye(size, dtype=x.dtype, device=x.device))
        num_pairs = size * (size - 1.0) / 2.0
        return self.factor * 0.5 * torch.sum(torch.abs(off_diagonal)) / num_pairs

    def get_config(self):
        return {"factor": float(self.factor), "mode": self.mode}


def l1_l2(l1=0.01, l2=0.01):
    """An `L1L2` regularizer with both factors defaulting to 0.01 (Keras 2's ``l1_l2``).

    >>> l1_l2().get_config()
    {'l1': 0.01, 'l2': 0.01}
    """
    return L1L2(l1=l1, l2=l2)


ALL_OBJECTS = (Regularizer, L1, L2, L1L2, OrthogonalRegularizer)
ALL_OBJECTS_DICT = {cls.__name__: cls for cls in ALL_OBJECTS}
ALL_OBJECTS_DICT.update({to_snake_case(cls.__name__): cls for cls in ALL_OBJECTS})
ALL_OBJECTS_DICT["l1_l2"] = l1_l2

l1, l2, orthogonal_regularizer = L1, L2, OrthogonalRegularizer


def serialize(regularizer):
    """The Keras 3 config dict of a regularizer (``module`` is ``"keras.regularizers"``).

    >>> serialize(L1L2(l2=0.1))["config"]
    {'l1': 0.0, 'l2': 0.1}
    """
    return registry.serialize_keras_object(regularizer)


def deserialize(config, custom_objects=None):
    """The regularizer a Keras 2 or Keras 3 config (or a name) describes.

    >>> deserialize({"class_name": "L2", "config": {"l2": 0.1}})
    <L2 l2=0.1>
    """
    if isinstance(config, dict) and config.get("class_name") == "l1_l2":  # Keras 2's function form
        return l1_l2(**(config.get("config") or {}))
    return object_lookup.deserialize_object(config, ALL_OBJECTS_DICT, custom_objects, "regularizer", factories=(l1_l2,))


def get(identifier):
    """A regularizer from ``None``, a name, a config dict, an instance, a class or a callable.

    Raises:
        ValueError: if ``identifier`` names no known regularizer.

    >>> get("l2"), get("l1_l2"), get(None)
    (<L2 l2=0.01>, <L1L2 l1=0.01, l2=0.01>, None)
    """
    return object_lookup.get_object(
        identifier, ALL_OBJECTS_DICT, deserialize, "regularizer", Regularizer, factories=(l1_l2,)
    )
