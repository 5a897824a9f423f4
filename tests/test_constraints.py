"""Constraints against NumPy references of the Keras formulas (epsilon 1e-7 included), configs,
names and error messages. Tolerances: float64 inputs within 1e-12, float32 within rtol 1e-6."""

import json

import numpy as np
import pytest
import torch

import lamina
from lamina import constraints

EPS = 1e-7


def _norms(w, axis):
    return np.sqrt((w**2).sum(axis=axis, keepdims=True))


def _np_max_norm(w, max_value, axis):
    n = _norms(w, axis)
    return w * (np.clip(n, 0, max_value) / (EPS + n))


def _np_min_max_norm(w, lo, hi, rate, axis):
    n = _norms(w, axis)
    desired = rate * np.clip(n, lo, hi) + (1 - rate) * n
    return w * (desired / (EPS + n))


def _np_unit_norm(w, axis):
    return w / (EPS + _norms(w, axis))


@pytest.fixture
def w():
    return np.random.default_rng(0).normal(scale=2.0, size=(4, 3, 5))


AXES = [0, 1, -1, [0, 1], (0, 2)]


@pytest.mark.parametrize("axis", AXES)
def test_max_norm(w, axis):
    out = constraints.MaxNorm(max_value=1.5, axis=axis)(torch.from_numpy(w))
    np.testing.assert_allclose(out.numpy(), _np_max_norm(w, 1.5, tuple(axis) if isinstance(axis, list) else axis),
                               rtol=0, atol=1e-12)
    assert (_norms(out.numpy(), tuple(axis) if isinstance(axis, list) else axis) <= 1.5 + 1e-9).all()


@pytest.mark.parametrize("axis", AXES)
@pytest.mark.parametrize("rate", [1.0, 0.3])
def test_min_max_norm(w, axis, rate):
    ax = tuple(axis) if isinstance(axis, list) else axis
    out = constraints.MinMaxNorm(min_value=2.0, max_value=3.0, rate=rate, axis=axis)(torch.from_numpy(w))
    np.testing.assert_allclose(out.numpy(), _np_min_max_norm(w, 2.0, 3.0, rate, ax), rtol=0, atol=1e-12)


@pytest.mark.parametrize("axis", AXES)
def test_unit_norm(w, axis):
    ax = tuple(axis) if isinstance(axis, list) else axis
    out = constraints.UnitNorm(axis=axis)(torch.from_numpy(w))
    np.testing.assert_allclose(out.numpy(), _np_unit_norm(w, ax), rtol=0, atol=1e-12)
    np.testing.assert_allclose(_norms(out.numpy(), ax), 1.0, atol=1e-6)


def test_non_neg(w):
    out = constraints.NonNeg()(torch.from_numpy(w))
    np.testing.assert_array_equal(out.numpy(), np.where(w >= 0, w, 0.0))


def test_epsilon_is_keras_epsilon():
    # A vector of norm 5 under MaxNorm(10) is scaled by 5 / (5 + 1e-7), not left exactly unchanged.
    out = constraints.MaxNorm(10.0)(torch.tensor([[3.0], [4.0]], dtype=torch.float64))
    np.testing.assert_allclose(out.numpy().ravel(), np.array([3.0, 4.0]) * 5 / (5 + 1e-7), rtol=0, atol=1e-15)
    # A zero vector stays zero instead of becoming NaN.
    assert constraints.UnitNorm()(torch.zeros(3, 2)).abs().sum() == 0


def test_defaults_and_float32(w):
    w32 = w.astype("float32")
    out = constraints.MaxNorm()(torch.from_numpy(w32))  # max_value=2, axis=0
    assert out.dtype == torch.float32
    np.testing.assert_allclose(out.numpy(), _np_max_norm(w32.astype(np.float64), 2, 0), rtol=1e-6, atol=1e-7)
    out = constraints.MinMaxNorm()(torch.from_numpy(w32))  # [0, 1], rate 1, axis 0
    np.testing.assert_allclose(out.numpy(), _np_min_max_norm(w32.astype(np.float64), 0.0, 1.0, 1.0, 0),
                               rtol=1e-6, atol=1e-7)


def test_accepts_arrays_integers_and_variables():
    assert constraints.NonNeg()(np.array([-1, 2])).tolist() == [0.0, 2.0]
    assert constraints.NonNeg()([-1.0, 3.0]).tolist() == [0.0, 3.0]
    v = lamina.Variable(np.array([[3.0, -1.0], [4.0, 0.0]], dtype="float32"), constraint=constraints.UnitNorm())
    v.apply_constraint()
    np.testing.assert_allclose(v.numpy(), _np_unit_norm(np.array([[3.0, -1.0], [4.0, 0.0]]), 0), rtol=1e-6)


def test_axis_type_error():
    with pytest.raises(TypeError, match=r"`axis` must be an int or a list of ints. Received: axis='0' in MaxNorm"):
        constraints.MaxNorm(axis="0")(torch.ones(2, 2))


# ---- configs, names ----------------------------------------------------------------------

CONFIGS = [
    (constraints.MaxNorm(), "MaxNorm", {"max_value": 2, "axis": 0}),
    (constraints.MaxNorm(3.0, axis=[0, 1, 2]), "MaxNorm", {"max_value": 3.0, "axis": [0, 1, 2]}),
    (constraints.MinMaxNorm(), "MinMaxNorm", {"min_value": 0.0, "max_value": 1.0, "rate": 1.0, "axis": 0}),
    (constraints.NonNeg(), "NonNeg", {}),
    (constraints.UnitNorm(), "UnitNorm", {"axis": 0}),
]


@pytest.mark.parametrize("con, class_name, config_", CONFIGS)
def test_config_round_trip(con, class_name, config_):
    assert con.get_config() == config_
    ser = constraints.serialize(con)
    assert ser == {"module": "keras.constraints", "class_name": class_name, "config": config_,
                   "registered_name": None}
    restored = constraints.deserialize(json.loads(json.dumps(ser)))
    assert type(restored) is type(con) and restored.get_config() == config_
    assert constraints.get({"class_name": class_name, "config": config_}).get_config() == config_
    assert type(con).from_config(config_).get_config() == config_


@pytest.mark.parametrize("name, cls", [
    ("max_norm", constraints.MaxNorm), ("MaxNorm", constraints.MaxNorm), ("maxnorm", constraints.MaxNorm),
    ("min_max_norm", constraints.MinMaxNorm), ("MinMaxNorm", constraints.MinMaxNorm),
    ("non_neg", constraints.NonNeg), ("nonneg", constraints.NonNeg), ("NonNeg", constraints.NonNeg),
    ("unit_norm", constraints.UnitNorm), ("unitnorm", constraints.UnitNorm), ("UnitNorm", constraints.UnitNorm),
])
def test_get_by_name(name, cls):
    assert type(constraints.get(name)) is cls


def test_get_passthrough_and_errors():
    assert constraints.get(None) is None
    con = constraints.NonNeg()
    assert constraints.get(con) is con
    assert isinstance(constraints.get(constraints.UnitNorm), constraints.UnitNorm)
    fn = torch.abs
    assert constraints.get(fn) is fn
    with pytest.raises(ValueError, match=r"interpret constraint identifier: 'max'.*Received: identifier='max'"):
        constraints.get("max")
    with pytest.raises(ValueError, match=r"Received: identifier=2"):
        constraints.get(2)


def test_base_class_is_identity():
    t = torch.tensor([-1.0, 2.0])
    assert constraints.Constraint()(t) is t
    assert constraints.Constraint().get_config() == {}


def test_used_by_layers():
    layer = lamina.layers.Dense(2, kernel_constraint="non_neg", kernel_initializer=lamina.initializers.Constant(-1.0))
    layer.build((None, 3))
    layer.kernel.apply_constraint()
    assert layer.kernel.numpy().tolist() == [[0.0, 0.0]] * 3
    assert layer.get_config()["kernel_constraint"]["class_name"] == "NonNeg"
