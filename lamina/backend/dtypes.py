"""Dtype names (Keras strings) to torch dtypes and back.

>>> standardize_dtype("float")
'float32'
>>> to_torch_dtype("int32")
torch.int32
"""

import numpy as np
import torch

from lamina.backend import config

_NAME_TO_TORCH = {
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
    "float32": torch.float32,
    "float64": torch.float64,
    "uint8": torch.uint8,
    "uint16": torch.uint16,
    "uint32": torch.uint32,
    "uint64": torch.uint64,
    "int8": torch.int8,
    "int16": torch.int16,
    "int32": torch.int32,
    "int64": torch.int64,
    "bool": torch.bool,
    "complex64": torch.complex64,
    "complex128": torch.complex128,
}
_TORCH_TO_NAME = {v: k for k, v in _NAME_TO_TORCH.items()}
_ALIASES = {"float": None, "double": "float64", "half": "float16", "int": "int64", "long": "int64"}
FLOAT_TYPES = frozenset(("float16", "bfloat16", "float32", "float64"))


def standardize_dtype(dtype):
    """Returns the Keras name (``'float32'``) of a dtype given in any common form.

    Accepts names, torch dtypes, NumPy dtypes and Python types; ``None`` gives floatx.
    """
    if dtype is None:
        return config.floatx()
    if isinstance(dtype, torch.dtype):
        name = _TORCH_TO_NAME.get(dtype)
    elif isinstance(dtype, str):
        name = dtype
        if name in _ALIASES:
            name = _ALIASES[name] or config.floatx()
        if name.startswith("torch."):
            name = name[len("torch.") :]
    elif dtype is float:
        name = config.floatx()
    elif dtype is int:
        name = "int64"
    elif dtype is bool:
        name = "bool"
    elif hasattr(dtype, "name") and isinstance(dtype.name, str) and not isinstance(dtype, type):
        name = dtype.name  # e.g. a DTypePolicy or a NumPy dtype instance
    else:
        try:
            name = np.dtype(dtype).name
        except TypeError:
            name = None
    if name in ("str", "string", "object", "bytes") or (name or "").startswith(("str", "<U", "bytes")):
        return "string"  # symbolic inputs of text layers; such data stays in NumPy arrays or lists
    if name not in _NAME_TO_TORCH:
        raise ValueError(f"Invalid dtype: expected one of {sorted(_NAME_TO_TORCH)}. Received: dtype={dtype!r}")
    return name


def to_torch_dtype(dtype):
    """The torch dtype for a dtype given in any form accepted by `standardize_dtype`."""
    if isinstance(dtype, torch.dtype):
        return dtype
    name = standardize_dtype(dtype)
    if name == "string":
        raise ValueError("Strings have no torch dtype: string data stays in NumPy arrays or Python lists.")
    return _NAME_TO_TORCH[name]


def is_float_dtype(dtype):
    return standardize_dtype(dtype) in FLOAT_TYPES
