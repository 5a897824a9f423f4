"""Accuracy metrics against NumPy over several weighted batches; configs, errors and 'accuracy' resolution."""

import numpy as np
import pytest
import torch

from lamina import metrics
from lamina.metrics.resolution import resolve_accuracy

RNG = np.random.default_rng(1)


def _weighted_mean(batches):
    """batches: list of (per-sample matches, weights or None)."""
    num = sum(float((m * (np.ones_like(m) if w is None else w)).sum()) for m, w in batches)
    den = sum(float(len(m) if w is None else w.sum()) for m, w in batches)
    return num / den


def _run(metric, batches):
    for y_true, y_pred, weights in batches:
        metric.update_state(y_true, y_pred, sample_weight=weights)
    return float(metric.result())


def _weights(i, n):
    return None if i == 0 else RNG.uniform(0.1, 2.0, size=n).astype(np.float32)


def test_binary_accuracy_vs_numpy():
    batches, ref = [], []
    for i in range(3):
        y_true = RNG.integers(0, 2, size=(6, 3)).astype(np.float32)
        y_pred = RNG.uniform(size=(6, 3)).astype(np.float32)
        w = _weights(i, 6)
        batches.append((y_true, y_pred, w))
        ref.append(((y_true == (y_pred > 0.3)).mean(-1), w))
    np.testing.assert_allclose(_run(metrics.BinaryAccuracy(threshold=0.3), batches), _weighted_mean(ref), rtol=1e-6)


def test_categorical_and_sparse_accuracy_vs_numpy():
    cat, sparse, ref = metrics.CategoricalAccuracy(), metrics.SparseCategoricalAccuracy(), []
    for i in range(3):
        labels = RNG.integers(0, 4, size=7)
        y_pred = RNG.uniform(size=(7, 4)).astype(np.float32)
        w = _weights(i, 7)
        cat.update_state(np.eye(4)[labels], y_pred, sample_weight=w)
        sparse.update_state(labels[:, None] if i % 2 else labels, y_pred, sample_weight=w)
        ref.append(((y_pred.argmax(-1) == labels).astype(np.float64), w))
    np.testing.assert_allclose(float(cat.result()), _weighted_mean(ref), rtol=1e-6)
    np.testing.assert_allclose(float(sparse.result()), _weighted_mean(ref), rtol=1e-6)


def test_accuracy_exact_match():
    m = metrics.Accuracy()
    m.update_state([[1], [2], [3], [4]], [[0], [2], [3], [4]], sample_weight=[1, 1, 0, 0])
    assert float(m.result()) == 0.5


def _np_in_top_k(labels, scores, k):
    kth = np.sort(scores, axis=-1)[:, ::-1][:, min(k, scores.shape[1]) - 1]
    return (scores[np.arange(len(labels)), labels] >= kth).astype(np.float64)


def test_top_k_accuracies_vs_numpy():
    topk, sparse_topk, ref = metrics.TopKCategoricalAccuracy(k=2), metrics.SparseTopKCategoricalAccuracy(k=2), []
    for i in range(3):
        labels = RNG.integers(0, 5, size=8)
        scores = RNG.uniform(size=(8, 5)).astype(np.float32)
        w = _weights(i, 8)
        topk.update_state(np.eye(5)[labels], scores, sample_weight=w)
        sparse_topk.update_state(labels, scores, sample_weight=w)
        ref.append((_np_in_top_k(labels, scores, 2), w))
    np.testing.assert_allclose(float(topk.result()), _weighted_mean(ref), rtol=1e-6)
    np.testing.assert_allclose(float(sparse_topk.result()), _weighted_mean(ref), rtol=1e-6)


def test_top_k_ties_count_as_in_and_sorted_ids():
    assert metrics.sparse_top_k_categorical_accuracy([0], [[0.5, 0.5, 0.5]], k=1).tolist() == [1.0]
    m = metrics.SparseTopKCategoricalAccuracy(k=2, from_sorted_ids=True)
    m.update_state([7, 3, 9], [[1, 7, 3], [3, 2, 1], [4, 5, 9]])
    assert float(m.result()) == pytest.approx(2 / 3)
    assert m.get_config() == {"name": "sparse_top_k_categorical_accuracy", "dtype": "float32", "k": 2,
                              "from_sorted_ids": True}
    assert "from_sorted_ids" not in metrics.SparseTopKCategoricalAccuracy().get_config()


def test_empty_result_is_zero_and_reset():
    m = metrics.BinaryAccuracy()
    assert float(m.result()) == 0.0
    m.update_state([1, 0], [0.9, 0.9])
    assert float(m.result()) == 0.5
    m.reset_state()
    assert float(m.result()) == 0.0


@pytest.mark.parametrize("cls, kwargs", [
    (metrics.Accuracy, {}), (metrics.BinaryAccuracy, {"threshold": 0.2}), (metrics.CategoricalAccuracy, {}),
    (metrics.SparseCategoricalAccuracy, {}), (metrics.TopKCategoricalAccuracy, {"k": 3}),
    (metrics.SparseTopKCategoricalAccuracy, {"k": 2}),
])
def test_config_round_trip(cls, kwargs):
    m = cls(name="x", dtype="float64", **kwargs)
    config = m.get_config()
    assert config == {"name": "x", "dtype": "float64", **kwargs}
    assert cls.from_config(config).get_config() == config
    assert metrics.deserialize(metrics.serialize(m)).get_config() == config


def test_errors():
    with pytest.raises(ValueError, match=r"interval \(0, 1\). Received: threshold=1.5"):
        metrics.BinaryAccuracy(threshold=1.5)
    with pytest.raises(ValueError, match=r"compatible shapes. Received: y_true.shape=\(4, 3\), y_pred.shape=\(4, 2\)"):
        metrics.BinaryAccuracy().update_state(np.zeros((4, 3)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match=r"one label per row"):
        metrics.SparseTopKCategoricalAccuracy().update_state([1, 2, 3], np.zeros((2, 5)))


@pytest.mark.parametrize("true_shape, pred_shape, loss, expected", [
    ((8, 1), (8, 1), None, "BinaryAccuracy"),
    ((8,), (8, 1), "binary_crossentropy", "BinaryAccuracy"),
    ((8,), (8, 10), None, "SparseCategoricalAccuracy"),
    ((8, 1), (8, 10), None, "SparseCategoricalAccuracy"),
    ((8, 10), (8, 10), "categorical_crossentropy", "CategoricalAccuracy"),
    # unknown targets: the loss decides
    (None, (8, 10), "sparse_categorical_crossentropy", "SparseCategoricalAccuracy"),
    (None, (8, 10), "binary_crossentropy", "BinaryAccuracy"),
    (None, (8, 10), None, "CategoricalAccuracy"),
])
def test_resolve_accuracy(true_shape, pred_shape, loss, expected):
    for name in ("accuracy", "acc"):
        metric = resolve_accuracy(name, loss, true_shape, pred_shape)
        assert type(metric).__name__ == expected and metric.name == name


def test_resolve_crossentropy_and_errors():
    assert type(resolve_accuracy("crossentropy", None, (4,), (4, 3))).__name__ == "SparseCategoricalCrossentropy"
    assert type(resolve_accuracy("ce", None, (4, 1), (4, 1))).__name__ == "BinaryCrossentropy"
    with pytest.raises(ValueError, match="Received: name='precision'"):
        resolve_accuracy("precision", None, (4,), (4, 1))


def test_get_names():
    assert type(metrics.get("accuracy")).__name__ == "Accuracy"
    assert type(metrics.get("acc")).__name__ == "Accuracy"
    assert type(metrics.get("binary_accuracy")).__name__ == "BinaryAccuracy"
    assert type(metrics.get("mae")).__name__ == "MeanAbsoluteError"
    assert type(metrics.get("precision")).__name__ == "Precision"
    assert type(metrics.get("AUC")).__name__ == "AUC"
    assert type(metrics.get({"class_name": "Recall", "config": {"thresholds": 0.2}})).__name__ == "Recall"
    assert metrics.get(None) is None
    fn = metrics.get(metrics.categorical_accuracy)
    assert fn is metrics.categorical_accuracy
    with pytest.raises(ValueError, match="Received: identifier='not_a_metric'"):
        metrics.get("not_a_metric")
    with pytest.raises(ValueError, match="Received: identifier=3"):
        metrics.get(3)


def test_functions_return_per_sample_values():
    out = metrics.categorical_accuracy(torch.eye(3), torch.tensor([[0.9, 0.1, 0.0], [0.9, 0.1, 0.0],
                                                                  [0.0, 0.1, 0.9]]))
    assert out.tolist() == [1.0, 0.0, 1.0]
    assert metrics.sparse_categorical_accuracy([[1], [0]], [[0.1, 0.9], [0.2, 0.8]]).tolist() == [1.0, 0.0]
