"""lamina's losses against Keras 3's results on the same inputs (tests/losses/keras_reference/).

The cases (made by keras_reference/make_reference.py with Keras 3 on TensorFlow) call every loss class
and function of ``keras.losses`` that lamina has, with ``from_logits``, ``label_smoothing``, ``axis``,
``ignore_class`` and the other options, inputs of rank 1 to 4, probabilities of exactly 0 and 1, integer
labels, outputs of sigmoid/softmax (scored from their logits), every reduction, sample weights of several
shapes and masks (``_keras_mask`` on ``y_pred``). A call that Keras refuses must raise in lamina too.
``get_config()`` and ``serialize()`` of each class are compared with Keras's, and ``from_config`` must
round-trip.

Tolerances: float32 results within rtol 1e-5 / atol 1e-6 of Keras's (TensorFlow and torch kernels differ
in the last bits); CTC within rtol 1e-4, its forward recursion sums many terms in a different order.
"""

import json
import pathlib
import warnings

import numpy as np
import pytest
import torch

from lamina import activations, losses

REFERENCE = json.loads((pathlib.Path(__file__).parent / "keras_reference" / "losses_reference.json").read_text())
ARRAYS = REFERENCE["arrays"]
RTOL, ATOL = 1e-5, 1e-6

# Where lamina keeps its behaviour on purpose (Keras's is a bug or a backend limitation); strict xfails.
KNOWN = {
    # Keras 3 weighs (batch, time) losses column by column with (batch,) weights when batch == time
    # (and raises when batch != time, the next case), though its docs say a (batch,) weight rescales
    # each sample. lamina weighs rows, as tf.keras 2 did.
    "MeanSquaredError-sw-batch-on-time-square": "Keras weighs columns with per-sample weights when batch == time",
    "MeanSquaredError-sw-batch-on-time": "Keras raises for per-sample weights on per-timestep losses",
    "SparseCategoricalCrossentropy-ignore-sw-batch-square":
        "Keras weighs columns with per-sample weights when batch == time",
}
for _name in ("CategoricalGeneralizedCrossEntropy", "categorical_generalized_cross_entropy"):
    # Keras's docs accept labels of shape (batch, 1) and promise (batch,) losses; Keras broadcasts the
    # (batch, 1, classes) one-hot labels against (batch, classes) instead and returns (batch, batch).
    KNOWN[f"{_name}-trailing-1"] = "Keras broadcasts (batch, 1) labels against the batch"
for _prefix in ("SparseCategoricalCrossentropy", "sparse_categorical_crossentropy"):
    for _case in ("axis1", "axis1-probs"):
        KNOWN[f"{_prefix}-{_case}"] = ("Keras's backends raise 'Only axis=-1 is currently supported' for a class "
                                       "axis other than the last; lamina supports it")
KNOWN_CONFIGS = {
    # Keras leaves these __init__ arguments out of get_config(), so its from_config loses them; fixed in
    # Keras by keras-team/keras#23286 (after 3.15.1).
    "Huber-default": "Keras's Huber.get_config() omits `delta`",
    "Huber-custom": "Keras's Huber.get_config() omits `delta`",
    "CosineSimilarity-default": "Keras's CosineSimilarity.get_config() omits `axis`",
    "CosineSimilarity-custom": "Keras's CosineSimilarity.get_config() omits `axis`",
    "SparseCategoricalCrossentropy-default": "Keras's SparseCategoricalCrossentropy.get_config() omits `axis`",
    "SparseCategoricalCrossentropy-custom": "Keras's SparseCategoricalCrossentropy.get_config() omits `axis`",
}


def _tensor(index):
    entry = ARRAYS[index]
    return torch.tensor(np.array(entry["data"], dtype=entry["dtype"]))


def _params(items, known):
    return [pytest.param(item, id=item["id"], marks=[pytest.mark.xfail(strict=True, reason=known[item["id"]])]
                         if item["id"] in known else []) for item in items]


def _kwargs(case):
    kwargs = dict(case.get("kwargs", {}))
    if isinstance(kwargs.get("axis"), list):
        kwargs["axis"] = tuple(kwargs["axis"])
    return kwargs


def _call(case):
    y_true, y_pred = _tensor(case["y_true"]), _tensor(case["y_pred"])
    if "activation" in case:  # its output carries the logits, which the crossentropies use as Keras's do
        y_pred = getattr(activations, case["activation"])(y_pred)
    if case["api"] == "fn":
        return getattr(losses, case["name"])(y_true, y_pred, **_kwargs(case))
    if "mask" in case:
        y_pred._keras_mask = _tensor(case["mask"])
    sample_weight = _tensor(case["sample_weight"]) if "sample_weight" in case else None
    return getattr(losses, case["name"])(**_kwargs(case))(y_true, y_pred, sample_weight=sample_weight)


@pytest.mark.parametrize("case", _params(REFERENCE["cases"], KNOWN))
def test_loss_matches_keras(case):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Keras's own warnings (single-class softmax, logits of a sigmoid)
        if "error" in case:
            with pytest.raises((ValueError, TypeError, RuntimeError)):
                _call(case)
            return
        result = _call(case)
    expected = np.asarray(case["expected"], dtype=case.get("expected_dtype", "float32"))
    assert isinstance(result, torch.Tensor)
    assert str(result.dtype).removeprefix("torch.") == str(expected.dtype)
    assert tuple(result.shape) == expected.shape
    rtol = 1e-4 if case["name"] in ("CTC", "ctc") else RTOL
    np.testing.assert_allclose(result.detach().numpy(), expected, rtol=rtol, atol=ATOL)


def _plain(config):
    """JSON's view of a config (tuples become lists), for comparison with the stored Keras config."""
    return json.loads(json.dumps(config))


@pytest.mark.parametrize("entry", _params(REFERENCE["configs"], KNOWN_CONFIGS))
def test_config_matches_keras(entry):
    kwargs = _kwargs(entry)
    assert _plain(getattr(losses, entry["name"])(**kwargs).get_config()) == entry["config"]


@pytest.mark.parametrize("entry", _params(REFERENCE["configs"], {}))
def test_from_config_round_trip(entry):
    cls = getattr(losses, entry["name"])
    config = cls(**_kwargs(entry)).get_config()
    restored = cls.from_config(config)
    assert type(restored) is cls
    assert _plain(restored.get_config()) == _plain(config)
    # A config written by Keras loads, and keeps every key Keras wrote.
    from_keras = _plain(cls.from_config(entry["config"]).get_config())
    assert {key: from_keras[key] for key in entry["config"]} == entry["config"]


@pytest.mark.parametrize("entry", _params(REFERENCE["configs"], KNOWN_CONFIGS))
def test_serialize_matches_keras(entry):
    serialized = _plain(losses.serialize(getattr(losses, entry["name"])(**_kwargs(entry))))
    assert serialized == entry["serialized"]
    restored = losses.deserialize(entry["serialized"])
    assert type(restored).__name__ == entry["name"]
