"""NumPy-compatible array ops (Keras 3 ``keras.ops.numpy``): creation, shapes, joining, indexing, sorting.

New tensors are created on `lamina.config.device()` with floatx as the default float dtype.

>>> reshape(arange(6), (2, 3)).tolist()
[[0, 1, 2], [3, 4, 5]]
>>> pad([[1, 2]], ((0, 0), (1, 0))).tolist()
[[0, 1, 2]]
"""

import builtins

import numpy as np
import torch
import torch.nn.functional as F

from lamina.backend import config
from lamina.backend.dtypes import to_torch_dtype
from lamina.ops._utils import axes, common, floatx, is_python_scalar, tensor


def _dtype(dtype):
    return floatx() if dtype is None else to_torch_dtype(dtype)


def _shape(shape):
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    return tuple(int(d) for d in shape)


# ---- creation -----------------------------------------------------------------------------------

def zeros(shape, dtype=None):
    """A tensor of zeros (floatx by default)."""
    return torch.zeros(_shape(shape), dtype=_dtype(dtype), device=config.device())


def ones(shape, dtype=None):
    """A tensor of ones (floatx by default)."""
    return torch.ones(_shape(shape), dtype=_dtype(dtype), device=config.device())


def empty(shape, dtype=None):
    """An uninitialized tensor (floatx by default)."""
    return torch.empty(_shape(shape), dtype=_dtype(dtype), device=config.device())


def full(shape, fill_value, dtype=None):
    """A tensor filled with ``fill_value`` (floatx by default; ``fill_value`` may broadcast)."""
    fill = tensor(fill_value).to(device=config.device(), dtype=_dtype(dtype))
    return fill.expand(_shape(shape)).clone()


def _like(x, dtype):
    x = tensor(x)
    return x, (x.dtype if dtype is None else to_torch_dtype(dtype))


def zeros_like(x, dtype=None):
    """Zeros with the shape (and, by default, dtype) of ``x``."""
    x, dtype = _like(x, dtype)
    return torch.zeros_like(x, dtype=dtype)


def ones_like(x, dtype=None):
    """Ones with the shape (and, by default, dtype) of ``x``."""
    x, dtype = _like(x, dtype)
    return torch.ones_like(x, dtype=dtype)


def full_like(x, fill_value, dtype=None):
    """``fill_value`` with the shape (and, by default, dtype) of ``x``."""
    x, dtype = _like(x, dtype)
    return tensor(fill_value).to(device=x.device, dtype=dtype).expand(x.shape).clone()


def array(x, dtype=None):
    """A new tensor holding ``x`` (Keras dtype rules, see `convert_to_tensor`)."""
    from lamina.ops.core import constant

    return constant(x, dtype=dtype)


def copy(x):
    """A copy of ``x`` that shares no memory (and keeps gradient history)."""
    return tensor(x).clone()


def arange(start, stop=None, step=1, dtype=None):
    """Evenly spaced values in ``[start, stop)``; int32 for integer arguments, else floatx.

    >>> arange(1, 2, 0.25).tolist()
    [1.0, 1.25, 1.5, 1.75]
    """
    if stop is None:
        start, stop = 0, start
    if dtype is None:
        is_int = builtins.all(isinstance(v, (int, np.integer)) for v in (start, stop, step))
        dtype = torch.int32 if is_int else floatx()
    else:
        dtype = to_torch_dtype(dtype)
    values = [v.item() if isinstance(v, (torch.Tensor, np.generic)) else v for v in (start, stop, step)]
    return torch.arange(*values, dtype=dtype, device=config.device())


def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    """``num`` evenly spaced values from ``start`` to ``stop`` (array bounds broadcast along ``axis``).

    >>> linspace(0, 1, 5).tolist()
    [0.0, 0.25, 0.5, 0.75, 1.0]
    """
    dtype = _dtype(dtype)
    start = tensor(start).to(device=config.device(), dtype=torch.float64)
    stop = tensor(stop).to(device=config.device(), dtype=torch.float64)
    div = (num - 1) if endpoint else num
    step = (stop - start) / div if div > 0 else torch.full_like(stop - start, float("nan"))
    steps = torch.arange(num, dtype=torch.float64, device=start.device)
    shape = (num,) + (1,) * builtins.max(start.dim(), stop.dim())
    values = start + steps.reshape(shape) * (step if div > 0 else 0.0)
    if endpoint and num > 1:
        values[-1] = stop
    values = torch.movedim(values, 0, axis).to(dtype)
    return (values, step.to(dtype)) if retstep else values


def eye(N, M=None, k=0, dtype=None):
    """A 2-D tensor with ones on the ``k``-th diagonal (floatx by default)."""
    M = N if M is None else M
    return _diag_ones(int(N), int(M), int(k), _dtype(dtype))


def _diag_ones(n, m, k, dtype):
    rows = torch.arange(n, device=config.device()).unsqueeze(1)
    cols = torch.arange(m, device=config.device()).unsqueeze(0)
    return (cols - rows == k).to(dtype)


def identity(n, dtype=None):
    """The ``n x n`` identity matrix."""
    return _diag_ones(int(n), int(n), 0, _dtype(dtype))


def tri(N, M=None, k=0, dtype=None):
    """Ones at and below the ``k``-th diagonal."""
    M = N if M is None else M
    rows = torch.arange(int(N), device=config.device()).unsqueeze(1)
    cols = torch.arange(int(M), device=config.device()).unsqueeze(0)
    return (cols - rows <= k).to(_dtype(dtype))


def tril(x, k=0):
    """``x`` with entries above the ``k``-th diagonal zeroed (last two axes)."""
    return torch.tril(tensor(x), diagonal=k)


def triu(x, k=0):
    """``x`` with entries below the ``k``-th diagonal zeroed (last two axes)."""
    return torch.triu(tensor(x), diagonal=k)


def meshgrid(*x, indexing="xy"):
    """Coordinate grids from 1-D inputs (``indexing='xy'`` or ``'ij'``)."""
    if indexing not in ("xy", "ij"):
        raise ValueError(f"`indexing` must be 'xy' or 'ij'. Received: indexing={indexing!r}")
    return list(torch.meshgrid(*common(*x), indexing=indexing))


# ---- shapes -------------------------------------------------------------------------------------

def size(x):
    """The number of elements."""
    return tensor(x).numel()


def ndim(x):
    """The number of axes."""
    return tensor(x).dim()


def reshape(x, newshape):
    """``x`` with shape ``newshape`` (one entry may be ``-1``)."""
    return torch.reshape(tensor(x), _shape(newshape))


def ravel(x):
    """``x`` flattened to 1-D."""
    return torch.reshape(tensor(x), (-1,))


def transpose(x, axes=None):
    """Permutes the axes (reverses them if ``axes`` is ``None``)."""
    x = tensor(x)
    return x.permute(*(reversed(range(x.dim())) if axes is None else axes))


def moveaxis(x, source, destination):
    """Moves axes ``source`` to positions ``destination``."""
    return torch.movedim(tensor(x), source, destination)


def swapaxes(x, axis1, axis2):
    """Exchanges two axes."""
    return torch.swapaxes(tensor(x), axis1, axis2)


def expand_dims(x, axis):
    """Inserts size-1 axes at the positions ``axis`` (an int or a tuple) of the result."""
    x = tensor(x)
    dims = axes(axis)
    out_rank = x.dim() + len(dims)
    for d in sorted(d % out_rank for d in dims):
        x = x.unsqueeze(d)
    return x


def squeeze(x, axis=None):
    """Removes size-1 axes (all of them, or those in ``axis``, which must have size 1)."""
    x = tensor(x)
    if axis is None:
        return torch.squeeze(x)
    dims = axes(axis, x.dim())
    for d in dims:
        if x.shape[d] != 1:
            raise ValueError(
                f"Cannot squeeze axis {d}: its size is not 1. Received: x.shape={tuple(x.shape)}, axis={axis!r}"
            )
    return torch.squeeze(x, dim=dims)


def broadcast_to(x, shape):
    """``x`` broadcast to ``shape`` (a view)."""
    return torch.broadcast_to(tensor(x), _shape(shape))


def tile(x, repeats):
    """``x`` repeated ``repeats`` times along each axis (NumPy ``tile``)."""
    repeats = [repeats] if is_python_scalar(repeats) else [int(r) for r in repeats]
    return torch.tile(tensor(x), tuple(repeats))


def repeat(x, repeats, axis=None):
    """Each element repeated ``repeats`` times along ``axis`` (of the flattened input if ``None``)."""
    x = tensor(x)
    if axis is None:
        x, axis = x.reshape(-1), 0
    if not is_python_scalar(repeats):
        repeats = tensor(repeats).to(device=x.device, dtype=torch.int64)
    return torch.repeat_interleave(x, repeats, dim=axis)


def flip(x, axis=None):
    """Reverses the order of elements along ``axis`` (all axes if ``None``)."""
    x = tensor(x)
    dims = tuple(range(x.dim())) if axis is None else axes(axis, x.dim())
    return torch.flip(x, dims=dims)


def roll(x, shift, axis=None):
    """Rolls elements along ``axis`` (of the flattened input if ``None``)."""
    x = tensor(x)
    if axis is None:
        return torch.roll(x.reshape(-1), shifts=shift).reshape(x.shape)
    return torch.roll(x, shifts=shift, dims=axis)


def _pad_widths(pad_width, rank):
    widths = np.asarray(pad_width, dtype=np.int64)
    try:
        widths = np.broadcast_to(widths, (rank, 2))
    except ValueError:
        raise ValueError(
            f"`pad_width` must broadcast to ({rank}, 2) for a rank-{rank} input. Received: pad_width={pad_width!r}"
        ) from None
    if (widths < 0).any():
        raise ValueError(f"`pad_width` must not be negative. Received: pad_width={pad_width!r}")
    return widths


def _pad_index(n, before, after, mode):
    index = np.arange(-before, n + after)
    if mode == "edge":
        return np.clip(index, 0, n - 1)
    if mode == "wrap":
        return index % n
    period = 2 * n - 2 if mode == "reflect" else 2 * n
    if period == 0:
        return np.zeros_like(index)
    index = index % period
    if mode == "reflect":
        return np.where(index < n, index, period - index)
    return np.where(index < n, index, period - 1 - index)


def pad(x, pad_width, mode="constant", constant_values=None):
    """Pads ``x``; ``pad_width`` is NumPy's ``((before, after), ...)`` (or anything broadcasting to it).

    ``mode`` is ``'constant'`` (default, with ``constant_values``), ``'edge'``,
    ``'reflect'``, ``'symmetric'`` or ``'wrap'``.
    """
    modes = ("constant", "edge", "reflect", "symmetric", "wrap")
    if mode not in modes:
        raise ValueError(f"`mode` must be one of {modes}. Received: mode={mode!r}")
    if constant_values is not None and mode != "constant":
        raise ValueError(
            "Argument `constant_values` can only be provided when `mode == 'constant'`. "
            f"Received: mode={mode!r}"
        )
    x = tensor(x)
    widths = _pad_widths(pad_width, x.dim())
    if mode == "constant":
        flat = [int(v) for pair in widths[::-1] for v in pair]
        return F.pad(x, flat, value=0 if constant_values is None else constant_values)
    for d, (before, after) in enumerate(widths):
        if before or after:
            if x.shape[d] == 0:
                raise ValueError(f"Cannot pad an empty axis {d} with mode={mode!r}. Received: x.shape={tuple(x.shape)}")
            index = torch.as_tensor(_pad_index(x.shape[d], int(before), int(after), mode), device=x.device)
            x = torch.index_select(x, d, index)
    return x


# ---- joining and splitting ----------------------------------------------------------------------

def concatenate(xs, axis=0):
    """Joins tensors along an existing axis (``axis=None`` flattens them first)."""
    xs = common(*xs)
    if axis is None:
        return torch.cat([x.reshape(-1) for x in xs])
    return torch.cat(xs, dim=axis)


def append(x1, x2, axis=None):
    """``x2`` appended to ``x1`` along ``axis`` (flattened if ``None``)."""
    return concatenate([x1, x2], axis=axis)


def stack(x, axis=0):
    """Joins tensors along a new axis."""
    return torch.stack(common(*x), dim=axis)


def vstack(xs):
    """Stacks along axis 0 (1-D inputs become rows)."""
    return torch.vstack(common(*xs))


def hstack(xs):
    """Stacks along axis 1 (along axis 0 for 1-D inputs)."""
    return torch.hstack(common(*xs))


def split(x, indices_or_sections, axis=0):
    """Splits into equal ``sections`` (an int that must divide the axis) or at ``indices``."""
    x = tensor(x)
    if is_python_scalar(indices_or_sections):
        sections = int(indices_or_sections)
        if sections <= 0 or x.shape[axis] % sections:
            raise ValueError(
                f"Cannot split axis {axis} of size {x.shape[axis]} into {sections} equal sections. "
                f"Received: x.shape={tuple(x.shape)}, indices_or_sections={indices_or_sections}"
            )
        return list(torch.tensor_split(x, sections, dim=axis))
    return list(torch.tensor_split(x, [int(i) for i in indices_or_sections], dim=axis))


# ---- indexing and sorting -----------------------------------------------------------------------

def _wrap_indices(indices, n, device):
    indices = tensor(indices).to(device=device)
    if indices.is_floating_point():
        raise TypeError(f"Indices must be integers. Received: indices.dtype={indices.dtype}")
    indices = indices.long()
    return torch.where(indices < 0, indices + n, indices)


def take(x, indices, axis=None):
    """Elements of ``x`` at ``indices`` along ``axis`` (of the flattened input if ``None``)."""
    x = tensor(x)
    if axis is None:
        x, axis = x.reshape(-1), 0
    axis = axis % x.dim()
    indices = _wrap_indices(indices, x.shape[axis], x.device)
    out = torch.index_select(x, axis, indices.reshape(-1))
    return out.reshape(*x.shape[:axis], *indices.shape, *x.shape[axis + 1:])


def take_along_axis(x, indices, axis=None):
    """``x`` gathered along ``axis`` with ``indices`` broadcast against it (NumPy semantics)."""
    x = tensor(x)
    if axis is None:
        x, axis = x.reshape(-1), 0
    indices = _wrap_indices(indices, x.shape[axis], x.device)
    return torch.take_along_dim(x, indices, dim=axis)


def sort(x, axis=-1):
    """Values sorted ascending along ``axis``."""
    return torch.sort(tensor(x), dim=axis, stable=True).values


def argsort(x, axis=-1):
    """Indices (int32) that sort ``x`` ascending along ``axis`` (stable)."""
    x = tensor(x)
    if x.dim() == 0:
        return torch.zeros((), dtype=torch.int32, device=x.device)
    return torch.sort(x, dim=axis, stable=True).indices.to(torch.int32)


def nonzero(x):
    """The indices (int32 tensors, one per axis) of nonzero entries."""
    return tuple(i.to(torch.int32) for i in torch.nonzero(tensor(x), as_tuple=True))


def diag(x, k=0):
    """The ``k``-th diagonal of a matrix, or a matrix with a vector on it."""
    x = tensor(x)
    if x.dim() not in (1, 2):
        raise ValueError(f"`diag` needs a 1-D or 2-D input. Received: x.shape={tuple(x.shape)}")
    return torch.diag(x, diagonal=k)


def diagonal(x, offset=0, axis1=0, axis2=1):
    """The ``offset`` diagonal of the ``axis1``/``axis2`` planes, as the last axis."""
    return torch.diagonal(tensor(x), offset=offset, dim1=axis1, dim2=axis2)


def searchsorted(sorted_sequence, values, side="left"):
    """Insertion indices (int32) of ``values`` in the 1-D ascending ``sorted_sequence``."""
    if side not in ("left", "right"):
        raise ValueError(f"`side` must be 'left' or 'right'. Received: side={side!r}")
    sequence, values = common(sorted_sequence, values)
    return torch.searchsorted(sequence, values, side=side).to(torch.int32)


def digitize(x, bins):
    """Bin indices (int32) with ``bins[i-1] <= x < bins[i]`` for increasing ``bins``."""
    x, bins = common(x, bins)
    return torch.bucketize(x, bins, right=True).to(torch.int32)


def bincount(x, weights=None, minlength=0):
    """Counts of each non-negative integer (weighted sums if ``weights``); 2-D inputs count per row."""
    x = tensor(x).long()
    if (x < 0).any():
        raise ValueError("`bincount` needs non-negative integers. Received: a negative value in x")
    length = builtins.max(int(x.max()) + 1 if x.numel() else 0, int(minlength))
    values = torch.ones_like(x, dtype=torch.int32) if weights is None else tensor(weights).to(x.device)
    out = torch.zeros(*x.shape[:-1], length, dtype=values.dtype, device=x.device)
    return out.scatter_add(-1, x, values.expand(x.shape))


def histogram(x, bins=10, range=None):  # noqa: A002 - NumPy name
    """``(counts, bin_edges)`` of ``x`` in ``bins`` equal bins over ``range`` (the data range if ``None``)."""
    x = tensor(x).reshape(-1)
    x = x if x.is_floating_point() else x.to(floatx())
    low, high = (x.min().item(), x.max().item()) if range is None else range
    if low == high:
        low, high = low - 0.5, high + 0.5
    edges = torch.linspace(low, high, bins + 1, dtype=x.dtype, device=x.device)
    inside = (x >= low) & (x <= high)
    index = torch.clamp(torch.bucketize(x[inside], edges, right=True) - 1, 0, bins - 1)
    counts = torch.bincount(index, minlength=bins).to(torch.int32)
    return counts, edges


def correlate(x1, x2, mode="valid"):
    """Cross-correlation of two 1-D sequences (NumPy ``correlate``; ``mode`` valid/same/full)."""
    if mode not in ("valid", "same", "full"):
        raise ValueError(f"`mode` must be 'valid', 'same' or 'full'. Received: mode={mode!r}")
    a, v = common(x1, x2)
    if not a.is_floating_point():
        a, v = a.to(floatx()), v.to(floatx())
    n, m = a.shape[0], v.shape[0]
    if m > n:  # NumPy swaps the operands and reverses the result
        return torch.flip(correlate(v, a, mode), dims=(0,))
    left, right = {"valid": (0, 0), "full": (m - 1, m - 1), "same": (m // 2, m - 1 - m // 2)}[mode]
    padded = F.pad(a.reshape(1, 1, -1), (left, right))
    out = F.conv1d(padded, v.reshape(1, 1, -1)).reshape(-1)
    return out
