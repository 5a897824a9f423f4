"""Core ops: tensor conversion, dtypes, shapes, control flow and scatter/slice updates.

Mirrors ``keras.ops.core``. Every op accepts NumPy arrays, Python scalars and
lists, torch tensors and `lamina.Variable`s.

>>> x = convert_to_tensor([1.0, 2.0])
>>> x.dtype, shape(x)
(torch.float32, (2,))
>>> convert_to_numpy(cast(x, "int32")).tolist()
[1, 2]
"""

import builtins

import numpy as np
import torch

from lamina.backend import config
from lamina.backend.dtypes import standardize_dtype, to_torch_dtype
from lamina.backend.variable import Variable

builtins_slice = builtins.slice
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


def stop_gradient(variable):
    """The value of ``variable`` with no gradient flowing back through it."""
    return convert_to_tensor(variable).detach()


def cond(pred, true_fn, false_fn):
    """Calls ``true_fn()`` if ``pred`` is true, else ``false_fn()`` (eager Python branch).

    >>> cond(torch.tensor(True), lambda: 1, lambda: 2)
    1
    """
    return true_fn() if bool(convert_to_tensor(pred)) else false_fn()


def switch(index, branches, *operands):
    """Calls ``branches[index](*operands)``, with ``index`` clamped into range as Keras does."""
    index = int(convert_to_tensor(index))
    return branches[min(max(index, 0), len(branches) - 1)](*operands)


def while_loop(cond, body, loop_vars, maximum_iterations=None):
    """Repeats ``loop_vars = body(*loop_vars)`` while ``cond(*loop_vars)``.

    A single (non-tuple) ``loop_vars`` is passed as one argument and returned unwrapped.

    >>> while_loop(lambda i: i < 5, lambda i: i + 2, 0)
    6
    """
    is_tuple = isinstance(loop_vars, (list, tuple))
    state = tuple(loop_vars) if is_tuple else (loop_vars,)
    iterations = 0
    while (maximum_iterations is None or iterations < maximum_iterations) and bool(
        convert_to_tensor(cond(*state))
    ):
        result = body(*state)
        state = tuple(result) if is_tuple else (result,)
        iterations += 1
    return type(loop_vars)(state) if is_tuple else state[0]


def fori_loop(lower, upper, body_fun, init_val):
    """``for i in range(lower, upper): init_val = body_fun(i, init_val)``.

    >>> fori_loop(0, 4, lambda i, total: total + i, 0)
    6
    """
    value = init_val
    for i in range(int(lower), int(upper)):
        value = body_fun(i, value)
    return value


def map(f, xs):  # noqa: A001 - Keras name
    """Applies ``f`` to each slice of ``xs`` along axis 0 and stacks the results."""
    xs = convert_to_tensor(xs)
    return torch.stack([convert_to_tensor(f(x)) for x in xs.unbind(0)])


def scan(f, init, xs=None, length=None, reverse=False, unroll=1):
    """Loops ``carry, y = f(carry, x)`` over ``xs`` (axis 0); returns ``(carry, stacked ys)``.

    >>> carry, ys = scan(lambda c, x: (c + x, c), 0, torch.tensor([1, 2, 3]))
    >>> int(carry), ys.tolist()
    (6, [0, 1, 3])
    """
    if xs is None:
        if length is None:
            raise ValueError("scan needs `xs` or `length`. Received: xs=None, length=None")
        items = [None] * int(length)
    else:
        items = list(convert_to_tensor(xs).unbind(0))
    order = range(len(items) - 1, -1, -1) if reverse else range(len(items))
    carry, ys = init, [None] * len(items)
    for i in order:
        carry, ys[i] = f(carry, items[i])
    if not ys or ys[0] is None:
        return carry, None
    return carry, torch.stack([convert_to_tensor(y) for y in ys])


def vectorized_map(function, elements):
    """Maps ``function`` over axis 0 of ``elements`` (a tensor or a nest of tensors) with `torch.vmap`."""
    if isinstance(elements, (list, tuple)):
        elements = type(elements)(convert_to_tensor(e) for e in elements)
    else:
        elements = convert_to_tensor(elements)
    return torch.vmap(function)(elements)


def _indices(indices):
    indices = convert_to_tensor(indices)
    if indices.is_floating_point():
        raise TypeError(f"Indices must be integers. Received: indices.dtype={indices.dtype}")
    return indices.long()


def scatter(indices, values, shape):
    """A zero tensor of ``shape`` with ``values`` added at ``indices`` (duplicates are summed).

    ``indices`` has shape ``(N, k)``: each row indexes the first ``k`` axes.

    >>> scatter([[0], [2], [0]], [1.0, 2.0, 3.0], (3,)).tolist()
    [4.0, 0.0, 2.0]
    """
    indices, values = _indices(indices), convert_to_tensor(values)
    out = torch.zeros(tuple(shape), dtype=values.dtype, device=values.device)
    return out.index_put(tuple(indices.to(values.device).unbind(-1)), values, accumulate=True)


def scatter_update(inputs, indices, updates):
    """A copy of ``inputs`` with the entries at ``indices`` (``(N, k)``) replaced by ``updates``.

    >>> scatter_update(torch.zeros(2, 2), [[1, 0]], [5.0]).tolist()
    [[0.0, 0.0], [5.0, 0.0]]
    """
    inputs = convert_to_tensor(inputs)
    indices = _indices(indices).to(inputs.device)
    updates = convert_to_tensor(updates).to(device=inputs.device, dtype=inputs.dtype)
    return inputs.index_put(tuple(indices.unbind(-1)), updates)


def _start_indices(start_indices):
    if isinstance(start_indices, (torch.Tensor, Variable, np.ndarray)):
        return [int(i) for i in convert_to_numpy(start_indices).reshape(-1)]
    return [int(i) for i in start_indices]


def slice(inputs, start_indices, shape):  # noqa: A001 - Keras name
    """The block of ``inputs`` of size ``shape`` starting at ``start_indices``.

    >>> slice(torch.arange(6).reshape(2, 3), (0, 1), (2, 2)).tolist()
    [[1, 2], [4, 5]]
    """
    inputs = convert_to_tensor(inputs)
    starts = _start_indices(start_indices)
    index = tuple(builtins_slice(s, s + int(n)) for s, n in zip(starts, shape))
    return inputs[index]


def slice_update(inputs, start_indices, updates):
    """A copy of ``inputs`` whose block at ``start_indices`` is replaced by ``updates``."""
    inputs = convert_to_tensor(inputs)
    updates = convert_to_tensor(updates).to(device=inputs.device, dtype=inputs.dtype)
    starts = _start_indices(start_indices)
    index = tuple(builtins_slice(s, s + n) for s, n in zip(starts, updates.shape))
    out = inputs.clone()
    out[index] = updates
    return out


def unstack(x, num=None, axis=0):
    """Splits ``x`` into a list of tensors along ``axis``."""
    x = convert_to_tensor(x)
    if num is not None and num != x.shape[axis]:
        raise ValueError(f"`num` must equal the size of axis {axis}. Received: num={num}, x.shape={tuple(x.shape)}")
    return list(x.unbind(axis))


def saturate_cast(x, dtype):
    """Casts to ``dtype``, clipping values to its range first (no integer overflow)."""
    x = convert_to_tensor(x)
    target = to_torch_dtype(dtype)
    if not target.is_floating_point and target != torch.bool:
        info = torch.iinfo(target)
        low, high = info.min, info.max
        if x.is_floating_point():
            x = torch.clamp(x, low, high)
        else:
            x = torch.clamp(x.long(), max(low, torch.iinfo(torch.int64).min), min(high, torch.iinfo(torch.int64).max))
    elif target.is_floating_point and x.is_floating_point():
        info = torch.finfo(target)
        x = torch.clamp(x, info.min, info.max)
    return x.to(target)


def custom_gradient(f):
    """Decorates ``f(*args) -> (output, grad_fn)`` so backprop uses ``grad_fn(upstream)``.

    >>> @custom_gradient
    ... def clipped_identity(x):
    ...     return x, lambda upstream: torch.clamp(upstream, -1.0, 1.0)
    >>> x = torch.tensor([2.0], requires_grad=True)
    >>> (clipped_identity(x) * 5).sum().backward()
    >>> x.grad.tolist()
    [1.0]
    """

    class _Function(torch.autograd.Function):
        @staticmethod
        def forward(ctx, *args):
            with torch.enable_grad():
                output, grad_fn = f(*args)
            ctx.grad_fn = grad_fn
            return output.detach() if isinstance(output, torch.Tensor) else output

        @staticmethod
        def backward(ctx, *upstream):
            grads = ctx.grad_fn(*upstream)
            return tuple(grads) if isinstance(grads, (list, tuple)) else (grads,)

    def wrapper(*args):
        return _Function.apply(*(convert_to_tensor(a) if not isinstance(a, torch.Tensor) else a for a in args))

    wrapper.__name__ = getattr(f, "__name__", "custom_gradient")
    wrapper.__doc__ = f.__doc__
    return wrapper
