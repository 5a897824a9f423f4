"""IoU metrics against a NumPy confusion matrix; F-scores against NumPy precision/recall."""

import numpy as np
import pytest

from lamina import metrics

RNG = np.random.default_rng(4)
EPS = 1e-7


def np_confusion(labels, preds, num_classes, weights):
    cm = np.zeros((num_classes, num_classes))
    np.add.at(cm, (labels.reshape(-1), preds.reshape(-1)), weights.reshape(-1))
    return cm


def np_iou(cm, target_ids):
    tp = np.diag(cm)
    denom = cm.sum(0) + cm.sum(1) - tp
    tp, denom = tp[target_ids], denom[target_ids]
    return (tp / (denom + EPS)).sum() / ((denom > 1e-9).sum() + EPS)


def test_mean_iou_and_iou_vs_numpy_confusion_matrix():
    c = 4
    # A float dtype keeps the float weights (the default int64 state truncates them, as Keras does).
    mean_iou = metrics.MeanIoU(num_classes=c, dtype="float32")
    iou = metrics.IoU(num_classes=c, target_class_ids=[1, 3], dtype="float32")
    cm = np.zeros((c, c))
    for i in range(3):
        labels = RNG.integers(0, c, size=(3, 5))
        preds = RNG.integers(0, c - 1, size=(3, 5))  # class 3 is never predicted
        w = np.ones((3, 5)) if i == 0 else RNG.uniform(0.1, 2, size=(3, 5))
        for m in (mean_iou, iou):
            m.update_state(labels, preds, sample_weight=None if i == 0 else w.astype(np.float32))
        cm += np_confusion(labels, preds, c, w)
    np.testing.assert_allclose(mean_iou.total_cm.numpy(), cm, rtol=1e-5)
    np.testing.assert_allclose(float(mean_iou.result()), np_iou(cm, list(range(c))), rtol=1e-5)
    np.testing.assert_allclose(float(iou.result()), np_iou(cm, [1, 3]), rtol=1e-5)


def test_absent_classes_are_left_out_and_empty_is_zero():
    m = metrics.MeanIoU(num_classes=5)
    assert float(m.result()) == 0.0
    m.update_state([0, 0, 1, 1], [0, 1, 0, 1])
    assert float(m.result()) == pytest.approx(1 / 3, rel=1e-5)  # classes 2..4 never occur


def test_ignore_class_and_one_hot_variants():
    labels = np.array([0, 1, 2, 255, 1, 2])
    preds = np.array([0, 2, 2, 1, 1, 0])
    m = metrics.MeanIoU(num_classes=3, ignore_class=255)
    m.update_state(labels, preds)
    keep = labels != 255
    cm = np_confusion(labels[keep], preds[keep], 3, np.ones(keep.sum()))
    np.testing.assert_allclose(float(m.result()), np_iou(cm, [0, 1, 2]), rtol=1e-5)

    y_true = np.array([[0, 0, 1], [1, 0, 0], [0, 1, 0], [1, 0, 0]])
    y_pred = np.array([[0.2, 0.3, 0.5], [0.1, 0.2, 0.7], [0.5, 0.3, 0.1], [0.1, 0.4, 0.5]])
    w = np.array([0.1, 0.2, 0.3, 0.4])
    cm = np_confusion(y_true.argmax(-1), y_pred.argmax(-1), 3, w)
    one_hot = metrics.OneHotIoU(num_classes=3, target_class_ids=[0, 2], dtype="float32")
    one_hot.update_state(y_true, y_pred, sample_weight=w)
    np.testing.assert_allclose(float(one_hot.result()), np_iou(cm, [0, 2]), rtol=1e-5)
    one_hot_mean = metrics.OneHotMeanIoU(num_classes=3, dtype="float32")
    one_hot_mean.update_state(y_true, y_pred, sample_weight=w)
    np.testing.assert_allclose(float(one_hot_mean.result()), np_iou(cm, [0, 1, 2]), rtol=1e-5)


def test_binary_iou_vs_numpy():
    y_true = RNG.integers(0, 2, size=20)
    y_pred = RNG.uniform(size=20).astype(np.float32)
    w = RNG.uniform(size=20).astype(np.float32)
    m = metrics.BinaryIoU(target_class_ids=[0, 1], threshold=0.3, dtype="float32")
    m.update_state(y_true, y_pred, sample_weight=w)
    cm = np_confusion(y_true, (y_pred >= 0.3).astype(int), 2, w)
    np.testing.assert_allclose(float(m.result()), np_iou(cm, [0, 1]), rtol=1e-5)
    m.reset_state()
    assert float(m.total_cm.numpy().sum()) == 0.0


def test_iou_configs_and_errors():
    for m in (metrics.MeanIoU(3, name="miou", ignore_class=0), metrics.IoU(3, [2], sparse_y_pred=False),
              metrics.BinaryIoU([1], threshold=0.2), metrics.OneHotMeanIoU(4), metrics.OneHotIoU(4, [0, 1])):
        clone = type(m).from_config(m.get_config())
        assert clone.get_config() == m.get_config()
    assert metrics.MeanIoU(3, name="m").get_config() == {
        "num_classes": 3, "name": "m", "dtype": "int64", "ignore_class": None, "sparse_y_true": True,
        "sparse_y_pred": True, "axis": -1}
    with pytest.raises(ValueError, match=r"Received: target_class_ids=\[3\]"):
        metrics.IoU(num_classes=3, target_class_ids=[3])
    with pytest.raises(ValueError, match=r"class ids in \[0, 3\)"):
        metrics.MeanIoU(num_classes=3).update_state([0, 5], [0, 1])


def np_fbeta(y_true, y_pred, weights, beta, threshold, average):
    if threshold is None:
        pred = (y_pred >= y_pred.max(-1, keepdims=True)) & (np.abs(y_pred) > 1e-9)
    else:
        pred = y_pred > threshold
    pred, w = pred.astype(np.float64), weights[:, None]
    axis = None if average == "micro" else 0
    tp = (w * pred * y_true).sum(axis)
    fp = (w * pred * (1 - y_true)).sum(axis)
    fn = (w * (1 - pred) * y_true).sum(axis)
    support = (w * y_true).sum(axis)
    precision, recall = tp / (tp + fp + EPS), tp / (tp + fn + EPS)
    b2 = beta**2
    score = (1 + b2) * precision * recall / (b2 * precision + recall + EPS)
    if average == "weighted":
        return (score * support / (support.sum() + EPS)).sum()
    return score.mean() if average else score


@pytest.mark.parametrize("average", [None, "micro", "macro", "weighted"])
@pytest.mark.parametrize("beta, threshold", [(1.0, None), (2.0, 0.4)])
def test_fbeta_vs_numpy(average, beta, threshold):
    m = metrics.FBetaScore(average=average, beta=beta, threshold=threshold)
    ys_true, ys_pred, ws = [], [], []
    for i in range(3):
        y_true = RNG.integers(0, 2, size=(7, 4)).astype(np.float32)
        y_pred = RNG.uniform(size=(7, 4)).astype(np.float32)
        w = np.ones(7, np.float32) if i == 0 else RNG.uniform(0.2, 1.5, size=7).astype(np.float32)
        m.update_state(y_true, y_pred, sample_weight=None if i == 0 else w)
        ys_true.append(y_true), ys_pred.append(y_pred), ws.append(w)
    expected = np_fbeta(np.concatenate(ys_true), np.concatenate(ys_pred), np.concatenate(ws), beta, threshold,
                        average)
    np.testing.assert_allclose(m.result().numpy(), expected, rtol=1e-5, atol=1e-7)


def test_f1_keras_example_config_and_errors():
    m = metrics.F1Score(threshold=0.5)
    y_true = np.array([[1, 1, 1], [1, 0, 0], [1, 1, 0]], np.int32)
    y_pred = np.array([[0.2, 0.6, 0.7], [0.2, 0.6, 0.6], [0.6, 0.8, 0.0]], np.float32)
    np.testing.assert_allclose(m(y_true, y_pred).numpy(), [0.5, 0.8, 0.6666667], rtol=1e-5)
    assert m.get_config() == {"name": "f1_score", "dtype": "float32", "average": None, "threshold": 0.5}
    assert metrics.F1Score.from_config(m.get_config()).get_config() == m.get_config()
    assert metrics.FBetaScore(beta=2.0).get_config()["beta"] == 2.0
    m.reset_state()
    assert m.result().numpy().tolist() == [0.0, 0.0, 0.0]
    assert float(metrics.F1Score().result()) == 0.0
    with pytest.raises(ValueError, match="Received: beta=2 of type"):
        metrics.FBetaScore(beta=2)
    with pytest.raises(ValueError, match="Received: average=samples"):
        metrics.F1Score(average="samples")
    with pytest.raises(ValueError, match=r"Received: threshold=1.5"):
        metrics.F1Score(threshold=1.5)
    with pytest.raises(ValueError, match=r"2D inputs.*y_pred.shape=\(3,\)"):
        metrics.F1Score().update_state([1, 0, 1], [0.2, 0.3, 0.9])
