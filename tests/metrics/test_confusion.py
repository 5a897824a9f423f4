"""Confusion metrics and AUC against an independent NumPy implementation of Keras's formulas."""

import numpy as np
import pytest
import torch

from lamina import metrics

RNG = np.random.default_rng(2)
EPS = 1e-7


def np_counts(y_true, y_pred, thresholds, weights=None, multi_label=False):
    """TP, FP, TN, FN at each threshold (prediction positive when > threshold), weighted."""
    y_true = np.asarray(y_true, dtype=bool)
    y_pred = np.asarray(y_pred, dtype=np.float32)
    w = np.ones(y_pred.shape) if weights is None else np.broadcast_to(weights, y_pred.shape)
    axis = 0 if multi_label else None
    out = []
    for t in np.asarray(thresholds, dtype=np.float32):
        pos = y_pred > t
        out.append([(w * (y_true & pos)).sum(axis), (w * (~y_true & pos)).sum(axis),
                    (w * (~y_true & ~pos)).sum(axis), (w * (y_true & ~pos)).sum(axis)])
    return [np.array(v, dtype=np.float64) for v in zip(*out)]


def np_div(a, b):
    return np.where(b == 0, 0.0, a / np.where(b == 0, 1, b))


def np_auc(tp, fp, tn, fn, curve="ROC", summation="interpolation"):
    """Keras's AUC from per-threshold counts (along axis 0)."""
    if curve == "PR" and summation == "interpolation":
        dtp = tp[:-1] - tp[1:]
        p = tp + fp
        dp = p[:-1] - p[1:]
        slope = np_div(dtp, np.maximum(dp, 0))
        intercept = tp[1:] - slope * p[1:]
        ratio = np.where((p[:-1] > 0) & (p[1:] > 0), np_div(p[:-1], np.maximum(p[1:], 0)), 1.0)
        return (np_div(slope * (dtp + intercept * np.log(ratio)), np.maximum(tp[1:] + fn[1:], 0))).sum(0)
    recall = np_div(tp, tp + fn)
    x, y = (np_div(fp, fp + tn), recall) if curve == "ROC" else (recall, np_div(tp, tp + fp))
    heights = {"interpolation": (y[:-1] + y[1:]) / 2, "minoring": np.minimum(y[:-1], y[1:]),
               "majoring": np.maximum(y[:-1], y[1:])}[summation]
    return ((x[:-1] - x[1:]) * heights).sum(0)


def _batches(n_batches=3, shape=(12,), weighted=True):
    out = []
    for i in range(n_batches):
        y_true = RNG.integers(0, 2, size=shape)
        y_pred = RNG.uniform(size=shape).astype(np.float32)
        w = RNG.uniform(0.1, 2.0, size=shape[:1]).astype(np.float32) if weighted and i else None
        out.append((y_true, y_pred, w))
    return out


def _accumulate(batches, thresholds, multi_label=False):
    total = None
    for y_true, y_pred, w in batches:
        if w is not None and y_pred.ndim > 1:
            w = w[:, None]
        counts = np_counts(y_true, y_pred, thresholds, w, multi_label)
        total = counts if total is None else [a + b for a, b in zip(total, counts)]
    return total


@pytest.mark.parametrize("thresholds", [None, 0.3, [0.1, 0.45, 0.8], [0.0, 0.25, 0.5, 0.75, 1.0]])
def test_counts_precision_recall_vs_numpy(thresholds):
    batches = _batches()
    ts = [0.5] if thresholds is None else np.atleast_1d(thresholds).tolist()
    tp, fp, tn, fn = _accumulate(batches, ts)
    objs = {"tp": metrics.TruePositives(thresholds), "fp": metrics.FalsePositives(thresholds),
            "tn": metrics.TrueNegatives(thresholds), "fn": metrics.FalseNegatives(thresholds),
            "p": metrics.Precision(thresholds), "r": metrics.Recall(thresholds)}
    for y_true, y_pred, w in batches:
        for m in objs.values():
            m.update_state(y_true, y_pred, sample_weight=w)
    refs = {"tp": tp, "fp": fp, "tn": tn, "fn": fn, "p": np_div(tp, tp + fp), "r": np_div(tp, tp + fn)}
    for key, m in objs.items():
        result = m.result().numpy()
        assert result.shape == (() if len(ts) == 1 else (len(ts),))
        np.testing.assert_allclose(result, refs[key].squeeze(), rtol=1e-5, atol=1e-6, err_msg=key)


def test_precision_recall_top_k_and_class_id_vs_numpy():
    y_true = RNG.integers(0, 2, size=(10, 5))
    y_pred = RNG.uniform(size=(10, 5)).astype(np.float32)
    w = RNG.uniform(0.5, 1.5, size=10).astype(np.float32)
    # top_k=2: only each row's two highest scores are predicted positives (threshold -inf).
    top = np.argsort(-y_pred, axis=1, kind="stable")[:, :2]
    pos = np.zeros_like(y_true, dtype=bool)
    np.put_along_axis(pos, top, True, axis=1)
    ww = np.broadcast_to(w[:, None], y_true.shape)
    tp = (ww * (pos & (y_true == 1))).sum()
    p = metrics.Precision(top_k=2)
    r = metrics.Recall(top_k=2)
    p.update_state(y_true, y_pred, sample_weight=w)
    r.update_state(y_true, y_pred, sample_weight=w)
    np.testing.assert_allclose(float(p.result()), tp / (ww * pos).sum(), rtol=1e-5)
    np.testing.assert_allclose(float(r.result()), tp / (ww * (y_true == 1)).sum(), rtol=1e-5)
    # class_id=3 at threshold 0.4
    t, s = y_true[:, 3] == 1, y_pred[:, 3] > 0.4
    p3 = metrics.Precision(thresholds=0.4, class_id=3)
    p3.update_state(y_true, y_pred, sample_weight=w)
    np.testing.assert_allclose(float(p3.result()), (w * (t & s)).sum() / (w * s).sum(), rtol=1e-5)
    # top_k and class_id together: class 3 counts only where it is in the row's top 2.
    r3 = metrics.Recall(top_k=2, class_id=3)
    r3.update_state(y_true, y_pred)
    in_top = pos[:, 3]
    np.testing.assert_allclose(float(r3.result()), (t & in_top).sum() / t.sum(), rtol=1e-5)


def test_keras_examples():
    m = metrics.Precision(top_k=2)
    m.update_state([0, 0, 1, 1], [1, 1, 1, 1])
    assert float(m.result()) == 0.0
    m = metrics.Precision(top_k=4)
    m.update_state([0, 0, 1, 1], [1, 1, 1, 1])
    assert float(m.result()) == 0.5
    m = metrics.SensitivityAtSpecificity(0.5)
    m.update_state([0, 0, 0, 1, 1], [0, 0.3, 0.8, 0.3, 0.8], sample_weight=[1, 1, 2, 2, 1])
    assert float(m.result()) == pytest.approx(1 / 3, abs=1e-6)
    m = metrics.RecallAtPrecision(0.8)
    m.update_state([0, 0, 1, 1], [0, 0.5, 0.3, 0.9])
    assert float(m.result()) == 0.5
    m = metrics.AUC(num_thresholds=3)
    m.update_state([0, 0, 1, 1], [0, 0.5, 0.3, 0.9], sample_weight=[1, 0, 0, 1])
    assert float(m.result()) == 1.0


@pytest.mark.parametrize("cls, value, constrained, dependent", [
    (metrics.SensitivityAtSpecificity, 0.6, "spec", "sens"),
    (metrics.SpecificityAtSensitivity, 0.7, "sens", "spec"),
    (metrics.PrecisionAtRecall, 0.4, "sens", "prec"),
    (metrics.RecallAtPrecision, 0.6, "prec", "sens"),
])
def test_at_metrics_vs_numpy(cls, value, constrained, dependent):
    batches = _batches()
    n = 50
    thresholds = [0.0] + [(i + 1) / (n - 1) for i in range(n - 2)] + [1.0]
    tp, fp, tn, fn = _accumulate(batches, thresholds)
    rates = {"sens": np_div(tp, tp + fn), "spec": np_div(tn, tn + fp), "prec": np_div(tp, tp + fp)}
    feasible = rates[constrained] >= value
    expected = rates[dependent][feasible].max() if feasible.any() else 0.0
    m = cls(value, num_thresholds=n)
    for y_true, y_pred, w in batches:
        m.update_state(y_true, y_pred, sample_weight=w)
    np.testing.assert_allclose(float(m.result()), expected, rtol=1e-5)
    assert float(cls(value).result()) == 0.0


def _auc_thresholds(n):
    return [0.0 - EPS] + [(i + 1) / (n - 1) for i in range(n - 2)] + [1.0 + EPS]


@pytest.mark.parametrize("curve, summation", [("ROC", "interpolation"), ("PR", "interpolation"),
                                              ("ROC", "minoring"), ("PR", "majoring")])
def test_auc_vs_numpy(curve, summation):
    batches = _batches(shape=(40,))
    m = metrics.AUC(num_thresholds=50, curve=curve, summation_method=summation)
    for y_true, y_pred, w in batches:
        m.update_state(y_true, y_pred, sample_weight=w)
    counts = _accumulate(batches, _auc_thresholds(50))
    np.testing.assert_allclose(float(m.result()), np_auc(*counts, curve=curve, summation=summation), rtol=1e-5)


def test_auc_default_close_to_exact_roc_and_endpoints():
    y_true = RNG.integers(0, 2, size=2000)
    y_pred = np.clip(y_true * 0.3 + RNG.uniform(size=2000) * 0.7, 0, 1).astype(np.float32)
    m = metrics.AUC()
    m.update_state(y_true, y_pred)
    pos, neg = y_pred[y_true == 1], y_pred[y_true == 0]
    exact = (pos[:, None] > neg[None, :]).mean()
    assert abs(float(m.result()) - exact) < 5e-3
    # predictions of exactly 0 and 1 are counted by the -eps / 1+eps end points
    m = metrics.AUC(num_thresholds=3)
    m.update_state([0, 1], [0.0, 1.0])
    np.testing.assert_allclose(m.true_positives.numpy(), [1, 1, 0])
    np.testing.assert_allclose(m.false_positives.numpy(), [1, 0, 0])


def test_auc_uneven_thresholds_multi_label_label_weights_logits():
    thresholds = [0.1, 0.2, 0.7]  # uneven: the comparison path
    y_true = RNG.integers(0, 2, size=(30, 3))
    logits = RNG.normal(size=(30, 3)).astype(np.float32)
    probs = 1 / (1 + np.exp(-logits))
    w = RNG.uniform(0.5, 1.5, size=30).astype(np.float32)
    label_weights = [0.2, 0.3, 0.5]
    ts = [-EPS] + thresholds + [1 + EPS]
    m = metrics.AUC(thresholds=thresholds, multi_label=True, label_weights=label_weights, from_logits=True)
    m.update_state(y_true, torch.from_numpy(logits), sample_weight=w)
    per_label = np_auc(*np_counts(y_true, probs, ts, w[:, None], multi_label=True))
    np.testing.assert_allclose(float(m.result()), (per_label * label_weights).sum() / sum(label_weights), rtol=1e-5)
    assert m.true_positives.shape == (5, 3)
    # flattened, label weights weight the individual predictions
    m = metrics.AUC(num_thresholds=20, label_weights=label_weights, curve="PR")
    m.update_state(y_true, probs)
    counts = np_counts(y_true, probs, _auc_thresholds(20), np.broadcast_to(label_weights, y_true.shape))
    np.testing.assert_allclose(float(m.result()), np_auc(*counts, curve="PR"), rtol=1e-5)


def test_auc_multi_label_evenly_spaced_matches_numpy():
    y_true = RNG.integers(0, 2, size=(25, 4))
    y_pred = RNG.uniform(size=(25, 4)).astype(np.float32)
    m = metrics.AUC(num_thresholds=30, multi_label=True, num_labels=4)
    m.update_state(y_true, y_pred)
    per_label = np_auc(*np_counts(y_true, y_pred, _auc_thresholds(30), multi_label=True))
    np.testing.assert_allclose(float(m.result()), per_label.mean(), rtol=1e-5)


def test_empty_reset_and_config_round_trip():
    m = metrics.AUC(curve="PR", thresholds=[0.3, 0.6], name="pr")
    assert float(m.result()) == 0.0
    m.update_state([0, 1, 1], [0.2, 0.5, 0.9])
    m.reset_state()
    assert float(m.result()) == 0.0 and float(m.true_positives.numpy().sum()) == 0.0
    config = m.get_config()
    assert config == {"name": "pr", "dtype": "float32", "num_thresholds": 4, "curve": "PR",
                      "summation_method": "interpolation", "multi_label": False, "num_labels": None,
                      "label_weights": None, "from_logits": False, "thresholds": [0.3, 0.6]}
    clone = metrics.deserialize(metrics.serialize(m))
    np.testing.assert_allclose(clone.thresholds, m.thresholds)
    assert metrics.AUC(multi_label=True).result().item() == 0.0  # not built yet
    for cls, kwargs in [(metrics.Precision, {"thresholds": [0.2, 0.4], "top_k": None, "class_id": 1}),
                        (metrics.TruePositives, {"thresholds": 0.7}),
                        (metrics.PrecisionAtRecall, {"recall": 0.3, "num_thresholds": 10, "class_id": None})]:
        metric = cls(**kwargs)
        assert {k: metric.get_config()[k] for k in kwargs} == kwargs
        assert cls.from_config(metric.get_config()).get_config() == metric.get_config()


def test_errors():
    with pytest.raises(ValueError, match=r"must be in \[0, 1\]. Received: thresholds=\[1.5\]"):
        metrics.Precision(thresholds=[0.5, 1.5])
    with pytest.raises(ValueError, match="Received: curve='XY'"):
        metrics.AUC(curve="XY")
    with pytest.raises(ValueError, match="num_thresholds=1"):
        metrics.AUC(num_thresholds=1)
    with pytest.raises(ValueError, match="Received: recall=1.2"):
        metrics.PrecisionAtRecall(1.2)
    with pytest.raises(ValueError, match=r"Metric 'precision_x'.*y_true.shape=\(4, 2\), y_pred.shape=\(4, 3\)"):
        metrics.Precision(name="precision_x").update_state(np.zeros((4, 2)), np.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"class_id.*Received: y_pred.shape=\(4,\)"):
        metrics.Recall(class_id=1).update_state([0, 1, 0, 1], [0.1, 0.2, 0.3, 0.4])
    with pytest.raises(ValueError, match="rank 2 when `multi_label=True`"):
        metrics.AUC(multi_label=True).update_state(np.zeros((2, 2, 2)), np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="only when `multi_label` is True"):
        metrics.AUC(num_labels=3)
