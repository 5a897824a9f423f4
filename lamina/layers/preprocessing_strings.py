"""String inputs for the preprocessing layers that take text (Hashing, StringLookup, TextVectorization).

torch tensors cannot hold strings, so these layers take strings as Python lists (nested
for several axes), NumPy arrays of ``str``/``bytes``/``object`` dtype, or a single
``str``; bytes are decoded as UTF-8. The layers return torch tensors (or, for
``StringLookup(invert=True)``, a NumPy array of ``str``).

>>> to_string_array([["a", b"b"]]).tolist()
[['a', 'b']]
>>> is_string_array(["x"]), is_string_array([1, 2])
(True, False)
"""

import numpy as np
import torch

from lamina.engine.layer import Layer


def _first_leaf(value):
    while isinstance(value, (list, tuple)) and value:
        value = value[0]
    return value


def is_string_array(value):
    """Whether ``value`` holds strings (``str``, ``bytes``, a list of them, a NumPy string array)."""
    if isinstance(value, (str, bytes)):
        return True
    if isinstance(value, np.ndarray):
        return value.dtype.kind in "USO"
    if isinstance(value, (list, tuple)):
        return isinstance(_first_leaf(value), (str, bytes, np.str_, np.bytes_))
    return False


def to_string_array(value):
    """A NumPy ``object`` array of ``str`` (bytes decoded as UTF-8), same shape as ``value``."""
    array = np.asarray(value, dtype=object)
    flat = [v.decode("utf-8") if isinstance(v, (bytes, np.bytes_)) else str(v) for v in array.reshape(-1)]
    out = np.empty(len(flat), dtype=object)
    out[:] = flat
    return out.reshape(array.shape)


def to_numpy(value):
    """Tensors, Variables, lists and arrays as NumPy arrays (strings as ``object`` arrays of ``str``)."""
    if is_string_array(value):
        return to_string_array(value)
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    if hasattr(value, "numpy") and not isinstance(value, np.ndarray):
        return np.asarray(value.numpy())
    return np.asarray(value)


class StringInputLayer(Layer):
    """A layer whose first input may be strings: those skip tensor conversion and go to ``call`` as is.

    Numeric inputs take the usual `Layer.__call__` path. Symbolic calls need a string
    `KerasTensor` dtype, which the engine does not have yet.
    """

    supports_jit = False  # graph breaks under torch.compile: jit_compile='auto' keeps models with it eager

    def __call__(self, *args, **kwargs):
        if args and is_string_array(args[0]):
            if not self.built:
                object.__setattr__(self, "_build_shapes", tuple(np.shape(args[0])))
                self.built = True
            return self._call_eager(args, kwargs, None)
        return super().__call__(*args, **kwargs)
