"""Reading the pickle streams inside Keras's dataset files without running code.

Keras's CIFAR batches are Python pickles of dicts of bytes, lists and NumPy arrays, and the
IMDB/Reuters ``.npz`` files hold object arrays of lists of ints (NumPy stores those as pickles).
`load` reads such a stream with an unpickler that resolves exactly three globals - NumPy's
array reconstruction (``numpy.core.multiarray._reconstruct`` or ``numpy._core...``),
``numpy.ndarray`` and ``numpy.dtype`` - and maps them to inert stand-ins that only record their
arguments: no NumPy or other code is called while unpickling. (``_codecs.encode``, with which
Python 3 writes ``bytes`` in protocol 2, is replaced by a latin1-only stand-in.) Afterwards the stand-ins are
turned into arrays with `numpy.frombuffer` (numeric dtypes) or from their list of items
(object arrays, whose items may only be ints, floats, strings, bytes, lists, tuples and
arrays). Any other global is refused with `pickle.UnpicklingError`.

>>> import io, pickle
>>> import numpy as np
>>> data = pickle.dumps({b"data": np.arange(6, dtype="uint8").reshape(2, 3), b"labels": [1, 0]})
>>> loaded = load(io.BytesIO(data))
>>> loaded[b"data"]
array([[0, 1, 2],
       [3, 4, 5]], dtype=uint8)
>>> loaded[b"labels"]
[1, 0]
"""

import io
import pickle
import zipfile

import numpy as np

_RECONSTRUCT = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct")}
_PLAIN_ITEMS = (bool, int, float, str, bytes, type(None))
#: Largest pickle stream read from one dataset member (the real files are far below this).
MAX_MEMBER_BYTES = 2 << 30


class _DtypeStub:
    def __init__(self, name, align=False, copy=True):
        self.name = name
        self.byteorder = "="

    def __setstate__(self, state):
        if isinstance(state, tuple) and len(state) > 1 and state[1] in ("<", ">", "|", "="):
            self.byteorder = state[1]

    def to_dtype(self):
        name = self.name.decode("latin1") if isinstance(self.name, bytes) else self.name
        if not isinstance(name, str):
            raise pickle.UnpicklingError(f"Refusing a NumPy dtype described by {type(name).__name__}.")
        dtype = np.dtype(name)
        if dtype.kind not in "biufcOSU" or dtype.fields is not None:
            raise pickle.UnpicklingError(f"Refusing NumPy dtype {dtype!r} in a dataset file.")
        return dtype.newbyteorder(self.byteorder) if self.byteorder in "<>" and dtype.itemsize > 1 else dtype


class _ArrayStub:
    def __init__(self, *args):
        self.state = None

    def __setstate__(self, state):
        self.state = state

    def to_array(self):
        if not (isinstance(self.state, tuple) and len(self.state) == 5):
            raise pickle.UnpicklingError("Malformed NumPy array in a dataset file.")
        _, shape, dtype, fortran, raw = self.state
        if not isinstance(dtype, _DtypeStub) or not all(isinstance(n, int) and n >= 0 for n in shape):
            raise pickle.UnpicklingError("Malformed NumPy array in a dataset file.")
        dtype = dtype.to_dtype()
        order = "F" if fortran else "C"
        if dtype.kind == "O":
            if not isinstance(raw, list) or len(raw) != int(np.prod(shape)):
                raise pickle.UnpicklingError("Malformed object array in a dataset file.")
            out = np.empty(len(raw), dtype=object)
            for i, item in enumerate(raw):
                out[i] = _resolve(item)
            return out.reshape(shape, order=order)
        if isinstance(raw, str):  # written by Python 2 and read with encoding="latin1"
            raw = raw.encode("latin1")
        if not isinstance(raw, (bytes, bytearray)) or len(raw) != int(np.prod(shape)) * dtype.itemsize:
            raise pickle.UnpicklingError("Malformed NumPy array data in a dataset file.")
        return np.frombuffer(bytes(raw), dtype=dtype).reshape(shape, order=order).copy()


def _encode(text, encoding="latin1"):
    """Stand-in for ``_codecs.encode``, which Python 3 protocol-2 pickles use to rebuild ``bytes``."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError("Refusing `_codecs.encode` with anything but a latin1 string.")
    return text.encode("latin1")


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) == ("_codecs", "encode"):
            return _encode
        if (module, name) in _RECONSTRUCT:
            return _ArrayStub
        if (module, name) == ("numpy", "ndarray"):
            return _ArrayStub
        if (module, name) == ("numpy", "dtype"):
            return _DtypeStub
        raise pickle.UnpicklingError(
            f"Refusing to deserialize `{module}.{name}` while loading a dataset file: only NumPy arrays, "
            "lists, dicts, numbers and strings are allowed. The file may be corrupted or malicious."
        )


def _resolve(obj, depth=0):
    if depth > 64:
        raise pickle.UnpicklingError("Dataset file nests containers too deeply.")
    if isinstance(obj, _ArrayStub):
        return obj.to_array()
    if isinstance(obj, _PLAIN_ITEMS):
        return obj
    if isinstance(obj, list):
        return [_resolve(item, depth + 1) for item in obj]
    if isinstance(obj, tuple):
        return tuple(_resolve(item, depth + 1) for item in obj)
    if isinstance(obj, dict):
        return {_resolve(k, depth + 1): _resolve(v, depth + 1) for k, v in obj.items()}
    raise pickle.UnpicklingError(f"Refusing an object of type {type(obj).__name__} in a dataset file.")


def load(file, encoding="bytes"):
    """Reads one pickle stream from the binary file object ``file`` (see the module docstring)."""
    return _resolve(_RestrictedUnpickler(file, encoding=encoding).load())


def _read_npy(fp):
    version = np.lib.format.read_magic(fp)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(fp)
    elif version in ((2, 0), (3, 0)):
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(fp)
    else:
        raise ValueError(f"Unsupported `.npy` format version {version}.")
    if dtype.hasobject:
        array = load(fp, encoding="latin1")
        if not isinstance(array, np.ndarray) or array.shape != tuple(shape):
            raise pickle.UnpicklingError("The object array does not match its `.npy` header.")
        return array
    count = int(np.prod(shape))
    raw = fp.read(count * dtype.itemsize)
    if len(raw) != count * dtype.itemsize:
        raise ValueError("Truncated `.npy` member.")
    return np.frombuffer(raw, dtype=dtype).reshape(shape, order="F" if fortran else "C").copy()


def load_npz(path):
    """``{name: array}`` of an ``.npz`` file, object arrays included, without ``allow_pickle``."""
    arrays = {}
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            if not info.filename.endswith(".npy"):
                continue
            if info.file_size > MAX_MEMBER_BYTES:
                raise ValueError(f"Refusing to load npz member '{info.filename}' of {info.file_size} bytes from "
                                 f"'{path}' (more than {MAX_MEMBER_BYTES}).")
            with archive.open(info) as member:
                arrays[info.filename[: -len(".npy")]] = _read_npy(io.BytesIO(member.read()))
    return arrays
