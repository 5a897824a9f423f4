"""Writes ``metrics.json``: Keras 3's results for the cases of ``tests/metrics/test_against_keras.py``.

Run it in a Python that has Keras 3 (and TensorFlow, its backend here), never lamina:

    /tmp/keras-venv/bin/python tests/metrics/keras_reference/make_reference.py

It was last run with keras 3.15.1 and tensorflow-cpu 2.21 (``KERAS_BACKEND=tensorflow``).

Each case builds one metric from its class name and constructor arguments, then runs a list of
steps: ``update`` (inputs and an optional ``sample_weight``) or ``reset``. The file records the
inputs, the ``result()`` before the first step and after every step (or the name of the error a
step raised), the ``get_config()`` of the metric and the names and shapes of its variables.
Inputs come from a seeded NumPy generator and are stored, so the test never regenerates them.
"""

import json
import os
import pathlib

import numpy as np

OUT = pathlib.Path(__file__).with_name("metrics.json")


def short(values):
    """float32 values as the shortest decimals that read back as the same float32."""
    return [float(str(v)) for v in np.asarray(values, np.float32).reshape(-1)]


def enc(x):
    """A JSON form of an input: arrays keep their dtype and shape."""
    if isinstance(x, np.ndarray):
        # Whole numbers are written as ints ("1", not "1.0"); the dtype restores them.
        data = [int(v) if v.is_integer() else v for v in short(x)] if x.dtype == np.float32 else x.reshape(-1).tolist()
        return {"dtype": str(x.dtype), "shape": list(x.shape), "data": data}
    return x


def to_list(x):
    x = np.asarray(x)
    if x.dtype == np.float32:
        return np.asarray(short(x)).reshape(x.shape).tolist()
    return x.astype(np.float64).tolist()


def rng_for(name):
    return np.random.default_rng(abs(hash_str(name)) % (2**32))


def hash_str(s):
    h = 0
    for c in s:
        h = (h * 131 + ord(c)) % (2**31)
    return h


# ---- the cases -----------------------------------------------------------------------------


def f32(x):
    return np.asarray(x, dtype=np.float32)


def i32(x):
    return np.asarray(x, dtype=np.int32)


def binary(rng, *shape):
    return (rng.random(shape) > 0.5).astype(np.float32)


def probs(rng, *shape):
    # Three decimals keep the JSON small; some values then fall exactly on thresholds, which is tested too.
    return rng.random(shape).round(3).astype(np.float32)


def normal(rng, *shape, scale=1.0):
    return (rng.normal(size=shape) * scale).round(3).astype(np.float32)


def one_hot(rng, n, k):
    return np.eye(k, dtype=np.float32)[rng.integers(0, k, n)]


def softmax(rng, *shape):
    x = rng.normal(size=shape)
    e = np.exp(x - x.max(-1, keepdims=True))
    return (e / e.sum(-1, keepdims=True)).round(3).astype(np.float32)


def weights(rng, n, zeros=True):
    w = rng.random(n).round(3).astype(np.float32) + 0.1
    if zeros:
        w[::3] = 0.0
    return w


CASES = []


def case(cid, cls, kwargs, steps):
    CASES.append({"id": cid, "cls": cls, "kwargs": kwargs, "steps": steps})


def U(*args, sample_weight=None):
    return {"op": "update", "args": list(args), "sample_weight": sample_weight}


R = {"op": "reset"}


def standard(rng, make, n=6, zeros=True):
    """Three updates (plain, weighted with zeros, all-zero weights), reset, one more update."""
    a1, a2, a3, a4 = make(n), make(n), make(n), make(n)
    return [U(*a1), U(*a2, sample_weight=weights(rng, n, zeros)), U(*a3, sample_weight=np.zeros(n, np.float32)),
            R, U(*a4)]


def build_cases():
    # -- reduction ----------------------------------------------------------------------------
    rng = rng_for("mean")
    for cls in ("Mean", "Sum"):
        case(f"{cls}-basic", cls, {}, [
            U(f32([1, 3, 5, 7])),
            U(f32([1, 3, 5, 7]), sample_weight=f32([1, 1, 0, 0])),
            U(probs(rng, 4, 3), sample_weight=f32([0.5, 0, 2, 1])),
            U(probs(rng, 4, 3), sample_weight=probs(rng, 4, 3)),
            U(probs(rng, 2, 3, 2), sample_weight=f32([1, 2])),
            U(f32(2.5)),
            U(f32(2.5), sample_weight=f32(3.0)),
            R,
            U(probs(rng, 5)),
        ])
        case(f"{cls}-zero-weights", cls, {}, [U(f32([1, 2, 3]), sample_weight=f32([0, 0, 0]))])
    case("MeanMetricWrapper-mse", "MeanMetricWrapper", {"fn": "mean_squared_error"},
         standard(rng, lambda n: (probs(rng, n, 3), probs(rng, n, 3))))
    case("MeanMetricWrapper-binary_accuracy-threshold", "MeanMetricWrapper",
         {"fn": "binary_accuracy", "threshold": 0.7}, standard(rng, lambda n: (binary(rng, n, 1), probs(rng, n, 1))))

    # -- accuracy -----------------------------------------------------------------------------
    rng = rng_for("accuracy")
    case("Accuracy-rank2", "Accuracy", {}, standard(
        rng, lambda n: (i32(rng.integers(0, 3, (n, 1))), i32(rng.integers(0, 3, (n, 1))))))
    case("Accuracy-rank1-float", "Accuracy", {}, standard(
        rng, lambda n: (f32(rng.integers(0, 3, n)), f32(rng.integers(0, 3, n)))))
    case("Accuracy-multi", "Accuracy", {}, standard(
        rng, lambda n: (f32(rng.integers(0, 2, (n, 3))), f32(rng.integers(0, 2, (n, 3))))))
    for threshold in (0.5, 0.7):
        case(f"BinaryAccuracy-{threshold}", "BinaryAccuracy", {"threshold": threshold},
             standard(rng, lambda n: (binary(rng, n, 1), probs(rng, n, 1))))
    case("BinaryAccuracy-multi", "BinaryAccuracy", {},
         standard(rng, lambda n: (binary(rng, n, 3), probs(rng, n, 3))))
    case("BinaryAccuracy-rank1-true", "BinaryAccuracy", {},
         standard(rng, lambda n: (binary(rng, n), probs(rng, n, 1))))
    case("BinaryAccuracy-exact-threshold", "BinaryAccuracy", {},
         [U(f32([[1], [0], [1], [0]]), f32([[0.5], [0.5], [0.0], [1.0]]))])
    case("CategoricalAccuracy", "CategoricalAccuracy", {},
         standard(rng, lambda n: (one_hot(rng, n, 4), softmax(rng, n, 4))))
    case("CategoricalAccuracy-rank3", "CategoricalAccuracy", {},
         [U(one_hot(rng, 6, 4).reshape(2, 3, 4), softmax(rng, 2, 3, 4)),
          U(one_hot(rng, 6, 4).reshape(2, 3, 4), softmax(rng, 2, 3, 4), sample_weight=f32([1, 0])),
          U(one_hot(rng, 6, 4).reshape(2, 3, 4), softmax(rng, 2, 3, 4), sample_weight=f32([[1, 0, 2], [0.5, 1, 0]]))])
    case("SparseCategoricalAccuracy-rank1", "SparseCategoricalAccuracy", {},
         standard(rng, lambda n: (i32(rng.integers(0, 4, n)), softmax(rng, n, 4))))
    case("SparseCategoricalAccuracy-trailing1", "SparseCategoricalAccuracy", {},
         standard(rng, lambda n: (i32(rng.integers(0, 4, (n, 1))), softmax(rng, n, 4))))
    case("SparseCategoricalAccuracy-float-labels", "SparseCategoricalAccuracy", {},
         standard(rng, lambda n: (f32(rng.integers(0, 4, (n, 1))), softmax(rng, n, 4))))
    case("SparseCategoricalAccuracy-rank3", "SparseCategoricalAccuracy", {},
         [U(i32(rng.integers(0, 4, (2, 3))), softmax(rng, 2, 3, 4)),
          U(i32(rng.integers(0, 4, (2, 3, 1))), softmax(rng, 2, 3, 4)),
          U(i32(rng.integers(0, 4, (2, 3))), softmax(rng, 2, 3, 4), sample_weight=f32([1, 0])),
          U(i32(rng.integers(0, 4, (2, 3, 1))), softmax(rng, 2, 3, 4), sample_weight=f32([[1, 0, 2], [0.5, 1, 0]]))])
    for k in (1, 2, 3):
        case(f"TopKCategoricalAccuracy-k{k}", "TopKCategoricalAccuracy", {"k": k},
             standard(rng, lambda n: (one_hot(rng, n, 5), softmax(rng, n, 5))))
        case(f"SparseTopKCategoricalAccuracy-k{k}", "SparseTopKCategoricalAccuracy", {"k": k},
             standard(rng, lambda n: (i32(rng.integers(0, 5, n)), softmax(rng, n, 5))))
    case("TopKCategoricalAccuracy-default-k", "TopKCategoricalAccuracy", {},
         standard(rng, lambda n: (one_hot(rng, n, 8), softmax(rng, n, 8))))
    case("TopKCategoricalAccuracy-ties", "TopKCategoricalAccuracy", {"k": 1},
         [U(f32([[0, 1, 0], [1, 0, 0]]), f32([[0.4, 0.4, 0.2], [0.4, 0.4, 0.2]]))])
    case("SparseTopKCategoricalAccuracy-trailing1", "SparseTopKCategoricalAccuracy", {"k": 2},
         standard(rng, lambda n: (i32(rng.integers(0, 5, (n, 1))), softmax(rng, n, 5))))
    case("SparseTopKCategoricalAccuracy-rank3", "SparseTopKCategoricalAccuracy", {"k": 2},
         [U(i32(rng.integers(0, 5, (2, 3))), softmax(rng, 2, 3, 5)),
          U(i32(rng.integers(0, 5, (2, 3))), softmax(rng, 2, 3, 5), sample_weight=f32([1, 0]))])

    def sorted_ids(n):
        ids = np.stack([rng.permutation(5) for _ in range(n)]).astype(np.int32)
        return i32(rng.integers(0, 5, n)), ids

    for k in (1, 3):
        case(f"SparseTopKCategoricalAccuracy-sorted-ids-k{k}", "SparseTopKCategoricalAccuracy",
             {"k": k, "from_sorted_ids": True}, standard(rng, sorted_ids))

    # -- confusion counts, precision, recall -------------------------------------------------
    rng = rng_for("confusion")
    for cls in ("TruePositives", "FalsePositives", "TrueNegatives", "FalseNegatives"):
        for thresholds in (None, 0.3, [0.15, 0.5, 0.85]):
            case(f"{cls}-{thresholds}", cls, {"thresholds": thresholds},
                 standard(rng, lambda n: (binary(rng, n), probs(rng, n))))
        case(f"{cls}-2d", cls, {"thresholds": [0.25, 0.75]},
             standard(rng, lambda n: (binary(rng, n, 3), probs(rng, n, 3))))
    for cls in ("Precision", "Recall"):
        variants = {
            "default": {},
            "t0.7": {"thresholds": 0.7},
            "tlist": {"thresholds": [0.2, 0.5, 0.8]},
            "top2": {"top_k": 2},
            "class1": {"class_id": 1},
            "top2-class1": {"top_k": 2, "class_id": 1},
            "top1-class2-t0.3": {"top_k": 1, "class_id": 2, "thresholds": 0.3},
            "top2-tlist": {"top_k": 2, "thresholds": [0.1, 0.6]},
        }
        for vid, kw in variants.items():
            case(f"{cls}-{vid}", cls, kw, standard(rng, lambda n: (binary(rng, n, 4), probs(rng, n, 4))))
        case(f"{cls}-rank1", cls, {}, standard(rng, lambda n: (binary(rng, n), probs(rng, n))))
        case(f"{cls}-2d-weights", cls, {"thresholds": [0.3, 0.6]},
             [U(binary(rng, 5, 3), probs(rng, 5, 3), sample_weight=probs(rng, 5, 3)),
              U(binary(rng, 5, 3), probs(rng, 5, 3), sample_weight=probs(rng, 5, 1))])
    for cls, arg in (("PrecisionAtRecall", "recall"), ("RecallAtPrecision", "precision"),
                     ("SensitivityAtSpecificity", "specificity"), ("SpecificityAtSensitivity", "sensitivity")):
        for value in (0.5, 0.8):
            case(f"{cls}-{value}", cls, {arg: value},
                 standard(rng, lambda n: (binary(rng, n), probs(rng, n)), n=12))
        case(f"{cls}-nt10", cls, {arg: 0.6, "num_thresholds": 10},
             standard(rng, lambda n: (binary(rng, n), probs(rng, n)), n=12))
        case(f"{cls}-nt1", cls, {arg: 0.6, "num_thresholds": 1},
             standard(rng, lambda n: (binary(rng, n), probs(rng, n)), n=12))
        case(f"{cls}-class1", cls, {arg: 0.6, "class_id": 1},
             standard(rng, lambda n: (binary(rng, n, 3), probs(rng, n, 3)), n=8))
        case(f"{cls}-unreachable", cls, {arg: 1.0},
             [U(f32([0, 1, 0, 1]), f32([0.9, 0.1, 0.8, 0.2]))])
        case(f"{cls}-edges", cls, {arg: 0.5, "num_thresholds": 5},
             [U(f32([0, 1, 0, 1, 1, 0]), f32([0.0, 1.0, 0.25, 0.5, 0.75, 1.0]))])

    # -- AUC ----------------------------------------------------------------------------------
    rng = rng_for("auc")
    for curve in ("ROC", "PR"):
        for summation in ("interpolation", "minoring", "majoring"):
            case(f"AUC-{curve}-{summation}", "AUC", {"curve": curve, "summation_method": summation},
                 standard(rng, lambda n: (binary(rng, n), probs(rng, n)), n=12))
            case(f"AUC-{curve}-{summation}-nt7", "AUC",
                 {"curve": curve, "summation_method": summation, "num_thresholds": 7},
                 standard(rng, lambda n: (binary(rng, n), probs(rng, n)), n=12))
            case(f"AUC-{curve}-{summation}-thresholds", "AUC",
                 {"curve": curve, "summation_method": summation, "thresholds": [0.1, 0.5, 0.9]},
                 standard(rng, lambda n: (binary(rng, n), probs(rng, n)), n=12))
        case(f"AUC-{curve}-multi-label", "AUC", {"curve": curve, "multi_label": True},
             standard(rng, lambda n: (binary(rng, n, 3), probs(rng, n, 3)), n=10))
        case(f"AUC-{curve}-multi-label-num-labels-weights", "AUC",
             {"curve": curve, "multi_label": True, "num_labels": 3, "label_weights": [0.2, 0.3, 0.5]},
             standard(rng, lambda n: (binary(rng, n, 3), probs(rng, n, 3)), n=10))
        case(f"AUC-{curve}-label-weights", "AUC", {"curve": curve, "label_weights": [0.2, 1.0, 0.5]},
             standard(rng, lambda n: (binary(rng, n, 3), probs(rng, n, 3)), n=10))
        case(f"AUC-{curve}-flat-2d", "AUC", {"curve": curve, "num_thresholds": 50},
             standard(rng, lambda n: (binary(rng, n, 3), probs(rng, n, 3)), n=10))
        case(f"AUC-{curve}-from-logits", "AUC", {"curve": curve, "from_logits": True},
             standard(rng, lambda n: (binary(rng, n), normal(rng, n, scale=3.0)), n=20))
        case(f"AUC-{curve}-edges", "AUC", {"curve": curve, "num_thresholds": 5},
             [U(f32([0, 1, 0, 1, 1, 0, 1]), f32([0.0, 1.0, 0.25, 0.5, 0.75, 1.0, 0.0]))])
        case(f"AUC-{curve}-all-one-class", "AUC", {"curve": curve},
             [U(f32([1, 1, 1, 1]), f32([0.2, 0.4, 0.6, 0.8])), R, U(f32([0, 0, 0]), f32([0.1, 0.5, 0.9]))])
    case("AUC-multi-label-uneven-thresholds", "AUC",
         {"multi_label": True, "thresholds": [0.3, 0.35, 0.9]},
         standard(rng, lambda n: (binary(rng, n, 2), probs(rng, n, 2)), n=10))

    # -- regression ---------------------------------------------------------------------------
    rng = rng_for("regression")
    for cls in ("MeanSquaredError", "RootMeanSquaredError", "MeanAbsoluteError", "MeanAbsolutePercentageError",
                "MeanSquaredLogarithmicError", "LogCoshError"):
        case(f"{cls}", cls, {}, standard(rng, lambda n: (probs(rng, n, 3) * 3, probs(rng, n, 3) * 3)))
        # Rank-1 inputs reduce to one value per batch: Keras accepts only a scalar weight then.
        case(f"{cls}-rank1", cls, {}, [U(probs(rng, 5), probs(rng, 5)),
                                       U(probs(rng, 5), probs(rng, 5), sample_weight=f32(0.5)), R,
                                       U(probs(rng, 3), probs(rng, 3))])
        case(f"{cls}-rank1-weights-error", cls, {}, [U(probs(rng, 5), probs(rng, 5), sample_weight=probs(rng, 5))])
        case(f"{cls}-column-weights", cls, {},
             [U(probs(rng, 4, 3), probs(rng, 4, 3), sample_weight=probs(rng, 4, 1)),
              U(probs(rng, 2, 3, 2), probs(rng, 2, 3, 2), sample_weight=probs(rng, 2, 3))])
    case("MeanAbsolutePercentageError-zero-true", "MeanAbsolutePercentageError", {},
         [U(f32([[0.0, 1.0], [2.0, 0.0]]), f32([[0.5, 1.5], [2.0, 0.1]]))])
    for axis in (-1, 1):
        case(f"CosineSimilarity-axis{axis}", "CosineSimilarity", {"axis": axis},
             standard(rng, lambda n: (normal(rng, n, 3), normal(rng, n, 3))))
    case("CosineSimilarity-axis0", "CosineSimilarity", {"axis": 0},
         [U(normal(rng, 4, 3), normal(rng, 4, 3)),
          U(normal(rng, 4, 3), normal(rng, 4, 3), sample_weight=f32([1, 0, 2]))])
    case("CosineSimilarity-zeros", "CosineSimilarity", {}, [U(f32([[0, 0], [1, 1]]), f32([[1, 0], [1, 1]]))])
    for agg in ("uniform_average", "variance_weighted_average", None):
        case(f"R2Score-{agg}", "R2Score", {"class_aggregation": agg},
             standard(rng, lambda n: (probs(rng, n, 2) * 4, probs(rng, n, 2) * 4), n=8))
    case("R2Score-num-regressors", "R2Score", {"num_regressors": 2},
         standard(rng, lambda n: (probs(rng, n, 2), probs(rng, n, 2)), n=8))
    case("R2Score-num-regressors-too-many", "R2Score", {"num_regressors": 30},
         [U(probs(rng, 4, 2), probs(rng, 4, 2))])
    case("R2Score-constant-true", "R2Score", {},
         [U(f32([[1.0, 2.0], [1.0, 3.0], [1.0, 4.0]]), f32([[1.0, 2.5], [2.0, 3.0], [1.5, 4.0]]))])

    for cls in ("PearsonCorrelation", "ConcordanceCorrelation"):
        case(f"{cls}", cls, {}, standard(rng, lambda n: (probs(rng, n, 5), probs(rng, n, 5))))
        case(f"{cls}-axis0", cls, {"axis": 0},
             [U(normal(rng, 6, 3), normal(rng, 6, 3)),
              U(normal(rng, 6, 3), normal(rng, 6, 3), sample_weight=f32([1, 0, 2]))])
    case("ConcordanceCorrelation-constant", "ConcordanceCorrelation", {},
         [U(f32([[0.3, 0.3, 0.3], [1, 2, 3]]), f32([[0.1, 0.5, 0.2], [1, 2, 3]]))])

    # -- hinge, probabilistic -----------------------------------------------------------------
    rng = rng_for("probabilistic")
    for cls in ("Hinge", "SquaredHinge"):
        case(f"{cls}-01", cls, {}, standard(rng, lambda n: (binary(rng, n, 3), normal(rng, n, 3))))
        case(f"{cls}-pm1", cls, {},
             standard(rng, lambda n: (binary(rng, n, 3) * 2 - 1, normal(rng, n, 3))))
    case("CategoricalHinge", "CategoricalHinge", {},
         standard(rng, lambda n: (one_hot(rng, n, 4), normal(rng, n, 4))))
    case("KLDivergence", "KLDivergence", {}, standard(rng, lambda n: (softmax(rng, n, 4), softmax(rng, n, 4))))
    case("KLDivergence-zeros", "KLDivergence", {}, standard(rng, lambda n: (one_hot(rng, n, 4), softmax(rng, n, 4))))
    case("Poisson", "Poisson", {}, standard(rng, lambda n: (f32(rng.integers(0, 4, (n, 3))), probs(rng, n, 3) * 3)))
    for from_logits in (False, True):
        for smoothing in (0.0, 0.2):
            kw = {"from_logits": from_logits, "label_smoothing": smoothing}

            def pred(*shape, fl=from_logits):
                return normal(rng, *shape, scale=2.0) if fl else probs(rng, *shape)

            case(f"BinaryCrossentropy-{from_logits}-{smoothing}", "BinaryCrossentropy", kw,
                 standard(rng, lambda n, p=pred: (binary(rng, n, 3), p(n, 3))))

            def cpred(*shape, fl=from_logits):
                return normal(rng, *shape, scale=2.0) if fl else softmax(rng, *shape)

            case(f"CategoricalCrossentropy-{from_logits}-{smoothing}", "CategoricalCrossentropy", kw,
                 standard(rng, lambda n, p=cpred: (one_hot(rng, n, 4), p(n, 4))))
        case(f"SparseCategoricalCrossentropy-{from_logits}", "SparseCategoricalCrossentropy",
             {"from_logits": from_logits},
             standard(rng, lambda n, fl=from_logits: (
                 i32(rng.integers(0, 4, n)), normal(rng, n, 4) if fl else softmax(rng, n, 4))))
    for from_logits in (False, True):
        case(f"SparseCategoricalCrossentropy-ignore-class-{from_logits}", "SparseCategoricalCrossentropy",
             {"ignore_class": 1, "from_logits": from_logits},
             standard(rng, lambda n: (i32(rng.integers(0, 4, n)), softmax(rng, n, 4)), n=8))
    case("SparseCategoricalCrossentropy-ignore-class-rank3", "SparseCategoricalCrossentropy", {"ignore_class": 0},
         [U(i32(rng.integers(0, 3, (2, 4))), softmax(rng, 2, 4, 3)),
          U(i32(rng.integers(0, 3, (2, 4))), softmax(rng, 2, 4, 3), sample_weight=f32([[1, 0.5, 1, 1], [0, 1, 2, 1]]))])
    # Keras fails to broadcast the (2, 4) mask against per-sample weights of shape (2,) here.
    case("SparseCategoricalCrossentropy-ignore-class-rank3-sample-weights", "SparseCategoricalCrossentropy",
         {"ignore_class": 0}, [U(i32(rng.integers(0, 3, (2, 4))), softmax(rng, 2, 4, 3), sample_weight=f32([1, 0.5]))])
    case("SparseCategoricalCrossentropy-trailing1", "SparseCategoricalCrossentropy", {},
         standard(rng, lambda n: (i32(rng.integers(0, 4, (n, 1))), softmax(rng, n, 4))))
    case("CategoricalCrossentropy-axis0", "CategoricalCrossentropy", {"axis": 0},
         [U(one_hot(rng, 3, 4).T.copy(), softmax(rng, 3, 4).T.copy())])
    case("BinaryCrossentropy-rank1", "BinaryCrossentropy", {},
         standard(rng, lambda n: (binary(rng, n), probs(rng, n))))

    # -- more edge cases -----------------------------------------------------------------------
    rng = rng_for("edges")
    case("Mean-int-values", "Mean", {}, [U(i32([1, 2, 4])), U(i32([[1, 2], [3, 4]]), sample_weight=i32([1, 0]))])
    case("Sum-int-values", "Sum", {}, [U(i32([1, 2, 4])), U(i32([[1, 2], [3, 4]]), sample_weight=f32([0.5, 0]))])
    case("Mean-float64", "Mean", {"dtype": "float64"},
         [U(probs(rng, 5)), U(probs(rng, 5), sample_weight=probs(rng, 5))])
    case("MeanSquaredError-float64", "MeanSquaredError", {"dtype": "float64"},
         [U(probs(rng, 4, 2), probs(rng, 4, 2)), U(probs(rng, 4, 2), probs(rng, 4, 2), sample_weight=probs(rng, 4))])
    case("BinaryAccuracy-2d-weights", "BinaryAccuracy", {},
         [U(binary(rng, 4, 3), probs(rng, 4, 3), sample_weight=probs(rng, 4, 3))])
    case("Accuracy-2d-weights", "Accuracy", {},
         [U(f32(rng.integers(0, 2, (4, 3))), f32(rng.integers(0, 2, (4, 3))), sample_weight=probs(rng, 4, 3))])
    case("Accuracy-int-vs-float", "Accuracy", {}, [U(i32([1, 2, 3, 4]), f32([1.0, 2.0, 3.5, 0.0]))])
    case("TopKCategoricalAccuracy-k-over-classes", "TopKCategoricalAccuracy", {"k": 7},
         [U(one_hot(rng, 4, 3), softmax(rng, 4, 3))])
    case("SparseTopKCategoricalAccuracy-ties", "SparseTopKCategoricalAccuracy", {"k": 1},
         [U(i32([0, 1, 2]), f32([[0.5, 0.5, 0.0], [0.5, 0.5, 0.0], [0.2, 0.2, 0.2]]))])
    case("TruePositives-even-thresholds-on-values", "TruePositives", {"thresholds": [0.0, 0.25, 0.5, 0.75, 1.0]},
         [U(f32([1, 1, 1, 1, 1, 0]), f32([0.0, 0.25, 0.5, 0.75, 1.0, 0.5]))])
    case("FalsePositives-even-thresholds-on-values", "FalsePositives", {"thresholds": [0.0, 0.5, 1.0]},
         [U(f32([0, 0, 0, 0, 1]), f32([0.0, 0.5, 1.0, 0.3, 0.9]))])
    case("Precision-top2-ties", "Precision", {"top_k": 2},
         [U(f32([[1, 0, 1, 0], [0, 1, 0, 1]]), f32([[0.5, 0.5, 0.5, 0.1], [0.3, 0.3, 0.3, 0.3]]))])
    case("Recall-top1-ties", "Recall", {"top_k": 1},
         [U(f32([[1, 0, 1, 0], [0, 1, 0, 1]]), f32([[0.5, 0.5, 0.5, 0.1], [0.3, 0.3, 0.3, 0.3]]))])
    case("Precision-no-positives", "Precision", {}, [U(f32([1, 0, 1]), f32([0.1, 0.2, 0.3]))])
    case("AUC-unsorted-thresholds", "AUC", {"thresholds": [0.9, 0.1, 0.5]},
         standard(rng, lambda n: (binary(rng, n), probs(rng, n)), n=12))
    case("AUC-even-thresholds", "AUC", {"thresholds": [0.25, 0.5, 0.75]},
         standard(rng, lambda n: (binary(rng, n), f32(rng.integers(0, 5, n) / 4)), n=12))
    case("AUC-nt2", "AUC", {"num_thresholds": 2}, standard(rng, lambda n: (binary(rng, n), probs(rng, n)), n=12))
    case("AUC-multi-label-2d-weights", "AUC", {"multi_label": True, "num_labels": 2},
         [U(binary(rng, 6, 2), probs(rng, 6, 2), sample_weight=probs(rng, 6, 2)),
          U(binary(rng, 6, 2), probs(rng, 6, 2), sample_weight=probs(rng, 6, 1))])
    case("AUC-PR-interpolation-edges", "AUC", {"curve": "PR", "num_thresholds": 4},
         [U(f32([1, 0, 1, 0, 1]), f32([0.0, 0.0, 1.0, 1.0, 0.5]))])
    case("AUC-PR-multi-label-label-weights-zero-sum", "AUC",
         {"curve": "PR", "multi_label": True, "label_weights": [0.0, 0.0]},
         [U(binary(rng, 6, 2), probs(rng, 6, 2))])
    case("BinaryCrossentropy-saturated", "BinaryCrossentropy", {},
         [U(f32([[1, 0, 1, 0]]), f32([[0.0, 1.0, 1.0, 0.0]]))])
    case("CategoricalCrossentropy-unnormalized", "CategoricalCrossentropy", {},
         [U(one_hot(rng, 4, 3), probs(rng, 4, 3) * 3)])
    case("Hinge-rank1", "Hinge", {}, [U(binary(rng, 5), normal(rng, 5)), U(binary(rng, 5), normal(rng, 5))])
    case("F1Score-column-weights", "F1Score", {"average": "macro", "threshold": 0.5},
         [U(binary(rng, 6, 3), probs(rng, 6, 3), sample_weight=probs(rng, 6, 1))])
    case("F1Score-2d-weights", "F1Score", {"average": "micro", "threshold": 0.5},
         [U(binary(rng, 6, 3), probs(rng, 6, 3), sample_weight=probs(rng, 6, 3))])
    case("R2Score-weights-2d", "R2Score", {},
         [U(probs(rng, 6, 2), probs(rng, 6, 2), sample_weight=probs(rng, 6, 2)),
          U(probs(rng, 6, 2), probs(rng, 6, 2), sample_weight=probs(rng, 6, 1))])
    case("R2Score-rank1-error", "R2Score", {}, [U(probs(rng, 6), probs(rng, 6))])
    case("MeanIoU-float-dtype", "MeanIoU", {"num_classes": 3, "dtype": "float32"},
         [U(i32(rng.integers(0, 3, 8)), i32(rng.integers(0, 3, 8)), sample_weight=probs(rng, 8) * 2)])
    case("MeanIoU-float-ids", "MeanIoU", {"num_classes": 3},
         [U(f32([0, 1, 2, 2]), f32([0.0, 1.7, 2.2, 0.9]))])
    case("BinaryIoU-weights", "BinaryIoU", {},
         [U(binary(rng, 8), probs(rng, 8), sample_weight=f32(rng.integers(0, 3, 8)))])

    # -- IoU ----------------------------------------------------------------------------------
    rng = rng_for("iou")
    labels = lambda n: (i32(rng.integers(0, 3, n)), i32(rng.integers(0, 3, n)))  # noqa: E731
    case("MeanIoU", "MeanIoU", {"num_classes": 3}, standard(rng, labels, n=10))
    case("MeanIoU-ignore", "MeanIoU", {"num_classes": 3, "ignore_class": 0}, standard(rng, labels, n=10))
    case("MeanIoU-absent-class", "MeanIoU", {"num_classes": 4}, standard(rng, labels, n=10))
    case("MeanIoU-scores", "MeanIoU", {"num_classes": 3, "sparse_y_pred": False},
         standard(rng, lambda n: (i32(rng.integers(0, 3, n)), softmax(rng, n, 3)), n=10))
    case("MeanIoU-2d", "MeanIoU", {"num_classes": 3},
         [U(i32(rng.integers(0, 3, (3, 4))), i32(rng.integers(0, 3, (3, 4)))),
          U(i32(rng.integers(0, 3, (3, 4))), i32(rng.integers(0, 3, (3, 4))), sample_weight=probs(rng, 3, 4))])
    case("IoU-targets", "IoU", {"num_classes": 3, "target_class_ids": [0, 2]}, standard(rng, labels, n=10))
    case("IoU-single", "IoU", {"num_classes": 3, "target_class_ids": [1]}, standard(rng, labels, n=10))
    for threshold in (0.5, 0.3):
        for targets in ([0, 1], [1]):
            case(f"BinaryIoU-{threshold}-{targets}", "BinaryIoU",
                 {"threshold": threshold, "target_class_ids": targets},
                 standard(rng, lambda n: (binary(rng, n), probs(rng, n)), n=10))
    case("OneHotIoU", "OneHotIoU", {"num_classes": 3, "target_class_ids": [0, 2]},
         standard(rng, lambda n: (one_hot(rng, n, 3), softmax(rng, n, 3)), n=10))
    case("OneHotMeanIoU", "OneHotMeanIoU", {"num_classes": 3},
         standard(rng, lambda n: (one_hot(rng, n, 3), softmax(rng, n, 3)), n=10))

    # -- F-scores -----------------------------------------------------------------------------
    rng = rng_for("fscore")
    for cls, extra, averages in (("F1Score", {}, (None, "micro", "macro", "weighted")),
                                 ("FBetaScore", {"beta": 2.0}, (None, "micro", "macro", "weighted")),
                                 ("FBetaScore", {"beta": 0.5}, ("weighted",))):
        for average in averages:
            for threshold in (None, 0.5):
                kw = {"average": average, "threshold": threshold, **extra}
                case(f"{cls}-{extra.get('beta', 1.0)}-{average}-{threshold}", cls, kw,
                     standard(rng, lambda n: (binary(rng, n, 3), probs(rng, n, 3)), n=8))
    case("F1Score-argmax-zero-row", "F1Score", {}, [U(f32([[1, 0, 0], [0, 1, 0]]), f32([[0, 0, 0], [0.2, 0.7, 0.7]]))])


# ---- running the cases in Keras -------------------------------------------------------------


def make_metric(keras, cls, kwargs):
    kwargs = dict(kwargs)
    if "fn" in kwargs:
        kwargs["fn"] = getattr(keras.metrics, kwargs["fn"])
    return getattr(keras.metrics, cls)(**kwargs)


def result_of(metric):
    try:
        return {"value": to_list(metric.result())}
    except Exception as e:  # noqa: BLE001 - the error's name is what is recorded
        return {"error": type(e).__name__}


def run_case(keras, spec):
    metric = make_metric(keras, spec["cls"], spec["kwargs"])
    results = [result_of(metric)]
    for step in spec["steps"]:
        if step["op"] == "reset":
            metric.reset_state()
        else:
            try:
                metric.update_state(*step["args"], sample_weight=step["sample_weight"])
            except Exception as e:  # noqa: BLE001
                results.append({"error": type(e).__name__, "message": str(e)[:200]})
                break
        results.append(result_of(metric))
    config = metric.get_config()
    config.pop("fn", None)
    return {
        "id": spec["id"],
        "cls": spec["cls"],
        "kwargs": spec["kwargs"],
        "steps": [{**s, "args": [enc(a) for a in s.get("args", [])], "sample_weight": enc(s.get("sample_weight"))}
                  for s in spec["steps"]],
        "results": results,
        "config": json.loads(json.dumps(config, default=lambda o: np.asarray(o).tolist())),
        "variables": [[v.name, list(v.shape)] for v in metric.variables],
    }


def main():
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import keras

    build_cases()
    out = {"keras_version": keras.__version__, "backend": keras.backend.backend(),
           "cases": [run_case(keras, spec) for spec in CASES]}
    OUT.write_text(json.dumps(out, separators=(",", ":")))
    print(f"wrote {len(out['cases'])} cases to {OUT} ({OUT.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
