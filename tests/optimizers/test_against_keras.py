"""lamina's optimizers and schedules against Keras 3 results stored in keras_reference/reference.json.

The reference is made by keras_reference/make_reference.py (Keras 3 on TensorFlow); see its
docstring to re-run it. Each optimizer case applies the same gradients to the same three
variables; the variables and ``iterations`` after every step, the optimizer's Variables (path,
name, shape, dtype, value) at the end, ``finalize_variable_values`` and ``get_config`` are
compared. Tolerance: float32, rtol 1e-5 and atol 1e-6 throughout.
"""

import functools
import inspect
import json
import pathlib
import re
import warnings

import numpy as np
import pytest
import torch

import lamina
from lamina import optimizers
from lamina.optimizers import schedules

RTOL, ATOL = 1e-5, 1e-6
REFERENCE = json.loads((pathlib.Path(__file__).parent / "keras_reference" / "reference.json").read_text())
CASES = {case["id"]: case for case in REFERENCE["cases"]}
SCHEDULES = {case["id"]: case for case in REFERENCE["schedules"]}
OPTIMIZER_NAMES = sorted(REFERENCE["default_configs"])


@functools.cache
def _run(case_id):
    """Replays a Keras case in lamina: the per-step values, iterations and rates, the optimizer and variables."""
    case = CASES[case_id]
    variables = [lamina.Variable(np.asarray(value, "float32"), name=name)
                 for value, name in zip(REFERENCE["initial_values"], REFERENCE["names"])]
    kwargs = dict(case["kwargs"])
    holder = {}
    if case["lr"] == "callable":
        kwargs["learning_rate"] = lambda: 0.1 / (1.0 + float(holder["optimizer"].iterations))
    elif case["lr"] is not None:
        kwargs["learning_rate"] = schedules.deserialize(case["lr"])
    optimizer = getattr(optimizers, case["class_name"])(name="opt", **kwargs)
    holder["optimizer"] = optimizer
    if case["exclude"]:
        optimizer.exclude_from_weight_decay(var_names=case["exclude"])
    if case["exclude_vars"]:
        optimizer.exclude_from_weight_decay(var_list=[variables[i] for i in case["exclude_vars"]])
    after, iterations, rates = [], [], []
    none = {tuple(pair) for pair in case["none"]}
    for step, grads in enumerate(REFERENCE["gradients"][:case["steps"]]):
        grads = [None if (step, i) in none else torch.tensor(g, dtype=torch.float32) for i, g in enumerate(grads)]
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Gradients do not exist", UserWarning)
            optimizer.apply_gradients(zip(grads, variables))
        after.append([v.numpy().copy() for v in variables])
        iterations.append(int(optimizer.iterations))
        rates.append(float(optimizer.learning_rate))
    return after, iterations, rates, optimizer, variables


def _assert_close(actual, expected, what):
    np.testing.assert_allclose(np.asarray(actual, "float32"), np.asarray(expected, "float32"), rtol=RTOL, atol=ATOL,
                               err_msg=what)


@pytest.mark.parametrize("case_id", list(CASES))
def test_variables_after_each_step(case_id):
    case = CASES[case_id]
    after, iterations, rates, _, _ = _run(case_id)
    for step, (values, expected) in enumerate(zip(after, case["after_step"])):
        for name, value, want in zip(REFERENCE["names"], values, expected):
            _assert_close(value, want, f"{name} after step {step + 1}")
    assert iterations == case["iterations"]
    _assert_close(rates, case["learning_rates"], "learning_rate after each step")


def _without_uid(name):
    # Keras names an unnamed Variable (Nadam's u_product) "variable", "variable_1", ... by a per-process counter.
    return re.sub(r"(^|/)variable_\d+$", r"\1variable", name)


@pytest.mark.parametrize("case_id", list(CASES))
def test_optimizer_variables(case_id):
    """``optimizer.variables`` in Keras order (the weights-file order), with Keras paths, shapes, dtypes, values."""
    expected = CASES[case_id]["state"]
    state = _run(case_id)[3].variables
    assert [_without_uid(v.path) for v in state] == [_without_uid(s["path"]) for s in expected]
    assert [_without_uid(v.name) for v in state] == [_without_uid(s["name"]) for s in expected]
    assert [tuple(v.shape) for v in state] == [tuple(s["shape"]) for s in expected]
    assert [str(v.dtype) for v in state] == [s["dtype"] for s in expected]
    for variable, want in zip(state, expected):
        _assert_close(variable.numpy(), want["value"], variable.path)


@pytest.mark.parametrize("case_id", [c for c in CASES if CASES[c]["finalized"] is not None])
def test_finalize_variable_values(case_id):
    _, _, _, optimizer, variables = _run(case_id)
    before = [v.numpy().copy() for v in variables]
    optimizer.finalize_variable_values(variables)
    try:
        for name, variable, want in zip(REFERENCE["names"], variables, CASES[case_id]["finalized"]):
            _assert_close(variable.numpy(), want, name)
    finally:  # the cached run is shared with the other tests
        for variable, value in zip(variables, before):
            variable.assign(value)


@pytest.mark.parametrize("case_id", [c for c in CASES if CASES[c]["config"] is not None])
def test_get_config(case_id):
    config = dict(_run(case_id)[3].get_config())
    expected = dict(CASES[case_id]["config"])
    assert sorted(config) == sorted(expected)
    learning_rate, expected_rate = config.pop("learning_rate"), expected.pop("learning_rate")
    if isinstance(expected_rate, dict):  # a serialized schedule
        assert learning_rate == expected_rate
    else:
        assert learning_rate == pytest.approx(expected_rate)
    assert config == pytest.approx(expected)


@pytest.mark.parametrize("class_name", OPTIMIZER_NAMES)
def test_default_config(class_name):
    config = getattr(optimizers, class_name)().get_config()
    expected = dict(REFERENCE["default_configs"][class_name])
    # Keras names an unnamed optimizer after its class, uniquified per process ("sgd", "sgd_1", ...).
    assert re.fullmatch(re.escape(expected.pop("name")) + r"(_\d+)?", config.pop("name"))
    assert sorted(config) == sorted(expected)
    assert config == pytest.approx(expected)


@pytest.mark.parametrize("class_name", OPTIMIZER_NAMES + sorted(
    name for name in REFERENCE["signature_defaults"] if name not in REFERENCE["default_configs"]))
def test_constructor_defaults(class_name):
    cls = getattr(optimizers, class_name, None) or getattr(schedules, class_name)
    defaults = {name: p.default for name, p in inspect.signature(cls.__init__).parameters.items()
                if p.default is not inspect.Parameter.empty}
    assert defaults == REFERENCE["signature_defaults"][class_name]


def _schedule_values(schedule, steps, dtype=None):
    return [float(schedule(step if dtype is None else torch.tensor(step, dtype=dtype))) for step in steps]


@pytest.mark.parametrize("case_id", list(SCHEDULES))
def test_schedule_values(case_id):
    case = SCHEDULES[case_id]
    schedule = getattr(schedules, case["class_name"])(**case["kwargs"])
    _assert_close(_schedule_values(schedule, case["steps"]), case["values"], "values at Python int steps")
    _assert_close(_schedule_values(schedule, case["steps"], torch.int64), case["int64_values"],
                  "values at int64 tensor steps")
    _assert_close(_schedule_values(schedule, case["float_steps"]), case["float_values"], "values at float steps")


@pytest.mark.parametrize("case_id", list(SCHEDULES))
def test_schedule_config_and_round_trip(case_id):
    case = SCHEDULES[case_id]
    schedule = getattr(schedules, case["class_name"])(**case["kwargs"])
    assert schedule.get_config() == case["config"]
    assert schedules.serialize(schedule) == case["serialized"]
    restored = schedules.deserialize(case["serialized"])
    assert type(restored) is type(schedule) and restored.get_config() == case["config"]
    restored = type(schedule).from_config(case["config"])
    _assert_close(_schedule_values(restored, case["steps"]), case["values"], "values after from_config")
