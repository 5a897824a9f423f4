"""The first steps of every optimizer match the Keras 3 rule re-implemented in NumPy (numpy_rules.py).

Tolerance: float32, rtol 1e-5, atol 1e-6 on the variables after each of 5 steps.
"""

import numpy as np
import pytest
import torch

import lamina
from lamina import optimizers
from lamina.optimizers import schedules
from tests.optimizers import numpy_rules as rules

RTOL, ATOL = 1e-5, 1e-6
SHAPES = [(3, 4), (5,), (2, 3, 2), ()]

CASES = [
    ("SGD", optimizers.SGD, {}, rules.SGDRule, {}),
    ("SGD-momentum", optimizers.SGD, {"momentum": 0.9}, rules.SGDRule, {"momentum": 0.9}),
    ("SGD-nesterov", optimizers.SGD, {"momentum": 0.8, "nesterov": True}, rules.SGDRule,
     {"momentum": 0.8, "nesterov": True}),
    ("Adam", optimizers.Adam, {}, rules.AdamRule, {}),
    ("Adam-amsgrad", optimizers.Adam, {"amsgrad": True, "beta_1": 0.8}, rules.AdamRule,
     {"amsgrad": True, "beta_1": 0.8}),
    ("AdamW", optimizers.AdamW, {"weight_decay": 0.1}, rules.AdamRule, {}),
    ("RMSprop", optimizers.RMSprop, {}, rules.RMSpropRule, {}),
    ("RMSprop-centered-momentum", optimizers.RMSprop, {"centered": True, "momentum": 0.5}, rules.RMSpropRule,
     {"centered": True, "momentum": 0.5}),
    ("RMSprop-centered", optimizers.RMSprop, {"centered": True, "rho": 0.8}, rules.RMSpropRule,
     {"centered": True, "rho": 0.8}),
    ("Adagrad", optimizers.Adagrad, {}, rules.AdagradRule, {}),
    ("Adagrad-init", optimizers.Adagrad, {"initial_accumulator_value": 0.5}, rules.AdagradRule,
     {"initial_accumulator_value": 0.5}),
    ("Adadelta", optimizers.Adadelta, {}, rules.AdadeltaRule, {}),
    ("Adamax", optimizers.Adamax, {}, rules.AdamaxRule, {}),
    ("Nadam", optimizers.Nadam, {}, rules.NadamRule, {}),
    ("Lion", optimizers.Lion, {}, rules.LionRule, {}),
    ("Ftrl", optimizers.Ftrl, {}, rules.FtrlRule, {}),
    ("Ftrl-regularized", optimizers.Ftrl,
     {"l1_regularization_strength": 0.01, "l2_regularization_strength": 0.1,
      "l2_shrinkage_regularization_strength": 0.05, "beta": 0.2, "learning_rate_power": -0.3},
     rules.FtrlRule,
     {"l1_regularization_strength": 0.01, "l2_regularization_strength": 0.1,
      "l2_shrinkage_regularization_strength": 0.05, "beta": 0.2, "learning_rate_power": -0.3}),
]
LEARNING_RATES = {"Adadelta": 1.0, "Ftrl": 0.5, "Ftrl-regularized": 0.5}


def _initial_values(seed=0):
    rng = np.random.default_rng(seed)
    return [np.asarray(rng.normal(size=shape), dtype=np.float32) for shape in SHAPES]


def _gradients(rng, scale=1.0):
    return [np.asarray(rng.normal(size=shape) * scale, dtype=np.float32) for shape in SHAPES]


def _run(optimizer_cls, kwargs, rule, rule_kwargs, lr=0.1, steps=5, base=None, grad_scale=1.0, fused=True,
         no_decay=()):
    base = base or {}
    initial = _initial_values()
    variables = [lamina.Variable(v, name=f"v{i}") for i, v in enumerate(initial)]
    optimizer = optimizer_cls(learning_rate=lr, **kwargs, **base)
    reference_kwargs = {k: v for k, v in base.items()}
    if "weight_decay" in kwargs:
        reference_kwargs["weight_decay"] = kwargs["weight_decay"]
    elif optimizer_cls is optimizers.AdamW:
        reference_kwargs["weight_decay"] = 0.004
    reference = rules.KerasReference(rule(**rule_kwargs), initial, lr, no_decay=no_decay, **reference_kwargs)
    optimizer.build(variables)
    if not fused and hasattr(optimizer, "_fused_step"):
        optimizer._fused_step = None
    rng = np.random.default_rng(1)
    for step in range(steps):
        grads = _gradients(rng, grad_scale)
        optimizer.apply([torch.from_numpy(g) for g in grads], variables)
        reference.apply(grads)
        for variable, expected in zip(variables, reference.vars):
            np.testing.assert_allclose(variable.numpy(), expected, rtol=RTOL, atol=ATOL,
                                       err_msg=f"{optimizer_cls.__name__} step {step + 1} {variable.name}")
    return optimizer, variables, reference


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_rule_matches_numpy(case):
    name, optimizer_cls, kwargs, rule, rule_kwargs = case
    _run(optimizer_cls, kwargs, rule, rule_kwargs, lr=LEARNING_RATES.get(name, 0.1))


@pytest.mark.parametrize("amsgrad", [False, True])
def test_adam_multi_tensor_path_matches_numpy(amsgrad):
    # The fused kernel is the default on CPU; the _foreach path serves other devices and mixed dtypes.
    _run(optimizers.Adam, {"amsgrad": amsgrad}, rules.AdamRule, {"amsgrad": amsgrad}, fused=False)


BASE_OPTIONS = [
    ("clipnorm", {"clipnorm": 0.5}),
    ("global_clipnorm", {"global_clipnorm": 1.5}),
    ("clipvalue", {"clipvalue": 0.3}),
    ("weight_decay", {"weight_decay": 0.05}),
    ("loss_scale_factor", {"loss_scale_factor": 128.0}),
    ("ema", {"use_ema": True, "ema_momentum": 0.9}),
    ("ema_overwrite", {"use_ema": True, "ema_momentum": 0.5, "ema_overwrite_frequency": 2}),
    ("accumulation", {"gradient_accumulation_steps": 2}),
    ("accumulation_ema_clip", {"gradient_accumulation_steps": 3, "use_ema": True, "clipnorm": 1.0}),
]


@pytest.mark.parametrize("option", BASE_OPTIONS, ids=[o[0] for o in BASE_OPTIONS])
@pytest.mark.parametrize("case", [CASES[1], CASES[3], CASES[7], CASES[13]], ids=lambda c: c[0])
def test_base_options_match_numpy(case, option):
    name, optimizer_cls, kwargs, rule, rule_kwargs = case
    _, base = option
    grad_scale = base.get("loss_scale_factor", 1.0)
    _run(optimizer_cls, kwargs, rule, rule_kwargs, base=base, grad_scale=grad_scale, steps=7)


def test_clipping_really_clips():
    # The gradients are large enough that each clipping option changes the result.
    base = _run(optimizers.SGD, {}, rules.SGDRule, {}, grad_scale=10.0)[1]
    for option in ({"clipnorm": 0.5}, {"global_clipnorm": 1.0}, {"clipvalue": 0.1}):
        clipped = _run(optimizers.SGD, {}, rules.SGDRule, {}, base=option, grad_scale=10.0)[1]
        assert not np.allclose(clipped[0].numpy(), base[0].numpy())


def test_weight_decay_exclusions_match_numpy():
    initial = _initial_values()
    variables = [lamina.Variable(v, name=n) for v, n in zip(initial, ["kernel", "bias", "gamma", "kernel_2"])]
    optimizer = optimizers.AdamW(learning_rate=0.1, weight_decay=0.5)
    optimizer.exclude_from_weight_decay(var_list=[variables[2]], var_names=["bias"])
    reference = rules.KerasReference(rules.AdamRule(), initial, 0.1, weight_decay=0.5, no_decay={1, 2})
    rng = np.random.default_rng(3)
    for _ in range(5):
        grads = _gradients(rng)
        optimizer.apply([torch.from_numpy(g) for g in grads], variables)
        reference.apply(grads)
    for variable, expected in zip(variables, reference.vars):
        np.testing.assert_allclose(variable.numpy(), expected, rtol=RTOL, atol=ATOL)


def test_schedule_learning_rate_matches_numpy():
    schedule = schedules.ExponentialDecay(0.1, decay_steps=2, decay_rate=0.5)
    initial = _initial_values()
    variables = [lamina.Variable(v) for v in initial]
    optimizer = optimizers.Adam(learning_rate=schedule, weight_decay=0.1)
    reference = rules.KerasReference(rules.AdamRule(), initial, lambda step: 0.1 * 0.5 ** (step / 2),
                                     weight_decay=0.1)
    rng = np.random.default_rng(4)
    for _ in range(5):
        grads = _gradients(rng)
        optimizer.apply([torch.from_numpy(g) for g in grads], variables)
        reference.apply(grads)
    for variable, expected in zip(variables, reference.vars):
        np.testing.assert_allclose(variable.numpy(), expected, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(float(optimizer.learning_rate), 0.1 * 0.5 ** 2.5, rtol=1e-6)


def test_callable_learning_rate_is_called_without_arguments():
    calls = []

    def learning_rate():
        calls.append(1)
        return 0.5

    w = lamina.Variable([1.0])
    optimizer = optimizers.SGD(learning_rate=learning_rate)
    optimizer.apply([torch.tensor([1.0])], [w])
    np.testing.assert_allclose(w.numpy(), [0.5])
    assert calls
    assert [v.name for v in optimizer.variables] == ["iteration"]


def test_none_gradients_are_skipped_with_a_warning():
    initial = _initial_values()
    variables = [lamina.Variable(v, name=f"v{i}") for i, v in enumerate(initial)]
    optimizer = optimizers.Adam(learning_rate=0.1)
    grads = [torch.ones(s) for s in SHAPES]
    grads[1] = None
    with pytest.warns(UserWarning, match=r"Gradients do not exist for variables \['v1'\]"):
        optimizer.apply(grads, variables)
    np.testing.assert_array_equal(variables[1].numpy(), initial[1])
    assert not np.allclose(variables[0].numpy(), initial[0])
    assert int(optimizer.iterations) == 1


def test_constraints_are_applied_after_the_update():
    w = lamina.Variable([1.0, -1.0], constraint=lambda x: torch.clamp(x, min=0.0))
    optimizers.SGD(learning_rate=0.5).apply([torch.tensor([-1.0, 1.0])], [w])
    np.testing.assert_allclose(w.numpy(), [1.5, 0.0])


def test_finalize_variable_values_swaps_in_the_average():
    initial = _initial_values()
    variables = [lamina.Variable(v) for v in initial]
    optimizer = optimizers.SGD(learning_rate=0.1, use_ema=True, ema_momentum=0.9)
    reference = rules.KerasReference(rules.SGDRule(), initial, 0.1, use_ema=True, ema_momentum=0.9)
    rng = np.random.default_rng(5)
    for _ in range(4):
        grads = _gradients(rng)
        optimizer.apply([torch.from_numpy(g) for g in grads], variables)
        reference.apply(grads)
    optimizer.finalize_variable_values(variables)
    for variable, expected in zip(variables, reference.averages):
        np.testing.assert_allclose(variable.numpy(), expected, rtol=RTOL, atol=ATOL)


def test_accumulation_counts_updates_not_calls():
    w = lamina.Variable([1.0])
    optimizer = optimizers.SGD(learning_rate=1.0, gradient_accumulation_steps=3)
    for g in (1.0, 2.0):
        optimizer.apply([torch.tensor([g])], [w])
        np.testing.assert_array_equal(w.numpy(), [1.0])
    optimizer.apply([torch.tensor([6.0])], [w])
    np.testing.assert_allclose(w.numpy(), [-2.0])  # 1 - mean(1, 2, 6)
    assert int(optimizer.iterations) == 1 and int(optimizer._iterations.numpy()) == 3


def test_minimize_with_a_callable_and_with_a_tape():
    w = lamina.Variable([3.0])
    optimizer = optimizers.SGD(learning_rate=0.1)
    optimizer.minimize(lambda: (w * w).sum(), [w])
    np.testing.assert_allclose(w.numpy(), [2.4], rtol=1e-6)
    with lamina.GradientTape() as tape:
        loss = (w * w).sum()
    optimizer.minimize(loss, [w], tape=tape)
    np.testing.assert_allclose(w.numpy(), [1.92], rtol=1e-6)
    assert int(optimizer.iterations) == 2


def test_gradient_dtype_and_array_inputs_are_converted():
    w = lamina.Variable([1.0, 2.0])
    optimizer = optimizers.SGD(learning_rate=0.5)
    optimizer.apply_gradients([(np.array([1.0, 1.0]), w)])  # float64 NumPy gradient
    np.testing.assert_allclose(w.numpy(), [0.5, 1.5])
    optimizer.apply([torch.tensor([2.0, 2.0], dtype=torch.float64)])
    np.testing.assert_allclose(w.numpy(), [-0.5, 0.5])


def test_adam_with_non_contiguous_gradients_and_mixed_dtypes():
    # A transposed gradient must be read by element, not by memory order, in the fused kernel;
    # mixed dtypes leave the fused kernel for the multi-tensor path. Both must match per-dtype runs.
    rng = np.random.default_rng(7)
    kernel = np.asarray(rng.normal(size=(3, 4)), dtype=np.float32)
    bias = rng.normal(size=(4,))
    grads = [np.asarray(rng.normal(size=(4, 3)), dtype=np.float32).T, rng.normal(size=(4,))]
    mixed = [lamina.Variable(kernel), lamina.Variable(bias, dtype="float64")]
    single = [lamina.Variable(kernel)]
    optimizer_mixed, optimizer_single = optimizers.Adam(learning_rate=0.1), optimizers.Adam(learning_rate=0.1)
    reference = rules.KerasReference(rules.AdamRule(), [kernel], 0.1)
    for _ in range(3):
        optimizer_mixed.apply([torch.from_numpy(grads[0]), torch.from_numpy(grads[1])], mixed)
        optimizer_single.apply([torch.from_numpy(grads[0])], single)
        reference.apply([grads[0]])
    assert optimizer_mixed._fused_step is None and optimizer_single._fused_step is not None
    assert mixed[1].dtype == "float64" and optimizer_mixed.variables[-1].dtype == "float64"
    for variable in (mixed[0], single[0]):
        np.testing.assert_allclose(variable.numpy(), reference.vars[0], rtol=RTOL, atol=ATOL)
