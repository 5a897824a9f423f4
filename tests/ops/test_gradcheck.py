"""Every differentiable op of `lamina.ops` against finite differences (float64 `torch.autograd.gradcheck`).

`CASES` holds one or more checks per op, each with small float64 inputs in a domain where the op
is smooth (positive for ``log``/``sqrt``, away from the kinks of ``abs``/``relu``/``clip``, distinct
values for ``max``/``sort``); elementwise ops also get second derivatives (``gradgradcheck``).
`EXCLUDED` names the ops with no gradient to check, grouped by the reason. A test asserts that
the two together cover every name `lamina.ops` exports, so a new op cannot slip through.
"""

import inspect

import numpy as np
import pytest
import torch

from lamina import ops

# Values at least 0.1 away from 0, +-0.25, +-0.5, +-1, +-2, +-3 and +-6 (the kinks of the piecewise ops).
_SMOOTH = [-3.6, -2.7, -1.7, -1.3, -0.8, -0.37, -0.13, 0.14, 0.38, 0.7, 1.4, 2.3]


def _seed(key):
    return np.random.default_rng(sum(ord(c) * (i + 1) for i, c in enumerate(key)))


def _t(values, grad=True):
    return torch.tensor(np.asarray(values, dtype=np.float64), dtype=torch.float64, requires_grad=grad)


def normal(*shape, key="n"):
    return _t(_seed(key + str(shape)).normal(size=shape))


def uniform(low, high, *shape, key="u"):
    return _t(_seed(key + str(shape)).uniform(low, high, size=shape))


def smooth(*shape):
    """Values away from every kink, shape (3, 4) by default."""
    shape = shape or (3, 4)
    return _t(np.resize(_SMOOTH, shape))


def spd(n=3):
    a = _seed("spd").normal(size=(n, n))
    return _t(a @ a.T + n * np.eye(n))


def index(values):
    return torch.tensor(values, dtype=torch.int64)


class Case:
    def __init__(self, op, fn, inputs, gradgrad=False, label=""):
        self.op, self.fn, self.inputs, self.gradgrad, self.label = op, fn, inputs, gradgrad, label

    @property
    def id(self):
        return self.op + (f"[{self.label}]" if self.label else "")


CASES = []


def case(op, fn, inputs, gradgrad=False, label=""):
    CASES.append(Case(op, fn, inputs, gradgrad, label))


def unary(op, inputs, gradgrad=True, label="", **kwargs):
    case(op, lambda x: getattr(ops, op)(x, **kwargs), inputs, gradgrad, label)


# ---- elementwise math (lamina/ops/numpy.py, math.py) --------------------------------------------

for _name in ("exp", "exp2", "expm1", "sin", "cos", "tan", "arctan", "arcsinh", "sinh", "cosh", "tanh",
              "deg2rad", "rad2deg", "negative", "square", "erf", "copy", "ravel"):
    unary(_name, lambda: uniform(-1.2, 1.2, 3, 4))
for _name in ("log", "log1p", "log2", "log10", "sqrt", "reciprocal", "rsqrt"):
    unary(_name, lambda: uniform(0.5, 2.0, 3, 4))
for _name in ("arcsin", "arccos", "arctanh", "erfinv"):
    unary(_name, lambda: uniform(-0.8, 0.8, 3, 4))
unary("arccosh", lambda: uniform(1.5, 3.0, 3, 4))
for _name in ("abs", "absolute"):
    unary(_name, smooth)
# Piecewise-constant ops: their gradient is zero away from the jumps, which finite differences confirm.
for _name in ("floor", "ceil", "round", "trunc", "sign"):
    unary(_name, smooth, gradgrad=False)
unary("nan_to_num", lambda: normal(3, 4))
unary("real", lambda: normal(3, 4))
case("imag", lambda re, im: ops.imag(torch.complex(re, im)), lambda: (normal(3, key="re"), normal(3, key="im")))
case("conj", lambda re, im: torch.view_as_real(ops.conj(torch.complex(re, im))),
     lambda: (normal(3, key="re"), normal(3, key="im")))
case("conjugate", lambda re, im: torch.view_as_real(ops.conjugate(torch.complex(re, im))),
     lambda: (normal(3, key="re"), normal(3, key="im")))
case("clip", lambda x: ops.clip(x, -1.0, 2.0), smooth, gradgrad=True)
case("clip", lambda x, lo, hi: ops.clip(x, lo, hi), lambda: (smooth(), _t(-1.0), _t(2.0)), label="tensor bounds")
case("cast", lambda x: ops.cast(x, "float64"), lambda: normal(3))
case("saturate_cast", lambda x: ops.saturate_cast(x, "float64"), lambda: normal(3))
case("convert_to_tensor", ops.convert_to_tensor, lambda: normal(3))

for _name in ("add", "subtract", "multiply", "divide", "true_divide", "maximum", "minimum", "arctan2", "hypot",
              "logaddexp"):
    case(_name, getattr(ops, _name), lambda: (uniform(0.5, 2.0, 3, 4, key="a"), uniform(0.5, 2.0, 4, key="b")),
         gradgrad=True)
case("add", lambda x: ops.add(x, 1.5), lambda: normal(3), label="python scalar")
case("power", ops.power, lambda: (uniform(0.5, 2.0, 3, 4), uniform(-1.5, 1.5, 4)), gradgrad=True)
case("power", lambda x: ops.power(x, 3), lambda: normal(3, 4), label="integer exponent")
# mod and floor_divide are smooth (slope 1 / 0 in x1) away from the multiples of x2.
case("mod", ops.mod, lambda: (_t([0.3, 1.7, 2.2, 4.6]), _t([1.0, 1.1, 1.3, 1.6])))
case("floor_divide", ops.floor_divide, lambda: (_t([0.3, 1.7, 2.2, 4.6]), _t([1.0, 1.1, 1.3, 1.6])))
case("copysign", ops.copysign, lambda: (smooth(), _t(np.resize([-1.5, 0.7, 2.0], (3, 4)))))
case("divide_no_nan", ops.divide_no_nan, lambda: (normal(3, 4), uniform(0.5, 2.0, 4)))
# Where x2 == 0 the result is the constant 0: the gradient in x1 is 0 there, and never NaN.
case("divide_no_nan", lambda x: ops.divide_no_nan(x, torch.tensor([2.0, 0.0, -1.0], dtype=torch.float64)),
     lambda: normal(3), label="zero denominator")
case("where", lambda a, b: ops.where(a > 0, a, b), lambda: (smooth(), normal(3, 4)), gradgrad=True)

# ---- reductions and products --------------------------------------------------------------------

for _name in ("sum", "mean", "var", "std", "prod", "logsumexp"):
    unary(_name, lambda: uniform(0.5, 2.0, 3, 4), axis=1)
    case(_name, lambda x, _n=_name: getattr(ops, _n)(x, axis=(0, 2), keepdims=True),
         lambda: uniform(0.5, 2.0, 2, 3, 2), label="axes keepdims")
for _name in ("max", "min", "amax", "amin"):
    unary(_name, lambda: normal(3, 4), axis=0)
    case(_name, lambda x, _n=_name: getattr(ops, _n)(x), lambda: normal(3, 4), label="all axes")
for _name in ("cumsum", "cumprod"):
    unary(_name, lambda: uniform(0.5, 2.0, 3, 4), axis=1)
case("median", lambda x: ops.median(x, axis=1), lambda: normal(3, 5))
case("quantile", lambda x: ops.quantile(x, [0.3, 0.8], axis=0), lambda: normal(5, 3))
case("average", lambda x, w: ops.average(x, axis=1, weights=w), lambda: (normal(3, 4), uniform(0.5, 2.0, 4)))
case("average", lambda x: ops.average(x), lambda: normal(3, 4), label="unweighted")
case("trace", ops.trace, lambda: normal(3, 3))
for _name in ("matmul", "dot", "inner"):
    case(_name, getattr(ops, _name), lambda: (normal(2, 3, key="a"), normal(3, 3, key="b")), gradgrad=True)
case("dot", ops.dot, lambda: (normal(2, 3), normal(3)), label="matrix-vector")
case("tensordot", lambda a, b: ops.tensordot(a, b, axes=1), lambda: (normal(2, 3), normal(3, 2)))
case("einsum", lambda a, b: ops.einsum("bij,jk->bik", a, b), lambda: (normal(2, 2, 3), normal(3, 2)))
case("outer", ops.outer, lambda: (normal(3), normal(2)))
case("vdot", ops.vdot, lambda: (normal(2, 3), normal(2, 3, key="b")))
case("cross", ops.cross, lambda: (normal(2, 3), normal(2, 3, key="b")))
case("cross", ops.cross, lambda: (normal(2, 2), normal(2, 2, key="b")), label="2-vectors")
case("correlate", lambda a, v: ops.correlate(a, v, mode="full"), lambda: (normal(5), normal(3)))
case("correlate", lambda a, v: ops.correlate(a, v, mode="same"), lambda: (normal(2), normal(4)), label="swapped")

# ---- arrays: creation from values, shapes, joining, indexing ------------------------------------

case("full", lambda v: ops.full((2, 3), v, dtype="float64"), lambda: _t(1.5))
case("full_like", lambda x, v: ops.full_like(x, v), lambda: (normal(2, 2), _t(0.7)))
case("linspace", lambda a, b: ops.linspace(a, b, 5, dtype="float64"), lambda: (_t(0.2), _t(1.7)))
case("tril", ops.tril, lambda: normal(3, 3))
case("triu", lambda x: ops.triu(x, k=1), lambda: normal(3, 3))
case("meshgrid", lambda a, b: ops.meshgrid(a, b), lambda: (normal(3), normal(2)))
case("reshape", lambda x: ops.reshape(x, (4, -1)), lambda: normal(2, 6))
case("transpose", ops.transpose, lambda: normal(2, 3, 4))
case("moveaxis", lambda x: ops.moveaxis(x, 0, -1), lambda: normal(2, 3, 4))
case("swapaxes", lambda x: ops.swapaxes(x, 0, 2), lambda: normal(2, 3, 4))
case("expand_dims", lambda x: ops.expand_dims(x, (0, -1)), lambda: normal(2, 3))
case("squeeze", lambda x: ops.squeeze(x, axis=1), lambda: normal(2, 1, 3))
case("broadcast_to", lambda x: ops.broadcast_to(x, (2, 3)), lambda: normal(3))
case("tile", lambda x: ops.tile(x, (2, 1)), lambda: normal(2, 3))
case("repeat", lambda x: ops.repeat(x, [1, 0, 2], axis=1), lambda: normal(2, 3))
case("flip", lambda x: ops.flip(x, axis=1), lambda: normal(2, 3))
case("roll", lambda x: ops.roll(x, 2), lambda: normal(2, 3))
case("pad", lambda x: ops.pad(x, ((1, 0), (0, 2)), constant_values=1.5), lambda: normal(2, 3))
case("pad", lambda x: ops.pad(x, 2, mode="symmetric"), lambda: normal(2, 3), label="symmetric")
case("concatenate", lambda a, b: ops.concatenate([a, b], axis=1), lambda: (normal(2, 3), normal(2, 1)))
case("append", lambda a, b: ops.append(a, b), lambda: (normal(2, 3), normal(2)))
case("stack", lambda a, b: ops.stack([a, b], axis=1), lambda: (normal(2, 3), normal(2, 3, key="b")))
case("vstack", lambda a, b: ops.vstack([a, b]), lambda: (normal(3), normal(2, 3)))
case("hstack", lambda a, b: ops.hstack([a, b]), lambda: (normal(2, 1), normal(2, 3)))
case("split", lambda x: ops.split(x, [1, 3], axis=1), lambda: normal(2, 4))
case("unstack", lambda x: ops.unstack(x, axis=1), lambda: normal(2, 3))
case("take", lambda x: ops.take(x, index([[0, -1], [2, 0]]), axis=1), lambda: normal(2, 3))
case("take_along_axis", lambda x: ops.take_along_axis(x, index([[2, 0], [1, 1]]), axis=1), lambda: normal(2, 3))
case("diag", ops.diag, lambda: normal(3))
case("diag", lambda x: ops.diag(x, k=1), lambda: normal(3, 3), label="extract")
case("diagonal", lambda x: ops.diagonal(x, 1, 1, 2), lambda: normal(2, 3, 3))
case("sort", lambda x: ops.sort(x, axis=0), lambda: normal(3, 4))
case("top_k", lambda x: ops.top_k(x, 2)[0], lambda: normal(3, 4))
case("slice", lambda x: ops.slice(x, (0, 1), (2, 2)), lambda: normal(3, 3))
case("slice_update", lambda x, u: ops.slice_update(x, (1, 0), u), lambda: (normal(3, 3), normal(2, 2)))
case("scatter", lambda v: ops.scatter(index([[0], [2], [0]]), v, (3, 2)), lambda: normal(3, 2))
case("scatter_update", lambda x, u: ops.scatter_update(x, index([[1, 0], [2, 2]]), u),
     lambda: (normal(3, 3), normal(2)))
case("segment_sum", lambda x: ops.segment_sum(x, [0, 2, 0], num_segments=3), lambda: normal(3, 2))
case("segment_max", lambda x: ops.segment_max(x, [0, 1, 0, 1], num_segments=2), lambda: normal(4, 2))
case("extract_sequences", lambda x: ops.extract_sequences(x, 3, 2), lambda: normal(2, 7))

# ---- control flow: gradients flow through the functions the ops call ----------------------------

case("cond", lambda x: ops.cond(torch.tensor(True), lambda: x * x, lambda: x), lambda: normal(3))
case("switch", lambda x: ops.switch(1, [torch.sin, torch.exp], x), lambda: normal(3))
case("while_loop", lambda x: ops.while_loop(lambda i, v: i < 3, lambda i, v: (i + 1, v * x), (0, x))[1],
     lambda: normal(3))
case("fori_loop", lambda x: ops.fori_loop(0, 3, lambda i, v: torch.sin(v) + x, x), lambda: normal(3))
case("map", lambda x: ops.map(lambda row: row * row.sum(), x), lambda: normal(3, 2))
case("scan", lambda x: ops.scan(lambda c, r: (c * r, c + r), torch.ones(2, dtype=torch.float64), x),
     lambda: normal(3, 2))
case("vectorized_map", lambda x: ops.vectorized_map(lambda row: torch.sin(row) * row.sum(), x),
     lambda: normal(3, 2))


def _cube_with_its_gradient(x):
    return x**3, lambda upstream: upstream * 3 * x**2


case("custom_gradient", ops.custom_gradient(_cube_with_its_gradient), lambda: normal(3))

# ---- nn: activations, losses, normalization, attention ------------------------------------------

for _name in ("relu", "relu6", "leaky_relu", "elu", "selu", "celu", "sigmoid", "hard_sigmoid", "hard_silu",
              "hard_swish", "silu", "swish", "softplus", "softsign", "tanh_shrink", "hard_tanh", "soft_shrink",
              "hard_shrink", "log_sigmoid", "sparse_plus", "sparse_sigmoid", "squareplus"):
    unary(_name, smooth)
unary("gelu", smooth)
unary("gelu", smooth, label="exact", approximate=False)
case("relu", lambda x: ops.relu(x, negative_slope=0.1, max_value=2.0, threshold=0.5), smooth, label="options")
case("threshold", lambda x: ops.threshold(x, 0.25, -2.0), smooth)
for _name in ("softmax", "log_softmax", "sparsemax"):
    unary(_name, lambda: normal(3, 4))
    case(_name, lambda x, _n=_name: getattr(ops, _n)(x, axis=0), lambda: normal(3, 4), label="axis 0")
case("glu", ops.glu, lambda: normal(3, 4))
case("binary_crossentropy", lambda y, p: ops.binary_crossentropy(y, p),
     lambda: (uniform(0, 1, 3, 2, key="y"), uniform(0.1, 0.9, 3, 2)))
case("binary_crossentropy", lambda y, z: ops.binary_crossentropy(y, z, from_logits=True),
     lambda: (uniform(0, 1, 3, 2, key="y"), normal(3, 2)), label="logits")
case("categorical_crossentropy", lambda y, p: ops.categorical_crossentropy(y, p),
     lambda: (uniform(0, 1, 3, 4, key="y"), uniform(0.1, 0.9, 3, 4)))
case("categorical_crossentropy", lambda y, z: ops.categorical_crossentropy(y, z, from_logits=True),
     lambda: (uniform(0, 1, 3, 4, key="y"), normal(3, 4)), gradgrad=True, label="logits")
case("sparse_categorical_crossentropy", lambda p: ops.sparse_categorical_crossentropy(index([1, 0, 3]), p),
     lambda: uniform(0.1, 0.9, 3, 4))
case("sparse_categorical_crossentropy",
     lambda z: ops.sparse_categorical_crossentropy(index([1, 0, 3]), z, from_logits=True), lambda: normal(3, 4),
     label="logits")
case("ctc_loss", lambda z: ops.ctc_loss(index([[1, 2], [2, 0]]), z, index([2, 1]), index([4, 3])),
     lambda: normal(2, 4, 3))
case("moments", lambda x: ops.moments(x, axes=(0, 1)), lambda: normal(3, 2, 2))
case("batch_normalization", lambda x, m, v, b, s: ops.batch_normalization(x, m, v, axis=1, offset=b, scale=s),
     lambda: (normal(3, 2), normal(2, key="m"), uniform(0.5, 2.0, 2), normal(2, key="b"), normal(2, key="s")))
case("normalize", lambda x: ops.normalize(x, axis=1), lambda: normal(3, 4), gradgrad=True)
case("normalize", lambda x: ops.normalize(x, axis=0, order=3), lambda: normal(3, 4), label="order 3")
case("dot_product_attention", lambda q, k, v, b: ops.dot_product_attention(q, k, v, bias=b),
     lambda: (normal(1, 3, 2, 2, key="q"), normal(1, 4, 2, 2, key="k"), normal(1, 4, 2, 2, key="v"),
              normal(1, 2, 3, 4, key="b")), gradgrad=True)
case("dot_product_attention", lambda q, k, v: ops.dot_product_attention(q, k, v, is_causal=True,
                                                                         attn_logits_soft_cap=2.0),
     lambda: (normal(1, 3, 2, 2, key="q"), normal(1, 3, 1, 2, key="k"), normal(1, 3, 1, 2, key="v")),
     label="causal grouped soft cap")

# ---- convolution and pooling --------------------------------------------------------------------

case("conv", lambda x, w: ops.conv(x, w, strides=2, padding="same"), lambda: (normal(1, 5, 4, 2), normal(2, 2, 2, 2)),
     gradgrad=True)
case("conv", lambda x, w: ops.conv(x, w, padding="causal", dilation_rate=2), lambda: (normal(1, 5, 2), normal(2, 2, 1)),
     label="1d causal dilated")
case("conv_transpose", lambda x, w: ops.conv_transpose(x, w, strides=2, padding="same"),
     lambda: (normal(1, 3, 3, 2), normal(2, 2, 1, 2)))
case("depthwise_conv", lambda x, w: ops.depthwise_conv(x, w, padding="same"),
     lambda: (normal(1, 4, 4, 2), normal(2, 2, 2, 2)))
case("separable_conv", lambda x, d, p: ops.separable_conv(x, d, p),
     lambda: (normal(1, 4, 4, 2), normal(2, 2, 2, 1), normal(1, 1, 2, 3)))
case("max_pool", lambda x: ops.max_pool(x, 2, strides=1, padding="same"), lambda: normal(1, 3, 3, 2))
case("average_pool", lambda x: ops.average_pool(x, 2, strides=2, padding="same"), lambda: normal(1, 3, 3, 2))

# ---- linear algebra and spectral ops ------------------------------------------------------------

case("inv", ops.inv, spd)
case("det", ops.det, lambda: normal(3, 3))
case("logdet", ops.logdet, spd)
case("solve", ops.solve, lambda: (spd(), normal(3, 2)))
case("solve_triangular", lambda a, b: ops.solve_triangular(torch.tril(a), b, lower=True), lambda: (spd(), normal(3)))
case("cholesky", lambda a: ops.cholesky((a + a.mT) / 2), spd)
case("lstsq", ops.lstsq, lambda: (normal(4, 2), normal(4)))
case("norm", lambda x: ops.norm(x, axis=1), lambda: normal(3, 4))
case("norm", lambda x: ops.norm(x, ord="fro", axis=(0, 1)), lambda: normal(3, 4), label="fro")
case("norm", lambda x: ops.norm(x, ord=3, axis=0), lambda: normal(3, 4), label="ord 3")
# Eigen/singular vectors are defined up to sign: check eigenvalues and sign-free reconstructions.
case("eigh", lambda a: ops.eigh((a + a.mT) / 2)[0], spd)
case("eigh", lambda a: (lambda w, v: v[:, :1] @ v[:, :1].mT)(*ops.eigh((a + a.mT) / 2)), spd,
     label="eigenprojector")
case("eig", lambda a: torch.view_as_real(ops.eig(a)[0]),
     lambda: _t([[2.0, 0.3, 0.1], [0.2, 1.0, 0.4], [0.0, 0.5, -1.0]]))
case("svd", lambda a: ops.svd(a, compute_uv=False), lambda: normal(3, 2))
case("svd", lambda a: (lambda u, s, vh: (u * s) @ vh)(*ops.svd(a, full_matrices=False)), lambda: normal(3, 2),
     label="reconstruction")
case("qr", lambda a: ops.qr(a)[1].abs(), lambda: normal(4, 3))
case("qr", lambda a: (lambda q, r: q @ q.mT)(*ops.qr(a)), lambda: normal(4, 2), label="projector")
case("lu_factor", lambda a: ops.lu_factor(a)[0], lambda: _t([[4.0, 1.0, 0.5], [1.0, 3.0, 0.2], [0.3, 0.7, 2.0]]))
for _name in ("fft", "fft2", "ifft2"):
    case(_name, lambda re, im, _n=_name: getattr(ops, _n)((re, im)), lambda: (normal(2, 4, key="re"),
                                                                               normal(2, 4, key="im")))
case("rfft", ops.rfft, lambda: normal(2, 6))
case("irfft", lambda re, im: ops.irfft((re, im), 6), lambda: (normal(2, 4, key="re"), normal(2, 4, key="im")))

# ---- ops with no gradient to check --------------------------------------------------------------

EXCLUDED = {
    "integer or boolean output": (
        "argmax", "argmin", "argsort", "bincount", "count_nonzero", "digitize", "searchsorted", "nonzero",
        "histogram", "in_top_k", "equal", "not_equal", "less", "less_equal", "greater", "greater_equal",
        "logical_and", "logical_or", "logical_xor", "logical_not", "isnan", "isinf", "isfinite", "isclose",
        "all", "any", "one_hot", "multi_hot",
    ),
    "new tensor that depends on no input values (creation)": (
        "arange", "empty", "eye", "identity", "ones", "zeros", "tri", "zeros_like", "ones_like",
    ),
    "detaches by contract (asserted in test_gradient_blockers_detach)": ("stop_gradient", "constant", "array"),
    "returns metadata or a NumPy array, not a tensor": (
        "dtype", "shape", "ndim", "size", "is_tensor", "convert_to_numpy",
    ),
}

EXCLUDED_NAMES = {name for names in EXCLUDED.values() for name in names}


def _exported_ops():
    return {name for name, value in vars(ops).items() if not name.startswith("_") and not inspect.ismodule(value)}


def test_table_and_exclusions_cover_every_exported_op():
    checked = {c.op for c in CASES}
    exported = _exported_ops()
    assert not checked & EXCLUDED_NAMES, f"ops both checked and excluded: {sorted(checked & EXCLUDED_NAMES)}"
    assert not checked - exported, f"cases for ops lamina.ops does not export: {sorted(checked - exported)}"
    assert not EXCLUDED_NAMES - exported, f"exclusions lamina.ops does not export: {sorted(EXCLUDED_NAMES - exported)}"
    missing = exported - checked - EXCLUDED_NAMES
    assert not missing, f"ops with neither a gradient check nor an exclusion: {sorted(missing)}"
    assert len(set(c.id for c in CASES)) == len(CASES), "duplicate case ids"


def test_case_table_is_large():
    # Most of the namespace is differentiable: guard against a table emptied by mistake.
    assert len({c.op for c in CASES}) >= 190


def _as_tuple(inputs):
    return inputs if isinstance(inputs, tuple) else (inputs,)


@pytest.mark.parametrize("check", CASES, ids=[c.id for c in CASES])
def test_gradient_matches_finite_differences(check):
    inputs = _as_tuple(check.inputs())
    assert all(t.dtype == torch.float64 for t in inputs)
    assert torch.autograd.gradcheck(check.fn, inputs)
    if check.gradgrad:
        assert torch.autograd.gradgradcheck(check.fn, inputs)


@pytest.mark.parametrize("check", CASES, ids=[c.id for c in CASES])
def test_float64_in_float64_out(check):
    outputs = check.fn(*_as_tuple(check.inputs()))
    outputs = outputs if isinstance(outputs, (tuple, list)) else [outputs]
    for out in outputs:
        assert out.dtype == torch.float64, f"{check.id} returned {out.dtype} for float64 inputs"


def test_gradient_blockers_detach():
    x = normal(3)
    for fn in (ops.stop_gradient, ops.constant, ops.array):
        out = fn(x)
        assert not out.requires_grad and out.grad_fn is None
        torch.testing.assert_close(out, x.detach())
    y = ops.add(ops.stop_gradient(x) * x, x)
    (grad,) = torch.autograd.grad(y.sum(), x)
    torch.testing.assert_close(grad, x.detach() + 1)  # d/dx [c * x + x] with c = x held constant


def test_hard_sigmoid_same_values_with_and_without_gradients():
    # hard_sigmoid takes a twice-differentiable path when gradients are recorded; the values are the same.
    x = torch.linspace(-4, 4, 33, dtype=torch.float64)
    torch.testing.assert_close(ops.hard_sigmoid(x.clone().requires_grad_()), ops.hard_sigmoid(x), rtol=0, atol=1e-15)


def test_floor_divide_gradient_is_zero_and_int_dtype_kept():
    x = torch.tensor([0.3, -1.7, 4.6], dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(ops.floor_divide(x, 1.5).sum(), x)
    assert grad.tolist() == [0.0, 0.0, 0.0]
    out = ops.floor_divide(torch.tensor([7, -7], dtype=torch.int8), 2)
    assert out.dtype == torch.int8 and out.tolist() == [3, -4]
