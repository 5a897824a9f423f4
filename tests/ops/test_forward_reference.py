"""Forward values of the `lamina.ops` not checked elsewhere, against NumPy; and a coverage test for all ops.

`REFERENCES` compares each op with its NumPy counterpart on small inputs. `CHECKED_ELSEWHERE`
lists, per test file, the ops whose values that file already compares with NumPy (or with a
formula); the coverage test asserts that each such file does call the op, and that the two
together name every op `lamina.ops` exports.
"""

import inspect
import pathlib
import re

import numpy as np
import pytest
import torch

import lamina
from lamina import ops

RNG = np.random.default_rng(7)
A = RNG.normal(size=(3, 4))
B = RNG.normal(size=(3, 4))
POS = RNG.uniform(0.5, 2.0, size=(3, 4))
UNIT = RNG.uniform(-0.9, 0.9, size=(3, 4))
SQUARE = RNG.normal(size=(2, 3, 3)) + 3 * np.eye(3)
SPECIAL = np.array([-np.inf, -2.5, -1.5, -0.5, 0.0, 0.5, 1.5, 2.5, np.nan, np.inf])
INTS = np.array([[3, -1, 0, 2], [0, 0, 5, -4]], dtype="int32")
BOOLS = A > 0

REFERENCES = {}


def ref(op, lamina_fn, numpy_fn, label=""):
    REFERENCES[op + (f"[{label}]" if label else "")] = (op, lamina_fn, numpy_fn)


def _np(value):
    if isinstance(value, (list, tuple)):
        return [_np(v) for v in value]
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return value


# ---- elementwise ---------------------------------------------------------------------------------
ref("absolute", lambda: ops.absolute(A), lambda: np.absolute(A))
ref("arccos", lambda: ops.arccos(UNIT), lambda: np.arccos(UNIT))
ref("arctanh", lambda: ops.arctanh(UNIT), lambda: np.arctanh(UNIT))
ref("exp2", lambda: ops.exp2(A), lambda: np.exp2(A))
ref("deg2rad", lambda: ops.deg2rad(A * 90), lambda: np.deg2rad(A * 90))
ref("rad2deg", lambda: ops.rad2deg(A), lambda: np.rad2deg(A))
ref("trunc", lambda: ops.trunc(SPECIAL), lambda: np.trunc(SPECIAL))
ref("trunc", lambda: ops.trunc(INTS), lambda: np.trunc(INTS), label="int")
ref("copysign", lambda: ops.copysign(A, B), lambda: np.copysign(A, B))
ref("true_divide", lambda: ops.true_divide(A, POS), lambda: np.true_divide(A, POS))
ref("divide_no_nan", lambda: ops.divide_no_nan(A, np.where(BOOLS, B, 0.0)),
    lambda: np.where(BOOLS, A / np.where(BOOLS, B, 1.0), 0.0))
ref("conj", lambda: ops.conj(A + 1j * B), lambda: np.conj(A + 1j * B))
ref("conjugate", lambda: ops.conjugate(A + 1j * B), lambda: np.conjugate(A + 1j * B))
ref("real", lambda: ops.real(A + 1j * B), lambda: np.real(A + 1j * B))
ref("imag", lambda: ops.imag(A + 1j * B), lambda: np.imag(A + 1j * B))
ref("imag", lambda: ops.imag(A), lambda: np.imag(A), label="real input")
ref("isnan", lambda: ops.isnan(SPECIAL), lambda: np.isnan(SPECIAL))
ref("isinf", lambda: ops.isinf(SPECIAL), lambda: np.isinf(SPECIAL))
ref("isfinite", lambda: ops.isfinite(SPECIAL), lambda: np.isfinite(SPECIAL))
ref("isclose", lambda: ops.isclose(A, A + np.where(BOOLS, 1e-9, 1e-3)),
    lambda: np.isclose(A, A + np.where(BOOLS, 1e-9, 1e-3)))
for _name in ("equal", "not_equal", "less", "less_equal", "greater", "greater_equal"):
    _b = np.where(BOOLS, A, B)  # equal where BOOLS, so every comparison has both outcomes
    ref(_name, lambda _n=_name, _b=_b: getattr(ops, _n)(A, _b), lambda _n=_name, _b=_b: getattr(np, _n)(A, _b))
ref("less", lambda: ops.less(INTS, 1), lambda: np.less(INTS, 1), label="python scalar")
for _name in ("logical_and", "logical_or", "logical_xor"):
    ref(_name, lambda _n=_name: getattr(ops, _n)(BOOLS, B > 0), lambda _n=_name: getattr(np, _n)(BOOLS, B > 0))
ref("logical_not", lambda: ops.logical_not(INTS), lambda: np.logical_not(INTS))

# ---- reductions, products ------------------------------------------------------------------------
ref("amax", lambda: ops.amax(A, axis=1), lambda: np.amax(A, axis=1))
ref("amin", lambda: ops.amin(A, axis=(0, 1), keepdims=True), lambda: np.amin(A, axis=(0, 1), keepdims=True))
ref("inner", lambda: ops.inner(A, B), lambda: np.inner(A, B))
ref("inner", lambda: ops.inner(A, 2.0), lambda: np.inner(A, 2.0), label="scalar")
ref("correlate", lambda: ops.correlate(A[0], B[0, :3], mode="valid"), lambda: np.correlate(A[0], B[0, :3], "valid"))
ref("correlate", lambda: ops.correlate(A[0], B[0, :3], mode="same"), lambda: np.correlate(A[0], B[0, :3], "same"),
    label="same")
ref("correlate", lambda: ops.correlate(A[0, :2], B[0], mode="full"), lambda: np.correlate(A[0, :2], B[0], "full"),
    label="full swapped")
ref("logdet", lambda: ops.logdet(SQUARE @ SQUARE.transpose(0, 2, 1)),
    lambda: np.linalg.slogdet(SQUARE @ SQUARE.transpose(0, 2, 1))[1])

# ---- creation ------------------------------------------------------------------------------------
ref("zeros", lambda: ops.zeros((2, 3), dtype="int32"), lambda: np.zeros((2, 3), "int32"))
ref("ones", lambda: ops.ones(3), lambda: np.ones(3))
ref("empty", lambda: ops.empty((2, 3)).shape, lambda: np.empty((2, 3)).shape)
ref("identity", lambda: ops.identity(3), lambda: np.identity(3))
ref("zeros_like", lambda: ops.zeros_like(INTS), lambda: np.zeros_like(INTS))
ref("ones_like", lambda: ops.ones_like(A, dtype="float32"), lambda: np.ones_like(A, "float32"))
ref("full_like", lambda: ops.full_like(INTS, 7), lambda: np.full_like(INTS, 7))
ref("arange", lambda: ops.arange(2, 11, 3), lambda: np.arange(2, 11, 3))
ref("arange", lambda: ops.arange(0.5, 2.0, 0.25), lambda: np.arange(0.5, 2.0, 0.25), label="float")
ref("array", lambda: ops.array([[1, 2], [3, 4]]), lambda: np.array([[1, 2], [3, 4]]))
ref("constant", lambda: ops.constant(A), lambda: A)
ref("copy", lambda: ops.copy(A), lambda: np.copy(A))
ref("cast", lambda: ops.cast(A * 3, "int32"), lambda: (A * 3).astype("int32"))
ref("convert_to_tensor", lambda: ops.convert_to_tensor(INTS), lambda: INTS)
ref("convert_to_numpy", lambda: ops.convert_to_numpy(torch.from_numpy(A)), lambda: A)
ref("stop_gradient", lambda: ops.stop_gradient(torch.tensor(A, requires_grad=True)), lambda: A)

# ---- shapes and joining --------------------------------------------------------------------------
ref("reshape", lambda: ops.reshape(A, (2, -1)), lambda: np.reshape(A, (2, -1)))
ref("ravel", lambda: ops.ravel(A), lambda: np.ravel(A))
ref("swapaxes", lambda: ops.swapaxes(SQUARE, 0, 2), lambda: np.swapaxes(SQUARE, 0, 2))
ref("broadcast_to", lambda: ops.broadcast_to(A[0], (2, 4)), lambda: np.broadcast_to(A[0], (2, 4)))
ref("append", lambda: ops.append(A, B), lambda: np.append(A, B))
ref("append", lambda: ops.append(A, B, axis=1), lambda: np.append(A, B, axis=1), label="axis")
ref("hstack", lambda: ops.hstack([A, B]), lambda: np.hstack([A, B]))
ref("hstack", lambda: ops.hstack([A[0], B[0]]), lambda: np.hstack([A[0], B[0]]), label="1-D")
ref("vstack", lambda: ops.vstack([A, B[0]]), lambda: np.vstack([A, B[0]]))
ref("tril", lambda: ops.tril(SQUARE, k=-1), lambda: np.tril(SQUARE, k=-1))
ref("ndim", lambda: ops.ndim(SQUARE), lambda: np.ndim(SQUARE))
ref("size", lambda: ops.size(SQUARE), lambda: np.size(SQUARE))
ref("shape", lambda: ops.shape(SQUARE), lambda: np.shape(SQUARE))
ref("dtype", lambda: ops.dtype(INTS), lambda: INTS.dtype.name)
ref("is_tensor", lambda: (ops.is_tensor(torch.zeros(1)), ops.is_tensor(A)), lambda: (True, False))

# ---- indexing, sorting, counting -----------------------------------------------------------------
ref("nonzero", lambda: ops.nonzero(INTS), lambda: np.nonzero(INTS))
ref("searchsorted", lambda: ops.searchsorted(np.sort(A[0]), B.ravel()),
    lambda: np.searchsorted(np.sort(A[0]), B.ravel()))
ref("searchsorted", lambda: ops.searchsorted([1.0, 2.0, 2.0, 3.0], [2.0, 0.0, 4.0], side="right"),
    lambda: np.searchsorted([1.0, 2.0, 2.0, 3.0], [2.0, 0.0, 4.0], side="right"), label="right")
ref("histogram", lambda: ops.histogram(A, bins=4), lambda: np.histogram(A, bins=4))
ref("histogram", lambda: ops.histogram(A, bins=3, range=(-1.0, 1.0)), lambda: np.histogram(A, 3, (-1.0, 1.0)),
    label="range")

# ---- linear algebra and spectral -----------------------------------------------------------------
ref("eig", lambda: np.sort_complex(_np(ops.eig(SQUARE[0])[0])), lambda: np.sort_complex(np.linalg.eigvals(SQUARE[0])))
PIVOTING = np.array([[0.1, 2.0, 1.0], [3.0, 1.0, 0.0], [1.0, 0.0, 4.0]])  # partial pivoting swaps rows
ref("lu_factor", lambda: _lu_reconstruction(*ops.lu_factor(PIVOTING)), lambda: PIVOTING)
ref("fft2", lambda: _complex_out(ops.fft2((A, B))), lambda: np.fft.fft2(A + 1j * B))
ref("ifft2", lambda: _complex_out(ops.ifft2((A, B))), lambda: np.fft.ifft2(A + 1j * B))


def _complex_out(pair):
    real, imag = pair
    return real.numpy() + 1j * imag.numpy()


def _lu_reconstruction(lu, pivots):
    lu, pivots = lu.numpy(), pivots.numpy()
    n = lu.shape[0]
    lower, upper = np.tril(lu, -1) + np.eye(n), np.triu(lu)
    rows = np.arange(n)
    for i, p in enumerate(pivots):  # LAPACK row interchanges, 0-based
        rows[[i, p]] = rows[[p, i]]
    out = np.empty_like(lu)
    out[rows] = lower @ upper
    return out


# ---- higher-order ops ----------------------------------------------------------------------------
def _softplus_with_gradient(x):
    return torch.log1p(torch.exp(x)), lambda upstream: upstream * torch.sigmoid(x)


ref("custom_gradient", lambda: ops.custom_gradient(_softplus_with_gradient)(torch.from_numpy(A)),
    lambda: np.log1p(np.exp(A)))


# ---- ops whose values other files compare with NumPy (or a formula) ------------------------------
CHECKED_ELSEWHERE = {
    "tests/ops/test_numpy.py": (
        "abs", "add", "all", "any", "arccosh", "arcsin", "arctan", "arctan2", "arcsinh", "argmax", "argmin",
        "argsort", "average", "bincount", "ceil", "clip", "concatenate", "cos", "cosh", "count_nonzero", "cross",
        "cumprod", "cumsum", "diag", "diagonal", "digitize", "divide", "dot", "einsum", "exp", "expand_dims",
        "expm1", "eye", "flip", "floor", "floor_divide", "full", "hypot", "linspace", "log", "log10", "log1p",
        "log2", "logaddexp", "matmul", "max", "maximum", "mean", "median", "meshgrid", "min", "minimum", "mod",
        "moveaxis", "multiply", "nan_to_num", "negative", "outer", "pad", "power", "prod", "quantile",
        "reciprocal", "repeat", "roll", "round", "sign", "sin", "sinh", "sort", "split", "sqrt", "square",
        "squeeze", "stack", "std", "subtract", "sum", "take", "take_along_axis", "tan", "tanh", "tensordot",
        "tile", "trace", "transpose", "tri", "triu", "var", "vdot", "where",
    ),
    "tests/ops/test_core_math.py": (
        "cholesky", "cond", "det", "eigh", "erf", "erfinv", "extract_sequences", "fft", "fori_loop", "in_top_k",
        "inv", "irfft", "logsumexp", "lstsq", "map", "norm", "qr", "rfft", "rsqrt", "saturate_cast", "scan",
        "scatter", "scatter_update", "segment_max", "segment_sum", "slice", "slice_update", "solve",
        "solve_triangular", "svd", "switch", "top_k", "unstack", "vectorized_map", "while_loop",
    ),
    "tests/ops/test_nn.py": (
        "batch_normalization", "binary_crossentropy", "categorical_crossentropy", "ctc_loss",
        "dot_product_attention", "gelu", "moments", "multi_hot", "normalize", "one_hot",
        "sparse_categorical_crossentropy",
    ),
    "tests/ops/test_conv.py": (
        "average_pool", "conv", "conv_transpose", "depthwise_conv", "max_pool", "separable_conv",
    ),
    # lamina.ops re-exports these activations; test_activations.py checks each against a NumPy formula.
    "tests/test_activations.py": (
        "celu", "elu", "glu", "hard_shrink", "hard_sigmoid", "hard_silu", "hard_swish", "hard_tanh", "leaky_relu",
        "log_sigmoid", "log_softmax", "relu", "relu6", "selu", "sigmoid", "silu", "soft_shrink", "softmax",
        "softplus", "softsign", "sparse_plus", "sparse_sigmoid", "sparsemax", "squareplus", "swish",
        "tanh_shrink", "threshold",
    ),
}
_ROOT = pathlib.Path(__file__).resolve().parents[2]


def _exported_ops():
    return {name for name, value in vars(ops).items() if not name.startswith("_") and not inspect.ismodule(value)}


def test_every_exported_op_has_a_forward_reference():
    here = {op for op, _, _ in REFERENCES.values()}
    elsewhere = {name for names in CHECKED_ELSEWHERE.values() for name in names}
    exported = _exported_ops()
    assert not here & elsewhere, f"listed twice: {sorted(here & elsewhere)}"
    assert not (here | elsewhere) - exported, f"not exported by lamina.ops: {sorted((here | elsewhere) - exported)}"
    missing = exported - here - elsewhere
    assert not missing, f"ops with no forward-value check against NumPy: {sorted(missing)}"


@pytest.mark.parametrize("path", sorted(CHECKED_ELSEWHERE))
def test_checked_elsewhere_claims_name_the_op_in_that_file(path):
    source = (_ROOT / path).read_text()
    activation_file = path.endswith("test_activations.py")
    for name in CHECKED_ELSEWHERE[path]:
        if activation_file:
            # The op must be the very activation the file checks by name.
            assert f'"{name}"' in source, name
            assert ops.__dict__[name].__wrapped_op__ is lamina.activations.get(name), name
        else:
            called = re.search(rf"ops\.(linalg\.)?{name}\(", source) or re.search(rf'"{name}"', source)
            assert called, f"{path} does not call ops.{name}"


@pytest.mark.parametrize("key", sorted(REFERENCES))
def test_matches_numpy(key):
    _, lamina_fn, numpy_fn = REFERENCES[key]
    got, want = _np(lamina_fn()), numpy_fn()
    if isinstance(want, (tuple, list)) and not isinstance(want, np.ndarray):
        assert len(got) == len(want)
        for g, w in zip(got, want):
            np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=1e-10, atol=1e-12)
        return
    if isinstance(want, str):
        assert got == want
        return
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape
    if want.dtype.kind in "biu":
        assert got.dtype.kind == want.dtype.kind or (got.dtype.kind in "iu" and want.dtype.kind in "iu")
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12, equal_nan=True)


def test_lu_reconstruction_helper_is_not_trivially_true():
    # The LU check rebuilds the matrix from the factors and the pivots: wrong pivots must break it.
    lu, pivots = ops.lu_factor(PIVOTING)
    assert pivots.tolist()[0] == 1
    assert not np.allclose(_lu_reconstruction(lu, torch.arange(3, dtype=torch.int32)), PIVOTING)
