"""nn ops against NumPy formulas: encodings, crossentropies, moments, normalization, attention, CTC."""

import numpy as np
import pytest
import torch

from lamina import activations, ops

RNG = np.random.default_rng(0)
EPS = 1e-7


def _softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def test_activation_ops_are_the_activations_except_gelu_default():
    assert ops.relu.__wrapped_op__ is activations.relu and ops.softmax.__wrapped_op__ is activations.softmax
    x = RNG.normal(size=5)
    np.testing.assert_allclose(ops.gelu(x).numpy(), activations.gelu(x, approximate=True).numpy())


def test_one_hot_and_multi_hot():
    out = ops.one_hot([[0, 3], [-1, 1]], 3)
    np.testing.assert_array_equal(out.numpy(), np.eye(3)[[[0, 0], [0, 1]]] * np.array([[[1], [0]], [[0], [1]]]))
    assert out.dtype == torch.float32
    first = ops.one_hot([0, 2], 3, axis=0, dtype="int32")
    np.testing.assert_array_equal(first.numpy(), np.eye(3, dtype="int32")[[0, 2]].T)
    np.testing.assert_array_equal(ops.multi_hot([[0, 2, 2], [1, 1, 1]], 4).numpy(), [[1, 0, 1, 0], [0, 1, 0, 0]])
    np.testing.assert_array_equal(ops.multi_hot([3, 0], 4).numpy(), [1, 0, 0, 1])


def test_binary_crossentropy_matches_formula():
    target = RNG.integers(0, 2, size=(4, 3)).astype("float64")
    logits = RNG.normal(size=(4, 3)) * 3
    probs = 1 / (1 + np.exp(-logits))
    clipped = np.clip(probs, EPS, 1 - EPS)
    expected = -(target * np.log(clipped) + (1 - target) * np.log(1 - clipped))
    np.testing.assert_allclose(ops.binary_crossentropy(target, probs).numpy(), expected, rtol=1e-10)
    exact = -(target * np.log(probs) + (1 - target) * np.log(1 - probs))
    np.testing.assert_allclose(ops.binary_crossentropy(target, logits, from_logits=True).numpy(), exact, rtol=1e-8)
    # clipping bounds the loss of a confident mistake
    assert ops.binary_crossentropy([1.0], [0.0]).item() == pytest.approx(-np.log(EPS), rel=1e-4)
    with pytest.raises(ValueError, match=r"same shape. Received: target.shape=\(2,\), output.shape=\(3,\)"):
        ops.binary_crossentropy([1.0, 0.0], [0.5, 0.5, 0.5])


def test_categorical_crossentropies_match_formula():
    logits = RNG.normal(size=(4, 5))
    labels = RNG.integers(0, 5, size=4)
    target = np.eye(5)[labels]
    expected = -np.log(_softmax(logits))[np.arange(4), labels]
    np.testing.assert_allclose(ops.categorical_crossentropy(target, logits, from_logits=True).numpy(), expected)
    # probabilities are renormalized then clipped
    unnormalized = np.exp(logits)
    np.testing.assert_allclose(ops.categorical_crossentropy(target, unnormalized).numpy(), expected, rtol=1e-10)
    np.testing.assert_allclose(ops.sparse_categorical_crossentropy(labels, logits, from_logits=True).numpy(), expected)
    np.testing.assert_allclose(ops.sparse_categorical_crossentropy(labels[:, None], _softmax(logits)).numpy(), expected,
                               rtol=1e-10)
    axis0 = ops.categorical_crossentropy(target.T, logits.T, from_logits=True, axis=0)
    np.testing.assert_allclose(axis0.numpy(), expected)
    with pytest.raises(ValueError, match="same shape up until the last dimension"):
        ops.sparse_categorical_crossentropy([0, 1, 2], logits)
    with pytest.raises(ValueError, match="Only axis=-1 is currently supported. Received: axis=0"):
        ops.sparse_categorical_crossentropy(labels, logits, axis=0)


@pytest.mark.parametrize("axes,keepdims", [((0,), False), ([0, 2], True), (-1, False)])
def test_moments_match_numpy(axes, keepdims):
    x = RNG.normal(size=(4, 3, 5)).astype("float32")
    mean, variance = ops.moments(x, axes, keepdims=keepdims)
    np_axes = tuple(axes) if isinstance(axes, (list, tuple)) else axes
    np.testing.assert_allclose(mean.numpy(), x.mean(axis=np_axes, keepdims=keepdims), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(variance.numpy(), x.var(axis=np_axes, keepdims=keepdims), rtol=1e-5)
    half_mean, _ = ops.moments(torch.tensor(x, dtype=torch.float16), axes)
    assert half_mean.dtype == torch.float16


def test_batch_normalization_and_normalize():
    x = RNG.normal(size=(4, 3, 2))
    mean, var, beta, gamma = (RNG.uniform(0.5, 1.5, size=3) for _ in range(4))
    expected = (x - mean[:, None]) / np.sqrt(var[:, None] + 1e-3) * gamma[:, None] + beta[:, None]
    out = ops.batch_normalization(x, mean, var, axis=1, offset=beta, scale=gamma)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-10)
    np.testing.assert_allclose(ops.normalize(x, axis=-1).numpy(), x / np.linalg.norm(x, axis=-1, keepdims=True))
    l1 = ops.normalize(x, axis=1, order=1).numpy()
    np.testing.assert_allclose(l1, x / np.abs(x).sum(axis=1, keepdims=True))
    np.testing.assert_array_equal(ops.normalize(np.zeros(3)).numpy(), np.zeros(3))
    with pytest.raises(ValueError, match="Argument `order` must be an int >= 1. Received: order=0"):
        ops.normalize(x, order=0)


def _np_attention(q, k, v, bias=None, mask=None, causal=False, scale=None):
    heads, kv_heads = q.shape[2], k.shape[2]
    k, v = np.repeat(k, heads // kv_heads, axis=2), np.repeat(v, heads // kv_heads, axis=2)
    scale = 1 / np.sqrt(q.shape[-1]) if scale is None else scale
    logits = np.einsum("btnh,bsnh->bnts", q, k) * scale
    if bias is not None:
        logits = logits + bias
    keep = np.ones(logits.shape, bool)
    if mask is not None:
        keep &= mask
    if causal:
        keep &= np.tril(np.ones(logits.shape[-2:], bool))
    logits = np.where(keep, logits, -1e30)
    return np.einsum("bnts,bsnh->btnh", _softmax(logits), v)


def test_dot_product_attention_matches_reference():
    q = RNG.normal(size=(2, 4, 4, 3))
    k, v = RNG.normal(size=(2, 5, 2, 3)), RNG.normal(size=(2, 5, 2, 3))
    bias = RNG.normal(size=(1, 4, 4, 5))
    mask = RNG.uniform(size=(2, 1, 4, 5)) > 0.3
    np.testing.assert_allclose(ops.dot_product_attention(q, k, v).numpy(), _np_attention(q, k, v), rtol=1e-10)
    out = ops.dot_product_attention(q, k, v, bias=bias, mask=mask, scale=0.7)
    np.testing.assert_allclose(out.numpy(), _np_attention(q, k, v, bias, mask, scale=0.7), rtol=1e-10)
    causal = ops.dot_product_attention(q, k[:, :4], v[:, :4], is_causal=True)
    np.testing.assert_allclose(causal.numpy(), _np_attention(q, k[:, :4], v[:, :4], causal=True), rtol=1e-10)


def test_ctc_loss_matches_brute_force():
    # Sum over all alignments of length T that collapse to the target (blank = 0).
    logits = RNG.normal(size=(1, 3, 3))
    log_probs = np.log(_softmax(logits[0]))
    target = [1, 2]
    total = 0.0
    for path in np.ndindex(3, 3, 3):
        collapsed = [c for i, c in enumerate(path) if c != 0 and (i == 0 or c != path[i - 1])]
        if collapsed == target:
            total += np.exp(sum(log_probs[t, c] for t, c in enumerate(path)))
    loss = ops.ctc_loss(np.array([target]), logits, np.array([2]), np.array([3]))
    np.testing.assert_allclose(loss.numpy(), [-np.log(total)], rtol=1e-8)


def test_nn_gradients():
    x = torch.tensor(RNG.normal(size=(3, 4)), requires_grad=True)
    target = torch.tensor(np.eye(4)[[0, 2, 3]])
    assert torch.autograd.gradcheck(lambda t: ops.categorical_crossentropy(target, t, from_logits=True), (x,))
    assert torch.autograd.gradcheck(lambda t: ops.binary_crossentropy(target, torch.sigmoid(t)), (x,))
    assert torch.autograd.gradcheck(lambda t: ops.moments(t, axes=0)[1], (x,))
    assert torch.autograd.gradcheck(lambda t: ops.normalize(t, axis=1), (x,))
    q = torch.tensor(RNG.normal(size=(1, 2, 1, 3)), requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: ops.dot_product_attention(t, t, t, is_causal=True), (q,))
