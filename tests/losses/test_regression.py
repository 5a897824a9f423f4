"""Regression, hinge, segmentation and CTC losses against NumPy references; gradients by finite differences.

Tolerances: float32 results within rtol 1e-5 / atol 1e-6 of float64 references.
"""

import numpy as np
import pytest
import torch

from lamina import losses

EPS = 1e-7
RTOL, ATOL = 1e-5, 1e-6
RNG = np.random.default_rng(2)


def _hinge_labels(t):
    return 2 * t - 1 if np.all((t == 0) | (t == 1)) else t


def _normalize(x, axis):
    return x / np.maximum(np.sqrt(np.sum(x * x, axis=axis, keepdims=True)), EPS)


def _huber(e, delta=1.0):
    return np.where(np.abs(e) <= delta, 0.5 * e * e, delta * np.abs(e) - 0.5 * delta * delta)


REFERENCES = {
    "mean_squared_error": lambda t, p: np.mean((t - p) ** 2, -1),
    "mean_absolute_error": lambda t, p: np.mean(np.abs(t - p), -1),
    "mean_absolute_percentage_error": lambda t, p: 100 * np.mean(np.abs((t - p) / np.maximum(np.abs(t), EPS)), -1),
    "mean_squared_logarithmic_error": lambda t, p: np.mean(
        (np.log(np.maximum(p, EPS) + 1) - np.log(np.maximum(t, EPS) + 1)) ** 2, -1),
    "cosine_similarity": lambda t, p: -np.sum(_normalize(t, -1) * _normalize(p, -1), -1),
    "huber": lambda t, p: np.mean(_huber(p - t), -1),
    "log_cosh": lambda t, p: np.mean(np.log(np.cosh(p - t)), -1),
    "kl_divergence": lambda t, p: np.sum(np.clip(t, EPS, 1) * np.log(np.clip(t, EPS, 1) / np.clip(p, EPS, 1)), -1),
    "poisson": lambda t, p: np.mean(p - t * np.log(p + EPS), -1),
    "hinge": lambda t, p: np.mean(np.maximum(1 - _hinge_labels(t) * p, 0), -1),
    "squared_hinge": lambda t, p: np.mean(np.maximum(1 - _hinge_labels(t) * p, 0) ** 2, -1),
    "categorical_hinge": lambda t, p: np.maximum(np.max((1 - t) * p, -1) - np.sum(t * p, -1) + 1, 0),
}
CLASSES = {
    "mean_squared_error": losses.MeanSquaredError, "mean_absolute_error": losses.MeanAbsoluteError,
    "mean_absolute_percentage_error": losses.MeanAbsolutePercentageError,
    "mean_squared_logarithmic_error": losses.MeanSquaredLogarithmicError,
    "cosine_similarity": losses.CosineSimilarity, "huber": losses.Huber, "log_cosh": losses.LogCosh,
    "kl_divergence": losses.KLDivergence, "poisson": losses.Poisson, "hinge": losses.Hinge,
    "squared_hinge": losses.SquaredHinge, "categorical_hinge": losses.CategoricalHinge,
}


def _data(name, shape, rng=RNG):
    if name in ("hinge", "squared_hinge"):
        return (rng.uniform(size=shape) > 0.5).astype(np.float32), rng.normal(size=shape).astype(np.float32)
    if name == "categorical_hinge":
        return np.eye(shape[-1], dtype=np.float32)[rng.integers(0, shape[-1], shape[:-1])], \
            rng.normal(size=shape).astype(np.float32)
    if name in ("kl_divergence", "poisson", "mean_squared_logarithmic_error"):
        return rng.uniform(0, 1, size=shape).astype(np.float32), rng.uniform(0.05, 2, size=shape).astype(np.float32)
    return rng.normal(size=shape).astype(np.float32), (rng.normal(size=shape) * 2).astype(np.float32)


@pytest.mark.parametrize("name", sorted(REFERENCES))
@pytest.mark.parametrize("shape", [(4, 3), (2, 3, 5)])
def test_function_and_class_match_numpy(name, shape):
    t, p = _data(name, shape)
    expected = REFERENCES[name](t.astype(np.float64), p.astype(np.float64))
    out = getattr(losses, name)(t, p)
    np.testing.assert_allclose(out.numpy(), expected, rtol=RTOL, atol=ATOL)
    sw = RNG.uniform(size=shape[:1]).astype(np.float32)
    weighted = expected * sw.reshape((-1,) + (1,) * (expected.ndim - 1))
    got = CLASSES[name](reduction="sum")(t, p, sample_weight=sw[(...,) + (None,) * (expected.ndim - 1)])
    np.testing.assert_allclose(float(got), weighted.sum(), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_gradients_match_finite_differences(name):
    t, p = _data(name, (3, 4), np.random.default_rng(5))
    fn = getattr(losses, name)
    x = torch.tensor(p, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda v: fn(torch.tensor(t, dtype=torch.float64), v), (x,))


def test_huber_delta_hinge_labels_and_cosine_axis():
    t, p = RNG.normal(size=(3, 4)), RNG.normal(size=(3, 4)) * 3
    np.testing.assert_allclose(losses.Huber(delta=2.0, reduction=None)(t, p).numpy(),
                               np.mean(_huber(p - t, 2.0), -1), rtol=RTOL, atol=ATOL)
    signed = np.array([[-1.0, 1.0, 1.0]])  # already -1/1: unchanged
    np.testing.assert_allclose(losses.hinge(signed, [[0.5, 0.2, -2.0]]).numpy(), [(1.5 + 0.8 + 3.0) / 3], rtol=RTOL)
    np.testing.assert_allclose(losses.cosine_similarity(t, p, axis=0).numpy(),
                               -np.sum(_normalize(t, 0) * _normalize(p, 0), 0), rtol=RTOL, atol=ATOL)


def test_zero_vectors_and_extreme_values_stay_finite():
    zeros = torch.zeros(2, 3, dtype=torch.float64, requires_grad=True)
    out = losses.cosine_similarity(torch.ones(2, 3, dtype=torch.float64), zeros)
    out.sum().backward()
    assert out.tolist() == [0.0, 0.0] and torch.isfinite(zeros.grad).all()
    big = torch.tensor([[500.0, -500.0]])
    np.testing.assert_allclose(losses.log_cosh(torch.zeros(1, 2), big).numpy(), [500 - np.log(2)], rtol=RTOL)
    assert torch.isfinite(losses.kl_divergence([[0.0, 1.0]], [[1.0, 0.0]])).all()
    assert torch.isfinite(losses.poisson([[1.0, 2.0]], [[0.0, 0.0]])).all()
    assert torch.isfinite(losses.mean_absolute_percentage_error([[0.0]], [[1.0]])).all()


def test_rank_fix_and_broadcasting_errors():
    p = RNG.normal(size=(4, 1)).astype(np.float32)
    t = RNG.normal(size=(4,)).astype(np.float32)
    np.testing.assert_allclose(losses.mean_squared_error(t, p).numpy(), (t - p[:, 0]) ** 2, rtol=RTOL)
    with pytest.raises(ValueError, match=r"Loss 'mean_squared_error' received `y_true` and `y_pred` of "
                                         r"incompatible shapes.*y_true.shape=\(4, 3\), y_pred.shape=\(4, 2\)"):
        losses.MeanSquaredError()(np.zeros((4, 3)), np.zeros((4, 2)))


# ---- segmentation ------------------------------------------------------------------------------------

def _np_dice(t, p, axis=None):
    return 1 - 2 * np.sum(t * p, axis=axis) / (np.sum(t, axis=axis) + np.sum(p, axis=axis) + EPS)


def _np_tversky(t, p, alpha, beta, axis=None):
    tp = np.sum(t * p, axis=axis)
    return 1 - tp / (tp + alpha * np.sum((1 - p) * t, axis=axis) + beta * np.sum(p * (1 - t), axis=axis) + EPS)


@pytest.mark.parametrize("axis", [None, (1, 2)])
def test_dice_and_tversky(axis):
    t = (RNG.uniform(size=(3, 4, 4)) > 0.5).astype(np.float32)
    p = RNG.uniform(size=(3, 4, 4)).astype(np.float32)
    np.testing.assert_allclose(losses.dice(t, p, axis=axis).numpy(), _np_dice(t, p, axis), rtol=RTOL)
    np.testing.assert_allclose(losses.Dice(axis=axis, reduction=None)(t, p).numpy(), _np_dice(t, p, axis),
                               rtol=RTOL)
    out = losses.Tversky(alpha=0.7, beta=0.3, axis=axis, reduction="sum")(t, p)
    np.testing.assert_allclose(float(out), np.sum(_np_tversky(t, p, 0.7, 0.3, axis)), rtol=RTOL)
    x = torch.tensor(p, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda v: losses.tversky(torch.tensor(t).double(), v, 0.7, 0.3, axis), (x,))


# ---- CTC ---------------------------------------------------------------------------------------------

def _np_ctc(labels, logits):
    """Negative log-likelihood by the CTC forward recursion (blank = 0), one sequence."""
    logp = logits - np.log(np.sum(np.exp(logits), -1, keepdims=True))
    seq = [0]
    for label in labels[labels != 0]:
        seq += [int(label), 0]
    alpha = np.full(len(seq), -np.inf)
    alpha[0], alpha[1] = logp[0, seq[0]], logp[0, seq[1]]
    for t in range(1, len(logp)):
        new = np.full(len(seq), -np.inf)
        for s in range(len(seq)):
            terms = [alpha[s]] + ([alpha[s - 1]] if s > 0 else [])
            if s > 1 and seq[s] != 0 and seq[s] != seq[s - 2]:
                terms.append(alpha[s - 2])
            new[s] = np.logaddexp.reduce(terms) + logp[t, seq[s]]
        alpha = new
    return -np.logaddexp(alpha[-1], alpha[-2])


def test_ctc_matches_the_forward_recursion():
    labels = np.array([[1, 2, 0], [3, 3, 1]])
    logits = RNG.normal(size=(2, 6, 4)).astype(np.float32)
    expected = [_np_ctc(labels[i], logits[i].astype(np.float64)) for i in range(2)]
    np.testing.assert_allclose(losses.ctc(labels, logits).numpy(), expected, rtol=1e-5)
    np.testing.assert_allclose(float(losses.CTC()(labels, logits)), np.mean(expected), rtol=1e-5)
    with pytest.raises(ValueError, match=r"\(batch_size, max_length\).*Received: y_true.shape=\(2,\)"):
        losses.ctc(np.array([1, 2]), logits)
