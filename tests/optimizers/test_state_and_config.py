"""Optimizer state (names, paths, order, dtypes), configs, get/serialize/deserialize and errors."""

import warnings

import numpy as np
import pytest
import torch

import lamina
from lamina import optimizers
from lamina.optimizers import schedules


@pytest.fixture(autouse=True)
def _fresh_names():
    # Unnamed optimizers are named like Keras's, uniquified per process ("adam", "adam_1", ...):
    # each test starts as a fresh process would.
    lamina.backend.clear_session()


def _mlp_variables():
    return [
        lamina.Variable(np.ones((4, 8), "float32"), name="kernel", path="hidden/kernel"),
        lamina.Variable(np.zeros(8, "float32"), name="bias", path="hidden/bias"),
        lamina.Variable(np.ones((8, 3), "float32"), name="kernel", path="out/kernel"),
        lamina.Variable(np.zeros(3, "float32"), name="bias", path="out/bias"),
    ]


def _paths(optimizer):
    return [v.path for v in optimizer.variables]


def test_adam_state_matches_the_keras_weights_file_order():
    optimizer = optimizers.Adam()
    assert _paths(optimizer) == ["adam/iteration", "adam/learning_rate"]
    optimizer.build(_mlp_variables())
    assert _paths(optimizer) == [
        "adam/iteration", "adam/learning_rate",
        "adam/hidden_kernel_momentum", "adam/hidden_kernel_velocity",
        "adam/hidden_bias_momentum", "adam/hidden_bias_velocity",
        "adam/out_kernel_momentum", "adam/out_kernel_velocity",
        "adam/out_bias_momentum", "adam/out_bias_velocity",
    ]
    names = [v.name for v in optimizer.variables]
    assert names[:4] == ["iteration", "learning_rate", "hidden_kernel_momentum", "hidden_kernel_velocity"]
    shapes = [v.shape for v in optimizer.variables]
    assert shapes == [(), (), (4, 8), (4, 8), (8,), (8,), (8, 3), (8, 3), (3,), (3,)]
    assert optimizer.variables[0].dtype == "int64" and optimizer.variables[1].dtype == "float32"
    assert not any(v.trainable for v in optimizer.variables)


def test_amsgrad_ema_and_accumulators_order():
    optimizer = optimizers.Adam(amsgrad=True, use_ema=True, gradient_accumulation_steps=2, name="opt")
    optimizer.build(_mlp_variables()[:2])
    assert _paths(optimizer) == [
        "opt/iteration", "opt/learning_rate",
        "opt/hidden_kernel_average", "opt/hidden_bias_average",
        "opt/hidden_kernel_gradient_accumulator", "opt/hidden_bias_gradient_accumulator",
        "opt/hidden_kernel_momentum", "opt/hidden_kernel_velocity",
        "opt/hidden_bias_momentum", "opt/hidden_bias_velocity",
        "opt/hidden_kernel_velocity_hat", "opt/hidden_bias_velocity_hat",
    ]


@pytest.mark.parametrize("optimizer,slots", [
    (optimizers.SGD(), []),
    (optimizers.SGD(momentum=0.5), ["momentum"]),
    (optimizers.RMSprop(), ["velocity"]),
    (optimizers.Adagrad(), ["accumulator"]),
    (optimizers.Adadelta(), ["accumulated_grad", "accumulated_delta_var"]),
    (optimizers.Adamax(), ["momentum", "norm"]),
    (optimizers.Lion(), ["momentum"]),
    (optimizers.Ftrl(), ["accumulator", "linear"]),
    (optimizers.AdamW(), ["momentum", "velocity"]),
], ids=lambda x: getattr(x, "name", None))
def test_slot_names_are_interleaved_per_variable(optimizer, slots):
    variables = _mlp_variables()[:2]
    optimizer.build(variables)
    expected = [f"{optimizer.name}/{p}_{s}" for p in ("hidden_kernel", "hidden_bias") for s in slots]
    assert _paths(optimizer) == [f"{optimizer.name}/iteration", f"{optimizer.name}/learning_rate"] + expected


def test_rmsprop_slot_kinds_are_grouped():
    optimizer = optimizers.RMSprop(momentum=0.5, centered=True)
    optimizer.build(_mlp_variables()[:2])
    assert [v.name for v in optimizer.variables[2:]] == [
        "hidden_kernel_velocity", "hidden_bias_velocity", "hidden_kernel_momentum", "hidden_bias_momentum",
        "hidden_kernel_average_gradient", "hidden_bias_average_gradient",
    ]


def test_nadam_tracks_its_u_product_after_the_slots():
    optimizer = optimizers.Nadam()
    optimizer.build(_mlp_variables()[:1])
    assert _paths(optimizer) == ["nadam/iteration", "nadam/learning_rate", "nadam/hidden_kernel_momentum",
                                 "nadam/hidden_kernel_velocity", "nadam/variable"]
    assert float(optimizer.variables[-1].numpy()) == 1.0


def test_initial_slot_values():
    optimizer = optimizers.Ftrl(initial_accumulator_value=0.25)
    optimizer.build(_mlp_variables()[:1])
    np.testing.assert_array_equal(optimizer.variables[2].numpy(), np.full((4, 8), 0.25, "float32"))
    np.testing.assert_array_equal(optimizer.variables[3].numpy(), np.zeros((4, 8), "float32"))


def test_schedule_has_no_learning_rate_variable():
    optimizer = optimizers.SGD(learning_rate=schedules.ExponentialDecay(0.1, 10, 0.5))
    assert _paths(optimizer) == ["sgd/iteration"]


def test_learning_rate_property_and_setter():
    optimizer = optimizers.Adam(learning_rate=0.01)
    assert isinstance(optimizer.learning_rate, lamina.Variable)
    optimizer.learning_rate = 0.5
    assert float(optimizer.learning_rate) == 0.5
    assert optimizer.get_config()["learning_rate"] == 0.5
    optimizer.learning_rate = schedules.InverseTimeDecay(1.0, 1, 1.0)
    assert _paths(optimizer) == ["adam/iteration"]
    optimizer._iterations.assign(3)
    assert float(optimizer.learning_rate) == pytest.approx(0.25)
    with pytest.raises(TypeError, match="its learning rate is not settable"):
        optimizer.learning_rate = 0.1


def test_iterations_is_an_int64_variable_on_every_step():
    w = lamina.Variable([1.0])
    optimizer = optimizers.SGD()
    for _ in range(3):
        optimizer.apply([torch.ones(1)], [w])
    assert isinstance(optimizer.iterations, lamina.Variable)
    assert optimizer.iterations.name == "iteration" and int(optimizer.iterations) == 3
    assert optimizer.apply_gradients([(torch.ones(1), w)]) is optimizer.iterations


ADAM_KEYS = ["name", "learning_rate", "weight_decay", "clipnorm", "global_clipnorm", "clipvalue", "use_ema",
             "ema_momentum", "ema_overwrite_frequency", "loss_scale_factor", "gradient_accumulation_steps",
             "beta_1", "beta_2", "epsilon", "amsgrad"]
SPECIFIC_DEFAULTS = {
    optimizers.SGD: ("sgd", 0.01, {"momentum": 0.0, "nesterov": False}),
    optimizers.Adam: ("adam", 0.001, {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7, "amsgrad": False}),
    optimizers.AdamW: ("adam_w", 0.001, {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7, "amsgrad": False}),
    optimizers.RMSprop: ("rm_sprop", 0.001, {"rho": 0.9, "momentum": 0.0, "epsilon": 1e-7, "centered": False}),
    optimizers.Adagrad: ("adagrad", 0.001, {"initial_accumulator_value": 0.1, "epsilon": 1e-7}),
    optimizers.Adadelta: ("adadelta", 0.001, {"rho": 0.95, "epsilon": 1e-7}),
    optimizers.Adamax: ("adamax", 0.001, {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7}),
    optimizers.Nadam: ("nadam", 0.001, {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7}),
    optimizers.Lion: ("lion", 0.001, {"beta_1": 0.9, "beta_2": 0.99}),
    optimizers.Ftrl: ("ftrl", 0.001, {
        "learning_rate_power": -0.5, "initial_accumulator_value": 0.1, "l1_regularization_strength": 0.0,
        "l2_regularization_strength": 0.0, "l2_shrinkage_regularization_strength": 0.0, "beta": 0.0}),
}


@pytest.mark.parametrize("cls", list(SPECIFIC_DEFAULTS), ids=lambda c: c.__name__)
def test_default_config_is_the_keras_config(cls):
    name, lr, specific = SPECIFIC_DEFAULTS[cls]
    config = cls().get_config()
    assert list(config) == ADAM_KEYS[:11] + list(specific)
    assert config["name"] == name
    assert config["learning_rate"] == float(np.float32(lr))
    assert {k: config[k] for k in specific} == specific
    assert config["weight_decay"] == (0.004 if cls is optimizers.AdamW else None)
    assert config["ema_momentum"] == 0.99 and config["use_ema"] is False


@pytest.mark.parametrize("cls", list(SPECIFIC_DEFAULTS), ids=lambda c: c.__name__)
def test_config_round_trip(cls):
    optimizer = cls(learning_rate=0.05, clipnorm=1.0, use_ema=True, ema_overwrite_frequency=3,
                    gradient_accumulation_steps=4, loss_scale_factor=8.0, name="custom")
    serialized = optimizers.serialize(optimizer)
    assert serialized["module"] == "keras.optimizers" and serialized["class_name"] == cls.__name__
    assert serialized["registered_name"] is None
    restored = optimizers.deserialize(serialized)
    assert type(restored) is cls and restored.get_config() == optimizer.get_config()
    assert cls.from_config(optimizer.get_config()).get_config() == optimizer.get_config()


def test_config_with_a_schedule_round_trips():
    optimizer = optimizers.Adam(learning_rate=schedules.CosineDecay(0.1, 100, warmup_target=0.2, warmup_steps=5))
    config = optimizer.get_config()
    assert config["learning_rate"]["module"] == "keras.optimizers.schedules"
    restored = optimizers.Adam.from_config(config)
    assert isinstance(restored._learning_rate, schedules.CosineDecay)
    assert restored.get_config() == config


def test_keras3_compile_config_and_float32_learning_rate():
    serialized = optimizers.serialize(optimizers.Adam())
    assert serialized == {
        "module": "keras.optimizers", "class_name": "Adam", "registered_name": None,
        "config": {"name": "adam", "learning_rate": 0.0010000000474974513, "weight_decay": None, "clipnorm": None,
                   "global_clipnorm": None, "clipvalue": None, "use_ema": False, "ema_momentum": 0.99,
                   "ema_overwrite_frequency": None, "loss_scale_factor": None, "gradient_accumulation_steps": None,
                   "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-07, "amsgrad": False},
    }


def test_get_accepts_names_dicts_instances_and_none():
    for name, cls in [("adam", optimizers.Adam), ("Adam", optimizers.Adam), ("sgd", optimizers.SGD),
                      ("rmsprop", optimizers.RMSprop), ("adamw", optimizers.AdamW), ("nadam", optimizers.Nadam),
                      ("adagrad", optimizers.Adagrad), ("adadelta", optimizers.Adadelta),
                      ("adamax", optimizers.Adamax), ("ftrl", optimizers.Ftrl), ("lion", optimizers.Lion)]:
        assert type(optimizers.get(name)) is cls
    optimizer = optimizers.SGD()
    assert optimizers.get(optimizer) is optimizer
    assert optimizers.get(None) is None
    restored = optimizers.get({"class_name": "RMSprop", "config": {"learning_rate": 0.5, "rho": 0.8}})
    assert isinstance(restored, optimizers.RMSprop) and restored.rho == 0.8


def test_keras2_optimizer_config_is_read():
    keras2 = {"class_name": "Custom>Adam", "config": {
        "name": "Adam", "weight_decay": None, "clipnorm": None, "global_clipnorm": None, "clipvalue": None,
        "use_ema": False, "ema_momentum": 0.99, "ema_overwrite_frequency": None, "jit_compile": False,
        "is_legacy_optimizer": False, "learning_rate": 0.0010000000474974513, "beta_1": 0.9, "beta_2": 0.999,
        "epsilon": 1e-07, "amsgrad": False}}
    optimizer = optimizers.deserialize(keras2)
    assert isinstance(optimizer, optimizers.Adam) and optimizer.name == "Adam"
    assert float(optimizer.learning_rate) == pytest.approx(1e-3)


def test_custom_optimizer_with_update_step():
    class SignSGD(optimizers.Optimizer):
        def __init__(self, learning_rate=0.1, name="sign_sgd", **kwargs):
            super().__init__(learning_rate=learning_rate, name=name, **kwargs)

        def update_step(self, gradient, variable, learning_rate):
            self.assign_sub(variable, torch.sign(gradient) * float(learning_rate))

    w = lamina.Variable([1.0, 1.0])
    SignSGD().apply([torch.tensor([3.0, -0.1])], [w])
    np.testing.assert_allclose(w.numpy(), [0.9, 1.1], rtol=1e-6)


def test_weights_round_trip_and_load_mismatch():
    variables = _mlp_variables()
    optimizer = optimizers.Adam()
    optimizer.apply([torch.ones(v.shape) for v in variables], variables)
    store = {}
    optimizer.save_own_variables(store)
    assert sorted(store, key=int) == [str(i) for i in range(10)] and store["0"] == 1
    other = optimizers.Adam()
    other.build(_mlp_variables())
    other.load_own_variables(store)
    for a, b in zip(optimizer.variables, other.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    other.set_weights([v.numpy() for v in optimizer.variables])
    with pytest.warns(UserWarning, match="because it has 2 variables whereas the saved optimizer has 10"):
        optimizers.Adam().load_own_variables(store)
    with pytest.raises(ValueError, match="has not yet been built"):
        optimizers.Adam().set_weights([])


def test_repr():
    expected = "<Adam name=adam, learning_rate=0.01, iterations=0, built=False>"
    assert repr(optimizers.Adam(learning_rate=0.01)) == expected


def test_decay_argument_warns_and_is_ignored():
    with pytest.warns(UserWarning, match="`decay` is no longer supported"):
        optimizers.SGD(decay=0.1)


@pytest.mark.parametrize("make,error,match", [
    (lambda: optimizers.get("adamm"), ValueError, "Could not interpret optimizer identifier: adamm"),
    (lambda: optimizers.get(3), ValueError, "Could not interpret optimizer identifier: 3"),
    (lambda: optimizers.Adam(learning_rate=1), ValueError, r"`learning_rate` should be float.*learning_rate=1"),
    (lambda: optimizers.Adam(foo=1), ValueError, r"Argument\(s\) not recognized: \{'foo': 1\}"),
    (lambda: optimizers.SGD(clipnorm=1.0, clipvalue=1.0), ValueError, "Only one of `clipnorm`, `clipvalue`"),
    (lambda: optimizers.SGD(momentum=2.0), ValueError, r"`momentum` must be a float between \[0, 1\]"),
    (lambda: optimizers.SGD(momentum=1), ValueError, r"`momentum` must be a float between \[0, 1\]"),
    (lambda: optimizers.AdamW(weight_decay=None), ValueError, "`weight_decay` must be a float"),
    (lambda: optimizers.Lion(beta_1=0.0), ValueError, r"`beta_1` must be in the \[0, 1\] range"),
    (lambda: optimizers.Ftrl(l1_regularization_strength=-1.0), ValueError,
     "`l1_regularization_strength` needs to be positive or zero"),
    (lambda: optimizers.Ftrl(learning_rate_power=0.5), ValueError, "`learning_rate_power` needs to be negative"),
    (lambda: optimizers.SGD(gradient_accumulation_steps=1), ValueError, "must be an integer >= 2"),
    (lambda: optimizers.SGD(use_ema=True, ema_momentum=1.5), ValueError, r"`ema_momentum` must be in the range"),
    (lambda: optimizers.SGD(use_ema=True, ema_overwrite_frequency=0.5), ValueError, "`ema_overwrite_frequency`"),
], ids=lambda x: None)
def test_constructor_errors(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_apply_errors():
    variables = _mlp_variables()[:2]
    optimizer = optimizers.Adam()
    with pytest.raises(ValueError, match="must already be built"):
        optimizer.apply([torch.ones(4, 8)])
    with pytest.raises(ValueError, match=r"one gradient per variable. Received: len\(grads\)=1, "
                                         r"len\(trainable_variables\)=2"):
        optimizer.apply([torch.ones(4, 8)], variables)
    optimizer.build(variables)
    with pytest.raises(ValueError, match="Received a list of 1 gradients, but the optimizer is tracking 2"):
        optimizer.apply([torch.ones(4, 8)])
    stranger = lamina.Variable([1.0], name="stranger")
    with pytest.raises(ValueError, match="Unknown variable: .*stranger.*originally built with"):
        optimizer.apply([torch.ones(1)], [stranger])
    with pytest.raises(ValueError, match=r"variable 'hidden/bias' must have the variable's shape \(8,\). "
                                         r"Received: gradient.shape=\(3,\)"):
        optimizer.apply([torch.ones(4, 8), torch.ones(3)], variables)
    with pytest.raises(ValueError, match="No gradients provided for any variable"):
        optimizer.apply([None, None], variables)
    with pytest.raises(TypeError, match="Gradients must be tensors or arrays"):
        optimizer.apply([torch.ones(4, 8), object()], variables)
    assert int(optimizer.iterations) == 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        optimizer.apply([], [])  # no gradients at all is a no-op, as in Keras
