"""Writes ``losses_reference.json``: Keras 3's results for the loss classes and functions on fixed inputs.

Run it in a Python that has Keras 3 with the TensorFlow backend (and no lamina), from the repository root:

    /tmp/keras-venv/bin/python tests/losses/keras_reference/make_reference.py

The stored file was made with keras 3.15.1 and tensorflow-cpu 2.21 (CPU). Inputs come from a seeded NumPy
generator and are stored in the JSON beside Keras's outputs, so tests/losses/test_against_keras.py needs
only the file. Each case is one call: a loss class (``api: "class"``, called with ``sample_weight`` and
with ``mask`` set as the ``_keras_mask`` of ``y_pred``) or a loss function (``api: "fn"``). A call that
Keras refuses is stored with ``error`` instead of a value. Inputs are indices into ``arrays``; absent keys
are None (``kwargs``: none). ``configs`` holds ``get_config()`` and ``serialize()`` of each class for
default and non-default arguments.
"""

import json
import os
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ["KERAS_BACKEND"] = "tensorflow"

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from keras.src import backend  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "losses_reference.json")
REDUCTIONS = ["sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None]
rng = np.random.default_rng(20261206)
F32 = np.float32


def probs(*shape):
    return rng.uniform(0.02, 0.98, shape).astype(F32)


def binary(*shape):
    return rng.integers(0, 2, shape).astype(F32)


def logits(*shape):
    return (rng.normal(size=shape) * 3).astype(F32)


def simplex(*shape, axis=-1):
    p = rng.uniform(0.05, 1.0, shape)
    return (p / p.sum(axis=axis, keepdims=True)).astype(F32)


def onehot(*shape, axis=-1):
    labels = rng.integers(0, shape[axis], tuple(s for i, s in enumerate(shape) if i != axis % len(shape)))
    return np.moveaxis(np.eye(shape[axis], dtype=F32)[labels], -1, axis)


def labels(num_classes, *shape, dtype=np.int32):
    return rng.integers(0, num_classes, shape).astype(dtype)


def plain(x):
    """Nested lists of ``x``; float32 values as their shortest decimal form (it reads back exactly)."""
    if x.dtype == F32:
        return np.vectorize(lambda v: float(str(v)), otypes=[object])(x).tolist() if x.ndim else float(str(x))
    return x.tolist()


arrays, array_index = [], {}


def encode(x):
    """Index of ``x`` in the shared ``arrays`` table (inputs repeat across reductions and weights)."""
    if x is None:
        return None
    x = np.asarray(x)
    key = (str(x.dtype), x.shape, x.tobytes())
    if key not in array_index:
        array_index[key] = len(arrays)
        arrays.append({"data": plain(x), "dtype": str(x.dtype)})
    return array_index[key]


cases = []


def add(case_id, api, name, y_true, y_pred, sample_weight=None, mask=None, activation=None, **kwargs):
    """One call; with ``activation`` ('sigmoid' or 'softmax'), ``y_pred`` is first passed through it."""
    case = {"id": case_id, "api": api, "name": name, "kwargs": kwargs, "y_true": encode(y_true),
            "y_pred": encode(y_pred), "sample_weight": encode(sample_weight), "mask": encode(mask),
            "activation": activation}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if activation is not None:  # its output carries the logits, which Keras's crossentropies use
                y_pred = getattr(keras.activations, activation)(tf.constant(y_pred))
            if api == "class":
                pred = tf.constant(y_pred)
                if mask is not None:
                    backend.set_keras_mask(pred, tf.constant(mask))
                out = getattr(keras.losses, name)(**kwargs)(y_true, pred, sample_weight=sample_weight)
            else:
                out = getattr(keras.losses, name)(y_true, y_pred, **kwargs)
        out = np.asarray(out)
        case["expected"] = plain(out)
        if out.dtype != F32:
            case["expected_dtype"] = str(out.dtype)
    except Exception as error:  # Keras refuses the call: lamina must refuse it too
        case["error"] = type(error).__name__
    case = {key: value for key, value in case.items() if value is not None and value != {}}  # compact
    assert case["id"] not in {c["id"] for c in cases}, case["id"]
    cases.append(case)


def both(case_id, cls, fn, y_true, y_pred, **kwargs):
    """The same computation through the class (default reduction) and the function."""
    add(f"{cls}-{case_id}", "class", cls, y_true, y_pred, **kwargs)
    add(f"{fn}-{case_id}", "fn", fn, y_true, y_pred, **kwargs)


# ---- binary crossentropy and binary focal crossentropy ----
for bce_cls, bce_fn, variants in [
    ("BinaryCrossentropy", "binary_crossentropy", [{}]),
    ("BinaryFocalCrossentropy", "binary_focal_crossentropy",
     [{}, {"gamma": 0.0}, {"gamma": 3.5}, {"apply_class_balancing": True},
      {"apply_class_balancing": True, "alpha": 0.7, "gamma": 1.0}]),
]:
    for v, extra in enumerate(variants):
        for shape in [(5,), (4, 3), (2, 3, 4)]:
            r = len(shape)
            both(f"v{v}-rank{r}-probs", bce_cls, bce_fn, binary(*shape), probs(*shape), **extra)
            both(f"v{v}-rank{r}-logits", bce_cls, bce_fn, binary(*shape), logits(*shape), from_logits=True, **extra)
        both(f"v{v}-smooth", bce_cls, bce_fn, binary(4, 3), probs(4, 3), label_smoothing=0.2, **extra)
        both(f"v{v}-smooth-logits", bce_cls, bce_fn, binary(4, 3), logits(4, 3), from_logits=True,
             label_smoothing=0.1, **extra)
        both(f"v{v}-axis0", bce_cls, bce_fn, binary(4, 3), probs(4, 3), axis=0, **extra)
        both(f"v{v}-axis1-rank3", bce_cls, bce_fn, binary(2, 3, 4), logits(2, 3, 4), axis=1, from_logits=True,
             **extra)
        edge_true = np.array([[0, 1, 0, 1], [1, 0, 1, 0]], F32)
        edge_pred = np.array([[0, 1, 1, 0], [1, 0, 0.5, 1]], F32)
        both(f"v{v}-exact-0-1", bce_cls, bce_fn, edge_true, edge_pred, **extra)
        both(f"v{v}-huge-logits", bce_cls, bce_fn, edge_true, np.array([[-100, 100, 100, -100], [50, -50, 0, 80]],
                                                                      F32), from_logits=True, **extra)
        both(f"v{v}-int-labels", bce_cls, bce_fn, binary(4, 3).astype(np.int32), probs(4, 3), **extra)
        both(f"v{v}-soft-labels", bce_cls, bce_fn, probs(4, 3), probs(4, 3), **extra)

# ---- categorical crossentropy and categorical focal crossentropy ----
for cce_cls, cce_fn, variants in [
    ("CategoricalCrossentropy", "categorical_crossentropy", [{}]),
    ("CategoricalFocalCrossentropy", "categorical_focal_crossentropy",
     [{}, {"gamma": 0.0, "alpha": 1.0}, {"alpha": 0.6, "gamma": 1.5}]),
]:
    for v, extra in enumerate(variants):
        for shape in [(5,), (4, 3), (2, 3, 4)]:
            r = len(shape)
            both(f"v{v}-rank{r}-probs", cce_cls, cce_fn, onehot(*shape), simplex(*shape), **extra)
            both(f"v{v}-rank{r}-logits", cce_cls, cce_fn, onehot(*shape), logits(*shape), from_logits=True, **extra)
        both(f"v{v}-unnormalized", cce_cls, cce_fn, onehot(4, 3), probs(4, 3), **extra)
        both(f"v{v}-smooth", cce_cls, cce_fn, onehot(4, 3), simplex(4, 3), label_smoothing=0.2, **extra)
        both(f"v{v}-smooth-logits", cce_cls, cce_fn, onehot(4, 5), logits(4, 5), from_logits=True,
             label_smoothing=0.1, **extra)
        both(f"v{v}-axis0", cce_cls, cce_fn, onehot(4, 3, axis=0), simplex(4, 3, axis=0), axis=0, **extra)
        both(f"v{v}-axis1-rank3-logits", cce_cls, cce_fn, onehot(2, 4, 3, axis=1), logits(2, 4, 3), axis=1,
             from_logits=True, **extra)
        both(f"v{v}-axis1-rank3-smooth", cce_cls, cce_fn, onehot(2, 4, 3, axis=1), simplex(2, 4, 3, axis=1),
             axis=1, label_smoothing=0.3, **extra)
        both(f"v{v}-exact-0-1", cce_cls, cce_fn, np.eye(3, dtype=F32)[[0, 1, 2, 0]],
             np.array([[1, 0, 0], [1, 0, 0], [0, 0, 1], [0, 0.5, 0.5]], F32), **extra)
        both(f"v{v}-huge-logits", cce_cls, cce_fn, np.eye(3, dtype=F32)[[0, 1, 2]],
             np.array([[100, -100, 0], [100, -100, 0], [-50, 20, 80]], F32), from_logits=True, **extra)
        both(f"v{v}-int-labels", cce_cls, cce_fn, onehot(4, 3).astype(np.int32), simplex(4, 3), **extra)
both("alpha-list", "CategoricalFocalCrossentropy", "categorical_focal_crossentropy", onehot(4, 3), simplex(4, 3),
     alpha=[0.1, 0.2, 0.7])

# ---- sparse categorical crossentropy ----
SC, sc = "SparseCategoricalCrossentropy", "sparse_categorical_crossentropy"
both("rank1-labels", SC, sc, labels(3, 4), simplex(4, 3))
both("rank1-labels-logits", SC, sc, labels(3, 4), logits(4, 3), from_logits=True)
both("trailing-1", SC, sc, labels(3, 4, 1), simplex(4, 3))
both("trailing-1-logits", SC, sc, labels(5, 4, 1), logits(4, 5), from_logits=True)
both("int64-labels", SC, sc, labels(3, 4, dtype=np.int64), simplex(4, 3))
both("float-labels", SC, sc, labels(3, 4).astype(F32), simplex(4, 3))
both("rank2-labels-logits", SC, sc, labels(5, 2, 3), logits(2, 3, 5), from_logits=True)
both("rank3-labels-logits", SC, sc, labels(4, 2, 2, 3), logits(2, 2, 3, 4), from_logits=True)
both("rank2-trailing-1", SC, sc, labels(5, 2, 3, 1), simplex(2, 3, 5))
both("unnormalized", SC, sc, labels(3, 4), probs(4, 3))
both("exact-0-1", SC, sc, np.array([0, 1, 2, 0]), np.array([[1, 0, 0], [1, 0, 0], [0, 0, 1], [0, .5, .5]], F32))
both("huge-logits", SC, sc, np.array([0, 1, 2]), np.array([[100, -100, 0], [100, -100, 0], [-50, 20, 80]], F32),
     from_logits=True)
both("axis1", SC, sc, labels(4, 2, 3), logits(2, 4, 3), from_logits=True, axis=1)
both("axis2-last", SC, sc, labels(4, 2, 3), logits(2, 3, 4), from_logits=True, axis=2)
both("axis1-probs", SC, sc, labels(4, 2, 3), simplex(2, 4, 3, axis=1), axis=1)
ignore_true = np.array([[0, -1, 2], [-1, 1, 1]], np.int32)
both("ignore-rank2", SC, sc, ignore_true, logits(2, 3, 4), from_logits=True, ignore_class=-1)
both("ignore-rank2-probs", SC, sc, ignore_true, simplex(2, 3, 4), ignore_class=-1)
both("ignore-rank2-trailing-1", SC, sc, ignore_true[..., None], logits(2, 3, 4), from_logits=True, ignore_class=-1)
both("ignore-rank3", SC, sc, np.where(rng.uniform(size=(2, 2, 3)) < 0.3, 255, labels(4, 2, 2, 3)).astype(np.int32),
     logits(2, 2, 3, 4), from_logits=True, ignore_class=255)
both("ignore-rank1", SC, sc, np.array([1, 0, 2, 0]), logits(4, 3), from_logits=True, ignore_class=0)
both("ignore-all", SC, sc, np.array([-1, -1, -1]), logits(3, 4), from_logits=True, ignore_class=-1)
both("ignore-float-labels", SC, sc, ignore_true.astype(F32), logits(2, 3, 4), from_logits=True, ignore_class=-1)
both("ignore-none-present", SC, sc, labels(4, 2, 3), logits(2, 3, 4), from_logits=True, ignore_class=-1)
both("bad-label-shape", SC, sc, labels(3, 4, 2), simplex(4, 3))

# ---- categorical generalized crossentropy ----
CG, cg = "CategoricalGeneralizedCrossEntropy", "categorical_generalized_cross_entropy"
for q in [0.5, 0.1, 0.9]:
    add(f"{CG}-q{q}", "class", CG, labels(3, 4), simplex(4, 3), q=q)
    add(f"{cg}-q{q}", "fn", cg, labels(3, 4), simplex(4, 3), q=q)
add(f"{CG}-trailing-1", "class", CG, labels(3, 4, 1), simplex(4, 3))
add(f"{cg}-trailing-1", "fn", cg, labels(3, 4, 1), simplex(4, 3), q=0.3)
add(f"{CG}-rank2-labels", "class", CG, labels(4, 2, 3), simplex(2, 3, 4))
add(f"{cg}-exact-0-1", "fn", cg, np.array([0, 1, 2]), np.array([[1, 0, 0], [1, 0, 0], [0, .5, .5]], F32), q=0.5)

# ---- regression, hinge and distribution losses ----
REG = [
    ("MeanSquaredError", "mean_squared_error", lambda *s: logits(*s), lambda *s: logits(*s)),
    ("MeanAbsoluteError", "mean_absolute_error", lambda *s: logits(*s), lambda *s: logits(*s)),
    ("MeanAbsolutePercentageError", "mean_absolute_percentage_error", lambda *s: logits(*s), lambda *s: logits(*s)),
    ("MeanSquaredLogarithmicError", "mean_squared_logarithmic_error", lambda *s: logits(*s),
     lambda *s: logits(*s)),
    ("Huber", "huber", lambda *s: logits(*s), lambda *s: logits(*s)),
    ("LogCosh", "log_cosh", lambda *s: logits(*s), lambda *s: logits(*s)),
    ("Hinge", "hinge", lambda *s: binary(*s), lambda *s: logits(*s)),
    ("SquaredHinge", "squared_hinge", lambda *s: binary(*s), lambda *s: logits(*s)),
    ("CategoricalHinge", "categorical_hinge", lambda *s: onehot(*s), lambda *s: logits(*s)),
    ("KLDivergence", "kl_divergence", lambda *s: simplex(*s), lambda *s: simplex(*s)),
    ("Poisson", "poisson", lambda *s: rng.poisson(2.0, s).astype(F32), lambda *s: probs(*s) * 4),
    ("CosineSimilarity", "cosine_similarity", lambda *s: logits(*s), lambda *s: logits(*s)),
]
for cls, fn, make_true, make_pred in REG:
    for shape in [(5,), (4, 3), (2, 3, 4)]:
        both(f"rank{len(shape)}", cls, fn, make_true(*shape), make_pred(*shape))
    both("true-trailing-1", cls, fn, make_true(4, 1), make_pred(4))
    both("pred-trailing-1", cls, fn, make_true(4), make_pred(4, 1))
    both("broadcast-true", cls, fn, make_true(4, 1), make_pred(4, 3))
    both("int-inputs", cls, fn, make_true(4, 3).astype(np.int32), make_pred(4, 3))
    both("bad-shapes", cls, fn, make_true(4), make_pred(4, 3))
    both("bad-shapes-2", cls, fn, make_true(4, 2), make_pred(4, 3))
both("zeros-in-true", "MeanAbsolutePercentageError", "mean_absolute_percentage_error",
     np.array([[0, 1, -2], [0, 0, 3]], F32), np.array([[0.5, 1, -1], [0, 2, 3]], F32))
both("negative", "MeanSquaredLogarithmicError", "mean_squared_logarithmic_error",
     np.array([[-1, 1, -2], [0, 0, 3]], F32), np.array([[0.5, -3, -1], [-0.5, 2, 3]], F32))
for delta in [0.5, 2.0]:
    both(f"delta{delta}", "Huber", "huber", logits(4, 3), logits(4, 3), delta=delta)
both("large", "LogCosh", "log_cosh", np.array([[0, 0, 0]], F32), np.array([[100, -100, 1e-3]], F32))
both("labels-pm1", "Hinge", "hinge", np.array([[-1, 1, 1], [1, -1, -1]], F32), logits(2, 3))
both("labels-pm1", "SquaredHinge", "squared_hinge", np.array([[-1, 1, 1], [1, -1, -1]], F32), logits(2, 3))
both("labels-mixed", "Hinge", "hinge", np.array([[0, 1, 1], [1, -1, 0]], F32), logits(2, 3))
both("zeros", "KLDivergence", "kl_divergence", np.array([[0, 1, 0], [0.5, 0.5, 0]], F32),
     np.array([[0, 1, 0], [0, 0.5, 0.5]], F32))
both("zero-pred", "Poisson", "poisson", np.array([[0, 1, 3]], F32), np.array([[0, 0, 2]], F32))
for axis in [0, 1]:
    both(f"axis{axis}", "CosineSimilarity", "cosine_similarity", logits(2, 3, 4), logits(2, 3, 4), axis=axis)
both("zero-vector", "CosineSimilarity", "cosine_similarity", np.array([[0, 0, 0], [1, 2, 3]], F32),
     np.array([[1, 2, 3], [0, 0, 0]], F32))

# ---- Dice, Tversky ----
seg_true, seg_pred = binary(2, 3, 4, 1), probs(2, 3, 4, 1)
for kw in [{}, {"axis": (1, 2, 3)}, {"axis": [1, 2]}, {"axis": 1}]:
    tag = "axis" + "".join(str(a) for a in np.atleast_1d(kw.get("axis", "None")))
    both(tag, "Dice", "dice", seg_true, seg_pred, **kw)
    both(tag, "Tversky", "tversky", seg_true, seg_pred, **kw)
    both(f"{tag}-a0.3-b0.7", "Tversky", "tversky", seg_true, seg_pred, alpha=0.3, beta=0.7, **kw)
both("rank2", "Dice", "dice", binary(4, 3), probs(4, 3))
both("rank2-axis1", "Tversky", "tversky", binary(4, 3), probs(4, 3), alpha=0.9, beta=0.1, axis=1)
both("all-zero", "Dice", "dice", np.zeros((2, 3), F32), np.zeros((2, 3), F32), axis=1)
both("all-zero", "Tversky", "tversky", np.zeros((2, 3), F32), np.zeros((2, 3), F32), axis=1)

# ---- CTC (labels padded with 0, the blank) ----
ctc_true = np.array([[1, 2, 2, 0], [3, 1, 0, 0]], np.int32)
both("basic", "CTC", "ctc", ctc_true, logits(2, 8, 5))
both("full-length", "CTC", "ctc", np.array([[1, 2, 3], [4, 4, 1]], np.int32), logits(2, 9, 5))

# ---- predictions made by sigmoid / softmax activations (scored from their logits) ----
big = np.array([[-30, 30, 20, -40], [12, -9, 0, 35]], F32)
for api, name in [("class", "BinaryCrossentropy"), ("fn", "binary_crossentropy"), ("class", "BinaryFocalCrossentropy"),
                  ("fn", "binary_focal_crossentropy")]:
    add(f"{name}-from-sigmoid", api, name, edge_true, big, activation="sigmoid")
    add(f"{name}-from-sigmoid-smooth", api, name, edge_true, big, activation="sigmoid", label_smoothing=0.1)
for api, name, y_true in [("class", "CategoricalCrossentropy", np.eye(4, dtype=F32)[[0, 3]]),
                          ("fn", "categorical_crossentropy", np.eye(4, dtype=F32)[[0, 3]]),
                          ("class", "SparseCategoricalCrossentropy", np.array([0, 3], np.int32)),
                          ("fn", "sparse_categorical_crossentropy", np.array([0, 3], np.int32))]:
    add(f"{name}-from-softmax", api, name, y_true, big, activation="softmax")

# ---- reductions x sample weights x masks, through the classes ----
def weighted(case_id, cls, y_true, y_pred, weights, masks, **kwargs):
    for reduction in REDUCTIONS:
        for wname, sw in weights.items():
            for mname, mask in masks.items():
                if mask is not None and wname not in ("none", "batch", "elem", "zeros"):
                    continue  # masks meet the main weight shapes only (keeps the file small)
                add(f"{cls}-{case_id}-{reduction}-sw_{wname}-mask_{mname}", "class", cls, y_true, y_pred,
                    sample_weight=sw, mask=mask, reduction=reduction, **kwargs)


W2 = {"none": None, "batch": np.array([0.5, 2.0, 0.0, 1.5], F32), "batch_1": np.array([[1.0], [0.0], [2.0], [3.0]],
      F32), "scalar": np.array(0.7, F32), "zeros": np.zeros(4, F32)}
M2 = {"none": None, "some": np.array([True, False, True, True]), "all_off": np.zeros(4, bool)}
W3 = {"none": None, "elem": probs(2, 3), "batch_1": np.array([[2.0], [0.5]], F32), "elem_1": probs(2, 3, 1),
      "time": np.array([1.0, 0.0, 2.0], F32), "zeros": np.zeros((2, 3), F32), "scalar": np.array(2.0, F32)}
M3 = {"none": None, "some": np.array([[True, False, True], [True, True, False]])}
weighted("r2", "BinaryCrossentropy", binary(4, 3), probs(4, 3), W2, M2)
weighted("r2", "CategoricalCrossentropy", onehot(4, 3), logits(4, 3), W2, M2, from_logits=True)
weighted("r3", "MeanSquaredError", logits(2, 3, 4), logits(2, 3, 4), W3, M3)
weighted("r3", "BinaryFocalCrossentropy", binary(2, 3, 4), logits(2, 3, 4), W3, M3, from_logits=True,
         apply_class_balancing=True)
weighted("r3-ignore", "SparseCategoricalCrossentropy", ignore_true, logits(2, 3, 4), W3, M3, from_logits=True,
         ignore_class=-1)
weighted("r1", "SparseCategoricalCrossentropy", labels(3, 4), simplex(4, 3), W2, M2)
weighted("r1", "Huber", logits(4), logits(4), {"none": None, "scalar": np.array(0.5, F32),
                                                "one": np.array([3.0], F32)}, {"none": None}, delta=0.7)
weighted("axis-1-2", "Dice", seg_true, seg_pred, {"none": None, "batch_1": np.array([[2.0], [0.5]], F32)},
         {"none": None}, axis=(1, 2))
# Per-sample weights (batch,) on per-timestep losses (batch, time): Keras raises when batch != time and
# weighs columns when batch == time.
add("MeanSquaredError-sw-batch-on-time", "class", "MeanSquaredError", logits(2, 3, 4), logits(2, 3, 4),
    sample_weight=np.array([1.0, 0.0], F32))
add("MeanSquaredError-sw-batch-on-time-square", "class", "MeanSquaredError", logits(3, 3, 4), logits(3, 3, 4),
    sample_weight=np.array([1.0, 0.0, 2.0], F32))
add("SparseCategoricalCrossentropy-ignore-sw-batch-square", "class", SC, np.array([[0, 1], [-1, 1]], np.int32),
    logits(2, 2, 4), sample_weight=np.array([1.0, 3.0], F32), from_logits=True, ignore_class=-1)
# Loss dtype.
add("MeanSquaredError-dtype-float64", "class", "MeanSquaredError", logits(4, 3), logits(4, 3), dtype="float64")
add("BinaryCrossentropy-dtype-float64", "class", "BinaryCrossentropy", binary(4, 3), probs(4, 3), dtype="float64")
add("BinaryCrossentropy-float64-inputs", "class", "BinaryCrossentropy", binary(4, 3).astype(np.float64),
    probs(4, 3).astype(np.float64))
add("mean_squared_error-float64-inputs", "fn", "mean_squared_error", logits(4, 3).astype(np.float64),
    logits(4, 3).astype(np.float64))

# ---- configs ----
CONFIG_KWARGS = {
    "BinaryCrossentropy": {"from_logits": True, "label_smoothing": 0.1, "axis": 1, "reduction": "sum",
                           "name": "b"},
    "BinaryFocalCrossentropy": {"apply_class_balancing": True, "alpha": 0.4, "gamma": 1.0, "from_logits": True,
                                "label_smoothing": 0.2, "axis": 0, "reduction": None},
    "CategoricalCrossentropy": {"from_logits": True, "label_smoothing": 0.1, "axis": 0, "reduction": "mean"},
    "CategoricalFocalCrossentropy": {"alpha": 0.5, "gamma": 3.0, "from_logits": True, "axis": 1},
    "SparseCategoricalCrossentropy": {"from_logits": True, "ignore_class": -1, "reduction": "none"},
    "CategoricalGeneralizedCrossEntropy": {"q": 0.3, "reduction": "sum"},
    "MeanSquaredError": {"reduction": "mean_with_sample_weight", "name": "m"},
    "MeanAbsoluteError": {"reduction": "sum"},
    "MeanAbsolutePercentageError": {"reduction": "sum"},
    "MeanSquaredLogarithmicError": {"reduction": "sum"},
    "Huber": {"delta": 2.0, "reduction": "sum"},
    "LogCosh": {"reduction": "sum"},
    "Hinge": {"reduction": "sum"},
    "SquaredHinge": {"reduction": "sum"},
    "CategoricalHinge": {"reduction": "sum"},
    "KLDivergence": {"reduction": "sum"},
    "Poisson": {"reduction": "sum"},
    "CosineSimilarity": {"axis": 0, "reduction": "sum"},
    "Dice": {"axis": [1, 2], "reduction": "sum"},
    "Tversky": {"alpha": 0.3, "beta": 0.7, "axis": [1, 2], "reduction": "sum"},
    "CTC": {"reduction": "sum"},
}
configs = []
for cls, kwargs in CONFIG_KWARGS.items():
    for tag, kw in [("default", {}), ("custom", kwargs)]:
        obj = getattr(keras.losses, cls)(**kw)
        configs.append({"id": f"{cls}-{tag}", "name": cls, "kwargs": kw, "config": obj.get_config(),
                        "serialized": keras.saving.serialize_keras_object(obj)})

with open(OUT, "w") as f:
    json.dump({"keras_version": keras.__version__, "tensorflow_version": tf.__version__, "arrays": arrays,
               "cases": cases, "configs": configs}, f, separators=(",", ":"))
print(f"{len(cases)} cases, {len(configs)} configs -> {OUT} ({os.path.getsize(OUT) // 1024} KB)")
