"""Core ops (conversion rules, control flow, scatter/slice), math and linalg against NumPy."""

import math

import numpy as np
import pytest
import torch

import lamina
from lamina import ops

RNG = np.random.default_rng(0)


def test_convert_to_tensor_follows_keras_dtype_rules():
    assert ops.convert_to_tensor(1.5).dtype == torch.float32
    assert ops.convert_to_tensor(2).dtype == torch.int32
    assert ops.convert_to_tensor(True).dtype == torch.bool
    assert ops.convert_to_tensor([1, 2.5]).dtype == torch.float32
    assert ops.convert_to_tensor([[1, 2]]).dtype == torch.int32
    assert ops.convert_to_tensor(np.zeros(2)).dtype == torch.float64  # NumPy arrays keep their dtype
    assert ops.convert_to_tensor(np.zeros(2, "uint32")).dtype == torch.int64
    assert ops.convert_to_tensor([1, 2], dtype="float16").dtype == torch.float16
    variable = lamina.Variable([1.0, 2.0])
    assert ops.convert_to_tensor(variable) is variable.value
    tensor = torch.ones(2)
    assert ops.convert_to_tensor(tensor) is tensor
    assert ops.convert_to_tensor([torch.ones(2), torch.zeros(2)]).shape == (2, 2)
    assert ops.constant(tensor) is not tensor
    with pytest.raises(TypeError, match="Expected a numeric array.*Received: x='a'"):
        ops.convert_to_tensor("a")
    with pytest.raises(ValueError, match="Received: sparse=True"):
        ops.convert_to_tensor([1.0], sparse=True)


def test_dtype_shape_cast_numpy():
    x = ops.cast([1.7, -2.2], "int32")
    assert ops.dtype(x) == "int32" and ops.shape(x) == (2,) and ops.is_tensor(x)
    assert ops.convert_to_numpy(x).tolist() == [1, -2]
    assert ops.saturate_cast([300.0, -5.0], "uint8").tolist() == [255, 0]
    assert not ops.stop_gradient(torch.ones(1, requires_grad=True)).requires_grad


def test_control_flow():
    assert ops.cond(False, lambda: "a", lambda: "b") == "b"
    assert ops.switch(5, [lambda x: x, lambda x: -x], 3) == -3
    assert ops.while_loop(lambda i, s: i < 4, lambda i, s: (i + 1, s + i), (0, 0)) == (4, 6)
    assert ops.while_loop(lambda i: True, lambda i: i + 1, 0, maximum_iterations=3) == 3
    assert ops.fori_loop(1, 4, lambda i, acc: acc * i, 1) == 6
    np.testing.assert_array_equal(ops.map(lambda r: r.sum(), np.arange(6).reshape(3, 2)).numpy(), [1, 5, 9])
    carry, ys = ops.scan(lambda c, x: (c + x, c * x), 1, np.array([1, 2, 3]), reverse=True)
    assert int(carry) == 7 and ys.tolist() == [6, 8, 3]
    out = ops.vectorized_map(lambda row: row * row.sum(), np.ones((3, 2), "float32"))
    np.testing.assert_array_equal(out.numpy(), np.full((3, 2), 2.0))


def test_scatter_and_slices():
    indices = np.array([[0, 1], [2, 0], [0, 1]])
    expected = np.zeros((3, 2))
    np.add.at(expected, tuple(indices.T), [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(ops.scatter(indices, np.array([1.0, 2.0, 3.0]), (3, 2)).numpy(), expected)
    updated = ops.scatter_update(np.zeros((3, 2)), [[1], [2]], np.ones((2, 2)))
    np.testing.assert_array_equal(updated.numpy(), [[0, 0], [1, 1], [1, 1]])
    x = np.arange(24).reshape(2, 3, 4)
    np.testing.assert_array_equal(ops.slice(x, (1, 0, 1), (1, 2, 3)).numpy(), x[1:2, 0:2, 1:4])
    replaced = x.copy()
    replaced[0:1, 1:3, 2:4] = -1
    np.testing.assert_array_equal(ops.slice_update(x, [0, 1, 2], -np.ones((1, 2, 2), int)).numpy(), replaced)
    assert [t.shape for t in ops.unstack(x, axis=1)] == [(2, 4)] * 3
    with pytest.raises(ValueError, match="Received: num=2"):
        ops.unstack(x, num=2, axis=1)


def test_custom_gradient_replaces_backward():
    @ops.custom_gradient
    def log1pexp(x):
        e = torch.exp(x)
        return torch.log1p(e), lambda upstream: upstream * (1 - 1 / (1 + e))

    x = torch.tensor([100.0, 0.0], requires_grad=True)
    log1pexp(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0, 0.5])


def test_top_k_in_top_k_logsumexp():
    x = RNG.normal(size=(3, 6))
    values, indices = ops.top_k(x, 2)
    order = np.argsort(-x, axis=-1)[:, :2]
    np.testing.assert_array_equal(indices.numpy(), order)
    np.testing.assert_array_equal(values.numpy(), np.take_along_axis(x, order, -1))
    assert indices.dtype == torch.int32
    targets = order[:, 1]
    np.testing.assert_array_equal(ops.in_top_k(targets, x, 2).numpy(), [True] * 3)
    np.testing.assert_array_equal(ops.in_top_k(targets, x, 1).numpy(), [False] * 3)
    for axis, keepdims in ((None, False), (1, True), ((0, 1), False)):
        expected = np.log(np.sum(np.exp(x), axis=axis, keepdims=keepdims))
        np.testing.assert_allclose(ops.logsumexp(x, axis=axis, keepdims=keepdims).numpy(), expected)


def test_segment_ops_and_sequences():
    data = RNG.normal(size=(5, 2))
    ids = np.array([0, 2, 0, 2, 1])
    expected_sum = np.stack([data[ids == s].sum(0) for s in range(4)])
    np.testing.assert_allclose(ops.segment_sum(data, ids, num_segments=4).numpy(), expected_sum)
    segment_max = ops.segment_max(data, ids, num_segments=4).numpy()
    np.testing.assert_allclose(segment_max[:3], np.stack([data[ids == s].max(0) for s in range(3)]))
    assert (segment_max[3] == np.finfo("float64").min).all()
    frames = ops.extract_sequences(np.arange(10), 4, 3).numpy()
    np.testing.assert_array_equal(frames, [[0, 1, 2, 3], [3, 4, 5, 6], [6, 7, 8, 9]])


def test_special_functions_and_fft():
    x = RNG.uniform(-0.9, 0.9, size=7)
    np.testing.assert_allclose(ops.erf(x).numpy(), [math.erf(v) for v in x], rtol=1e-12)
    np.testing.assert_allclose([math.erf(v) for v in ops.erfinv(x).numpy()], x, rtol=1e-10)
    np.testing.assert_allclose(ops.rsqrt(x + 1).numpy(), 1 / np.sqrt(x + 1))
    signal = RNG.normal(size=(2, 8))
    real, imag = ops.fft((signal, np.zeros_like(signal)))
    np.testing.assert_allclose(real.numpy() + 1j * imag.numpy(), np.fft.fft(signal), atol=1e-12)
    real, imag = ops.rfft(signal)
    np.testing.assert_allclose(real.numpy() + 1j * imag.numpy(), np.fft.rfft(signal), atol=1e-12)
    np.testing.assert_allclose(ops.irfft((real, imag), 8).numpy(), signal, atol=1e-12)


@pytest.mark.parametrize("ord_,axis", [(None, None), (None, 1), (1, 0), (np.inf, -1), (-np.inf, 1), (0, 1), (3, 1),
                                       ("fro", (0, 1)), ("nuc", (0, 1)), (2, (0, 1)), (-1, (1, 0)), (np.inf, None)])
def test_norm_matches_numpy(ord_, axis):
    x = RNG.normal(size=(4, 3))
    for keepdims in (False, True):
        np.testing.assert_allclose(ops.norm(x, ord=ord_, axis=axis, keepdims=keepdims).numpy(),
                                   np.linalg.norm(x, ord=ord_, axis=axis, keepdims=keepdims), rtol=1e-10)


def test_norm_errors():
    with pytest.raises(ValueError, match="Invalid `ord` for a vector norm. Received: ord='fro'"):
        ops.norm(np.ones(3), ord="fro", axis=0)
    with pytest.raises(ValueError, match="Improper number of dimensions"):
        ops.norm(np.ones((2, 2, 2)), ord=1)


def test_linalg_matches_numpy():
    a = RNG.normal(size=(2, 3, 3)) + 3 * np.eye(3)
    b = RNG.normal(size=(2, 3, 2))
    spd = a @ np.swapaxes(a, -1, -2)
    np.testing.assert_allclose(ops.linalg.inv(a).numpy(), np.linalg.inv(a), rtol=1e-10)
    np.testing.assert_allclose(ops.linalg.det(a).numpy(), np.linalg.det(a), rtol=1e-10)
    np.testing.assert_allclose(ops.linalg.solve(a, b).numpy(), np.linalg.solve(a, b), rtol=1e-10)
    np.testing.assert_allclose(ops.linalg.cholesky(spd).numpy(), np.linalg.cholesky(spd), rtol=1e-10)
    lower = np.tril(a)
    np.testing.assert_allclose(ops.linalg.solve_triangular(lower, b, lower=True).numpy(),
                               np.linalg.solve(lower, b), rtol=1e-10)
    np.testing.assert_allclose(ops.linalg.eigh(spd)[0].numpy(), np.linalg.eigh(spd)[0], rtol=1e-10)
    u, s, vh = ops.linalg.svd(a[0])
    np.testing.assert_allclose((u.numpy() * s.numpy()) @ vh.numpy(), a[0], atol=1e-12)
    np.testing.assert_allclose(ops.linalg.svd(a, compute_uv=False).numpy(), np.linalg.svd(a, compute_uv=False))
    q, r = ops.linalg.qr(b[0])
    np.testing.assert_allclose(q.numpy() @ r.numpy(), b[0], atol=1e-12)
    tall = RNG.normal(size=(5, 2))
    rhs = RNG.normal(size=5)
    np.testing.assert_allclose(ops.linalg.lstsq(tall, rhs).numpy(), np.linalg.lstsq(tall, rhs, rcond=None)[0])
    with pytest.raises(ValueError, match=r"`inv` needs \(batches of\) square matrices. Received: x.shape=\(2, 3\)"):
        ops.linalg.inv(np.ones((2, 3)))
    with pytest.raises(ValueError, match="not positive-definite"):
        ops.linalg.cholesky(-np.eye(2))


def test_math_gradients():
    x = torch.tensor(RNG.normal(size=(3, 4)), requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: ops.logsumexp(t, axis=1), (x,))
    assert torch.autograd.gradcheck(lambda t: ops.top_k(t, 2)[0], (x,))
    assert torch.autograd.gradcheck(lambda t: ops.segment_sum(t, [0, 1, 0], num_segments=2), (x,))
    assert torch.autograd.gradcheck(lambda t: ops.norm(t, ord="nuc", axis=(0, 1)), (x,))
    assert torch.autograd.gradcheck(lambda t: ops.norm(t, axis=1), (x,))
