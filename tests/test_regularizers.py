"""Regularizers against NumPy references (Keras formulas), float64 finite-difference gradients,
configs and error messages. Tolerances: float32 results within rtol 1e-5 of the float64 reference."""

import json

import numpy as np
import pytest
import torch

import lamina
from lamina import regularizers

EPS = 1e-7  # lamina.config.epsilon(), as keras.config.epsilon()


def _np_orthogonal(x, factor, mode):
    x = np.asarray(x, dtype=np.float64)
    if mode == "columns":
        x = x.T
    with np.errstate(divide="ignore"):
        inv = np.minimum(1.0 / np.sqrt((x**2).sum(axis=1, keepdims=True)), 1.0 / EPS)
    x = x * inv
    gram = x @ x.T
    n = gram.shape[0]
    off = np.abs(gram - np.diag(np.diag(gram))).sum()
    return factor * 0.5 * off / (n * (n - 1) / 2)


@pytest.fixture
def x():
    return np.random.default_rng(0).normal(size=(5, 4)).astype("float32")


def test_l1_l2_l1l2_match_numpy(x):
    t = torch.from_numpy(x)
    x64 = x.astype(np.float64)
    np.testing.assert_allclose(float(regularizers.L1(0.3)(t)), 0.3 * np.abs(x64).sum(), rtol=1e-5)
    np.testing.assert_allclose(float(regularizers.L2(0.3)(t)), 0.3 * (x64**2).sum(), rtol=1e-5)  # no 1/2
    np.testing.assert_allclose(
        float(regularizers.L1L2(l1=0.2, l2=0.7)(t)), 0.2 * np.abs(x64).sum() + 0.7 * (x64**2).sum(), rtol=1e-5
    )
    np.testing.assert_allclose(float(regularizers.L1()(t)), 0.01 * np.abs(x64).sum(), rtol=1e-5)
    np.testing.assert_allclose(float(regularizers.L2()(t)), 0.01 * (x64**2).sum(), rtol=1e-5)


def test_keras_documented_values():
    # From the Keras docstrings: L2(2.0) on ones((5, 5)) is 50.
    assert float(regularizers.L2(2.0)(torch.ones(5, 5))) == 50.0
    assert float(regularizers.L1(0.01)(2 * torch.ones(5, 5))) == pytest.approx(0.5)


def test_outputs_are_scalar_tensors_with_input_dtype(x):
    for reg in (regularizers.L1(), regularizers.L2(), regularizers.L1L2(0.1, 0.1), regularizers.L1L2(),
                regularizers.OrthogonalRegularizer()):
        for dtype in (torch.float32, torch.float64):
            out = reg(torch.from_numpy(x).to(dtype))
            assert isinstance(out, torch.Tensor) and out.shape == () and out.dtype == dtype
    assert float(regularizers.L1L2()(torch.from_numpy(x))) == 0.0


def test_accepts_arrays_variables_and_integers(x):
    assert float(regularizers.L1(1.0)(np.array([1, -2]))) == 3.0
    assert float(regularizers.L2(1.0)([1.0, 2.0])) == 5.0
    v = lamina.Variable(x)
    np.testing.assert_allclose(float(regularizers.L2(1.0)(v).detach()), (x.astype(np.float64) ** 2).sum(), rtol=1e-5)


@pytest.mark.parametrize("mode", ["rows", "columns"])
@pytest.mark.parametrize("shape", [(5, 4), (3, 6), (2, 2)])
def test_orthogonal_regularizer_matches_numpy(mode, shape):
    x = np.random.default_rng(1).normal(size=shape)
    out = regularizers.OrthogonalRegularizer(factor=0.3, mode=mode)(torch.from_numpy(x))
    np.testing.assert_allclose(float(out), _np_orthogonal(x, 0.3, mode), rtol=1e-10)


def test_orthogonal_regularizer_zero_row_uses_epsilon_cap():
    x = np.array([[0.0, 0.0], [1.0, 2.0], [2.0, -1.0]])
    out = regularizers.OrthogonalRegularizer(factor=1.0)(torch.from_numpy(x))
    assert np.isfinite(float(out))
    np.testing.assert_allclose(float(out), _np_orthogonal(x, 1.0, "rows"), atol=1e-12)
    assert float(out) == pytest.approx(0.0, abs=1e-12)  # the non-zero rows are orthogonal


def test_orthogonal_regularizer_of_orthogonal_matrix_is_zero():
    q = lamina.initializers.Orthogonal(seed=0)((6, 4), dtype="float64")
    assert float(regularizers.OrthogonalRegularizer(mode="columns")(q)) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("reg", [
    regularizers.L1(0.3), regularizers.L2(0.3), regularizers.L1L2(0.2, 0.5),
    regularizers.OrthogonalRegularizer(0.4, "rows"), regularizers.OrthogonalRegularizer(0.4, "columns"),
], ids=["l1", "l2", "l1l2", "orth_rows", "orth_cols"])
def test_gradients_match_finite_differences(reg):
    x = torch.tensor(np.random.default_rng(2).normal(size=(4, 3)) + 0.1, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(reg, (x,), eps=1e-6, atol=1e-6)


def test_l2_gradient_is_2_l2_x():
    x = torch.tensor([1.0, -2.0, 3.0], dtype=torch.float64, requires_grad=True)
    regularizers.L2(0.5)(x).backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0, -2.0, 3.0])


# ---- configs, names, errors --------------------------------------------------------------

CONFIGS = [
    (regularizers.L1(), "L1", {"l1": 0.01}),
    (regularizers.L2(), "L2", {"l2": 0.01}),
    (regularizers.L1L2(), "L1L2", {"l1": 0.0, "l2": 0.0}),
    (regularizers.L1L2(l1=1, l2=0.5), "L1L2", {"l1": 1.0, "l2": 0.5}),
    (regularizers.OrthogonalRegularizer(), "OrthogonalRegularizer", {"factor": 0.01, "mode": "rows"}),
]


@pytest.mark.parametrize("reg, class_name, config_", CONFIGS)
def test_config_round_trip(reg, class_name, config_):
    assert reg.get_config() == config_
    ser = regularizers.serialize(reg)
    assert ser == {"module": "keras.regularizers", "class_name": class_name, "config": config_,
                   "registered_name": None}
    restored = regularizers.deserialize(json.loads(json.dumps(ser)))
    assert type(restored) is type(reg) and restored.get_config() == config_
    assert regularizers.get({"class_name": class_name, "config": config_}).get_config() == config_
    assert type(reg).from_config(config_).get_config() == config_


def test_none_factors_fall_back_to_defaults():
    assert regularizers.L1(None).l1 == 0.01
    assert regularizers.L2(None).l2 == 0.01
    assert regularizers.L1L2(None, None).get_config() == {"l1": 0.0, "l2": 0.0}


@pytest.mark.parametrize("name, cls, config_", [
    ("l1", regularizers.L1, {"l1": 0.01}),
    ("L1", regularizers.L1, {"l1": 0.01}),
    ("l2", regularizers.L2, {"l2": 0.01}),
    ("l1l2", regularizers.L1L2, {"l1": 0.0, "l2": 0.0}),
    ("L1L2", regularizers.L1L2, {"l1": 0.0, "l2": 0.0}),
    ("l1_l2", regularizers.L1L2, {"l1": 0.01, "l2": 0.01}),  # Keras 2's l1_l2 defaults
    ("orthogonal_regularizer", regularizers.OrthogonalRegularizer, {"factor": 0.01, "mode": "rows"}),
])
def test_get_by_name(name, cls, config_):
    reg = regularizers.get(name)
    assert type(reg) is cls and reg.get_config() == config_


def test_keras2_l1_l2_function_config():
    reg = regularizers.deserialize({"class_name": "l1_l2", "config": {"l1": 0.5}})
    assert reg.get_config() == {"l1": 0.5, "l2": 0.01}


def test_get_passthrough_and_errors():
    assert regularizers.get(None) is None
    reg = regularizers.L2()
    assert regularizers.get(reg) is reg
    assert isinstance(regularizers.get(regularizers.L1), regularizers.L1)

    def fn(w):
        return w.sum()

    assert regularizers.get(fn) is fn
    with pytest.raises(ValueError, match=r"interpret regularizer identifier: 'l3'.*Received: identifier='l3'"):
        regularizers.get("l3")
    with pytest.raises(ValueError, match=r"Received: identifier=0.1"):
        regularizers.get(0.1)


@pytest.mark.parametrize("make, message", [
    (lambda: regularizers.L1(-0.1), r"argument l1: expected a non-negative float. Received: l1=-0.1"),
    (lambda: regularizers.L2(float("inf")), r"argument l2: expected a non-negative float. Received: l2=inf"),
    (lambda: regularizers.L1L2(l2=float("nan")), r"Received: l2=nan"),
    (lambda: regularizers.L1L2(l1="0.1"), r"Received: l1='0.1'"),
    (lambda: regularizers.OrthogonalRegularizer(factor=-1), r"Received: factor=-1"),
    (lambda: regularizers.OrthogonalRegularizer(mode="diag"), r"Expected one of .*Received: mode='diag'"),
])
def test_argument_errors(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_orthogonal_rank_error():
    with pytest.raises(ValueError, match=r"must have rank 2. Received: inputs.shape=\(2, 2, 2\)"):
        regularizers.OrthogonalRegularizer()(torch.ones(2, 2, 2))


def test_base_class():
    assert regularizers.Regularizer()(torch.ones(2)) == 0.0
    with pytest.raises(NotImplementedError, match="Regularizer does not implement get_config"):
        regularizers.Regularizer().get_config()


def test_used_by_layers():
    layer = lamina.layers.Dense(2, kernel_initializer="ones", kernel_regularizer="l2")
    layer(torch.ones(1, 3))
    assert float(sum(layer.losses).detach()) == pytest.approx(0.01 * 6)
    assert layer.get_config()["kernel_regularizer"]["class_name"] == "L2"
