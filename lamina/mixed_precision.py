"""Dtype policies: the weight dtype and compute dtype of layers.

``'mixed_float16'`` and ``'mixed_bfloat16'`` keep weights in float32 and compute
in the half type, as in Keras.

>>> from lamina import mixed_precision
>>> policy = mixed_precision.DTypePolicy("mixed_float16")
>>> policy.variable_dtype, policy.compute_dtype
('float32', 'float16')
"""

from lamina.backend import config
from lamina.backend.dtypes import standardize_dtype, to_torch_dtype


class DTypePolicy:
    """Weight dtype and compute dtype of a layer."""

    __slots__ = ("_name", "variable_dtype", "compute_dtype", "torch_compute_dtype", "autocast", "mixed")
    _keras_module = "keras"

    def __init__(self, name=None):
        name = name or config.floatx()
        if not isinstance(name, str):
            name = standardize_dtype(name)
        if name.startswith("mixed_"):
            compute = name[len("mixed_"):]
            if compute not in ("float16", "bfloat16"):
                raise ValueError(f"Unknown mixed precision policy. Received: name={name!r}")
            self.variable_dtype, self.compute_dtype = "float32", compute
            self._name = name
        else:
            self.variable_dtype = self.compute_dtype = standardize_dtype(name)
            self._name = self.variable_dtype
        self.torch_compute_dtype = to_torch_dtype(self.compute_dtype)
        self.autocast = self.torch_compute_dtype.is_floating_point
        self.mixed = self.compute_dtype != self.variable_dtype

    @property
    def name(self):
        return self._name

    def get_config(self):
        return {"name": self._name}

    @classmethod
    def from_config(cls, config_):
        return cls(**config_)

    def __eq__(self, other):
        return isinstance(other, DTypePolicy) and other.name == self.name

    def __hash__(self):
        return hash(self._name)

    def __repr__(self):
        return f'<DTypePolicy "{self._name}">'


Policy = DTypePolicy
_GLOBAL_POLICY = None


def global_policy():
    """The policy new layers get when they are given no dtype (floatx unless set)."""
    if _GLOBAL_POLICY is not None:
        return _GLOBAL_POLICY
    return DTypePolicy(config.floatx())


def set_global_policy(policy):
    """Sets the default policy, e.g. ``'mixed_float16'``; ``None`` resets to floatx."""
    global _GLOBAL_POLICY
    _GLOBAL_POLICY = None if policy is None else (policy if isinstance(policy, DTypePolicy) else DTypePolicy(policy))


set_dtype_policy = set_global_policy
dtype_policy = global_policy
