"""Argument conversion shared by the ops modules: tensors, dtypes, axes and Python scalars."""

import numpy as np
import torch

from lamina.backend import config
from lamina.backend.dtypes import to_torch_dtype
from lamina.backend.variable import Variable
from lamina.ops.core import convert_to_tensor

_SMALL_INTS = (torch.bool, torch.int8, torch.int16, torch.uint8, torch.int32, torch.uint16)


def tensor(x):
    """``x`` as a tensor (fast path for tensors)."""
    if isinstance(x, torch.Tensor):
        return x
    return convert_to_tensor(x)


def floatx():
    return to_torch_dtype(config.floatx())


def floating(x):
    """``x`` as a float tensor: integers and bools become floatx, as Keras 3 does."""
    x = tensor(x)
    if not (x.is_floating_point() or x.is_complex()):
        x = x.to(floatx())
    return x


def is_python_scalar(x):
    return isinstance(x, (int, float, bool)) and not isinstance(x, np.generic)


def _scalar_like(value, other):
    """A Python scalar as a 0-d tensor that does not upcast ``other`` (Keras's weak typing)."""
    if isinstance(value, bool):
        dtype = other.dtype
    elif isinstance(value, int):
        dtype = other.dtype if other.dtype != torch.bool else torch.int32
    elif other.is_floating_point() or other.is_complex():
        dtype = other.dtype
    else:
        dtype = floatx()
    return torch.tensor(value, dtype=dtype, device=other.device)


def pair(x1, x2):
    """Two operands as tensors on one device; a Python scalar takes the other operand's dtype kind."""
    if is_python_scalar(x1) and not is_python_scalar(x2):
        x2 = tensor(x2)
        return _scalar_like(x1, x2), x2
    if is_python_scalar(x2) and not is_python_scalar(x1):
        x1 = tensor(x1)
        return x1, _scalar_like(x2, x1)
    x1, x2 = tensor(x1), tensor(x2)
    if x1.device != x2.device:
        # Keep the data on the device of the operand that was already a tensor with more dims.
        if x1.dim() == 0:
            x1 = x1.to(x2.device)
        else:
            x2 = x2.to(x1.device)
    return x1, x2


def common(*xs):
    """Tensors cast to their common (torch-promoted) dtype."""
    xs = [tensor(x) for x in xs]
    dtype = xs[0].dtype
    for x in xs[1:]:
        dtype = torch.promote_types(dtype, x.dtype)
    device = xs[0].device
    return [x.to(device=device, dtype=dtype) for x in xs]


def axes(axis, ndim=None):
    """``None``, an int or a sequence of ints as ``None`` or a tuple of ints."""
    if axis is None:
        return None
    if isinstance(axis, (Variable, torch.Tensor, np.ndarray)):
        axis = np.asarray(axis).tolist()
    if isinstance(axis, (list, tuple)):
        result = tuple(int(a) for a in axis)
    else:
        result = (int(axis),)
    if ndim is not None:
        for a in result:
            if not -max(ndim, 1) <= a < max(ndim, 1):
                raise ValueError(f"`axis` is out of bounds for a tensor of rank {ndim}. Received: axis={axis!r}")
    return result


def accumulating_dtype(x):
    """Keras 3's dtype for sums/products: small integers and bools accumulate in int32."""
    return torch.int32 if x.dtype in _SMALL_INTS else x.dtype
