"""NumPy-compatible math (Keras 3 ``keras.ops.numpy``): elementwise ops, comparisons, reductions, products.

Array creation, shape manipulation, indexing and sorting are in `lamina.ops.arrays`.
Integer inputs of ops that only make sense in floating point (``exp``, ``mean``,
``divide``...) are computed in floatx; a Python scalar combined with a tensor
keeps the tensor's dtype (``float32_tensor * 2.0`` stays float32).

>>> import torch
>>> add(torch.ones(2), 1.5).tolist()
[2.5, 2.5]
>>> mean([[1, 2], [3, 4]], axis=0).tolist()
[2.0, 3.0]
"""

import builtins

import torch

from lamina.backend.dtypes import to_torch_dtype
from lamina.ops._utils import accumulating_dtype, axes, common, floating, floatx, is_python_scalar, pair, tensor


def _unary(torch_fn, name, to_float=True):
    def op(x):
        return torch_fn(floating(x) if to_float else tensor(x))

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Elementwise ``{name}`` (NumPy semantics)."
    return op


exp = _unary(torch.exp, "exp")
exp2 = _unary(torch.exp2, "exp2")
expm1 = _unary(torch.expm1, "expm1")
log = _unary(torch.log, "log")
log1p = _unary(torch.log1p, "log1p")
log2 = _unary(torch.log2, "log2")
log10 = _unary(torch.log10, "log10")
sqrt = _unary(torch.sqrt, "sqrt")
sin = _unary(torch.sin, "sin")
cos = _unary(torch.cos, "cos")
tan = _unary(torch.tan, "tan")
arcsin = _unary(torch.asin, "arcsin")
arccos = _unary(torch.acos, "arccos")
arctan = _unary(torch.atan, "arctan")
arcsinh = _unary(torch.asinh, "arcsinh")
arccosh = _unary(torch.acosh, "arccosh")
arctanh = _unary(torch.atanh, "arctanh")
sinh = _unary(torch.sinh, "sinh")
cosh = _unary(torch.cosh, "cosh")
tanh = _unary(torch.tanh, "tanh")
reciprocal = _unary(torch.reciprocal, "reciprocal")
deg2rad = _unary(torch.deg2rad, "deg2rad")
rad2deg = _unary(torch.rad2deg, "rad2deg")
floor = _unary(torch.floor, "floor")
ceil = _unary(torch.ceil, "ceil")
negative = _unary(torch.neg, "negative", to_float=False)
square = _unary(torch.square, "square", to_float=False)
sign = _unary(torch.sign, "sign", to_float=False)
isnan = _unary(torch.isnan, "isnan", to_float=False)
isinf = _unary(torch.isinf, "isinf", to_float=False)
isfinite = _unary(torch.isfinite, "isfinite", to_float=False)
logical_not = _unary(torch.logical_not, "logical_not", to_float=False)
conj = _unary(torch.conj_physical, "conj", to_float=False)
conjugate = conj
real = _unary(torch.real, "real", to_float=False)


def abs(x):  # noqa: A001 - Keras name
    """Elementwise absolute value (keeps the dtype)."""
    return torch.abs(tensor(x))


absolute = abs


def imag(x):
    """The imaginary part (zeros for real inputs)."""
    x = tensor(x)
    return torch.imag(x) if x.is_complex() else torch.zeros_like(x)


def trunc(x):
    """Rounds toward zero (integers are returned unchanged)."""
    x = tensor(x)
    return torch.trunc(x) if x.is_floating_point() else x


def round(x, decimals=0):  # noqa: A001 - Keras name
    """Rounds half to even to ``decimals`` decimals (integers keep their dtype).

    >>> round(torch.tensor([0.5, 1.5, 2.25]), decimals=1).tolist()
    [0.5, 1.5, 2.2]
    """
    x = tensor(x)
    if x.is_floating_point():
        return torch.round(x, decimals=decimals)
    if decimals >= 0:
        return x
    factor = 10 ** (-decimals)
    return (torch.round(x.double() / factor) * factor).to(x.dtype)


def _binary(torch_fn, name, to_float=False):
    def op(x1, x2):
        x1, x2 = pair(x1, x2)
        if to_float and not (x1.is_floating_point() or x2.is_floating_point()):
            x1, x2 = x1.to(floatx()), x2.to(floatx())
        return torch_fn(x1, x2)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Elementwise ``{name}`` with broadcasting (NumPy semantics)."
    return op


def _floor_div(x1, x2):
    # `torch.floor_divide` has no derivative; the same division through `torch.div` has the zero one.
    return torch.div(x1, x2, rounding_mode="floor")


add = _binary(torch.add, "add")
subtract = _binary(torch.subtract, "subtract")
multiply = _binary(torch.multiply, "multiply")
divide = _binary(torch.true_divide, "divide", to_float=True)
true_divide = divide
floor_divide = _binary(_floor_div, "floor_divide")
mod = _binary(torch.remainder, "mod")
power = _binary(torch.pow, "power")
maximum = _binary(torch.maximum, "maximum")
minimum = _binary(torch.minimum, "minimum")
arctan2 = _binary(torch.atan2, "arctan2", to_float=True)
hypot = _binary(torch.hypot, "hypot", to_float=True)
logaddexp = _binary(torch.logaddexp, "logaddexp", to_float=True)
copysign = _binary(torch.copysign, "copysign", to_float=True)
equal = _binary(torch.eq, "equal")
not_equal = _binary(torch.ne, "not_equal")
less = _binary(torch.lt, "less")
less_equal = _binary(torch.le, "less_equal")
greater = _binary(torch.gt, "greater")
greater_equal = _binary(torch.ge, "greater_equal")
logical_and = _binary(torch.logical_and, "logical_and")
logical_or = _binary(torch.logical_or, "logical_or")
logical_xor = _binary(torch.logical_xor, "logical_xor")


def divide_no_nan(x1, x2):
    """``x1 / x2``, with ``0`` wherever ``x2 == 0``."""
    x1, x2 = pair(x1, x2)
    if not (x1.is_floating_point() or x2.is_floating_point()):
        x1, x2 = x1.to(floatx()), x2.to(floatx())
    safe = torch.where(x2 == 0, torch.ones_like(x2), x2)
    return torch.where(x2 == 0, torch.zeros((), dtype=safe.dtype, device=safe.device), x1 / safe)


def isclose(x1, x2, rtol=1e-5, atol=1e-8, equal_nan=False):
    """Elementwise ``abs(x1 - x2) <= atol + rtol * abs(x2)``."""
    x1, x2 = common(*pair(x1, x2))
    return torch.isclose(x1, x2, rtol=rtol, atol=atol, equal_nan=equal_nan)


def clip(x, x_min, x_max):
    """Limits values to ``[x_min, x_max]`` (bool inputs are clipped as int32).

    >>> clip([1.0, 5.0, 9.0], 2, 6).tolist()
    [2.0, 5.0, 6.0]
    """
    x = tensor(x)
    if x.dtype == torch.bool:
        x = x.to(torch.int32)
    bounds = (x_min, x_max)
    if not builtins.all(b is None or is_python_scalar(b) for b in bounds):
        bounds = [None if b is None else tensor(b).to(x.device, x.dtype) for b in bounds]
    return torch.clamp(x, *bounds)


def where(condition, x1=None, x2=None):
    """``x1`` where ``condition`` holds, else ``x2``; with only ``condition``, its nonzero indices.

    >>> where([True, False], 1.0, [5.0, 6.0]).tolist()
    [1.0, 6.0]
    """
    condition = tensor(condition)
    if x1 is None and x2 is None:
        return tuple(i.to(torch.int32) for i in torch.nonzero(condition, as_tuple=True))
    if x1 is None or x2 is None:
        raise ValueError(
            f"`x1` and `x2` must both be given, or both be None. Received: x1={x1!r}, x2={x2!r}"
        )
    x1, x2 = common(*pair(x1, x2))
    return torch.where(condition.to(device=x1.device, dtype=torch.bool), x1, x2)


def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    """Replaces NaN with ``nan`` and infinities with ``posinf``/``neginf`` (dtype extremes by default)."""
    x = tensor(x)
    return torch.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf) if x.is_floating_point() else x


# ---- reductions ---------------------------------------------------------------------------------

def _reduce_dims(x, axis):
    dims = axes(axis, x.dim())
    return tuple(range(x.dim())) if dims is None else dims


def sum(x, axis=None, keepdims=False):  # noqa: A001 - Keras name
    """Sum over ``axis`` (all axes if ``None``); small ints and bools accumulate in int32.

    >>> sum([[1, 2], [3, 4]], axis=1, keepdims=True).tolist()
    [[3], [7]]
    """
    x = tensor(x)
    return torch.sum(x, dim=_reduce_dims(x, axis), keepdim=keepdims).to(accumulating_dtype(x))


def prod(x, axis=None, keepdims=False, dtype=None):
    """Product over ``axis`` (all axes if ``None``)."""
    x = tensor(x)
    out = x.to(accumulating_dtype(x) if dtype is None else to_torch_dtype(dtype))
    for d in sorted((d % builtins.max(x.dim(), 1) for d in _reduce_dims(x, axis)), reverse=True):
        out = torch.prod(out, dim=d, keepdim=keepdims)
    return out


def mean(x, axis=None, keepdims=False):
    """Arithmetic mean over ``axis`` (integers are averaged in floatx)."""
    x = floating(x)
    return torch.mean(x, dim=_reduce_dims(x, axis), keepdim=keepdims)


def var(x, axis=None, keepdims=False):
    """Population variance (``ddof=0``) over ``axis``."""
    x = floating(x)
    return torch.var(x, dim=_reduce_dims(x, axis), correction=0, keepdim=keepdims)


def std(x, axis=None, keepdims=False):
    """Population standard deviation (``ddof=0``) over ``axis``."""
    x = floating(x)
    return torch.std(x, dim=_reduce_dims(x, axis), correction=0, keepdim=keepdims)


def _extreme(torch_fn, name):
    def op(x, axis=None, keepdims=False, initial=None):
        x = tensor(x)
        if x.numel() == 0 and initial is None:
            raise ValueError(f"Cannot compute the {name} of an empty tensor. Received: x.shape={tuple(x.shape)}")
        out = torch_fn(x, dim=_reduce_dims(x, axis), keepdim=keepdims) if x.numel() else None
        if initial is not None:
            init = torch.tensor(initial, dtype=x.dtype, device=x.device)
            out = init.expand(_reduced_shape(x, axis, keepdims)) if out is None else (
                torch.maximum(out, init) if name == "max" else torch.minimum(out, init))
        return out

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"The {name}imum over ``axis`` (all axes if ``None``), at least ``initial`` if given."
    return op


def _reduced_shape(x, axis, keepdims):
    dims = {d % builtins.max(x.dim(), 1) for d in _reduce_dims(x, axis)}
    return tuple(1 if i in dims else n for i, n in enumerate(x.shape) if keepdims or i not in dims)


max = _extreme(torch.amax, "max")  # noqa: A001 - Keras name
min = _extreme(torch.amin, "min")  # noqa: A001 - Keras name
amax = max
amin = min


def all(x, axis=None, keepdims=False):  # noqa: A001 - Keras name
    """Whether all entries along ``axis`` are nonzero."""
    x = tensor(x)
    return torch.all(x.to(torch.bool), dim=_reduce_dims(x, axis), keepdim=keepdims)


def any(x, axis=None, keepdims=False):  # noqa: A001 - Keras name
    """Whether any entry along ``axis`` is nonzero."""
    x = tensor(x)
    return torch.any(x.to(torch.bool), dim=_reduce_dims(x, axis), keepdim=keepdims)


def count_nonzero(x, axis=None):
    """The number of nonzero entries along ``axis``, as int32."""
    x = tensor(x)
    return torch.count_nonzero(x, dim=_reduce_dims(x, axis)).to(torch.int32)


def _arg_extreme(torch_fn, name):
    def op(x, axis=None, keepdims=False):
        x = tensor(x)
        if axis is None:
            out = torch_fn(x.reshape(-1))
            return out.reshape([1] * x.dim()).to(torch.int32) if keepdims else out.to(torch.int32)
        return torch_fn(x, dim=int(axis), keepdim=keepdims).to(torch.int32)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Indices (int32) of the {name[3:]}imum along ``axis`` (of the flattened input if ``None``)."
    return op


argmax = _arg_extreme(torch.argmax, "argmax")
argmin = _arg_extreme(torch.argmin, "argmin")


def _cumulative(torch_fn, name):
    def op(x, axis=None, dtype=None):
        x = tensor(x)
        out_dtype = accumulating_dtype(x) if dtype is None else to_torch_dtype(dtype)
        if axis is None:
            x, axis = x.reshape(-1), 0
        return torch_fn(x.to(out_dtype), dim=int(axis))

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Cumulative {name[3:]} along ``axis`` (over the flattened input if ``None``)."
    return op


cumsum = _cumulative(torch.cumsum, "cumsum")
cumprod = _cumulative(torch.cumprod, "cumprod")


def average(x, axis=None, weights=None):
    """Weighted mean over ``axis``; 1-D ``weights`` apply along a single ``axis``.

    >>> average([1.0, 2.0, 3.0], weights=[3.0, 1.0, 0.0]).item()
    1.25
    """
    x = floating(x)
    if weights is None:
        return mean(x, axis=axis)
    weights = floating(weights).to(device=x.device)
    x, weights = common(x, weights)
    if weights.shape != x.shape:
        if axis is None or weights.dim() != 1:
            raise ValueError(
                "`weights` must have the shape of `x`, or be 1-D along a given `axis`. "
                f"Received: x.shape={tuple(x.shape)}, weights.shape={tuple(weights.shape)}, axis={axis}"
            )
        shape = [1] * x.dim()
        shape[int(axis)] = -1
        weights = weights.reshape(shape)
    dims = _reduce_dims(x, axis)
    return torch.sum(x * weights, dim=dims) / torch.sum(weights.expand_as(x), dim=dims)


def _quantile_input(x, axis):
    dims = sorted(d % builtins.max(x.dim(), 1) for d in _reduce_dims(x, axis))
    keep = [d for d in range(x.dim()) if d not in dims]
    moved = x.permute(*keep, *dims) if x.dim() else x
    return moved.reshape(*[x.shape[d] for d in keep], -1), dims


def quantile(x, q, axis=None, method="linear", keepdims=False):
    """The ``q``-th quantiles (``q`` in ``[0, 1]``) over ``axis``, interpolated by ``method``.

    ``method`` is one of ``'linear'``, ``'lower'``, ``'higher'``, ``'midpoint'``, ``'nearest'``.
    """
    methods = ("linear", "lower", "higher", "midpoint", "nearest")
    if method not in methods:
        raise ValueError(f"`method` must be one of {methods}. Received: method={method!r}")
    x = floating(x)
    q_tensor = tensor(q).to(device=x.device, dtype=x.dtype)
    flat, dims = _quantile_input(x, axis)
    out = torch.quantile(flat, q_tensor, dim=-1, interpolation=method)
    if keepdims:
        shape = [1 if d in dims else n for d, n in enumerate(x.shape)]
        out = out.reshape(*q_tensor.shape, *shape)
    return out


def median(x, axis=None, keepdims=False):
    """The median over ``axis`` (the mean of the two middle values for even counts)."""
    return quantile(x, 0.5, axis=axis, keepdims=keepdims)


# ---- products -----------------------------------------------------------------------------------

def matmul(x1, x2):
    """Matrix product with NumPy broadcasting (``x1 @ x2``)."""
    x1, x2 = common(x1, x2)
    return torch.matmul(x1, x2)


def dot(x1, x2):
    """NumPy ``dot``: products for scalars, inner product of vectors, matrix product otherwise."""
    x1, x2 = common(x1, x2)
    if x1.dim() == 0 or x2.dim() == 0:
        return x1 * x2
    if x2.dim() == 1:
        return torch.tensordot(x1, x2, dims=([-1], [0]))
    return torch.tensordot(x1, x2, dims=([-1], [x2.dim() - 2]))


def tensordot(x1, x2, axes=2):
    """Sums products over the last ``axes`` axes of ``x1`` and first of ``x2`` (or explicit axis lists)."""
    x1, x2 = common(x1, x2)
    if isinstance(axes, (list, tuple)):
        axes = [list(a) if isinstance(a, (list, tuple)) else [a] for a in axes]
    return torch.tensordot(x1, x2, dims=axes)


def einsum(subscripts, *operands):
    """Einstein summation, e.g. ``einsum("ij,jk->ik", a, b)``.

    >>> einsum("i,i->", [1.0, 2.0], [3.0, 4.0]).item()
    11.0
    """
    return torch.einsum(subscripts, *common(*operands))


def outer(x1, x2):
    """Outer product of the flattened inputs."""
    x1, x2 = common(x1, x2)
    return torch.outer(x1.reshape(-1), x2.reshape(-1))


def inner(x1, x2):
    """Inner product over the last axes (products for scalars)."""
    x1, x2 = common(x1, x2)
    return x1 * x2 if x1.dim() == 0 or x2.dim() == 0 else torch.inner(x1, x2)


def vdot(x1, x2):
    """Dot product of the flattened inputs, conjugating the first."""
    x1, x2 = common(x1, x2)
    return torch.sum(torch.conj(x1).reshape(-1) * x2.reshape(-1))


def cross(x1, x2, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """Cross product of 2- or 3-vectors along the given axes (NumPy semantics)."""
    if axis is not None:
        axisa = axisb = axisc = axis
    x1, x2 = common(x1, x2)
    a, b = torch.movedim(x1, axisa, -1), torch.movedim(x2, axisb, -1)
    if a.shape[-1] not in (2, 3) or b.shape[-1] not in (2, 3):
        raise ValueError(
            "Cross products need vectors of size 2 or 3 along the given axes. "
            f"Received: x1.shape={tuple(x1.shape)}, x2.shape={tuple(x2.shape)}, axisa={axisa}, axisb={axisb}"
        )
    both_2d = a.shape[-1] == 2 and b.shape[-1] == 2
    a = torch.nn.functional.pad(a, (0, 3 - a.shape[-1]))
    b = torch.nn.functional.pad(b, (0, 3 - b.shape[-1]))
    a, b = torch.broadcast_tensors(a, b)
    out = torch.linalg.cross(a, b, dim=-1)
    return out[..., 2] if both_2d else torch.movedim(out, -1, axisc)


def trace(x, offset=0, axis1=0, axis2=1):
    """Sum along the ``offset`` diagonal of the ``axis1``/``axis2`` planes."""
    x = tensor(x)
    return torch.sum(torch.diagonal(x, offset=offset, dim1=axis1, dim2=axis2), dim=-1).to(accumulating_dtype(x))
