"""Writes reference.json: Keras 3 optimizer steps, optimizer state, configs and schedule values.

Run in a Keras 3 environment (made with keras 3.15.1 on tensorflow-cpu 2.21, TF backend)::

    /tmp/keras-venv/bin/python tests/optimizers/keras_reference/make_reference.py

Every optimizer case starts from the same three variables (shapes (3, 4), (4,), (1,)) and
applies the same seeded gradients with ``optimizer.apply_gradients``; the variables and
``optimizer.iterations`` after each step, and every optimizer Variable (path, name, shape,
dtype, value) at the end are stored. Schedules are stored as their values at many steps and
their ``get_config``/``serialize`` output. `tests/optimizers/test_against_keras.py` replays
all of it in lamina.
"""

import inspect
import json
import os
import pathlib

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from keras.optimizers import schedules  # noqa: E402

OUT = pathlib.Path(__file__).with_name("reference.json")
STEPS = 6
SHAPES = [(3, 4), (4,), (1,)]
NAMES = ["kernel", "bias", "scale"]
GRAD_SCALE = 1.5

OPTIMIZERS = ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "Nadam", "Lion", "Ftrl"]
SCHEDULE_NAMES = ["ExponentialDecay", "InverseTimeDecay", "PiecewiseConstantDecay", "PolynomialDecay", "CosineDecay",
                  "CosineDecayRestarts"]

# (id, class, constructor kwargs, options). Options: "steps"; "lr": a serialized schedule or "callable"
# (the rate 0.1 / (1 + iterations)); "exclude": var_names for exclude_from_weight_decay; "finalize": call
# finalize_variable_values at the end; "exclude_vars": indices of variables for exclude_from_weight_decay(var_list);
# "none": NONE_GRADS.
FTRL_ALL = {"learning_rate": 0.5, "learning_rate_power": -0.3, "initial_accumulator_value": 0.2,
            "l1_regularization_strength": 0.05, "l2_regularization_strength": 0.1,
            "l2_shrinkage_regularization_strength": 0.05, "beta": 0.2}
EXP_DECAY = {"class_name": "ExponentialDecay",
             "config": {"initial_learning_rate": 0.1, "decay_steps": 2, "decay_rate": 0.5, "staircase": True}}
PIECEWISE = {"class_name": "PiecewiseConstantDecay",
             "config": {"boundaries": [1, 3], "values": [0.1, 0.05, 0.01]}}
COSINE_WARMUP = {"class_name": "CosineDecay",
                 "config": {"initial_learning_rate": 0.0, "decay_steps": 4, "warmup_target": 0.1, "warmup_steps": 2}}
# [step, variable index] pairs whose gradient is None.
NONE_GRADS = [[1, 1], [3, 1], [3, 2], [4, 0]]
CASES = [
    ("sgd", "SGD", {"learning_rate": 0.1}, {}),
    ("sgd_momentum", "SGD", {"learning_rate": 0.1, "momentum": 0.9}, {}),
    ("sgd_nesterov", "SGD", {"learning_rate": 0.1, "momentum": 0.9, "nesterov": True}, {}),
    ("sgd_clipnorm", "SGD", {"learning_rate": 0.1, "momentum": 0.5, "clipnorm": 1.0}, {}),
    ("sgd_clipvalue", "SGD", {"learning_rate": 0.1, "clipvalue": 0.5}, {}),
    ("sgd_global_clipnorm", "SGD", {"learning_rate": 0.1, "global_clipnorm": 1.5}, {}),
    ("sgd_weight_decay", "SGD", {"learning_rate": 0.1, "momentum": 0.9, "weight_decay": 0.1}, {}),
    ("sgd_weight_decay_exclude", "SGD", {"learning_rate": 0.1, "weight_decay": 0.2}, {"exclude": ["bias"]}),
    ("sgd_ema", "SGD", {"learning_rate": 0.1, "use_ema": True, "ema_momentum": 0.9}, {"finalize": True}),
    ("sgd_ema_overwrite", "SGD", {"learning_rate": 0.1, "momentum": 0.9, "use_ema": True, "ema_momentum": 0.8,
                                  "ema_overwrite_frequency": 2}, {"finalize": True}),
    ("sgd_accumulation", "SGD", {"learning_rate": 0.1, "momentum": 0.9, "gradient_accumulation_steps": 3},
     {"steps": 7}),
    ("sgd_loss_scale", "SGD", {"learning_rate": 0.1, "momentum": 0.9, "loss_scale_factor": 8.0}, {}),
    ("sgd_schedule_exponential", "SGD", {"momentum": 0.5}, {"lr": EXP_DECAY}),
    ("sgd_schedule_piecewise", "SGD", {}, {"lr": PIECEWISE}),
    ("sgd_callable_lr", "SGD", {"momentum": 0.5}, {"lr": "callable"}),
    ("adam", "Adam", {"learning_rate": 0.05}, {}),
    ("adam_defaults", "Adam", {}, {}),
    ("adam_amsgrad", "Adam", {"learning_rate": 0.05, "amsgrad": True, "beta_1": 0.8, "beta_2": 0.9}, {}),
    ("adam_clipnorm", "Adam", {"learning_rate": 0.05, "clipnorm": 1.0}, {}),
    ("adam_clipvalue", "Adam", {"learning_rate": 0.05, "clipvalue": 0.5}, {}),
    ("adam_global_clipnorm", "Adam", {"learning_rate": 0.05, "global_clipnorm": 1.5}, {}),
    ("adam_weight_decay", "Adam", {"learning_rate": 0.05, "weight_decay": 0.1}, {}),
    ("adam_ema", "Adam", {"learning_rate": 0.05, "use_ema": True}, {"finalize": True}),
    ("adam_ema_overwrite", "Adam", {"learning_rate": 0.05, "use_ema": True, "ema_momentum": 0.5,
                                    "ema_overwrite_frequency": 3}, {"finalize": True}),
    ("adam_accumulation", "Adam", {"learning_rate": 0.05, "gradient_accumulation_steps": 2}, {"steps": 7}),
    ("adam_accumulation_ema", "Adam", {"learning_rate": 0.05, "gradient_accumulation_steps": 2, "use_ema": True,
                                       "ema_momentum": 0.5}, {"steps": 7, "finalize": True}),
    ("adam_accumulation_schedule", "Adam", {"gradient_accumulation_steps": 2}, {"steps": 8, "lr": EXP_DECAY}),
    ("adam_loss_scale", "Adam", {"learning_rate": 0.05, "loss_scale_factor": 128.0}, {}),
    ("adam_schedule_cosine_warmup", "Adam", {}, {"lr": COSINE_WARMUP}),
    ("adam_callable_lr", "Adam", {}, {"lr": "callable"}),
    ("adamw", "AdamW", {"learning_rate": 0.05}, {}),
    ("adamw_weight_decay", "AdamW", {"learning_rate": 0.05, "weight_decay": 0.1, "amsgrad": True}, {}),
    ("adamw_exclude", "AdamW", {"learning_rate": 0.05, "weight_decay": 0.3}, {"exclude": ["kernel"]}),
    ("rmsprop", "RMSprop", {"learning_rate": 0.01}, {}),
    ("rmsprop_rho_momentum", "RMSprop", {"learning_rate": 0.01, "rho": 0.8, "momentum": 0.5}, {}),
    ("rmsprop_centered", "RMSprop", {"learning_rate": 0.01, "centered": True}, {}),
    ("rmsprop_centered_momentum", "RMSprop", {"learning_rate": 0.01, "centered": True, "momentum": 0.9,
                                              "epsilon": 1e-3}, {}),
    ("rmsprop_weight_decay", "RMSprop", {"learning_rate": 0.01, "weight_decay": 0.5}, {}),
    ("adagrad", "Adagrad", {"learning_rate": 0.1}, {}),
    ("adagrad_initial_accumulator", "Adagrad", {"learning_rate": 0.1, "initial_accumulator_value": 0.5,
                                                "epsilon": 1e-4}, {}),
    ("adadelta", "Adadelta", {"learning_rate": 1.0}, {}),
    ("adadelta_rho", "Adadelta", {"learning_rate": 0.5, "rho": 0.8, "epsilon": 1e-3}, {}),
    ("adamax", "Adamax", {"learning_rate": 0.05}, {}),
    ("adamax_betas", "Adamax", {"learning_rate": 0.05, "beta_1": 0.7, "beta_2": 0.8}, {}),
    ("nadam", "Nadam", {"learning_rate": 0.05}, {}),
    ("nadam_betas", "Nadam", {"learning_rate": 0.05, "beta_1": 0.8, "beta_2": 0.9, "epsilon": 1e-3}, {}),
    ("nadam_accumulation", "Nadam", {"learning_rate": 0.05, "gradient_accumulation_steps": 2}, {"steps": 7}),
    ("lion", "Lion", {"learning_rate": 0.01}, {}),
    ("lion_betas", "Lion", {"learning_rate": 0.01, "beta_1": 0.5, "beta_2": 0.9, "weight_decay": 0.1}, {}),
    ("ftrl", "Ftrl", {"learning_rate": 0.5}, {}),
    ("ftrl_all_options", "Ftrl", FTRL_ALL, {}),
    ("ftrl_fixed_rate", "Ftrl", {"learning_rate": 0.2, "learning_rate_power": 0.0,
                                 "l1_regularization_strength": 0.3}, {}),
    # Combinations of the common options, and missing gradients.
    ("adam_none_gradient", "Adam", {"learning_rate": 0.05}, {"none": NONE_GRADS}),
    ("sgd_momentum_none_gradient", "SGD", {"learning_rate": 0.1, "momentum": 0.9}, {"none": NONE_GRADS}),
    ("nadam_none_gradient", "Nadam", {"learning_rate": 0.05}, {"none": NONE_GRADS}),
    ("adam_accumulation_none_gradient", "Adam", {"learning_rate": 0.05, "gradient_accumulation_steps": 2},
     {"steps": 7, "none": NONE_GRADS}),
    ("adamw_schedule", "AdamW", {"weight_decay": 0.2}, {"lr": PIECEWISE}),
    ("sgd_accumulation_weight_decay_clipnorm", "SGD", {"learning_rate": 0.1, "momentum": 0.9, "weight_decay": 0.1,
                                                       "clipnorm": 1.0, "gradient_accumulation_steps": 2},
     {"steps": 7}),
    ("adam_loss_scale_global_clipnorm_accumulation", "Adam",
     {"learning_rate": 0.05, "loss_scale_factor": 4.0, "global_clipnorm": 1.0, "gradient_accumulation_steps": 3},
     {"steps": 7}),
    ("sgd_ema_overwrite_accumulation", "SGD", {"learning_rate": 0.1, "use_ema": True, "ema_momentum": 0.5,
                                               "ema_overwrite_frequency": 2, "gradient_accumulation_steps": 2},
     {"steps": 8, "finalize": True}),
    ("sgd_ema_overwrite_every_step", "SGD", {"learning_rate": 0.1, "use_ema": True, "ema_overwrite_frequency": 1},
     {"finalize": True}),
    ("rmsprop_clipvalue_schedule", "RMSprop", {"clipvalue": 0.3}, {"lr": EXP_DECAY}),
    ("ftrl_accumulation", "Ftrl", {"learning_rate": 0.5, "gradient_accumulation_steps": 2,
                                   "l1_regularization_strength": 0.05}, {"steps": 7}),
    ("lion_ema", "Lion", {"learning_rate": 0.01, "use_ema": True, "ema_momentum": 0.7}, {"finalize": True}),
    ("adagrad_weight_decay_callable_lr", "Adagrad", {"weight_decay": 0.1}, {"lr": "callable"}),
    ("adamax_global_clipnorm", "Adamax", {"learning_rate": 0.05, "global_clipnorm": 0.5}, {}),
    ("nadam_schedule", "Nadam", {}, {"lr": COSINE_WARMUP}),
    ("adadelta_clipnorm", "Adadelta", {"learning_rate": 1.0, "clipnorm": 0.5}, {}),
    ("adamw_exclude_var_list", "AdamW", {"learning_rate": 0.05, "weight_decay": 0.3}, {"exclude_vars": [0, 2]}),
]

SCHEDULE_CASES = [
    ("exponential", "ExponentialDecay", {"initial_learning_rate": 0.1, "decay_steps": 10, "decay_rate": 0.9}),
    ("exponential_staircase", "ExponentialDecay",
     {"initial_learning_rate": 0.1, "decay_steps": 10, "decay_rate": 0.5, "staircase": True}),
    ("inverse_time", "InverseTimeDecay", {"initial_learning_rate": 0.1, "decay_steps": 10, "decay_rate": 0.5}),
    ("inverse_time_staircase", "InverseTimeDecay",
     {"initial_learning_rate": 0.1, "decay_steps": 10, "decay_rate": 2.0, "staircase": True}),
    ("piecewise", "PiecewiseConstantDecay", {"boundaries": [10, 20, 35], "values": [1.0, 0.5, 0.1, 0.01]}),
    ("piecewise_one_boundary", "PiecewiseConstantDecay", {"boundaries": [5], "values": [0.3, 0.03]}),
    ("polynomial", "PolynomialDecay", {"initial_learning_rate": 0.1, "decay_steps": 20}),
    ("polynomial_power", "PolynomialDecay",
     {"initial_learning_rate": 0.1, "decay_steps": 20, "end_learning_rate": 0.01, "power": 2.0}),
    ("polynomial_cycle", "PolynomialDecay",
     {"initial_learning_rate": 0.1, "decay_steps": 20, "end_learning_rate": 0.01, "power": 0.5, "cycle": True}),
    ("cosine", "CosineDecay", {"initial_learning_rate": 0.1, "decay_steps": 20}),
    ("cosine_alpha", "CosineDecay", {"initial_learning_rate": 0.1, "decay_steps": 20, "alpha": 0.1}),
    ("cosine_warmup", "CosineDecay",
     {"initial_learning_rate": 0.01, "decay_steps": 20, "alpha": 0.2, "warmup_target": 0.1, "warmup_steps": 10}),
    ("cosine_warmup_zero_steps", "CosineDecay",
     {"initial_learning_rate": 0.01, "decay_steps": 20, "warmup_target": 0.1}),
    ("cosine_warmup_steps_without_target", "CosineDecay",
     {"initial_learning_rate": 0.1, "decay_steps": 20, "warmup_steps": 5}),
    ("cosine_restarts", "CosineDecayRestarts", {"initial_learning_rate": 0.1, "first_decay_steps": 10}),
    ("cosine_restarts_t_mul_1", "CosineDecayRestarts",
     {"initial_learning_rate": 0.1, "first_decay_steps": 10, "t_mul": 1.0, "m_mul": 0.5}),
    ("cosine_restarts_all", "CosineDecayRestarts",
     {"initial_learning_rate": 0.1, "first_decay_steps": 7, "t_mul": 1.5, "m_mul": 0.8, "alpha": 0.1}),
]
SCHEDULE_STEPS = [0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 15, 19, 20, 21, 25, 29, 30, 31, 34, 35, 36, 40, 50, 69, 70,
                  71, 100, 1000, 12345, 1000000]
FLOAT_STEPS = [0.5, 2.5, 9.999, 10.5, 20.25, 35.5]


def _f32(array):
    """Nested lists of the float32 values, each as the shortest decimal that reads back to it."""
    array = np.asarray(array)
    if array.dtype != np.float32:
        return array.tolist()
    if array.ndim == 0:
        return float(str(np.float32(array)))
    return [_f32(a) for a in array]


def _initial_values():
    rng = np.random.default_rng(1234)
    return [rng.normal(size=shape).astype("float32") for shape in SHAPES]


def _gradients(steps):
    rng = np.random.default_rng(5678)
    return [[(rng.normal(size=shape) * GRAD_SCALE).astype("float32") for shape in SHAPES] for _ in range(steps)]


def _signature_defaults(cls):
    return {name: p.default for name, p in inspect.signature(cls.__init__).parameters.items()
            if p.default is not inspect.Parameter.empty}


def _run_case(case_id, class_name, kwargs, options, inits, all_grads):
    steps = options.get("steps", STEPS)
    variables = [keras.Variable(value, name=name) for value, name in zip(inits, NAMES)]
    kwargs = dict(kwargs)
    lr = options.get("lr")
    holder = {}
    if lr == "callable":
        kwargs["learning_rate"] = lambda: 0.1 / (1.0 + float(holder["optimizer"].iterations.numpy()))
    elif lr is not None:
        kwargs["learning_rate"] = schedules.deserialize(lr)
    optimizer = getattr(keras.optimizers, class_name)(name="opt", **kwargs)
    holder["optimizer"] = optimizer
    if "exclude" in options:
        optimizer.exclude_from_weight_decay(var_names=options["exclude"])
    if "exclude_vars" in options:
        optimizer.exclude_from_weight_decay(var_list=[variables[i] for i in options["exclude_vars"]])
    after, iterations, rates = [], [], []
    none = {tuple(pair) for pair in options.get("none", ())}
    for step, grads in enumerate(all_grads[:steps]):
        grads = [None if (step, i) in none else tf.constant(g) for i, g in enumerate(grads)]
        optimizer.apply_gradients(zip(grads, variables))
        after.append([_f32(v.numpy()) for v in variables])
        iterations.append(int(optimizer.iterations.numpy()))
        rates.append(float(np.asarray(optimizer.learning_rate)))
    state = [{"path": v.path, "name": v.name, "shape": list(v.shape), "dtype": v.dtype,
              "value": _f32(v.numpy())} for v in optimizer.variables]
    finalized = None
    if options.get("finalize"):
        optimizer.finalize_variable_values(variables)
        finalized = [_f32(v.numpy()) for v in variables]
    config = optimizer.get_config() if lr != "callable" else None
    return {"id": case_id, "class_name": class_name, "kwargs": kwargs if lr is None else
            {k: v for k, v in kwargs.items() if k != "learning_rate"}, "lr": lr, "exclude": options.get("exclude"),
            "exclude_vars": options.get("exclude_vars"), "none": options.get("none", []),
            "steps": steps, "after_step": after, "iterations": iterations, "learning_rates": rates,
            "state": state, "finalized": finalized, "config": config}


def main():
    inits = _initial_values()
    all_grads = _gradients(max(options.get("steps", STEPS) for *_, options in CASES))
    reference = {
        "versions": {"keras": keras.__version__, "tensorflow": tf.__version__, "backend": keras.backend.backend()},
        "names": NAMES,
        "initial_values": [_f32(v) for v in inits],
        "gradients": [[_f32(g) for g in grads] for grads in all_grads],
        "cases": [_run_case(*case, inits, all_grads) for case in CASES],
        "default_configs": {},
        "signature_defaults": {},
        "schedules": [],
    }
    for name in OPTIMIZERS:
        cls = getattr(keras.optimizers, name)
        reference["default_configs"][name] = cls().get_config()
        reference["signature_defaults"][name] = _signature_defaults(cls)
    for name in SCHEDULE_NAMES:
        reference["signature_defaults"][name] = _signature_defaults(getattr(schedules, name))
    for case_id, class_name, config in SCHEDULE_CASES:
        schedule = getattr(schedules, class_name)(**config)
        values = [float(np.asarray(schedule(step))) for step in SCHEDULE_STEPS]
        int64_values = [float(np.asarray(schedule(tf.constant(step, dtype="int64")))) for step in SCHEDULE_STEPS]
        reference["schedules"].append({
            "id": case_id, "class_name": class_name, "kwargs": config, "steps": SCHEDULE_STEPS, "values": values,
            "int64_values": int64_values, "float_steps": FLOAT_STEPS,
            "float_values": [float(np.asarray(schedule(step))) for step in FLOAT_STEPS],
            "config": schedule.get_config(),
            "serialized": schedules.serialize(schedule),
        })
    OUT.write_text(json.dumps(reference, separators=(",", ":")) + "\n")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
