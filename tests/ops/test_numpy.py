"""NumPy-style ops against NumPy itself: reductions, where/clip, products, padding, indexing, dtypes."""

import numpy as np
import pytest
import torch

import lamina
from lamina import ops

RNG = np.random.default_rng(0)
X = RNG.normal(size=(3, 4, 5)).astype("float32")


@pytest.mark.parametrize("name", ["sum", "mean", "max", "min", "prod", "std", "var", "all", "any"])
@pytest.mark.parametrize("axis", [None, 0, -1, (0, 2), [1, 2]])
@pytest.mark.parametrize("keepdims", [False, True])
def test_reductions_match_numpy(name, axis, keepdims):
    x = X if name not in ("all", "any") else X > 0
    np_axis = tuple(axis) if isinstance(axis, list) else axis
    expected = getattr(np, name)(x, axis=np_axis, keepdims=keepdims)
    out = getattr(ops, name)(x, axis=axis, keepdims=keepdims)
    assert tuple(out.shape) == np.shape(expected)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("axis", [None, 1, (0, 2)])
def test_median_quantile_average_match_numpy(axis):
    np.testing.assert_allclose(ops.median(X, axis=axis).numpy(), np.median(X, axis=axis), rtol=1e-6)
    for method in ("linear", "lower", "higher", "midpoint", "nearest"):
        np.testing.assert_allclose(ops.quantile(X, [0.1, 0.7], axis=axis, method=method).numpy(),
                                   np.quantile(X, [0.1, 0.7], axis=axis, method=method), rtol=1e-6, atol=1e-6)
    weights = RNG.uniform(size=4).astype("float32")
    np.testing.assert_allclose(ops.average(X, axis=1, weights=weights).numpy(),
                               np.average(X, axis=1, weights=weights), rtol=1e-5)


@pytest.mark.parametrize("name", ["argmax", "argmin"])
def test_arg_reductions(name):
    for axis, keepdims in ((None, False), (None, True), (1, False), (-1, True)):
        out = getattr(ops, name)(X, axis=axis, keepdims=keepdims)
        expected = getattr(np, name)(X, axis=axis, keepdims=keepdims)
        assert out.dtype == torch.int32
        np.testing.assert_array_equal(out.numpy(), expected)


def test_cumulative_and_count():
    ints = RNG.integers(0, 3, size=(3, 4))
    np.testing.assert_array_equal(ops.cumsum(ints, axis=1).numpy(), np.cumsum(ints, axis=1))
    np.testing.assert_allclose(ops.cumprod(X, axis=None).numpy(), np.cumprod(X), rtol=1e-4)
    np.testing.assert_array_equal(ops.count_nonzero(ints, axis=0).numpy(), np.count_nonzero(ints, axis=0))
    assert ops.sum(torch.tensor([True, True])).dtype == torch.int32


def test_max_with_initial_and_empty_input():
    np.testing.assert_allclose(ops.max(X, axis=0, initial=0.5).numpy(), np.max(X, axis=0, initial=0.5))
    with pytest.raises(ValueError, match=r"Cannot compute the max of an empty tensor. Received: x.shape=\(0,\)"):
        ops.max(np.zeros(0))


def test_where_and_clip():
    cond = X > 0
    np.testing.assert_array_equal(ops.where(cond, X, -1.0).numpy(), np.where(cond, X, -1.0))
    np.testing.assert_array_equal(ops.where(cond, 1.0, X[0]).numpy(), np.where(cond, 1.0, X[0]))
    for got, want in zip(ops.where(cond), np.where(cond)):
        np.testing.assert_array_equal(got.numpy(), want)
    with pytest.raises(ValueError, match="must both be given"):
        ops.where(cond, X)
    np.testing.assert_array_equal(ops.clip(X, -0.5, 0.5).numpy(), np.clip(X, -0.5, 0.5))
    np.testing.assert_array_equal(ops.clip(X, X[0, 0], 0.1).numpy(), np.clip(X, X[0, 0], 0.1))
    assert ops.clip(torch.tensor([True, False]), 0, 1).dtype == torch.int32


def test_products_match_numpy():
    a, b = RNG.normal(size=(2, 3, 4)), RNG.normal(size=(4, 5))
    np.testing.assert_allclose(ops.matmul(a, b).numpy(), a @ b)
    np.testing.assert_allclose(ops.dot(a, b).numpy(), np.dot(a, b))
    np.testing.assert_allclose(ops.dot(a, b[:, 0]).numpy(), np.dot(a, b[:, 0]))
    np.testing.assert_allclose(ops.tensordot(a, b, axes=1).numpy(), np.tensordot(a, b, axes=1))
    np.testing.assert_allclose(ops.tensordot(a, a, axes=([1, 2], [1, 2])).numpy(),
                               np.tensordot(a, a, axes=([1, 2], [1, 2])))
    np.testing.assert_allclose(ops.einsum("bij,jk->bik", a, b).numpy(), np.einsum("bij,jk->bik", a, b))
    np.testing.assert_allclose(ops.einsum("bij->j", a).numpy(), np.einsum("bij->j", a))
    np.testing.assert_allclose(ops.outer(a[0], b[0]).numpy(), np.outer(a[0], b[0]))
    np.testing.assert_allclose(ops.vdot(a, a).numpy(), np.vdot(a, a))
    np.testing.assert_allclose(ops.cross(a[..., :3], b[:3, :3].T).numpy(), np.cross(a[..., :3], b[:3, :3].T))
    np.testing.assert_allclose(ops.trace(a, axis1=1, axis2=2).numpy(), np.trace(a, axis1=1, axis2=2))


@pytest.mark.parametrize("mode", ["constant", "edge", "reflect", "symmetric", "wrap"])
@pytest.mark.parametrize("pad_width", [((1, 2), (0, 3)), 2, ((1, 0),), [[0, 1]]])
def test_pad_matches_numpy(mode, pad_width):
    x = np.arange(20, dtype="float32").reshape(4, 5)
    np.testing.assert_array_equal(ops.pad(x, pad_width, mode=mode).numpy(), np.pad(x, pad_width, mode=mode))


def test_pad_constant_values_and_errors():
    x = np.ones((2, 2), "float32")
    np.testing.assert_array_equal(ops.pad(x, 1, constant_values=7).numpy(), np.pad(x, 1, constant_values=7))
    with pytest.raises(ValueError, match="`constant_values` can only be provided when `mode == 'constant'`"):
        ops.pad(x, 1, mode="edge", constant_values=1)
    with pytest.raises(ValueError, match="must broadcast to \\(2, 2\\).*Received: pad_width"):
        ops.pad(x, ((1, 1), (1, 1), (1, 1)))


def test_shape_ops_match_numpy():
    np.testing.assert_array_equal(ops.transpose(X).numpy(), X.T)
    np.testing.assert_array_equal(ops.transpose(X, (1, 0, 2)).numpy(), np.transpose(X, (1, 0, 2)))
    assert ops.expand_dims(X, (0, -1)).shape == np.expand_dims(X, (0, -1)).shape
    assert ops.squeeze(np.zeros((1, 3, 1)), axis=-1).shape == (1, 3)
    with pytest.raises(ValueError, match="Cannot squeeze axis 1: its size is not 1"):
        ops.squeeze(np.zeros((1, 3, 1)), axis=1)
    np.testing.assert_array_equal(ops.moveaxis(X, 0, -1).numpy(), np.moveaxis(X, 0, -1))
    np.testing.assert_array_equal(ops.tile(X[0], (2, 1)).numpy(), np.tile(X[0], (2, 1)))
    np.testing.assert_array_equal(ops.repeat(X[0], 2, axis=1).numpy(), np.repeat(X[0], 2, axis=1))
    np.testing.assert_array_equal(ops.repeat(X[0], [1, 0, 2, 1], axis=0).numpy(), np.repeat(X[0], [1, 0, 2, 1], 0))
    np.testing.assert_array_equal(ops.flip(X, axis=(0, 2)).numpy(), np.flip(X, axis=(0, 2)))
    np.testing.assert_array_equal(ops.roll(X, 3).numpy(), np.roll(X, 3))
    np.testing.assert_array_equal(ops.roll(X, -1, axis=1).numpy(), np.roll(X, -1, axis=1))
    for got, want in zip(ops.split(X, [1, 3], axis=1), np.split(X, [1, 3], axis=1)):
        np.testing.assert_array_equal(got.numpy(), want)
    with pytest.raises(ValueError, match="into 3 equal sections"):
        ops.split(X, 3, axis=1)
    np.testing.assert_array_equal(ops.concatenate([X, X], axis=None).numpy(), np.concatenate([X, X], axis=None))
    np.testing.assert_array_equal(ops.stack([X, X], axis=1).numpy(), np.stack([X, X], axis=1))


def test_indexing_and_sorting_match_numpy():
    idx = np.array([[0, -1], [2, 1]])
    np.testing.assert_array_equal(ops.take(X, idx, axis=1).numpy(), np.take(X, idx, axis=1))
    np.testing.assert_array_equal(ops.take(X, idx).numpy(), np.take(X, idx))
    order = np.argsort(X, axis=-1)
    np.testing.assert_array_equal(ops.take_along_axis(X, order, axis=-1).numpy(), np.take_along_axis(X, order, -1))
    np.testing.assert_array_equal(ops.sort(X, axis=0).numpy(), np.sort(X, axis=0))
    np.testing.assert_array_equal(ops.argsort(X, axis=1).numpy(), np.argsort(X, axis=1, kind="stable"))
    np.testing.assert_array_equal(ops.digitize([0.5, 1.0, 2.5], [1.0, 2.0]).numpy(),
                                  np.digitize([0.5, 1.0, 2.5], [1.0, 2.0]))
    np.testing.assert_array_equal(ops.bincount([1, 1, 3], minlength=5).numpy(), np.bincount([1, 1, 3], minlength=5))
    np.testing.assert_array_equal(ops.diag(X[0]).numpy(), np.diag(X[0]))
    np.testing.assert_array_equal(ops.diagonal(X, 1, 1, 2).numpy(), np.diagonal(X, 1, 1, 2))


def test_creation_matches_numpy():
    assert ops.zeros((2, 3)).dtype == torch.float32
    assert ops.arange(5).dtype == torch.int32 and ops.arange(0.0, 1.0, 0.25).dtype == torch.float32
    np.testing.assert_allclose(ops.linspace(0, 1, 7, endpoint=False).numpy(), np.linspace(0, 1, 7, endpoint=False),
                               rtol=1e-6)
    np.testing.assert_allclose(ops.linspace([0, 1], [2, 5], 4, axis=1).numpy(), np.linspace([0, 1], [2, 5], 4, axis=1),
                               rtol=1e-6)
    np.testing.assert_array_equal(ops.eye(3, 4, k=-1).numpy(), np.eye(3, 4, k=-1))
    np.testing.assert_array_equal(ops.tri(3, 4, k=1).numpy(), np.tri(3, 4, k=1))
    np.testing.assert_array_equal(ops.triu(X, k=1).numpy(), np.triu(X, k=1))
    np.testing.assert_array_equal(ops.full((2,), 3).numpy(), np.full((2,), 3.0))
    assert ops.full_like(np.zeros(2, "int64"), 3).dtype == torch.int64
    for got, want in zip(ops.meshgrid([1, 2, 3], [4, 5]), np.meshgrid([1, 2, 3], [4, 5])):
        np.testing.assert_array_equal(got.numpy(), want)


def test_elementwise_math_matches_numpy():
    x = np.abs(X) + 0.1
    for name in ("exp", "expm1", "log", "log1p", "log2", "log10", "sqrt", "sin", "cos", "tan", "sinh", "cosh",
                 "tanh", "arctan", "arcsinh", "floor", "ceil", "reciprocal", "square", "sign", "negative", "abs"):
        np.testing.assert_allclose(getattr(ops, name)(x).numpy(), getattr(np, name)(x), rtol=1e-5, err_msg=name)
    np.testing.assert_allclose(ops.arcsin(x / 3).numpy(), np.arcsin(x / 3), rtol=1e-5)
    np.testing.assert_allclose(ops.arccosh(x + 1).numpy(), np.arccosh(x + 1), rtol=1e-5)
    for name in ("add", "subtract", "multiply", "divide", "floor_divide", "mod", "power", "maximum", "minimum",
                 "arctan2", "hypot", "logaddexp"):
        np.testing.assert_allclose(getattr(ops, name)(x, X).numpy(), getattr(np, name)(x, X), rtol=1e-5,
                                   err_msg=name)
    np.testing.assert_array_equal(ops.round(np.array([0.5, 1.5, 2.675]), 2).numpy(), np.round([0.5, 1.5, 2.675], 2))
    np.testing.assert_array_equal(ops.nan_to_num(np.array([np.nan, np.inf, -np.inf])).numpy(),
                                  np.nan_to_num(np.array([np.nan, np.inf, -np.inf])))


def test_dtype_rules():
    f32 = torch.ones(2)
    assert ops.add(f32, 2.0).dtype == torch.float32
    assert ops.multiply(2, f32).dtype == torch.float32
    assert ops.maximum(f32, 1).dtype == torch.float32
    assert ops.add(torch.ones(2, dtype=torch.int8), 3).dtype == torch.int8
    assert ops.add(torch.ones(2, dtype=torch.int32), 1.5).dtype == torch.float32
    assert ops.divide([1, 2], [2, 4]).dtype == torch.float32
    assert ops.mean(np.array([1, 2])).dtype == torch.float32
    assert ops.exp(np.zeros(2, "float64")).dtype == torch.float64
    assert ops.equal(f32, 1.0).dtype == torch.bool


@pytest.mark.parametrize("value", [
    [[1.0, -2.0], [3.0, 4.0]],
    np.array([[1.0, -2.0], [3.0, 4.0]], "float32"),
    torch.tensor([[1.0, -2.0], [3.0, 4.0]]),
    lamina.Variable([[1.0, -2.0], [3.0, 4.0]]),
])
def test_input_types_are_accepted(value):
    assert ops.sum(value, axis=0).tolist() == [4.0, 2.0]
    assert ops.abs(value).dtype == torch.float32
    assert ops.matmul(value, value).shape == (2, 2)
    assert ops.concatenate([value, value]).shape == (4, 2)
    assert ops.pad(value, 1).shape == (4, 4)


def test_gradients_match_finite_differences():
    a = torch.tensor(RNG.normal(size=(3, 4)), requires_grad=True)
    b = torch.tensor(RNG.normal(size=(4, 2)), requires_grad=True)
    checks = [
        lambda: (lambda x: ops.std(x, axis=0), (a,)),
        lambda: (lambda x: ops.median(x, axis=1), (a,)),
        lambda: (lambda x, y: ops.einsum("ij,jk->ik", x, y), (a, b)),
        lambda: (lambda x: ops.pad(x, ((1, 2), (2, 1)), mode="reflect"), (a,)),
        lambda: (lambda x: ops.where(x > 0, x * 2, ops.exp(x)), (a,)),
        lambda: (lambda x: ops.logaddexp(x, 0.5), (a,)),
        lambda: (lambda x: ops.take_along_axis(x, torch.tensor([[0], [3], [1]]), axis=1), (a,)),
        lambda: (lambda x: ops.cumprod(x, axis=1), (a,)),
    ]
    for make in checks:
        fn, inputs = make()
        assert torch.autograd.gradcheck(fn, inputs)
