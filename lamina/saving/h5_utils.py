"""Safe, format-aware HDF5 access shared by the legacy and Keras 3 weight files.

Readers go through these helpers only: they accept ``str`` or ``bytes`` names
(spec §2), join chunked name lists (§3.4), refuse links, external or virtual
storage, object/reference/string datasets (no pickle, no file access while
loading) and declared sizes far beyond what the file stores (a 10 GB shape in a
small file), and turn h5py's low-level errors into `FileFormatError`.

>>> import io, h5py
>>> buffer = io.BytesIO()
>>> with h5py.File(buffer, "w") as f:
...     write_name_list(f, "weight_names", ["d/kernel:0", "d/bias:0"])
...     read_name_list(f, "weight_names")
['d/kernel:0', 'd/bias:0']
"""

import contextlib

import h5py
import numpy as np
import torch

from lamina.saving.errors import FileFormatError, file_errors

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
# What h5py raises when it opens a truncated or corrupted file.
OPEN_ERRORS = (OSError, ValueError, OverflowError, RuntimeError, KeyError, TypeError)
# Keras's limit (saving_lib): refuse a dataset declaring > 4 GiB and > 1000x its stored bytes.
MAX_DECLARED_BYTES = 4 * 1024**3
MAX_EXPANSION = 1000
# An HDF5 object header holds 64 KiB of attributes; Keras splits longer name lists (spec §3.4).
MAX_ATTR_BYTES = 64512
_NUMERIC_KINDS = "biufV"


@contextlib.contextmanager
def open_h5(path, mode="r"):
    """Opens an HDF5 file; a missing, truncated or non-HDF5 file raises `FileFormatError`."""
    if mode == "r":
        try:
            with open(path, "rb") as handle:
                head = handle.read(8)
        except OSError as error:
            raise FileFormatError(f"Cannot open '{path}': {error}") from error
        if head != HDF5_SIGNATURE:
            raise FileFormatError(f"'{path}' is not an HDF5 file (bad signature {head[:8]!r}).")
    try:
        handle = h5py.File(path, mode)
    except OPEN_ERRORS as error:
        raise FileFormatError(f"'{path}' is not a readable HDF5 file (truncated or corrupted): {error}") from error
    try:
        if mode == "r":  # h5py's errors on a corrupted file (KeyError, RuntimeError, OverflowError...)
            with file_errors(f"reading '{path}' (corrupted)"):
                yield handle
        else:
            yield handle
    finally:
        with contextlib.suppress(Exception):
            handle.close()


def decode(value):
    """A stored string (``str``, ``bytes`` or NumPy scalar) as ``str``."""
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value[()]
    if isinstance(value, (bytes, np.bytes_)):
        return bytes(value).rstrip(b"\0").decode("utf-8")
    if isinstance(value, str):
        return value
    raise FileFormatError(f"Expected a string attribute, found {type(value).__name__}: {value!r:.80}")


def read_str_attr(obj, name, default=None):
    """Attribute ``name`` decoded to ``str`` (``default`` when absent)."""
    if name not in obj.attrs:
        return default
    return decode(_attr(obj, name))


def _attr(obj, name):
    try:
        kind = obj.attrs.get_id(name).get_type()
    except (KeyError, OSError) as error:
        raise FileFormatError(f"Cannot read attribute '{name}' of '{obj.name}': {error}") from error
    if isinstance(kind, h5py.h5t.TypeReferenceID) or kind.get_class() in (h5py.h5t.REFERENCE, h5py.h5t.COMPOUND):
        raise FileFormatError(f"Attribute '{name}' of '{obj.name}' has an unsupported (object/reference) type.")
    return obj.attrs[name]


def read_name_list(obj, name):
    """A list of names stored as ``name`` or chunked as ``name0``, ``name1``, ... (empty if absent)."""
    if name in obj.attrs:
        chunks = [_attr(obj, name)]
    else:
        chunks, index = [], 0
        while f"{name}{index}" in obj.attrs:
            chunks.append(_attr(obj, f"{name}{index}"))
            index += 1
    names = []
    for chunk in chunks:
        array = np.asarray(chunk)
        if array.size == 0:
            continue
        if array.dtype.kind not in "OSU":
            raise FileFormatError(f"Attribute '{name}' of '{obj.name}' should hold names, found dtype {array.dtype}.")
        names.extend(decode(item) for item in array.reshape(-1))
    return names


def write_name_list(obj, name, names):
    """Writes names as Keras does: vlen ASCII list, empty float64 array, or fixed-size chunks."""
    encoded = [n.encode("utf-8") for n in names]
    if not encoded:
        obj.attrs[name] = np.zeros((0,), dtype="float64")
        return
    array = np.array(encoded)
    if array.nbytes <= MAX_ATTR_BYTES:
        obj.attrs[name] = encoded
        return
    count = int(np.ceil(array.nbytes / MAX_ATTR_BYTES))
    for index, chunk in enumerate(np.array_split(array, count)):
        obj.attrs[f"{name}{index}"] = chunk


def check_name(name, what="name"):
    """Refuses names that could escape a path or confuse HDF5 (``..``, leading ``/``, NUL)."""
    if not isinstance(name, str) or not name or "\0" in name or name.startswith("/") \
            or any(part in ("", ".", "..") for part in name.split("/")):
        raise FileFormatError(f"Refusing the {what} {name!r}: it is empty, absolute, or contains '..', '//' or NUL.")
    return name


def child(group, name, kind, where=""):
    """``group[name]`` if it is a hard-linked object of ``kind`` (h5py.Group/Dataset), else None.

    Soft and external links are refused: they could point outside the file.
    """
    check_name(name, "HDF5 path")
    node = group
    for part in name.split("/"):
        if not isinstance(node, h5py.Group) or part not in node:
            return None
        link = node.get(part, getlink=True)
        if not isinstance(link, h5py.HardLink):
            raise FileFormatError(f"Refusing {type(link).__name__} '{part}' in '{node.name}'{where}: "
                                  "only plain groups and datasets are read.")
        node = node[part]
    if not isinstance(node, kind):
        raise FileFormatError(f"'{node.name}'{where} is a {type(node).__name__}, expected a {kind.__name__}.")
    return node


def check_dataset(dataset):
    """Validates a dataset's type and declared size before anything is read."""
    dtype = dataset.dtype
    if dtype.kind not in _NUMERIC_KINDS or dtype.fields is not None or h5py.check_dtype(ref=dtype) is not None \
            or h5py.check_dtype(vlen=dtype) is not None or (dtype.kind == "V" and dtype.itemsize != 2):
        raise FileFormatError(f"Dataset '{dataset.name}' has unsupported dtype {dtype}: only numeric arrays are read.")
    if dataset.external or dataset.is_virtual:
        raise FileFormatError(f"Refusing dataset '{dataset.name}': its data is stored outside the file.")
    declared = int(np.prod(dataset.shape, dtype=np.float64) * dtype.itemsize)
    stored = dataset.id.get_storage_size()
    if declared > MAX_DECLARED_BYTES and declared > MAX_EXPANSION * max(stored, 1):
        raise FileFormatError(
            f"Refusing dataset '{dataset.name}': it declares shape {dataset.shape} ({declared / 1e9:.1f} GB) "
            f"but the file stores only {stored} bytes for it."
        )
    return dataset


def read_dataset(dataset, bfloat16=False):
    """The dataset as a NumPy array, or a torch bfloat16 tensor for 2-byte opaque data."""
    check_dataset(dataset)
    try:
        value = dataset[()]
    except (OSError, RuntimeError, ValueError) as error:
        raise FileFormatError(f"Cannot read dataset '{dataset.name}' (truncated or corrupted): {error}") from error
    if dataset.dtype.kind == "V" or bfloat16:
        raw = np.ascontiguousarray(value).view(np.uint16)
        return torch.from_numpy(raw.astype(np.int16)).view(torch.bfloat16)
    return np.asarray(value)


def write_array(group, name, value, mark_bfloat16=True):
    """Writes a tensor as a plain contiguous dataset; bfloat16 as opaque 2-byte data (spec §9)."""
    if isinstance(value, torch.Tensor) and value.dtype == torch.bfloat16:
        raw = value.detach().cpu().contiguous().view(torch.int16).numpy().view(np.uint16)
        dataset = group.create_dataset(name, data=raw.view(np.dtype("V2")))
        if mark_bfloat16:
            dataset.attrs["dtype"] = "bfloat16"
        return dataset
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    return group.create_dataset(name, data=np.asarray(value))


def variable_value(variable):
    """The raw tensor of a lamina `Variable` (or a tensor/array), for writing."""
    value = getattr(variable, "value", variable)
    return value.detach() if isinstance(value, torch.Tensor) else value
