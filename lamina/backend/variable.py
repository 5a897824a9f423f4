"""`Variable`: a named, assignable tensor state backed by a `torch.nn.Parameter`.

A Variable wraps one `torch.nn.Parameter` (``trainable`` is its ``requires_grad``).
Layers register that Parameter on themselves, so ``state_dict``, ``.to()`` and torch
optimizers see it, while Keras code sees a Variable with ``name``, ``path``,
``assign`` and friends.

>>> import lamina
>>> v = lamina.Variable([[1.0, 2.0]], name="w")
>>> v.assign_add([[1.0, 1.0]])
<Variable path=w, shape=(1, 2), dtype=float32, value=[[2. 3.]]>
>>> (v * 2).tolist()
[[4.0, 6.0]]
"""

import numpy as np
import torch
from torch._subclasses.fake_tensor import unset_fake_temporarily

from lamina.backend import config
from lamina.backend.dtypes import standardize_dtype, to_torch_dtype


def _unwrap(value):
    return value.value if isinstance(value, Variable) else value


def _unwrap_tree(value):
    if isinstance(value, Variable):
        return value.value
    if isinstance(value, (list, tuple)):
        return type(value)(_unwrap_tree(v) for v in value)
    if isinstance(value, dict):
        return {k: _unwrap_tree(v) for k, v in value.items()}
    return value


def _shape_tuple(shape):
    return tuple(int(d) for d in shape)


class Variable:
    """A mutable tensor with a name, tracked by the layer that creates it.

    Args:
        initializer: the initial value (array, tensor, number) or an initializer
            (name, `lamina.initializers.Initializer` or callable ``f(shape, dtype)``).
            ``initial_value`` is accepted as an alias, as in TensorFlow.
        shape: the shape, required when ``initializer`` is not a value.
        dtype: dtype name; defaults to the value's dtype, or floatx.
        trainable: whether gradients flow to it (``requires_grad``).
        name: the short name, e.g. ``"kernel"``.
        constraint: a callable applied to the value after each optimizer update.
    """

    # Let torch prefer our __torch_function__ over Tensor's in mixed calls.
    __array_priority__ = 100

    def __init__(
        self,
        initializer=None,
        shape=None,
        dtype=None,
        trainable=True,
        name=None,
        constraint=None,
        *,
        initial_value=None,
        path=None,
        device=None,
        aggregation="none",
        synchronization="auto",
        autocast=True,
    ):
        if initializer is None:
            initializer = initial_value
        if initializer is None:
            raise ValueError("Variable needs an initial value or an initializer. Received: initializer=None")
        if name is not None and not isinstance(name, str):
            raise TypeError(f"Variable name must be a string. Received: name={name!r}")
        if name is not None and "/" in name:
            raise ValueError(f"Variable name must not contain '/'. Received: name={name!r}")
        self.name = name or "variable"
        self.path = path or self.name
        self.constraint = constraint
        self.aggregation = aggregation
        self.synchronization = synchronization
        self.autocast = autocast
        self.regularizer = None
        device = device if device is not None else config.device()
        # Weights are real even when created during shape inference under fake-tensor mode.
        with unset_fake_temporarily():
            tensor = self._initial_tensor(initializer, shape, dtype, device)
            requires_grad = bool(trainable) and tensor.is_floating_point()
            self.value = torch.nn.Parameter(tensor, requires_grad=requires_grad)
        self._trainable = bool(trainable)

    @staticmethod
    def _initial_tensor(initializer, shape, dtype, device):
        is_value = isinstance(initializer, (torch.Tensor, Variable, np.ndarray))
        if isinstance(initializer, str) or (callable(initializer) and not is_value):
            if shape is None:
                raise ValueError(
                    "When creating a Variable from an initializer, the `shape` argument must be "
                    f"specified. Received: initializer={initializer!r}, shape=None"
                )
            from lamina import initializers

            init = initializers.get(initializer)
            dtype = standardize_dtype(dtype)
            with torch.no_grad():
                tensor = torch.as_tensor(init(_shape_tuple(shape), dtype=dtype))
            return tensor.to(device=device, dtype=to_torch_dtype(dtype)).detach().clone()
        value = _unwrap(initializer)
        if isinstance(value, torch.Tensor):
            tensor = value.detach()
        else:
            array = np.asarray(value)
            if dtype is None and array.dtype == np.float64:
                array = array.astype(config.floatx())
            tensor = torch.as_tensor(array)
        if dtype is not None:
            tensor = tensor.to(to_torch_dtype(dtype))
        if shape is not None and _shape_tuple(shape) != tuple(tensor.shape):
            raise ValueError(
                f"Initial value shape {tuple(tensor.shape)} does not match the requested "
                f"shape {_shape_tuple(shape)} for variable {name_or(initializer)}."
            )
        return tensor.to(device=device).clone()

    # ---- properties -------------------------------------------------------------
    @property
    def shape(self):
        return tuple(self.value.shape)

    @property
    def dtype(self):
        return standardize_dtype(self.value.dtype)

    @property
    def ndim(self):
        return self.value.dim()

    @property
    def device(self):
        return self.value.device

    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        self._trainable = bool(value)
        if self.value.is_floating_point():
            self.value.requires_grad_(self._trainable)

    @property
    def grad(self):
        return self.value.grad

    # ---- assignment ---------------------------------------------------------------
    def _coerce(self, value, op):
        value = _unwrap(value)
        if isinstance(value, torch.Tensor):
            tensor = value.detach().to(device=self.value.device, dtype=self.value.dtype)
        else:
            try:
                tensor = torch.as_tensor(np.asarray(value), dtype=self.value.dtype, device=self.value.device)
            except (TypeError, ValueError) as error:
                raise TypeError(
                    f"Cannot {op} a value of type {type(value).__name__} to variable '{self.path}'. "
                    f"Expected an array, a tensor or a Variable. Received: value={value!r}"
                ) from error
        if tuple(tensor.shape) != self.shape:
            # Accept a value that differs only by size-1 axes (e.g. (1,) into ()).
            if tensor.numel() == self.value.numel() and _squeezed(tensor.shape) == _squeezed(self.shape):
                tensor = tensor.reshape(self.shape)
            else:
                raise ValueError(
                    f"Cannot {op} to variable '{self.path}': the shape of the value must match the "
                    f"shape of the variable. Expected shape {self.shape}. "
                    f"Received: value.shape={tuple(tensor.shape)}"
                )
        return tensor

    def assign(self, value):
        """Sets the value in place (no gradient is recorded). Returns the Variable."""
        tensor = self._coerce(value, "assign")
        with torch.no_grad():
            self.value.copy_(tensor)
        return self

    def assign_add(self, delta):
        """Adds ``delta`` in place. Returns the Variable."""
        with torch.no_grad():
            self.value.copy_(self._coerce(self.value + _as_torch(delta, self.value), "assign_add"))
        return self

    def assign_sub(self, delta):
        """Subtracts ``delta`` in place. Returns the Variable."""
        with torch.no_grad():
            self.value.copy_(self._coerce(self.value - _as_torch(delta, self.value), "assign_sub"))
        return self

    def apply_constraint(self):
        """Projects the value with ``constraint`` (optimizers call this after updates)."""
        if self.constraint is not None:
            with torch.no_grad():
                self.value.copy_(self.constraint(self.value))

    # ---- conversion ---------------------------------------------------------------
    def numpy(self):
        """A NumPy copy of the value (later assignments do not change it, as in TensorFlow)."""
        return self.value.detach().cpu().numpy().copy()

    def __array__(self, dtype=None, copy=None):
        array = self.numpy()
        return array.astype(dtype) if dtype is not None else array

    def tolist(self):
        return self.value.detach().cpu().tolist()

    def __float__(self):
        return float(self.value.detach())

    def __int__(self):
        return int(self.value.detach())

    def __index__(self):
        return int(self.value.detach())

    def __bool__(self):
        return bool(self.value.detach())

    def __len__(self):
        return len(self.value)

    def __iter__(self):
        return iter(self.value)

    def __hash__(self):
        return id(self)

    def __repr__(self):
        value = np.array2string(self.numpy(), threshold=20, edgeitems=2)
        return f"<Variable path={self.path}, shape={self.shape}, dtype={self.dtype}, value={value}>"

    def __getitem__(self, index):
        return self.value[_unwrap_tree(index)]

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        return func(*_unwrap_tree(args), **_unwrap_tree(kwargs or {}))

    # torch reads these when a Variable is passed where a tensor is expected
    def __getattr__(self, name):
        # Only called for missing attributes: forward tensor API (``v.sum()``, ``v.T``).
        if name.startswith("__") or name == "value":
            raise AttributeError(name)
        return getattr(self.value, name)


def name_or(obj):
    return getattr(obj, "name", repr(obj))


def _squeezed(shape):
    return tuple(d for d in shape if d != 1)


def _as_torch(value, like):
    value = _unwrap(value)
    if isinstance(value, torch.Tensor):
        return value.to(device=like.device, dtype=like.dtype)
    return torch.as_tensor(np.asarray(value), dtype=like.dtype, device=like.device)


def _binary(op, reflected=False):
    def method(self, other):
        other = _unwrap(other)
        if reflected:
            return op(other, self.value)
        return op(self.value, other)

    return method


_BINARY_OPS = {
    "add": torch.add,
    "sub": torch.sub,
    "mul": torch.mul,
    "truediv": torch.true_divide,
    "floordiv": torch.floor_divide,
    "mod": torch.remainder,
    "pow": torch.pow,
    "matmul": torch.matmul,
    "and": torch.bitwise_and,
    "or": torch.bitwise_or,
    "xor": torch.bitwise_xor,
}


def _reflected(op):
    def apply(a, b):
        # ``other`` (a) may be a Python number or array: let the tensor operator handle it.
        if not isinstance(a, torch.Tensor):
            a = torch.as_tensor(np.asarray(a), device=b.device)
            if a.is_floating_point() and b.is_floating_point():
                a = a.to(b.dtype)
        return op(a, b)

    return apply


for _name, _op in _BINARY_OPS.items():
    setattr(Variable, f"__{_name}__", _binary(_op))
    setattr(Variable, f"__r{_name}__", _binary(_reflected(_op), reflected=True))

_COMPARISONS = {"lt": torch.lt, "le": torch.le, "gt": torch.gt, "ge": torch.ge, "eq": torch.eq, "ne": torch.ne}
for _name, _op in _COMPARISONS.items():
    setattr(Variable, f"__{_name}__", _binary(_op))

Variable.__neg__ = lambda self: torch.neg(self.value)
Variable.__pos__ = lambda self: self.value
Variable.__abs__ = lambda self: torch.abs(self.value)
Variable.__invert__ = lambda self: torch.bitwise_not(self.value)
