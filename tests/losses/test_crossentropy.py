"""Crossentropy losses against NumPy references of Keras's formulas (float64 math, Keras's clipping).

Tolerances: float32 results within rtol 1e-5 / atol 1e-6 of the float64 references; float64
gradients within gradcheck's defaults of central finite differences.
"""

import numpy as np
import pytest
import torch

import lamina
from lamina import losses

EPS = 1e-7
RTOL, ATOL = 1e-5, 1e-6


def _clip(p):
    # Keras clips in the tensor's dtype: 1 - 1e-7 rounds to 0.99999988 in float32.
    lo, hi = np.asarray(EPS, p.dtype), np.asarray(1 - EPS, p.dtype)
    return np.clip(p, lo, hi).astype(np.float64)


def _logsumexp(x, axis=-1):
    m = np.max(x, axis=axis, keepdims=True)
    return m + np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True))


def np_bce(t, p, from_logits=False, label_smoothing=0.0, axis=-1):
    t = t * (1 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        x = p.astype(np.float64)
        e = np.maximum(x, 0) - x * t + np.log1p(np.exp(-np.abs(x)))
    else:
        q = _clip(p)
        e = -(t * np.log(q) + (1 - t) * np.log(1 - q))
    return e.mean(axis=axis)


def np_bfce(t, p, apply_class_balancing=False, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0):
    t = t * (1 - label_smoothing) + 0.5 * label_smoothing
    q = 1 / (1 + np.exp(-p.astype(np.float64))) if from_logits else p.astype(np.float64)
    qc = _clip(q.astype(p.dtype))
    bce = -(t * np.log(qc) + (1 - t) * np.log(1 - qc))
    p_t = t * q + (1 - t) * (1 - q)
    out = (1 - p_t) ** gamma * bce
    if apply_class_balancing:
        out = (t * alpha + (1 - t) * (1 - alpha)) * out
    return out.mean(axis=-1)


def np_cce(t, p, from_logits=False, label_smoothing=0.0, axis=-1):
    if label_smoothing:
        t = t * (1 - label_smoothing) + label_smoothing / t.shape[-1]
    if from_logits:
        x = p.astype(np.float64)
        logp = x - _logsumexp(x, axis)
    else:
        logp = np.log(_clip((p / p.sum(axis=axis, keepdims=True)).astype(p.dtype)))
    return -(t * logp).sum(axis=axis)


def np_cfce(t, p, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0):
    if label_smoothing:
        t = t * (1 - label_smoothing) + label_smoothing / t.shape[-1]
    x = p.astype(np.float64)
    if from_logits:
        x = np.exp(x - _logsumexp(x))
    out = _clip((x / x.sum(axis=-1, keepdims=True)).astype(p.dtype))
    return (np.asarray(alpha) * (1 - out) ** gamma * -t * np.log(out)).sum(axis=-1)


def np_scce(labels, p, from_logits=False):
    # Keras (TensorFlow backend): clip, log, then a softmax crossentropy on those log-probabilities.
    x = p.astype(np.float64) if from_logits else np.log(_clip(p))
    logp = x - _logsumexp(x)
    return -np.take_along_axis(logp, labels[..., None].astype(np.int64), axis=-1)[..., 0]


def _t(x):
    return torch.from_numpy(np.asarray(x))


RNG = np.random.default_rng(0)
SHAPES = [(4, 3), (2, 3, 5), (6, 1)]


def _probs(shape, rng=RNG):
    return rng.uniform(0.02, 0.98, size=shape).astype(np.float32)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("from_logits", [False, True])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
def test_binary_crossentropy_function_and_class(shape, from_logits, label_smoothing):
    t = (RNG.uniform(size=shape) > 0.5).astype(np.float32)
    p = RNG.normal(size=shape).astype(np.float32) * 3 if from_logits else _probs(shape)
    expected = np_bce(t, p, from_logits, label_smoothing)
    out = losses.binary_crossentropy(t, p, from_logits=from_logits, label_smoothing=label_smoothing)
    np.testing.assert_allclose(out.numpy(), expected, rtol=RTOL, atol=ATOL)
    loss = losses.BinaryCrossentropy(from_logits=from_logits, label_smoothing=label_smoothing)
    np.testing.assert_allclose(float(loss(_t(t), _t(p))), expected.mean(), rtol=RTOL, atol=ATOL)


def test_binary_crossentropy_axis():
    t = (RNG.uniform(size=(3, 4)) > 0.5).astype(np.float32)
    p = _probs((3, 4))
    out = losses.BinaryCrossentropy(axis=0, reduction=None)(t, p)
    np.testing.assert_allclose(out.numpy(), np_bce(t, p, axis=0), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("from_logits", [False, True])
@pytest.mark.parametrize("balancing", [False, True])
def test_binary_focal_crossentropy(from_logits, balancing):
    t = (RNG.uniform(size=(5, 4)) > 0.5).astype(np.float32)
    p = RNG.normal(size=(5, 4)).astype(np.float32) if from_logits else _probs((5, 4))
    kw = {"apply_class_balancing": balancing, "alpha": 0.3, "gamma": 1.5, "from_logits": from_logits}
    expected = np_bfce(t, p, label_smoothing=0.1, **kw)
    out = losses.binary_focal_crossentropy(t, p, label_smoothing=0.1, **kw)
    np.testing.assert_allclose(out.numpy(), expected, rtol=RTOL, atol=ATOL)
    loss = losses.BinaryFocalCrossentropy(label_smoothing=0.1, reduction="sum", **kw)
    np.testing.assert_allclose(float(loss(t, p)), expected.sum(), rtol=RTOL, atol=ATOL)


def test_binary_focal_crossentropy_keras_doc_values():
    y_true, y_pred = [[0, 1], [0, 0]], [[-18.6, 0.51], [2.94, -12.8]]
    assert float(losses.BinaryFocalCrossentropy(gamma=3, from_logits=True)(y_true, y_pred)) == pytest.approx(
        0.647, abs=1e-3)
    out = losses.BinaryFocalCrossentropy(gamma=5, from_logits=True, reduction=None)(y_true, y_pred)
    np.testing.assert_allclose(out.numpy(), [0.0017, 1.1561], atol=1e-4)


@pytest.mark.parametrize("shape", [(4, 3), (2, 3, 5)])
@pytest.mark.parametrize("from_logits", [False, True])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.1])
def test_categorical_crossentropy(shape, from_logits, label_smoothing):
    t = np.eye(shape[-1], dtype=np.float32)[RNG.integers(0, shape[-1], size=shape[:-1])]
    p = RNG.normal(size=shape).astype(np.float32) if from_logits else _probs(shape) * 0.7  # unnormalized
    expected = np_cce(t, p, from_logits, label_smoothing)
    out = losses.categorical_crossentropy(t, p, from_logits=from_logits, label_smoothing=label_smoothing)
    np.testing.assert_allclose(out.numpy(), expected, rtol=RTOL, atol=ATOL)
    loss = losses.CategoricalCrossentropy(from_logits=from_logits, label_smoothing=label_smoothing)
    np.testing.assert_allclose(float(loss(t, p)), expected.mean(), rtol=RTOL, atol=ATOL)


def test_categorical_crossentropy_axis_and_keras_doc_values():
    t = np.eye(3, dtype=np.float32)[[0, 2, 1, 1]].T  # classes on axis 0
    p = _probs((3, 4))
    out = losses.categorical_crossentropy(t, p, axis=0)
    np.testing.assert_allclose(out.numpy(), np_cce(t, p, axis=0), rtol=RTOL, atol=ATOL)
    out = losses.CategoricalCrossentropy(reduction=None)([[0, 1, 0], [0, 0, 1]], [[0.05, 0.95, 0], [0.1, 0.8, 0.1]])
    np.testing.assert_allclose(out.numpy(), [0.0513, 2.3026], atol=1e-4)


def test_categorical_crossentropy_warns_on_a_single_class():
    with pytest.warns(SyntaxWarning, match="num_classes > 1"):
        losses.categorical_crossentropy([[1.0]], [[0.7]])


@pytest.mark.parametrize("from_logits", [False, True])
@pytest.mark.parametrize("alpha", [0.25, [0.2, 0.3, 0.5]])
def test_categorical_focal_crossentropy(from_logits, alpha):
    t = np.eye(3, dtype=np.float32)[RNG.integers(0, 3, size=5)]
    p = RNG.normal(size=(5, 3)).astype(np.float32) if from_logits else _probs((5, 3))
    expected = np_cfce(t, p, alpha=alpha, gamma=2.5, from_logits=from_logits, label_smoothing=0.1)
    out = losses.categorical_focal_crossentropy(t, p, alpha=alpha, gamma=2.5, from_logits=from_logits,
                                                label_smoothing=0.1)
    np.testing.assert_allclose(out.numpy(), expected, rtol=RTOL, atol=ATOL)
    doc = losses.CategoricalFocalCrossentropy(reduction=None)([[0., 1., 0.], [0., 0., 1.]],
                                                               [[0.05, 0.95, 0], [0.1, 0.8, 0.1]])
    np.testing.assert_allclose(doc.numpy(), [3.2058331e-05, 4.6627346e-01], rtol=1e-4)


@pytest.mark.parametrize("shape", [(4, 3), (2, 5, 4)])
@pytest.mark.parametrize("from_logits", [False, True])
def test_sparse_categorical_crossentropy(shape, from_logits):
    labels = RNG.integers(0, shape[-1], size=shape[:-1])
    p = RNG.normal(size=shape).astype(np.float32) if from_logits else _probs(shape)
    expected = np_scce(labels, p, from_logits)
    out = losses.sparse_categorical_crossentropy(labels, p, from_logits=from_logits)
    np.testing.assert_allclose(out.numpy(), expected, rtol=RTOL, atol=ATOL)
    # labels with a trailing 1, given as floats (as the Loss class casts them to its dtype)
    out = losses.SparseCategoricalCrossentropy(from_logits=from_logits)(labels[..., None].astype(np.float32), p)
    np.testing.assert_allclose(float(out), expected.mean(), rtol=RTOL, atol=ATOL)


def test_sparse_categorical_crossentropy_class_axis_first():
    labels = RNG.integers(0, 4, size=(2, 3))
    p = _probs((2, 4, 3))  # classes on axis 1
    out = losses.sparse_categorical_crossentropy(labels, p, axis=1)
    np.testing.assert_allclose(out.numpy(), np_scce(labels, np.moveaxis(p, 1, -1)), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("from_logits", [False, True])
@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", "none"])
def test_sparse_categorical_crossentropy_ignore_class(from_logits, reduction):
    labels = np.array([[0, 255, 2], [1, 1, 255]])
    p = RNG.normal(size=(2, 3, 3)).astype(np.float32) if from_logits else _probs((2, 3, 3))
    valid = labels != 255
    per_entry = np.where(valid, np_scce(np.where(valid, labels, 0), p, from_logits), 0.0)
    loss = losses.SparseCategoricalCrossentropy(from_logits=from_logits, ignore_class=255, reduction=reduction)
    out = loss(labels, _t(p))
    expected = {"sum_over_batch_size": per_entry.sum() / valid.sum(), "sum": per_entry.sum(),
                "none": per_entry}[reduction]  # Keras rescales the mask only for averaging reductions
    np.testing.assert_allclose(out.numpy(), expected, rtol=RTOL, atol=ATOL)
    raw = losses.sparse_categorical_crossentropy(labels, p, from_logits=from_logits, ignore_class=255)
    assert raw._keras_mask.tolist() == valid.tolist()


def test_ignore_class_gives_zero_gradients_to_ignored_entries():
    logits = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    loss = losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1, dtype="float64")
    loss(torch.tensor([0, -1, 2, -1]), logits).backward()
    assert torch.all(logits.grad[[1, 3]] == 0) and torch.all(logits.grad[[0, 2]] != 0)


def test_categorical_generalized_cross_entropy():
    labels = np.array([0, 2, 1])
    p = _probs((3, 3))
    p = p / p.sum(-1, keepdims=True)
    expected = (1 - p[np.arange(3), labels].astype(np.float64) ** 0.3) / 0.3
    out = losses.CategoricalGeneralizedCrossEntropy(q=0.3, reduction=None)(labels[:, None], p)
    np.testing.assert_allclose(out.numpy(), expected, rtol=RTOL)
    with pytest.raises(ValueError, match=r"interval \(0, 1\). Received: q=1.5"):
        losses.CategoricalGeneralizedCrossEntropy(q=1.5)


# ---- stability at 0/1 probabilities and large logits ------------------------------------------------

def test_probabilities_at_zero_and_one_are_finite_and_match_keras_clipping():
    t = np.array([[1.0, 0.0, 1.0, 0.0]], np.float32)
    p = np.array([[0.0, 1.0, 1.0, 0.0]], np.float32)
    out = losses.binary_crossentropy(t, p)
    assert torch.isfinite(out).all()
    np.testing.assert_allclose(out.numpy(), np_bce(t, p), rtol=RTOL)
    onehot = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], np.float32)
    probs = np.array([[0.0, 1.0, 0.0], [0.0, 1.0, 0.0]], np.float32)
    np.testing.assert_allclose(losses.categorical_crossentropy(onehot, probs).numpy(), np_cce(onehot, probs),
                               rtol=RTOL)
    np.testing.assert_allclose(losses.sparse_categorical_crossentropy([0, 1], probs).numpy(),
                               np_scce(np.array([0, 1]), probs), rtol=RTOL, atol=ATOL)
    out = losses.binary_focal_crossentropy(t, p)
    np.testing.assert_allclose(out.numpy(), np_bfce(t, p), rtol=RTOL, atol=ATOL)
    for fn in (losses.binary_crossentropy, losses.categorical_crossentropy):
        x = torch.tensor(probs, requires_grad=True)
        fn(onehot, x).sum().backward()
        assert torch.isfinite(x.grad).all()


def test_large_logits_are_finite_and_exact():
    logits = np.array([[200.0, -200.0, 80.0, -80.0]], np.float32)
    t = np.array([[0.0, 1.0, 1.0, 0.0]], np.float32)
    out = losses.binary_crossentropy(t, logits, from_logits=True)
    np.testing.assert_allclose(out.numpy(), np_bce(t, logits, from_logits=True), rtol=RTOL)
    cat = np.array([[300.0, -300.0, 0.0]], np.float32)
    np.testing.assert_allclose(losses.categorical_crossentropy([[0.0, 1.0, 0.0]], cat, from_logits=True).numpy(),
                               [600.0], rtol=RTOL)
    np.testing.assert_allclose(losses.sparse_categorical_crossentropy([2], cat, from_logits=True).numpy(),
                               [300.0], rtol=RTOL)
    x = torch.tensor(cat, requires_grad=True)
    losses.sparse_categorical_crossentropy([1], x, from_logits=True).sum().backward()
    assert torch.isfinite(x.grad).all()


def test_activation_outputs_are_scored_from_their_logits():
    logits = torch.tensor([[30.0], [-30.0]])
    probs = lamina.activations.sigmoid(logits)  # rounds to exactly 1 and ~0 in float32
    out = losses.binary_crossentropy([[0.0], [1.0]], probs)
    np.testing.assert_allclose(out.numpy(), [30.0, 30.0], rtol=1e-5)  # not the clipped ~16
    soft = lamina.activations.softmax(torch.tensor([[50.0, -50.0]]))
    np.testing.assert_allclose(float(losses.CategoricalCrossentropy()([[0.0, 1.0]], soft)), 100.0, rtol=1e-5)
    with pytest.warns(UserWarning, match="does not represent logits"):
        losses.binary_crossentropy([[0.0], [1.0]], probs, from_logits=True)


# ---- gradients against finite differences (float64) -------------------------------------------------

GRAD_CASES = [
    ("binary_crossentropy", {"from_logits": False, "label_smoothing": 0.1}, "binary"),
    ("binary_crossentropy", {"from_logits": True}, "binary"),
    ("binary_focal_crossentropy", {"from_logits": False, "apply_class_balancing": True}, "binary"),
    ("binary_focal_crossentropy", {"from_logits": True}, "binary"),
    ("categorical_crossentropy", {"from_logits": False, "label_smoothing": 0.1}, "onehot"),
    ("categorical_crossentropy", {"from_logits": True}, "onehot"),
    ("categorical_focal_crossentropy", {"from_logits": False}, "onehot"),
    ("categorical_focal_crossentropy", {"from_logits": True}, "onehot"),
    ("sparse_categorical_crossentropy", {"from_logits": False}, "sparse"),
    ("sparse_categorical_crossentropy", {"from_logits": True}, "sparse"),
]


@pytest.mark.parametrize("name,kwargs,kind", GRAD_CASES)
def test_gradients_match_finite_differences(name, kwargs, kind):
    rng = np.random.default_rng(1)
    if kwargs.get("from_logits"):
        y_pred = rng.normal(size=(3, 4))
    else:
        y_pred = rng.uniform(0.1, 0.9, size=(3, 4))
    y_true = {"binary": (rng.uniform(size=(3, 4)) > 0.5) * 1.0, "onehot": np.eye(4)[[0, 3, 1]],
              "sparse": np.array([0, 3, 1])}[kind]
    fn = getattr(losses, name)
    x = torch.tensor(y_pred, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda v: fn(torch.tensor(y_true), v, **kwargs), (x,))


# ---- input types, shapes and errors ----------------------------------------------------------------

def test_function_and_class_accept_tensors_arrays_lists_and_variables():
    y_true = np.array([[1.0], [0.0], [1.0]], np.float32)
    y_pred = np.array([[0.9], [0.2], [0.6]], np.float32)
    expected = np_bce(y_true, y_pred)
    for yt, yp in [(_t(y_true), _t(y_pred)), (y_true, y_pred), (y_true.tolist(), y_pred.tolist()),
                   (lamina.Variable(y_true), lamina.Variable(y_pred))]:
        out = losses.binary_crossentropy(yt, yp)
        assert tuple(out.shape) == (3,)
        np.testing.assert_allclose(out.detach().numpy(), expected, rtol=RTOL)
        assert float(losses.BinaryCrossentropy()(yt, yp).detach()) == pytest.approx(expected.mean(), rel=RTOL)
    v = lamina.Variable(y_pred)
    losses.BinaryCrossentropy()(y_true, v).backward()
    assert v.value.grad is not None and v.value.grad.shape == (3, 1)


def test_class_squeezes_rank_one_labels_but_the_function_requires_equal_shapes():
    y_pred = _probs((3, 1))
    loss = losses.BinaryCrossentropy()
    assert float(loss([1.0, 0.0, 1.0], y_pred)) == pytest.approx(
        np_bce(np.array([[1.0], [0.0], [1.0]]), y_pred).mean(), rel=RTOL)
    with pytest.raises(ValueError, match=r"'binary_crossentropy'.*Received: y_true.shape=\(3,\), "
                                         r"y_pred.shape=\(3, 1\)"):
        losses.binary_crossentropy([1.0, 0.0, 1.0], y_pred)
    with pytest.raises(ValueError, match=r"'categorical_crossentropy'.*y_true.shape=\(2, 3\), y_pred.shape=\(2, 4\)"):
        losses.CategoricalCrossentropy()(np.zeros((2, 3)), np.ones((2, 4)))


def test_sparse_labels_of_the_wrong_rank_or_range_are_clear_errors():
    with pytest.raises(ValueError, match=r"integer class labels `y_true` of shape \(2,\).*one-hot labels use "
                                         r"categorical_crossentropy. Received: y_true.shape=\(2, 3\)"):
        losses.SparseCategoricalCrossentropy()(np.eye(3)[:2], _probs((2, 3)))
    with pytest.raises(ValueError, match=r"outside the valid range \[0, 3\).*\[0, 3\]"):
        losses.sparse_categorical_crossentropy([0, 3], _probs((2, 3)))


# ---- SparseCategoricalCrossentropy's one-kernel batch mean --------------------------------------------------

def _general_path(loss, y_true, y_pred):
    """The loss without its one-kernel mean: converted, per-sample losses, reduced."""
    fast = loss._batch_mean
    loss._batch_mean = lambda y_true, y_pred: None
    try:
        return loss(y_true, y_pred)
    finally:
        loss._batch_mean = fast


@pytest.mark.parametrize("labels_shape, label_dtype", [((6,), torch.int64), ((6, 1), torch.int64),
                                                       ((6,), torch.int32), ((6, 1), torch.uint8)])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sparse_crossentropy_batch_mean_equals_the_general_path(labels_shape, label_dtype, dtype):
    rng = np.random.default_rng(3)
    labels = torch.as_tensor(rng.integers(0, 4, labels_shape)).to(label_dtype)
    logits = torch.as_tensor(rng.normal(size=(6, 4)) * 3, dtype=getattr(torch, dtype)).requires_grad_()
    loss = losses.SparseCategoricalCrossentropy(from_logits=True, dtype=dtype)
    assert loss._batch_mean(labels, logits) is not None  # these inputs take the one-kernel path
    fast, general = loss(labels, logits), _general_path(loss, labels, logits)
    torch.testing.assert_close(fast, general)
    (fast_grad,) = torch.autograd.grad(fast, logits)
    (general_grad,) = torch.autograd.grad(general, logits)
    torch.testing.assert_close(fast_grad, general_grad)
    expected = -np.mean(_log_softmax_np(logits.detach().numpy())[np.arange(6), labels.reshape(-1).long().numpy()])
    np.testing.assert_allclose(float(fast), expected, rtol=1e-6)


def _log_softmax_np(x):
    return x - _logsumexp(x)


def test_sparse_crossentropy_batch_mean_scores_a_softmax_output_from_its_logits():
    logits = torch.tensor([[40.0, -40.0, 0.0], [0.0, 1.0, 2.0]])
    probs = lamina.activations.softmax(logits)
    loss = losses.SparseCategoricalCrossentropy()
    labels = torch.tensor([1, 2])
    assert loss._batch_mean(labels, probs) is not None
    torch.testing.assert_close(loss(labels, probs), _general_path(loss, labels, probs))
    assert float(loss(labels, probs)) > 30  # from the logits: not clipped at -log(1e-7) = 16.1


def test_sparse_crossentropy_batch_mean_refuses_labels_out_of_range():
    loss = losses.SparseCategoricalCrossentropy(from_logits=True)
    for bad in ([0, 3], [-1, 0]):
        with pytest.raises(ValueError, match=r"label outside the valid range \[0, 3\)"):
            loss(torch.tensor(bad), torch.zeros(2, 3))


@pytest.mark.parametrize("shape", [(6,), (6, 1), (6, 3), (2, 3, 4)])
@pytest.mark.parametrize("through_sigmoid", [False, True])
def test_binary_crossentropy_batch_mean_equals_the_general_path(shape, through_sigmoid):
    rng = np.random.default_rng(4)
    logits = torch.as_tensor(rng.normal(size=shape) * 4, dtype=torch.float32).requires_grad_()
    labels = torch.as_tensor(rng.integers(0, 2, shape))
    y_pred = lamina.activations.sigmoid(logits) if through_sigmoid else logits
    loss = losses.BinaryCrossentropy(from_logits=not through_sigmoid)
    for y_true in (labels.float(), labels, labels.bool()):
        assert loss._batch_mean(y_true, y_pred) is not None
        fast, general = loss(y_true, y_pred), _general_path(loss, y_true, y_pred)
        torch.testing.assert_close(fast, general)
        (fast_grad,) = torch.autograd.grad(fast, logits)
        (general_grad,) = torch.autograd.grad(general, logits)
        torch.testing.assert_close(fast_grad, general_grad)
    z, x = labels.double().numpy(), logits.detach().double().numpy()
    expected = np.mean(np.maximum(x, 0) - x * z + np.log1p(np.exp(-np.abs(x))))
    np.testing.assert_allclose(float(loss(labels.float(), y_pred)), expected, rtol=1e-6)
