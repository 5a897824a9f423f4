"""Core ops: tensor conversion, dtypes, shapes, control flow and scatter/slice updates.

Mirrors ``keras.ops.core``. Every op accepts NumPy arrays, Python scalars and
lists, torch tensors and `lamina.Variable`s.

>>> x = convert_to_tensor([1.0, 2.0])
>>> x.dtype, shape(x)
(torch.float32, (2,))
>>> convert_to_numpy(cast(x, "int32")).tolist()
[1, 2]
"""

import numpy as np
import torch

from lamina.backend import config
from lamina.backend.dtypes import standardize_dtype, to_torch_dtype
from lamina.backend.variable import Variable

_NUMPY_REMAP = {np.dtype("uint32"): np.int64, np.dtype("uint64"): np.int64, np.dtype("uint16"): np.int32}


def _python_dtype(values):
    """Keras dtype of a (nested) list of Python scalars: bool < int32 < floatx."""
    kinds = set()
    stack = [values]
    while stack:
        item = stack.pop()
        if isinstance(item, (list, tuple)):
            stack.extend(item)
        elif isinstance(item, (bool, np.bool_)):
            kinds.add("bool")
        elif isinstance(item, (int, np.integer)):
            kinds.add("int")
        elif isinstance(item, np.generic):
            kinds.add(item.dtype.name)
        else:
            kinds.add("float")
    if not kinds or "float" in kinds:
        return config.floatx()
    named = [k for k in kinds if k not in ("bool", "int")]
    if named:
        return np.result_type(*named).name
    return "int32" if "int" in kinds else "bool"


def convert_to_tensor(x, dtype=None, sparse=None, ragged=None):
    """Converts an array, scalar, list, tensor or Variable to a `torch.Tensor`.

    Follows Keras 3: Python floats become floatx, Python ints ``int32``, bools
    ``bool``; NumPy arrays keep their dtype; tensors are returned as they are
    unless ``dtype`` is given. New tensors are placed on `lamina.config.device()`.

    Args:
        x: the value to convert.
        dtype: optional target dtype (any form `standardize_dtype` accepts).
        sparse: only ``None``/``False`` are supported (torch has no Keras sparse tensors).
        ragged: only ``None``/``False`` are supported.

    Returns:
        A `torch.Tensor`.

    >>> convert_to_tensor(3).dtype
    torch.int32
    >>> convert_to_tensor(np.zeros(2)).dtype
    torch.float64
    """
    if sparse:
        raise ValueError(f"Sparse tensors are not supported by lamina (torch). Received: sparse={sparse!r}")
    if ragged:
        raise ValueError(f"Ragged tensors are not supported by lamina (torch). Received: ragged={ragged!r}")
    if isinstance(x, Variable):
        x = x.value
    if isinstance(x, torch.Tensor):
        return x if dtype is None else x.to(to_torch_dtype(dtype))
    device = config.device()
    if dtype is not None:
        dtype = to_torch_dtype(dtype)
    if isinstance(x, (list, tuple)) and any(isinstance(v, (torch.Tensor, Variable)) for v in x):
        return torch.stack([convert_to_tensor(v, dtype) for v in x])
    if dtype is None:
        if isinstance(x, (bool, np.bool_)):
            dtype = torch.bool
        elif isinstance(x, int):
            dtype = torch.int32
        elif isinstance(x, float):
            dtype = to_torch_dtype(config.floatx())
        elif isinstance(x, (list, tuple)):
            dtype = to_torch_dtype(_python_dtype(x))
    if isinstance(x, (list, tuple, bool, int, float)):
        try:
            return torch.tensor(x, dtype=dtype, device=device)
        except (TypeError, ValueError, RuntimeError) as error:
            raise ValueError(f"Could not convert the value to a tensor: {error}. Received: x={x!r}") from error
    array = np.asarray(x)
    if array.dtype == object or array.dtype.kind in "USV":
        raise TypeError(
            "Expected a numeric array, tensor, Variable or Python number. "
            f"Received: x={x!r} of type {type(x).__name__}"
        )
    if dtype is None and array.dtype in _NUMPY_REMAP:
        array = array.astype(_NUMPY_REMAP[array.dtype])
    if not array.flags.writeable or not array.flags.c_contiguous or array.dtype.byteorder == ">":
        array = np.ascontiguousarray(array).astype(array.dtype.newbyteorder("="), copy=True)
    tensor = torch.from_numpy(array) if array.ndim else torch.as_tensor(array)
    return tensor.to(device=device, dtype=dtype)


def constant(x, dtype=None):
    """Like `convert_to_tensor`, but always returns a new tensor (no autograd history).

    >>> constant([[1, 2]], dtype="float32").tolist()
    [[1.0, 2.0]]
    """
    tensor = convert_to_tensor(x, dtype=dtype)
    return tensor.detach().clone()


def convert_to_numpy(x):
    """Converts a tensor, Variable, array or Python value to a NumPy array.

    >>> convert_to_numpy(torch.ones(2)).tolist()
    [1.0, 1.0]
    """
    if isinstance(x, Variable):
        x = x.value
    if isinstance(x, torch.Tensor):
        x = x.detach()
        if x.dtype == torch.bfloat16:
            x = x.float()
        return x.cpu().numpy()
    return np.asarray(x)


def is_tensor(x):
    """Whether ``x`` is a `torch.Tensor` (Variables and arrays are not)."""
    return isinstance(x, torch.Tensor)


def dtype(x):
    """The Keras dtype name of a tensor, Variable, array or Python value.

    >>> dtype(torch.zeros(1, dtype=torch.float64))
    'float64'
    """
    if isinstance(x, (torch.Tensor, Variable)):
        return standardize_dtype(x.dtype)
    return standardize_dtype(convert_to_tensor(x).dtype)


def cast(x, dtype):
    """Casts ``x`` to ``dtype`` (a tensor is always returned)."""
    return convert_to_tensor(x).to(to_torch_dtype(dtype))


def shape(x):
    """The static shape of ``x`` as a tuple of ints."""
    if isinstance(x, (torch.Tensor, Variable)):
        return tuple(x.shape)
    return tuple(np.shape(x))
