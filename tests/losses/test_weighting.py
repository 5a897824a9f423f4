"""Sample weights, Keras masks and every reduction for the crossentropy, focal, Dice and Tversky losses,
against NumPy references (the per-entry formulas of tests/losses/test_crossentropy.py and
test_regression.py, and Keras 3's weighting and reduction rules written out below).

Keras 3 rules: a mask on ``y_pred`` (``_keras_mask``) and a mask the loss returns (``ignore_class``) are
and-ed and merged into the sample weights; for the averaging reductions (``'sum_over_batch_size'``,
``'mean'``) the mask is scaled by ``size / number of unmasked entries``, so masked entries are left out
and the mean divides by the number of unmasked ones. ``'sum'`` sums, ``'mean_with_sample_weight'``
divides by the sum of the (merged) weights, ``None``/``'none'`` returns the weighted per-entry losses.
lamina weighs per-timestep losses ``(batch, time)`` with per-sample weights ``(batch,)`` row by row (as
tf.keras 2 did), also when ``batch == time`` (the (4, 4, 3) shape below), where plain broadcasting would
weigh columns.

Tolerances: float32 losses within rtol 1e-5 / atol 1e-6 of the float64 references.
"""

import zlib

import numpy as np
import pytest
import torch

from lamina import losses
from tests.losses.test_crossentropy import np_bce, np_bfce, np_cce, np_cfce, np_scce
from tests.losses.test_regression import _np_dice, _np_tversky

RTOL, ATOL = 1e-5, 1e-6
REDUCTIONS = ["sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", None, "none"]
WEIGHTS = [None, "batch", "batch_time", "batch_time_1"]


def np_weighted_reduce(values, sample_weight=None, mask=None, reduction="sum_over_batch_size"):
    values = np.asarray(values, np.float64)
    weights = None
    if sample_weight is not None:
        weights = np.asarray(sample_weight, np.float64)
        if weights.ndim == values.ndim + 1 and weights.shape[-1] == 1:
            weights = weights[..., 0]
        if 0 < weights.ndim < values.ndim:  # per-sample weights: one per row
            weights = weights.reshape(weights.shape + (1,) * (values.ndim - weights.ndim))
    if mask is not None:
        mask = mask.astype(np.float64)
        if reduction in ("sum_over_batch_size", "mean"):
            mask = mask * mask.size / mask.sum()
        if weights is not None and weights.ndim < mask.ndim:
            weights = weights.reshape(weights.shape + (1,) * (mask.ndim - weights.ndim))
        weights = mask if weights is None else weights * mask
    if weights is not None:
        values = values * weights
    if reduction in (None, "none"):
        return values
    if reduction == "sum":
        return values.sum()
    if reduction == "mean_with_sample_weight" and weights is not None:
        return values.sum() / weights.sum()
    return values.sum() / values.size


def _binary(rng, shape, logits):
    t = (rng.uniform(size=shape) > 0.5).astype(np.float32)
    p = (rng.normal(size=shape) * 2).astype(np.float32) if logits else rng.uniform(0.02, 0.98, shape).astype(
        np.float32)
    return t, p


def _onehot(rng, shape, logits):
    t = np.eye(shape[-1], dtype=np.float32)[rng.integers(0, shape[-1], size=shape[:-1])]
    p = (rng.normal(size=shape) * 2).astype(np.float32) if logits else rng.uniform(0.02, 0.98, shape).astype(
        np.float32)
    return t, p


def _labels(rng, shape, logits, ignore=None):
    labels = rng.integers(0, shape[-1], size=shape[:-1])
    if ignore is not None:
        labels[0, 1] = labels[-1, 0] = labels[1, -1] = ignore
    p = (rng.normal(size=shape) * 2).astype(np.float32) if logits else rng.uniform(0.02, 0.98, shape).astype(
        np.float32)
    return labels, p


def _scce_reference(ignore):
    def ref(labels, p, **kw):
        valid = labels != ignore if ignore is not None else np.ones(labels.shape, bool)
        return np.where(valid, np_scce(np.where(valid, labels, 0), p, **kw), 0.0), valid
    return ref


# name: (loss factory, data factory(rng, shape), reference(t, p) -> per-entry losses [, loss mask])
CASES = {
    "bce": (lambda: losses.BinaryCrossentropy(), lambda r, s: _binary(r, s, False), lambda t, p: np_bce(t, p)),
    "bce_logits_smoothing": (
        lambda: losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.1),
        lambda r, s: _binary(r, s, True), lambda t, p: np_bce(t, p, True, 0.1)),
    "binary_focal": (
        lambda: losses.BinaryFocalCrossentropy(gamma=1.5), lambda r, s: _binary(r, s, False),
        lambda t, p: np_bfce(t, p, gamma=1.5)),
    "binary_focal_balanced_logits": (
        lambda: losses.BinaryFocalCrossentropy(apply_class_balancing=True, alpha=0.3, gamma=2.5, from_logits=True,
                                               label_smoothing=0.05),
        lambda r, s: _binary(r, s, True),
        lambda t, p: np_bfce(t, p, True, 0.3, 2.5, True, 0.05)),
    "cce": (lambda: losses.CategoricalCrossentropy(), lambda r, s: _onehot(r, s, False),
            lambda t, p: np_cce(t, p)),
    "cce_logits_smoothing": (
        lambda: losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.2),
        lambda r, s: _onehot(r, s, True), lambda t, p: np_cce(t, p, True, 0.2)),
    "categorical_focal": (
        lambda: losses.CategoricalFocalCrossentropy(alpha=[0.2, 0.3, 0.5], gamma=1.0),
        lambda r, s: _onehot(r, s, False), lambda t, p: np_cfce(t, p, alpha=[0.2, 0.3, 0.5], gamma=1.0)),
    "categorical_focal_logits": (
        lambda: losses.CategoricalFocalCrossentropy(from_logits=True, label_smoothing=0.1),
        lambda r, s: _onehot(r, s, True), lambda t, p: np_cfce(t, p, from_logits=True, label_smoothing=0.1)),
    "sparse": (lambda: losses.SparseCategoricalCrossentropy(), lambda r, s: _labels(r, s, False),
               _scce_reference(None)),
    "sparse_logits_tensor_labels": (
        lambda: losses.SparseCategoricalCrossentropy(from_logits=True),
        lambda r, s: (lambda lp: (torch.from_numpy(lp[0]), lp[1]))(_labels(r, s, True)),
        lambda t, p: _scce_reference(None)(np.asarray(t), p, from_logits=True)),
    "sparse_ignore_class": (
        lambda: losses.SparseCategoricalCrossentropy(ignore_class=-1), lambda r, s: _labels(r, s, False, -1),
        _scce_reference(-1)),
    "sparse_logits_ignore_class": (
        lambda: losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=2),
        lambda r, s: _labels(r, s, True, 2), lambda t, p: _scce_reference(2)(t, p, from_logits=True)),
    "dice_last_axis": (lambda: losses.Dice(axis=-1), lambda r, s: _binary(r, s, False),
                       lambda t, p: _np_dice(t, p, -1)),
    "tversky_last_axis": (lambda: losses.Tversky(alpha=0.7, beta=0.3, axis=-1), lambda r, s: _binary(r, s, False),
                          lambda t, p: _np_tversky(t, p, 0.7, 0.3, -1)),
}


def _weights(kind, rng, batch, time):
    return {None: None, "batch": rng.uniform(0.0, 2.0, size=batch),
            "batch_time": rng.uniform(0.0, 2.0, size=(batch, time)),
            "batch_time_1": rng.uniform(0.0, 2.0, size=(batch, time, 1))}[kind]


@pytest.mark.parametrize("shape", [(3, 5, 3), (4, 4, 3)], ids=["b3_t5", "b4_t4"])
@pytest.mark.parametrize("masked", [False, True], ids=["no_mask", "mask"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_weights_masks_and_reductions_match_numpy(case, masked, shape):
    make_loss, make_data, reference = CASES[case]
    rng = np.random.default_rng(zlib.crc32(repr((case, masked, shape)).encode()))
    y_true, y_pred = make_data(rng, shape)
    per_entry = reference(y_true, y_pred)
    loss_mask = None
    if isinstance(per_entry, tuple):
        per_entry, loss_mask = per_entry
        if loss_mask.all():
            loss_mask = None
    mask = None
    if masked:
        mask = rng.uniform(size=shape[:2]) > 0.35
        mask[0, 0] = True
    combined = mask if loss_mask is None else (loss_mask if mask is None else mask & loss_mask)
    for weights in WEIGHTS:
        sw = _weights(weights, rng, *shape[:2])
        for reduction in REDUCTIONS:
            if reduction == "mean_with_sample_weight" and sw is None and combined is None:
                continue  # Keras has no weights to divide by here
            loss = make_loss()
            loss.reduction = reduction
            pred = torch.from_numpy(y_pred)
            if mask is not None:
                pred._keras_mask = torch.from_numpy(mask)
            out = loss(y_true, pred, sample_weight=sw)
            expected = np_weighted_reduce(per_entry, sw, combined, reduction)
            np.testing.assert_allclose(out.numpy(), expected, rtol=RTOL, atol=ATOL,
                                       err_msg=f"weights={weights}, reduction={reduction}")


def test_masked_mean_divides_by_the_number_of_unmasked_entries():
    # A concrete instance of the rule: 3 unmasked entries of 8, per-sample weights 1 and 3.
    t = np.array([[[1.0], [0.0], [1.0], [0.0]], [[0.0], [1.0], [1.0], [0.0]]], np.float32)
    p = np.array([[[0.9], [0.2], [0.4], [0.7]], [[0.3], [0.6], [0.8], [0.1]]], np.float32)
    mask = np.array([[True, False, True, False], [False, False, True, False]])
    pred = torch.from_numpy(p)
    pred._keras_mask = torch.from_numpy(mask)
    e = -np.log(np.array([0.9, 0.4, 0.8]))  # the unmasked entries' crossentropies
    assert float(losses.BinaryCrossentropy()(t, pred)) == pytest.approx(e.mean(), rel=1e-6)
    weighted = losses.BinaryCrossentropy()(t, pred, sample_weight=[1.0, 3.0])
    assert float(weighted) == pytest.approx((e[0] + e[1] + 3 * e[2]) / 3, rel=1e-6)
    summed = losses.BinaryCrossentropy(reduction="sum")(t, pred, sample_weight=[1.0, 3.0])
    assert float(summed) == pytest.approx(e[0] + e[1] + 3 * e[2], rel=1e-6)
    by_weight = losses.BinaryCrossentropy(reduction="mean_with_sample_weight")(t, pred, sample_weight=[1.0, 3.0])
    assert float(by_weight) == pytest.approx((e[0] + e[1] + 3 * e[2]) / 5, rel=1e-6)
    none = losses.BinaryCrossentropy(reduction=None)(t, pred)
    np.testing.assert_allclose(none.numpy()[mask], e, rtol=1e-6)  # only averaging reductions rescale the mask
    assert np.all(none.numpy()[~mask] == 0)
    nothing = np.zeros_like(mask)
    pred._keras_mask = torch.from_numpy(nothing)
    assert float(losses.BinaryCrossentropy()(t, pred)) == 0.0  # all masked: 0, not NaN


def test_ignore_class_and_a_prediction_mask_are_combined():
    labels = np.array([[0, -1, 2], [1, 1, -1]])
    p = np.random.default_rng(4).uniform(0.05, 0.95, size=(2, 3, 3)).astype(np.float32)
    mask = np.array([[True, True, False], [True, False, True]])
    pred = torch.from_numpy(p)
    pred._keras_mask = torch.from_numpy(mask)
    keep = mask & (labels != -1)  # entries (0, 0) and (1, 0)
    e = np_scce(np.where(labels == -1, 0, labels), p)
    out = losses.SparseCategoricalCrossentropy(ignore_class=-1)(labels, pred, sample_weight=[2.0, 0.5])
    assert float(out) == pytest.approx((2.0 * e[0, 0] + 0.5 * e[1, 0]) / keep.sum(), rel=1e-6)


@pytest.mark.parametrize("reduction", REDUCTIONS[:5])
def test_binary_crossentropy_axis_with_per_sample_weights(reduction):
    rng = np.random.default_rng(7)
    t, p = _binary(rng, (3, 4, 2), False)
    sw = rng.uniform(size=3)
    out = losses.BinaryCrossentropy(axis=1, reduction=reduction)(t, p, sample_weight=sw)
    np.testing.assert_allclose(out.numpy(), np_weighted_reduce(np_bce(t, p, axis=1), sw, None, reduction),
                               rtol=RTOL, atol=ATOL)
    onehot = np.moveaxis(_onehot(rng, (3, 2, 4), False)[0], -1, 1)  # classes on axis 1
    out = losses.CategoricalCrossentropy(axis=1, reduction=reduction)(onehot, p, sample_weight=sw)
    np.testing.assert_allclose(out.numpy(), np_weighted_reduce(np_cce(onehot, p, axis=1), sw, None, reduction),
                               rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("reduction", REDUCTIONS[:5])
def test_whole_batch_dice_and_tversky_with_weights(reduction):
    # axis=None: one scalar for the batch; per-sample weights then scale it, as in Keras.
    rng = np.random.default_rng(8)
    t, p = _binary(rng, (4, 3, 2), False)
    sw = rng.uniform(size=4)
    for loss, value in [(losses.Dice(reduction=reduction), _np_dice(t, p, None)),
                        (losses.Tversky(alpha=0.2, beta=0.8, reduction=reduction),
                         _np_tversky(t, p, 0.2, 0.8, None))]:
        np.testing.assert_allclose(loss(t, p, sample_weight=sw).numpy(),
                                   np_weighted_reduce(np.float64(value), sw, None, reduction), rtol=RTOL)
        np.testing.assert_allclose(loss(t, p).numpy(), value, rtol=RTOL)
