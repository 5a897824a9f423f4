"""Thresholded confusion-matrix accumulation, vectorised over thresholds.

For each threshold ``t`` a prediction counts as positive when ``y_pred > t``. The
counts for all thresholds come from one batched comparison, or, for evenly spaced
thresholds (AUC's default), from a histogram of the predictions over the threshold
buckets followed by a reversed cumulative sum: ``O(T + N)`` instead of ``O(T * N)``,
with the same bucket rule as Keras (``ceil(p * (T - 1)) - 1``).

>>> import torch
>>> from lamina.backend.variable import Variable
>>> tp = Variable(torch.zeros(3), trainable=False)
>>> update_confusion_matrix_variables({"tp": tp}, torch.tensor([0, 0, 1, 1]), torch.tensor([0.0, 0.5, 0.3, 0.9]),
...                                   thresholds=[0.0, 0.5, 1.0], thresholds_distributed_evenly=True)
>>> tp.tolist()
[2.0, 1.0, 0.0]
"""

import numpy as np
import torch

from lamina.backend import config
from lamina.metrics.utils import check_broadcastable, check_same_shape, convert, squeeze_or_expand_to_same_rank

NEG_INF = -1e10
KEYS = ("tp", "fp", "tn", "fn")


def _to_list(x):
    if isinstance(x, (list, tuple)):
        return list(x)
    if isinstance(x, np.ndarray):
        return x.tolist()
    return [x]


def assert_thresholds_range(thresholds):
    """Raises ValueError unless every threshold is a number in [0, 1]."""
    if thresholds is not None:
        invalid = [t for t in _to_list(thresholds) if t is None or t < 0 or t > 1]
        if invalid:
            raise ValueError(f"Threshold values must be in [0, 1]. Received: thresholds={invalid}")


def parse_init_thresholds(thresholds, default_threshold=0.5):
    """The thresholds as a list of floats (``[default_threshold]`` when ``None``)."""
    if thresholds is not None:
        assert_thresholds_range(thresholds)
    return [float(t) for t in _to_list(default_threshold if thresholds is None else thresholds)]


def is_evenly_distributed_thresholds(thresholds):
    """Whether ``thresholds`` (3 or more) are ``i / (n - 1)`` for ``i = 0..n-1``, to within epsilon."""
    n = len(thresholds)
    if n < 3:
        return False
    even = np.arange(n, dtype=np.float32) / (n - 1)
    return bool(np.allclose(np.asarray(thresholds, dtype=np.float64), even, atol=config.epsilon()))


def filter_top_k(x, k):
    """Keeps the ``k`` largest values of the last axis (earlier index first on ties); the rest become NEG_INF."""
    k = min(int(k), x.shape[-1])
    order = torch.sort(x, dim=-1, descending=True, stable=True).indices[..., :k]
    keep = torch.zeros_like(x, dtype=torch.bool).scatter_(-1, order, True)
    return torch.where(keep, x, torch.full_like(x, NEG_INF))


def _prepare(y_true, y_pred, sample_weight, dtype, top_k, class_id, name):
    y_true = convert(y_true, dtype, y_pred.device).to(y_pred.device)
    y_pred, y_true = squeeze_or_expand_to_same_rank(y_pred, y_true)
    if y_true.shape != y_pred.shape:
        check_same_shape(name, y_true, y_pred)
        y_true = y_true.expand(torch.broadcast_shapes(y_true.shape, y_pred.shape))
        y_pred = y_pred.expand(y_true.shape)
    if sample_weight is not None:
        sample_weight = convert(sample_weight, dtype, y_pred.device).to(y_pred.device).unsqueeze(-1)
        _, sample_weight = squeeze_or_expand_to_same_rank(y_true, sample_weight, expand_rank_1=False)
    if top_k is not None:
        y_pred = filter_top_k(y_pred, top_k)
    if class_id is not None:
        if y_pred.dim() < 2:
            raise ValueError(f"Metric '{name}': when `class_id` is given, `y_pred` must have shape "
                             f"(num_samples, num_classes). Received: y_pred.shape={tuple(y_pred.shape)}")
        if not -y_pred.shape[-1] <= class_id < y_pred.shape[-1]:
            raise ValueError(f"Metric '{name}': `class_id` must be in [0, {y_pred.shape[-1]}). "
                             f"Received: class_id={class_id}")
        y_true = y_true[..., class_id, None]
        y_pred = y_pred[..., class_id, None]
    if sample_weight is not None:
        check_broadcastable(name, sample_weight.shape, y_pred.shape, target="y_pred")
        sample_weight = sample_weight.expand(y_pred.shape)
    return y_true, y_pred, sample_weight


def update_confusion_matrix_variables(variables, y_true, y_pred, thresholds, top_k=None, class_id=None,
                                      sample_weight=None, multi_label=False, label_weights=None,
                                      thresholds_distributed_evenly=False, name="metric"):
    """Adds the weighted TP/FP/TN/FN counts at every threshold to the given Variables.

    Args:
        variables: dict with some of the keys ``'tp'``, ``'fp'``, ``'tn'``, ``'fn'`` mapping to
            Variables of shape ``(T,)`` (or ``(T, num_labels)`` with ``multi_label``).
        y_true: labels, cast to bool; same shape as ``y_pred`` (up to a trailing size-1 axis).
        y_pred: scores, usually in [0, 1].
        thresholds: list of ``T`` floats.
        top_k: keep only the ``top_k`` highest scores of the last axis as candidates.
        class_id: restrict to one class (last axis index).
        sample_weight: weights broadcastable to ``y_true``.
        multi_label: keep the last axis as separate labels instead of flattening.
        label_weights: per-label weights (last axis), used when not ``multi_label``.
        thresholds_distributed_evenly: use the bucketed O(T + N) path.
        name: the metric's name, for error messages.
    """
    unknown = [key for key in variables if key not in KEYS]
    if unknown or not variables:
        raise ValueError(f"Expected confusion matrix keys among {KEYS}. Received: {sorted(variables)}")
    first = next(iter(variables.values()))
    dtype = first.dtype
    y_pred = convert(y_pred, dtype)
    y_true, y_pred, weights = _prepare(y_true, y_pred, sample_weight, dtype, top_k, class_id, name)
    if label_weights is not None and not multi_label:
        label_weights = convert(label_weights, dtype, y_pred.device).to(y_pred.device).expand(y_pred.shape)
        weights = label_weights if weights is None else weights * label_weights
    positive = y_true.to(torch.bool)
    if not multi_label:
        positive, y_pred = positive.reshape(-1), y_pred.reshape(-1)
        weights = weights.reshape(-1) if weights is not None else None
    elif y_pred.dim() != 2:
        raise ValueError(f"Metric '{name}': `y_pred` must have rank 2 when `multi_label=True`. "
                         f"Received: y_pred.shape={tuple(y_pred.shape)}")
    ones = torch.ones((), dtype=y_pred.dtype, device=y_pred.device)
    weights = weights if weights is not None else ones.expand(y_pred.shape)
    true_w = torch.where(positive, weights, torch.zeros_like(weights))
    false_w = weights - true_w
    if thresholds_distributed_evenly:
        with_epsilon = thresholds[0] < 0.0 or thresholds[-1] > 1.0
        tp, fp = _bucketed_counts(y_pred, true_w, false_w, len(thresholds), with_epsilon)
    else:
        thresh = torch.as_tensor(thresholds, dtype=y_pred.dtype, device=y_pred.device)
        # (T, ...) comparison of every prediction with every threshold.
        above = (y_pred.unsqueeze(0) > thresh.reshape((-1,) + (1,) * y_pred.dim())).to(y_pred.dtype)
        tp, fp = (above * true_w).sum(dim=1), (above * false_w).sum(dim=1)
    totals = {"tp": tp, "fp": fp}
    if "fn" in variables:
        totals["fn"] = true_w.sum(dim=0) - tp
    if "tn" in variables:
        totals["tn"] = false_w.sum(dim=0) - fp
    for key, variable in variables.items():
        variable.assign_add(totals[key])


def _bucketed_counts(y_pred, true_w, false_w, num_thresholds, with_epsilon):
    """TP and FP per threshold for thresholds ``i / (T - 1)`` from a histogram over buckets."""
    y_pred = y_pred.clamp(0.0, 1.0)
    buckets = torch.ceil(y_pred * (num_thresholds - 1)) - 1
    if with_epsilon:
        buckets = buckets.clamp_min(0)
    buckets = buckets.to(torch.int64)
    valid = buckets >= 0  # a bucket of -1 (prediction 0 at threshold 0) counts nowhere
    buckets = buckets.clamp_min(0)
    true_w = torch.where(valid, true_w, torch.zeros_like(true_w))
    false_w = torch.where(valid, false_w, torch.zeros_like(false_w))
    if y_pred.dim() == 2:  # multi-label: one histogram per label
        num_labels = y_pred.shape[1]
        index = (buckets * num_labels + torch.arange(num_labels, device=y_pred.device)).reshape(-1)
        shape, size = (num_thresholds, num_labels), num_thresholds * num_labels
    else:
        index, shape, size = buckets, (num_thresholds,), num_thresholds
    hist_tp = torch.zeros(size, dtype=true_w.dtype, device=y_pred.device).index_add_(0, index, true_w.reshape(-1))
    hist_fp = torch.zeros(size, dtype=true_w.dtype, device=y_pred.device).index_add_(0, index, false_w.reshape(-1))
    hist_tp, hist_fp = hist_tp.reshape(shape), hist_fp.reshape(shape)
    # Threshold i counts every bucket j >= i: a reversed cumulative sum.
    tp = hist_tp.flip(0).cumsum(0).flip(0)
    fp = hist_fp.flip(0).cumsum(0).flip(0)
    return tp, fp


def confusion_matrix(labels, predictions, num_classes, weights=None, dtype=torch.float32, name="metric"):
    """The ``(num_classes, num_classes)`` matrix of weighted counts; rows are labels, columns predictions."""
    labels = labels.reshape(-1).to(torch.int64)
    predictions = predictions.reshape(-1).to(torch.int64)
    bad = (labels < 0) | (labels >= num_classes) | (predictions < 0) | (predictions >= num_classes)
    if bool(bad.any()):
        raise ValueError(f"Metric '{name}': labels and predictions must be class ids in [0, {num_classes}). "
                         f"Received: labels={labels[bad].tolist()[:5]}, predictions={predictions[bad].tolist()[:5]}")
    values = torch.ones_like(labels, dtype=dtype) if weights is None else weights.reshape(-1).to(dtype)
    flat = torch.zeros(num_classes * num_classes, dtype=dtype, device=labels.device)
    flat.index_add_(0, labels * num_classes + predictions, values)
    return flat.reshape(num_classes, num_classes)
