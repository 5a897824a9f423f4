"""lamina's metrics against Keras 3: results, configs and state variables on the same inputs.

The expected values come from real Keras (``keras_reference/metrics.json``, written by
``keras_reference/make_reference.py``, which says how to regenerate it). Each case replays
the recorded steps (``update_state`` with torch tensors, ``reset_state``) on a fresh lamina
metric and compares ``result()`` before the first step and after every step.

Tolerances: float32 results, ``rtol=1e-5, atol=1e-6``. Where Keras's ``result()`` raises before
the first update (an unbuilt AUC, F-score or R2 score: an ``AttributeError`` in Keras), lamina
returns 0 instead and that result is not compared. Where a Keras update raises, lamina must
raise too.
"""

import json
import pathlib
import re
import warnings

import numpy as np
import pytest
import torch

import lamina

REFERENCE = json.loads((pathlib.Path(__file__).parent / "keras_reference" / "metrics.json").read_text())
CASES = {case["id"]: case for case in REFERENCE["cases"]}
RTOL, ATOL = 1e-5, 1e-6

# Results where Keras is wrong and lamina keeps its own behaviour: case id -> reason.
XFAIL = {
    "SparseCategoricalCrossentropy-ignore-class-rank3-sample-weights":
        "Keras 3.15 multiplies the (2, 4) ignore_class mask by (2,) sample weights without aligning them and "
        "raises; lamina broadcasts the per-sample weights over the mask",
    "F1Score-2d-weights":
        "Keras 3.15 always adds one axis to sample_weight, so (batch, classes) weights give a cross product "
        "(keras-team/keras#23335); lamina weights each entry",
    "F1Score-column-weights":
        "Keras 3.15 turns (batch, 1) weights into (batch, 1, 1) and fails to assign the state "
        "(keras-team/keras#23335); lamina broadcasts them over the classes",
}


def decode(x):
    if isinstance(x, dict):
        return torch.tensor(np.asarray(x["data"], dtype=x["dtype"]).reshape(x["shape"]))
    return x


def make_metric(case):
    kwargs = dict(case["kwargs"])
    if "fn" in kwargs:
        kwargs["fn"] = getattr(lamina.metrics, kwargs["fn"])
    return getattr(lamina.metrics, case["cls"])(**kwargs)


def as_array(value):
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().double().numpy()
    return np.asarray(value, dtype=np.float64)


def check_result(metric, expected, where):
    if "error" in expected:  # Keras cannot compute a result here (unbuilt state)
        return
    actual = as_array(metric.result())
    wanted = np.asarray(expected["value"], dtype=np.float64)
    assert actual.shape == wanted.shape, f"{where}: shape {actual.shape} != Keras {wanted.shape}"
    np.testing.assert_allclose(actual, wanted, rtol=RTOL, atol=ATOL, err_msg=where)


def cases_with(marks):
    return [pytest.param(cid, id=cid, marks=[pytest.mark.xfail(strict=True, reason=marks[cid])] if cid in marks
                         else []) for cid in CASES]


@pytest.mark.parametrize("case_id", cases_with(XFAIL))
def test_results_match_keras(case_id):
    case = CASES[case_id]
    metric = make_metric(case)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # R2Score's adjusted-R2 fallback warns, as in Keras
        check_result(metric, case["results"][0], "before any update")
        for i, (step, expected) in enumerate(zip(case["steps"], case["results"][1:])):
            where = f"after step {i} ({step['op']})"
            if step["op"] == "reset":
                metric.reset_state()
            elif "message" in expected:  # Keras raised on this update
                with pytest.raises((ValueError, TypeError, RuntimeError)):
                    metric.update_state(*map(decode, step["args"]), sample_weight=decode(step["sample_weight"]))
                return
            else:
                metric.update_state(*map(decode, step["args"]), sample_weight=decode(step["sample_weight"]))
            check_result(metric, expected, where)


def _normalize(config):
    config = dict(config)
    config.pop("fn", None)
    # Default names get a numeric suffix once taken, in Keras and in lamina alike.
    config["name"] = re.sub(r"_\d+$", "", config["name"])
    return json.loads(json.dumps(config, default=lambda o: np.asarray(o).tolist()))


@pytest.mark.parametrize("case_id", list(CASES))
def test_config_matches_keras(case_id):
    case = CASES[case_id]
    config = _normalize(make_metric(case).get_config())
    expected = _normalize(case["config"])
    assert sorted(config) == sorted(expected)
    assert config == expected


@pytest.mark.parametrize("case_id", [cid for cid, case in CASES.items()
                                     if not any("message" in r for r in case["results"])])
def test_variables_match_keras(case_id):
    """The names and shapes of the state variables after all steps (cases where Keras raised are left out)."""
    case = CASES[case_id]
    metric = make_metric(case)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for step in case["steps"]:
            if step["op"] == "reset":
                metric.reset_state()
            else:
                metric.update_state(*map(decode, step["args"]), sample_weight=decode(step["sample_weight"]))
    assert [[v.name, list(v.shape)] for v in metric.variables] == case["variables"]
