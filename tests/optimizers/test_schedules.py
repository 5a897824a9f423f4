"""Learning rate schedules against closed forms in NumPy (float32 results: rtol 1e-6, atol 1e-7)."""

import math

import numpy as np
import pytest
import torch

import lamina
from lamina.optimizers import schedules

STEPS = list(range(0, 40, 3))
RTOL, ATOL = 1e-6, 1e-7


def _check(schedule, expected_fn, steps=STEPS):
    got = [float(schedule(step)) for step in steps]
    np.testing.assert_allclose(got, [expected_fn(s) for s in steps], rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("staircase", [False, True])
def test_exponential_decay(staircase):
    def expected(step):
        p = step / 7
        return 0.1 * 0.6 ** (math.floor(p) if staircase else p)

    _check(schedules.ExponentialDecay(0.1, 7, 0.6, staircase=staircase), expected)


@pytest.mark.parametrize("staircase", [False, True])
def test_inverse_time_decay(staircase):
    def expected(step):
        p = step / 4
        return 0.2 / (1 + 0.5 * (math.floor(p) if staircase else p))

    _check(schedules.InverseTimeDecay(0.2, 4, 0.5, staircase=staircase), expected)


def test_piecewise_constant_decay():
    schedule = schedules.PiecewiseConstantDecay([5, 12, 20], [1.0, 0.5, 0.25, 0.1])

    def expected(step):
        if step <= 5:
            return 1.0
        if step <= 12:
            return 0.5
        return 0.25 if step <= 20 else 0.1

    _check(schedule, expected, steps=list(range(0, 25)))


@pytest.mark.parametrize("cycle", [False, True])
def test_polynomial_decay(cycle):
    def expected(step):
        decay_steps = 10
        if cycle:
            decay_steps = 10 * (1 if step == 0 else math.ceil(step / 10))
        else:
            step = min(step, 10)
        return (0.1 - 0.01) * (1 - step / decay_steps) ** 2.0 + 0.01

    _check(schedules.PolynomialDecay(0.1, 10, end_learning_rate=0.01, power=2.0, cycle=cycle), expected)


def test_cosine_decay_without_warmup():
    def expected(step):
        step = min(step, 20)
        return 0.1 * ((1 - 0.1) * 0.5 * (1 + math.cos(math.pi * step / 20)) + 0.1)

    _check(schedules.CosineDecay(0.1, 20, alpha=0.1), expected)


def test_cosine_decay_with_warmup():
    def expected(step):
        step = min(step, 20 + 6)
        if step < 6:
            return 0.01 + (0.5 - 0.01) * step / 6
        return 0.5 * (0.5 * (1 + math.cos(math.pi * (step - 6) / 20)))

    _check(schedules.CosineDecay(0.01, 20, warmup_target=0.5, warmup_steps=6), expected)


@pytest.mark.parametrize("t_mul,m_mul", [(1.0, 1.0), (2.0, 0.5), (1.5, 0.9)])
def test_cosine_decay_restarts(t_mul, m_mul):
    def expected(step):
        # Walk the periods one by one (the schedule computes the period index in closed form).
        start, length, peak = 0.0, 5.0, 1.0
        while step >= start + length:
            start, length, peak = start + length, length * t_mul, peak * m_mul
        fraction = (step - start) / length
        return 0.3 * ((1 - 0.05) * 0.5 * peak * (1 + math.cos(math.pi * fraction)) + 0.05)

    _check(schedules.CosineDecayRestarts(0.3, 5, t_mul=t_mul, m_mul=m_mul, alpha=0.05), expected,
           steps=[0, 1, 3, 4, 6, 9, 13, 16, 22, 31])


def test_schedules_accept_variables_and_tensors_as_steps():
    schedule = schedules.ExponentialDecay(0.1, 2, 0.5)
    step = lamina.Variable(4, dtype="int64", trainable=False)
    assert float(schedule(step)) == pytest.approx(0.025)
    assert float(schedule(torch.tensor(4))) == pytest.approx(0.025)
    assert schedule(step).dtype == torch.float32


SCHEDULES = [
    schedules.ExponentialDecay(0.1, 10, 0.9, staircase=True, name="exp"),
    schedules.InverseTimeDecay(0.1, 10, 0.5),
    schedules.PiecewiseConstantDecay([3, 6], [0.1, 0.01, 0.001]),
    schedules.PolynomialDecay(0.1, 100, end_learning_rate=0.001, power=0.5, cycle=True),
    schedules.CosineDecay(0.1, 100, alpha=0.2, warmup_target=0.5, warmup_steps=10),
    schedules.CosineDecayRestarts(0.1, 10, t_mul=3.0, m_mul=0.8, alpha=0.1),
]
CONFIG_KEYS = {
    "ExponentialDecay": ["initial_learning_rate", "decay_steps", "decay_rate", "staircase", "name"],
    "InverseTimeDecay": ["initial_learning_rate", "decay_steps", "decay_rate", "staircase", "name"],
    "PiecewiseConstantDecay": ["boundaries", "values", "name"],
    "PolynomialDecay": ["initial_learning_rate", "decay_steps", "end_learning_rate", "power", "cycle", "name"],
    "CosineDecay": ["initial_learning_rate", "decay_steps", "alpha", "name", "warmup_target", "warmup_steps"],
    "CosineDecayRestarts": ["initial_learning_rate", "first_decay_steps", "t_mul", "m_mul", "alpha", "name"],
}


@pytest.mark.parametrize("schedule", SCHEDULES, ids=lambda s: type(s).__name__)
def test_config_round_trip(schedule):
    config = schedule.get_config()
    assert list(config) == CONFIG_KEYS[type(schedule).__name__]
    serialized = schedules.serialize(schedule)
    assert serialized["module"] == "keras.optimizers.schedules"
    assert serialized["class_name"] == type(schedule).__name__
    assert serialized["registered_name"] is None
    restored = schedules.deserialize(serialized)
    assert type(restored) is type(schedule) and restored.get_config() == config
    for step in (0, 5, 17, 250):
        assert float(restored(step)) == float(schedule(step))


def test_default_names_and_arguments():
    assert schedules.ExponentialDecay(0.1, 1, 0.5).name == "ExponentialDecay"
    assert schedules.PiecewiseConstantDecay([1], [1.0, 0.5]).name == "PiecewiseConstant"
    assert schedules.PolynomialDecay(0.1, 1).get_config()["end_learning_rate"] == 0.0001
    assert schedules.CosineDecay(0.1, 1).get_config()["warmup_steps"] == 0
    config = schedules.CosineDecayRestarts(0.1, 1).get_config()
    assert (config["t_mul"], config["m_mul"], config["alpha"], config["name"]) == (2.0, 1.0, 0.0, "SGDRDecay")


def test_errors():
    with pytest.raises(ValueError, match=r"`decay_steps` must be > 0. Received: decay_steps=0"):
        schedules.ExponentialDecay(0.1, 0, 0.5)
    with pytest.raises(ValueError, match=r"`first_decay_steps` must be > 0. Received: first_decay_steps=-1"):
        schedules.CosineDecayRestarts(0.1, -1)
    with pytest.raises(ValueError, match=r"length of boundaries should be 1 less than the length of values"):
        schedules.PiecewiseConstantDecay([1, 2], [0.1, 0.2])
    with pytest.raises(ValueError, match=r"Unknown decay: 'NoSuchDecay'"):
        schedules.deserialize({"class_name": "NoSuchDecay", "config": {}})
    with pytest.raises(NotImplementedError, match="must override `__call__"):
        schedules.LearningRateSchedule()(0)
