"""The training-loop cases shared by `make_reference.py` (run with Keras) and
`tests/training/test_against_keras.py` (run with lamina).

Every case is plain data (``CASES``); `run_case(K, case, data, folder)` builds the model,
compiles, fits, evaluates, ... with the framework module ``K`` (``keras`` or ``lamina``, whose
APIs are the same) and returns what was observed as JSON-able values. The inputs and the
initial weights come from the reference file, so both frameworks start from the same numbers
and, with plain SGD and ``shuffle=False``, take exactly the same steps.
"""

import os

import numpy as np

N = 10  # samples: batch_size=4 leaves a partial last batch of 2

# ---- the cases ----------------------------------------------------------------------------------------------------
# model: "reg" (Dense(3, tanh) -> Dense(2)), "bin" (-> Dense(1, sigmoid)), "cat" (-> Dense(3, softmax)),
# "l2" (reg with an L2 kernel regularizer), "add_loss" (reg with a layer calling add_loss), "multi" (two
# outputs out_a (sigmoid) and out_b (linear)).
# Metric/loss objects are written {"class": name, "kwargs": {...}}; targets and weights by data name.


def _obj(cls, **kwargs):
    return {"class": cls, "kwargs": kwargs}


CASES = [
    # -- fit/history basics
    dict(name="reg_partial_batches", model="reg", compile=dict(loss="mse", metrics=["mae", "mse"]),
         fit=dict(batch_size=4, epochs=3)),
    dict(name="reg_metric_objects", model="reg",
         compile=dict(loss=_obj("MeanSquaredError"), metrics=[_obj("MeanAbsoluteError", name="my_mae"),
                                                               _obj("RootMeanSquaredError")]),
         fit=dict(batch_size=3, epochs=2)),
    dict(name="bin_accuracy_auc", model="bin", y="y_bin",
         compile=dict(loss="binary_crossentropy", metrics=["accuracy", _obj("AUC", name="auc")]),
         fit=dict(batch_size=4, epochs=3)),
    dict(name="cat_sparse_accuracy", model="cat", y="y_int",
         compile=dict(loss="sparse_categorical_crossentropy", metrics=["accuracy"]),
         fit=dict(batch_size=4, epochs=2)),
    dict(name="cat_onehot_accuracy", model="cat", y="y_onehot",
         compile=dict(loss="categorical_crossentropy", metrics=["accuracy", "categorical_accuracy"]),
         fit=dict(batch_size=4, epochs=2)),
    dict(name="validation_split", model="reg", compile=dict(loss="mse", metrics=["mae"]),
         fit=dict(batch_size=4, epochs=3, validation_split=0.3)),
    dict(name="validation_data", model="reg", compile=dict(loss="mse", metrics=["mae"]),
         fit=dict(batch_size=4, epochs=2, validation_data=("x_val", "y_val"))),
    dict(name="validation_data_weighted", model="reg",
         compile=dict(loss="mse", metrics=["mae"], weighted_metrics=["mse"]),
         fit=dict(batch_size=4, epochs=2, validation_data=("x_val", "y_val", "sw_val"))),
    dict(name="validation_freq_int", model="reg", compile=dict(loss="mse"),
         fit=dict(batch_size=4, epochs=4, validation_data=("x_val", "y_val"), validation_freq=2)),
    dict(name="validation_freq_list", model="reg", compile=dict(loss="mse"),
         fit=dict(batch_size=4, epochs=4, validation_data=("x_val", "y_val"), validation_freq=[1, 4])),
    dict(name="validation_batch_size", model="reg", compile=dict(loss="mse", metrics=["mae"]),
         fit=dict(batch_size=4, epochs=2, validation_data=("x_val", "y_val"), validation_batch_size=3)),
    dict(name="sample_weight", model="reg", compile=dict(loss="mse", metrics=["mae"], weighted_metrics=["mse"]),
         fit=dict(batch_size=4, epochs=2, sample_weight="sw")),
    dict(name="weighted_metrics_only", model="reg", compile=dict(loss="mse", weighted_metrics=["mae"]),
         fit=dict(batch_size=4, epochs=2, sample_weight="sw")),
    dict(name="weighted_and_unweighted_same_metric", model="reg",
         compile=dict(loss="mse", metrics=["mae"], weighted_metrics=["mae"]),
         fit=dict(batch_size=4, epochs=2, sample_weight="sw")),
    dict(name="class_weight", model="cat", y="y_int",
         compile=dict(loss="sparse_categorical_crossentropy", metrics=["accuracy"], weighted_metrics=["accuracy"]),
         fit=dict(batch_size=4, epochs=2, class_weight={0: 1.0, 1: 2.0, 2: 0.5})),
    dict(name="class_weight_onehot", model="cat", y="y_onehot",
         compile=dict(loss="categorical_crossentropy", metrics=["accuracy"]),
         fit=dict(batch_size=4, epochs=2, class_weight={0: 0.5, 1: 3.0, 2: 1.0})),
    dict(name="class_and_sample_weight", model="bin", y="y_bin",
         compile=dict(loss="binary_crossentropy", weighted_metrics=["accuracy"]),
         fit=dict(batch_size=4, epochs=2, class_weight={0: 2.0, 1: 0.5}, sample_weight="sw")),
    dict(name="initial_epoch", model="reg", compile=dict(loss="mse"),
         fit=dict(batch_size=4, epochs=4, initial_epoch=2)),
    dict(name="steps_per_epoch_short", model="reg", compile=dict(loss="mse"),
         fit=dict(batch_size=4, epochs=3, steps_per_epoch=2)),
    dict(name="steps_per_epoch_long", model="reg", compile=dict(loss="mse"),
         fit=dict(batch_size=4, epochs=2, steps_per_epoch=5)),
    dict(name="default_batch_size", model="reg", compile=dict(loss="mse"), fit=dict(epochs=2)),
    dict(name="l2_regularizer", model="l2", compile=dict(loss="mse", metrics=["mse"]),
         fit=dict(batch_size=4, epochs=2, validation_data=("x_val", "y_val"))),
    dict(name="add_loss", model="add_loss", compile=dict(loss="mse", metrics=["mae"]),
         fit=dict(batch_size=4, epochs=2, validation_data=("x_val", "y_val"))),
    dict(name="add_loss_only", model="add_loss", y=None, compile=dict(), fit=dict(batch_size=4, epochs=2)),
    # -- multi-output
    dict(name="multi_loss_list", model="multi", y=["y_bin", "y"],
         compile=dict(loss=["binary_crossentropy", "mse"], loss_weights=[1.0, 0.5],
                      metrics=[["accuracy"], ["mae", "mse"]]),
         fit=dict(batch_size=4, epochs=2, validation_split=0.2)),
    dict(name="multi_loss_dict", model="multi", y={"out_a": "y_bin", "out_b": "y"},
         compile=dict(loss={"out_a": "binary_crossentropy", "out_b": "mse"}, loss_weights={"out_a": 2.0, "out_b": 1.0},
                      metrics={"out_a": "accuracy", "out_b": ["mae"]}),
         fit=dict(batch_size=4, epochs=2, validation_data=("x_val", {"out_a": "y_bin_val", "out_b": "y_val"}))),
    dict(name="multi_partial_metrics", model="multi", y=["y_bin", "y"],
         compile=dict(loss={"out_a": "binary_crossentropy", "out_b": "mse"}, metrics={"out_b": "mae"},
                      weighted_metrics={"out_b": ["mse"]}),
         fit=dict(batch_size=4, epochs=2, sample_weight="sw")),
    dict(name="multi_weighted_same_name", model="multi", y=["y_bin", "y"],
         compile=dict(loss=["binary_crossentropy", "mse"], metrics=[["accuracy"], ["mse"]],
                      weighted_metrics=[["accuracy"], ["mse"]]),
         fit=dict(batch_size=4, epochs=1, sample_weight="sw")),
    dict(name="multi_single_loss", model="multi", y=["y_bin_f", "y"],
         compile=dict(loss="mse", metrics=[["mae"], ["mae"]]), fit=dict(batch_size=4, epochs=2)),
    # -- callbacks
    dict(name="early_stopping_patience", model="reg", compile=dict(loss="mse", lr=0.5),
         fit=dict(batch_size=4, epochs=12, validation_data=("x_val", "y_val")),
         callbacks=[_obj("EarlyStopping", monitor="val_loss", patience=1)]),
    dict(name="early_stopping_min_delta", model="reg", compile=dict(loss="mse"),
         fit=dict(batch_size=4, epochs=10), callbacks=[_obj("EarlyStopping", monitor="loss", min_delta=0.05,
                                                             patience=2)]),
    dict(name="early_stopping_restore", model="reg", compile=dict(loss="mse", lr=0.5),
         fit=dict(batch_size=4, epochs=12, validation_data=("x_val", "y_val")),
         callbacks=[_obj("EarlyStopping", monitor="val_loss", patience=2, restore_best_weights=True)]),
    dict(name="early_stopping_restore_never_stopped", model="reg", compile=dict(loss="mse"),
         fit=dict(batch_size=4, epochs=3),
         callbacks=[_obj("EarlyStopping", monitor="loss", patience=5, restore_best_weights=True)]),
    dict(name="early_stopping_baseline", model="reg", compile=dict(loss="mse"),
         fit=dict(batch_size=4, epochs=10), callbacks=[_obj("EarlyStopping", monitor="loss", patience=2,
                                                             baseline=0.5)]),
    dict(name="early_stopping_mode_max", model="bin", y="y_bin",
         compile=dict(loss="binary_crossentropy", metrics=["accuracy"]),
         fit=dict(batch_size=4, epochs=8), callbacks=[_obj("EarlyStopping", monitor="accuracy", mode="max",
                                                            patience=1)]),
    dict(name="early_stopping_auto_accuracy", model="bin", y="y_bin",
         compile=dict(loss="binary_crossentropy", metrics=["accuracy"]),
         fit=dict(batch_size=4, epochs=8), callbacks=[_obj("EarlyStopping", monitor="accuracy", patience=2)]),
    dict(name="early_stopping_start_from_epoch", model="reg", compile=dict(loss="mse", lr=0.5),
         fit=dict(batch_size=4, epochs=12, validation_data=("x_val", "y_val")),
         callbacks=[_obj("EarlyStopping", monitor="val_loss", patience=1, start_from_epoch=3,
                         restore_best_weights=True)]),
    dict(name="early_stopping_max_increasing_loss", model="reg", compile=dict(loss="mse"),
         fit=dict(batch_size=4, epochs=10), callbacks=[_obj("EarlyStopping", monitor="loss", mode="max",
                                                             patience=0)]),
    dict(name="early_stopping_val_metric_auto", model="reg", compile=dict(loss="mse", metrics=["mae"], lr=0.5),
         fit=dict(batch_size=4, epochs=12, validation_data=("x_val", "y_val")),
         callbacks=[_obj("EarlyStopping", monitor="val_mae", patience=1, restore_best_weights=True)]),
    dict(name="reduce_lr_mode_max_accuracy", model="bin", y="y_bin",
         compile=dict(loss="binary_crossentropy", metrics=["accuracy"]), fit=dict(batch_size=4, epochs=6),
         callbacks=[_obj("ReduceLROnPlateau", monitor="accuracy", mode="max", factor=0.2, patience=1)]),
    dict(name="reduce_lr_on_plateau", model="reg", compile=dict(loss="mse", lr=0.5),
         fit=dict(batch_size=4, epochs=10, validation_data=("x_val", "y_val")),
         callbacks=[_obj("ReduceLROnPlateau", monitor="val_loss", factor=0.5, patience=1)]),
    dict(name="reduce_lr_cooldown_min_lr", model="reg", compile=dict(loss="mse"),
         fit=dict(batch_size=4, epochs=10),
         callbacks=[_obj("ReduceLROnPlateau", monitor="loss", factor=0.5, patience=1, min_delta=0.2, cooldown=2,
                         min_lr=0.02)]),
    dict(name="lr_scheduler", model="reg", compile=dict(loss="mse"), fit=dict(batch_size=4, epochs=4),
         callbacks=[{"class": "LearningRateScheduler", "schedule": "halve_from_1"}]),
    dict(name="lr_scheduler_one_arg", model="reg", compile=dict(loss="mse"), fit=dict(batch_size=4, epochs=3),
         callbacks=[{"class": "LearningRateScheduler", "schedule": "by_epoch"}]),
    dict(name="lr_scheduler_with_initial_epoch", model="reg", compile=dict(loss="mse"),
         fit=dict(batch_size=4, epochs=4, initial_epoch=1),
         callbacks=[{"class": "LearningRateScheduler", "schedule": "by_epoch"}]),
    dict(name="csv_logger", model="reg", compile=dict(loss="mse", metrics=["mae"]),
         fit=dict(batch_size=4, epochs=3, validation_data=("x_val", "y_val")),
         callbacks=[{"class": "CSVLogger", "file": "log.csv"}]),
    dict(name="csv_logger_no_validation", model="reg", compile=dict(loss="mse", metrics=["mae"]),
         fit=dict(batch_size=4, epochs=2), callbacks=[{"class": "CSVLogger", "file": "log.csv"}]),
    dict(name="csv_logger_validation_freq_append", model="reg", compile=dict(loss="mse"),
         fit=dict(batch_size=4, epochs=3, validation_data=("x_val", "y_val"), validation_freq=2), fits=2,
         callbacks=[{"class": "CSVLogger", "file": "log.csv", "kwargs": {"append": True, "separator": ";"}}]),
    dict(name="csv_logger_with_lr", model="reg", compile=dict(loss="mse"), fit=dict(batch_size=4, epochs=3),
         callbacks=[{"class": "LearningRateScheduler", "schedule": "halve_from_1"},
                    {"class": "CSVLogger", "file": "log.csv"}]),
    dict(name="model_checkpoint_template", model="reg", compile=dict(loss="mse"),
         fit=dict(batch_size=4, epochs=3, validation_data=("x_val", "y_val")),
         callbacks=[{"class": "ModelCheckpoint", "file": "w.{epoch:02d}-{val_loss:.2f}.weights.h5",
                     "kwargs": {"save_weights_only": True}}]),
    dict(name="model_checkpoint_best_only", model="reg", compile=dict(loss="mse", lr=0.5),
         fit=dict(batch_size=4, epochs=6, validation_data=("x_val", "y_val")),
         callbacks=[{"class": "ModelCheckpoint", "file": "best.{epoch:03d}-{loss:.3f}.weights.h5",
                     "kwargs": {"save_weights_only": True, "save_best_only": True, "monitor": "val_loss"}}]),
    dict(name="model_checkpoint_batch_freq", model="reg", compile=dict(loss="mse"), fit=dict(batch_size=4, epochs=2),
         callbacks=[{"class": "ModelCheckpoint", "file": "b.{epoch:02d}-{batch:02d}-{loss:.3f}.weights.h5",
                     "kwargs": {"save_weights_only": True, "save_freq": 2}}]),
    dict(name="model_checkpoint_best_only_max", model="bin", y="y_bin",
         compile=dict(loss="binary_crossentropy", metrics=["accuracy"], lr=0.5),
         fit=dict(batch_size=4, epochs=6, validation_data=("x_val", "y_bin_val")),
         callbacks=[{"class": "ModelCheckpoint", "file": "acc.{epoch:02d}-{val_accuracy:.4f}.weights.h5",
                     "kwargs": {"save_weights_only": True, "save_best_only": True, "monitor": "val_accuracy"}}]),
    dict(name="model_checkpoint_best_only_mode_max_loss", model="reg", compile=dict(loss="mse"),
         fit=dict(batch_size=4, epochs=4),
         callbacks=[{"class": "ModelCheckpoint", "file": "worst.{epoch:02d}.weights.h5",
                     "kwargs": {"save_weights_only": True, "save_best_only": True, "monitor": "loss",
                                "mode": "max"}}]),
    # -- executions of several steps, and data given as a PyDataset or a generator
    dict(name="steps_per_execution", model="reg", compile=dict(loss="mse", metrics=["mae"], steps_per_execution=2),
         fit=dict(batch_size=4, epochs=2, validation_data=("x_val", "y_val"))),
    dict(name="steps_per_execution_with_steps_per_epoch", model="reg",
         compile=dict(loss="mse", steps_per_execution=2), fit=dict(batch_size=2, epochs=2, steps_per_epoch=3)),
    dict(name="py_dataset", model="reg", x="py_dataset", compile=dict(loss="mse", metrics=["mae"]),
         fit=dict(epochs=2)),
    dict(name="py_dataset_weighted", model="reg", x="py_dataset_weighted",
         compile=dict(loss="mse", weighted_metrics=["mae"]), fit=dict(epochs=2)),
    dict(name="generator_steps_per_epoch", model="reg", x="generator", compile=dict(loss="mse", metrics=["mae"]),
         fit=dict(epochs=2, steps_per_epoch=3)),
    # -- BackupAndRestore: the first fit is interrupted at the end of epoch 2 (index 1), the second resumes
    dict(name="backup_and_restore_resume", model="reg", compile=dict(loss="mse", metrics=["mae"]),
         fit=dict(batch_size=4, epochs=4), fits=2, interrupt_at_epoch=1,
         callbacks=[{"class": "BackupAndRestore", "dir": "backup"}]),
    dict(name="backup_and_restore_keep_checkpoint", model="reg", compile=dict(loss="mse"),
         fit=dict(batch_size=4, epochs=3), fits=2, interrupt_at_epoch=0,
         callbacks=[{"class": "BackupAndRestore", "dir": "backup", "kwargs": {"delete_checkpoint": False}}]),
    dict(name="backup_and_restore_save_freq_batches", model="reg", compile=dict(loss="mse"),
         fit=dict(batch_size=4, epochs=3), fits=2, interrupt_at_batch=[1, 1],
         callbacks=[{"class": "BackupAndRestore", "dir": "backup", "kwargs": {"save_freq": 2}}]),
    dict(name="loss_weights_single_output", model="reg", compile=dict(loss="mse", loss_weights=0.5, metrics=["mse"]),
         fit=dict(batch_size=4, epochs=2)),
    dict(name="multi_metrics_flat_list", model="multi", y=["y_bin", "y"],
         compile=dict(loss=["binary_crossentropy", "mse"], metrics=["mae"]), fit=dict(batch_size=4, epochs=1)),
    dict(name="terminate_on_nan", model="reg", x="x_nan", compile=dict(loss="mse"),
         fit=dict(batch_size=4, epochs=3), callbacks=[_obj("TerminateOnNaN")]),
    # -- the step methods
    dict(name="on_batch_single", kind="on_batch", model="reg", compile=dict(loss="mse", metrics=["mae"])),
    dict(name="on_batch_weighted", kind="on_batch", model="cat", y="y_int",
         compile=dict(loss="sparse_categorical_crossentropy", metrics=["accuracy"], weighted_metrics=["accuracy"])),
    dict(name="on_batch_multi", kind="on_batch", model="multi", y=["y_bin", "y"],
         compile=dict(loss=["binary_crossentropy", "mse"], metrics=[["accuracy"], ["mae"]])),
    dict(name="on_batch_loss_only", kind="on_batch", model="reg", compile=dict(loss="mse")),
]

SCHEDULES = {
    "halve_from_1": lambda epoch, lr: lr if epoch < 1 else lr * 0.5,
    "by_epoch": lambda epoch: 0.1 / (epoch + 1),
}


# ---- building -----------------------------------------------------------------------------------------------------
def make_data(rng):
    """The inputs every case draws from (float32, so both frameworks see identical numbers)."""
    def f32(a):
        return np.asarray(a, dtype="float32")

    y_int = rng.integers(0, 3, size=(N,))
    data = {
        "x": f32(rng.normal(size=(N, 4))), "y": f32(rng.normal(size=(N, 2))),
        "y_bin": f32(rng.integers(0, 2, size=(N, 1))), "y_int": y_int.astype("int64"),
        "y_onehot": f32(np.eye(3)[y_int]), "sw": f32(rng.uniform(0.2, 2.0, size=(N,))),
        "x_val": f32(rng.normal(size=(6, 4))), "y_val": f32(rng.normal(size=(6, 2))),
        "y_bin_val": f32(rng.integers(0, 2, size=(6, 1))), "sw_val": f32(rng.uniform(0.2, 2.0, size=(6,))),
    }
    data["y_bin_f"] = data["y_bin"]
    data["x_nan"] = data["x"].copy()
    data["x_nan"][6, 1] = np.nan  # in the second batch of batch_size=4
    return data


def build_model(K, kind):
    inputs = K.Input((4,), name="x")
    regularizer = K.regularizers.L2(0.05) if kind == "l2" else None
    hidden = K.layers.Dense(3, activation="tanh", kernel_regularizer=regularizer, name="hidden")(inputs)
    if kind == "add_loss":
        hidden = _activity_loss_layer(K)(name="activity")(hidden)
    if kind == "multi":
        out_a = K.layers.Dense(1, activation="sigmoid", name="out_a")(hidden)
        out_b = K.layers.Dense(2, name="out_b")(hidden)
        return K.Model(inputs, [out_a, out_b], name="multi")
    units, activation = {"bin": (1, "sigmoid"), "cat": (3, "softmax")}.get(kind, (2, None))
    return K.Model(inputs, K.layers.Dense(units, activation=activation, name="out")(hidden), name=kind)


def _activity_loss_layer(K):
    class ActivityLoss(K.layers.Layer):
        def call(self, x):
            self.add_loss(0.1 * K.ops.mean(K.ops.square(x)))
            return x

    return ActivityLoss


def initial_weights(K, kind, rng):
    model = build_model(K, kind)
    return [np.asarray(rng.normal(scale=0.6, size=tuple(w.shape)), dtype="float32") for w in model.get_weights()]


def _resolve(K, module, spec):
    """Builds the objects written ``{"class", "kwargs"}`` inside a loss/metrics structure."""
    if isinstance(spec, dict) and "class" in spec:
        return getattr(getattr(K, module), spec["class"])(**spec.get("kwargs", {}))
    if isinstance(spec, dict):
        return {k: _resolve(K, module, v) for k, v in spec.items()}
    if isinstance(spec, list):
        return [_resolve(K, module, s) for s in spec]
    return spec


def compile_model(K, model, spec):
    kwargs = {k: v for k, v in spec.items() if k != "lr"}
    if "loss" in kwargs:
        kwargs["loss"] = _resolve(K, "losses", kwargs["loss"])
    for key in ("metrics", "weighted_metrics"):
        if key in kwargs:
            kwargs[key] = _resolve(K, "metrics", kwargs[key])
    model.compile(optimizer=K.optimizers.SGD(learning_rate=spec.get("lr", 0.1)), **kwargs)


def _data(data, ref):
    if ref is None:
        return None
    if isinstance(ref, str):
        return data[ref]
    if isinstance(ref, (list, tuple)):
        return type(ref)(_data(data, r) for r in ref)
    if isinstance(ref, dict):
        return {k: _data(data, v) for k, v in ref.items()}
    return ref


def make_callbacks(K, specs, folder):
    out = []
    for spec in specs:
        cls = getattr(K.callbacks, spec["class"])
        kwargs = dict(spec.get("kwargs", {}))
        if "schedule" in spec:
            out.append(cls(SCHEDULES[spec["schedule"]], **kwargs))
        elif "file" in spec:
            out.append(cls(os.path.join(folder, spec["file"]), **kwargs))
        elif "dir" in spec:
            out.append(cls(os.path.join(folder, spec["dir"]), **kwargs))
        else:
            out.append(cls(**kwargs))
    return out


def _dataset(K, kind, data):
    """Batches of 4 of ``x``/``y`` (the last one of 2): a `PyDataset` (optionally with ``sw``) or an endless
    generator."""
    x, y, sw = data["x"], data["y"], data["sw"]
    starts = range(0, N, 4)
    if kind == "generator":
        def batches():
            while True:
                for i in starts:
                    yield x[i:i + 4], y[i:i + 4]

        return batches()

    class Batches(K.utils.PyDataset):
        def __len__(self):
            return len(starts)

        def __getitem__(self, index):
            i = starts[index]
            if kind == "py_dataset_weighted":
                return x[i:i + 4], y[i:i + 4], sw[i:i + 4]
            return x[i:i + 4], y[i:i + 4]

    return Batches()


class _Interrupted(Exception):
    pass


def _interrupter(K, epoch=None, epoch_and_batch=None):
    class Interrupter(K.callbacks.Callback):
        """Raises at the end of ``epoch`` or of batch ``[epoch, batch]``, after the callbacks before it
        (BackupAndRestore) have run."""

        def on_epoch_begin(self, index, logs=None):
            self.epoch = index

        def on_train_batch_end(self, batch, logs=None):
            if epoch_and_batch is not None and [self.epoch, batch] == list(epoch_and_batch):
                raise _Interrupted(f"interrupted at the end of batch {batch} of epoch {self.epoch}")

        def on_epoch_end(self, index, logs=None):
            if index == epoch:
                raise _Interrupted(f"interrupted at the end of epoch {index}")

    return Interrupter()


def _recorder(K):
    class Recorder(K.callbacks.Callback):
        """The learning rate each epoch starts with, and ``[batch index, loss]`` at each ``on_train_batch_end``."""

        def __init__(self):
            super().__init__()
            self.lr, self.batches, self.tests = [], [], []

        def on_epoch_begin(self, epoch, logs=None):
            self.lr.append(float(np.asarray(self.model.optimizer.learning_rate)))
            self.batches.append([])

        def on_train_batch_end(self, batch, logs=None):
            # The index Keras gives (with steps_per_execution, the last batch of each execution) and the loss
            self.batches[-1].append([int(batch), float(np.asarray(logs["loss"]))])

        # fit's validation runs the test hooks too (as evaluate does): which, with which logs
        def on_test_begin(self, logs=None):
            self.tests.append(["begin"])

        def on_test_batch_end(self, batch, logs=None):
            self.tests[-1].append(int(batch))

        def on_test_end(self, logs=None):
            self.tests[-1].append({k: float(np.asarray(v)) for k, v in sorted((logs or {}).items())})

    return Recorder()


# ---- running ------------------------------------------------------------------------------------------------------
def to_json(value):
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if hasattr(value, "numpy") and not isinstance(value, np.ndarray):
        value = value.numpy()
    if isinstance(value, (np.ndarray, np.generic)):
        value = np.asarray(value)
        return value.astype("float64").tolist() if value.dtype.kind == "f" else value.tolist()
    if isinstance(value, float) and not np.isfinite(value):
        return repr(value)  # JSON has no NaN: written "nan", read back by `float()`
    return value


def run_case(K, case, data, weights, folder):
    """Runs one case with framework ``K``; returns the observations (JSON-able)."""
    model = build_model(K, case["model"])
    model.set_weights(weights)
    compile_model(K, model, case["compile"])
    source = case.get("x", "x")
    x = data[source] if source in data else _dataset(K, source, data)
    y = _data(data, case.get("y", "y")) if source in data else None  # a dataset or generator holds the targets
    if case.get("kind") == "on_batch":
        return _run_on_batch(model, case, data, x, y)
    result = {"fits": []}
    callbacks = []
    for _ in range(case.get("fits", 1)):
        fit = dict(case["fit"])
        for key in ("sample_weight", "validation_data"):
            if key in fit:
                fit[key] = _data(data, fit[key])
        if isinstance(fit.get("validation_data"), list):
            fit["validation_data"] = tuple(fit["validation_data"])
        if "class_weight" in fit:
            fit["class_weight"] = {int(k): v for k, v in fit["class_weight"].items()}
        callbacks = make_callbacks(K, case.get("callbacks", []), folder)
        recorder = _recorder(K)
        if ("interrupt_at_epoch" in case or "interrupt_at_batch" in case) and not result["fits"]:
            # the first fit stops with an error
            interrupter = _interrupter(K, case.get("interrupt_at_epoch"), case.get("interrupt_at_batch"))
            try:
                model.fit(x, y, verbose=0, shuffle=False, callbacks=callbacks + [recorder, interrupter], **fit)
            except _Interrupted:
                pass
            result["fits"].append({"interrupted": True, "lr": recorder.lr, "batches": recorder.batches,
                                   "files": sorted(os.listdir(folder))})
            continue
        history = model.fit(x, y, verbose=0, shuffle=False, callbacks=callbacks + [recorder], **fit)
        result["fits"].append({
            "history": to_json(history.history), "history_keys": list(history.history), "epoch": history.epoch,
            "params": to_json(history.params), "lr": recorder.lr, "batches": recorder.batches,
            "tests": to_json(recorder.tests),
        })
    result["weights"] = to_json(model.get_weights())
    result["final_lr"] = float(np.asarray(model.optimizer.learning_rate))
    result["callbacks"] = [_callback_state(cb, spec, folder) for cb, spec in zip(callbacks, case.get("callbacks", []))]
    if case.get("x") in ("py_dataset", "py_dataset_weighted"):  # evaluate/predict on the same dataset
        result["evaluate_dict"] = to_json(model.evaluate(x, verbose=0, return_dict=True))
        result["predict"] = to_json(model.predict(x, verbose=0))
        return result
    if case.get("x") == "generator":
        result["evaluate_dict"] = to_json(model.evaluate(_dataset(K, "generator", data), steps=2, verbose=0,
                                                         return_dict=True))
        return result
    if y is not None and not np.isnan(x).any():
        result["evaluate"] = to_json(model.evaluate(x, y, batch_size=4, verbose=0))
        result["evaluate_dict"] = to_json(model.evaluate(x, y, batch_size=4, verbose=0, return_dict=True))
        result["evaluate_dict_keys"] = list(model.evaluate(x, y, batch_size=4, verbose=0, return_dict=True))
        if "sample_weight" in case["fit"]:
            result["evaluate_weighted"] = to_json(
                model.evaluate(x, y, batch_size=4, verbose=0, sample_weight=data["sw"], return_dict=True))
    result["predict"] = to_json(model.predict(x, batch_size=4, verbose=0))
    return result


def _callback_state(callback, spec, folder):
    state = {}
    for name in ("stopped_epoch", "best", "wait", "best_epoch", "cooldown_counter"):
        if hasattr(callback, name):
            state[name] = to_json(getattr(callback, name))
    if spec["class"] == "CSVLogger":
        with open(os.path.join(folder, spec["file"])) as f:
            state["file"] = f.read()
    if spec["class"] in ("ModelCheckpoint", "BackupAndRestore"):
        state["files"] = sorted(os.listdir(folder))
    return state


def _run_on_batch(model, case, data, x, y):
    def take(structure, n):
        if isinstance(structure, (list, tuple)):
            return type(structure)(take(s, n) for s in structure)
        return structure[:n] if structure is not None else None

    multi = isinstance(y, (list, tuple))
    out = {}
    out["train_1"] = to_json(model.train_on_batch(take(x, 4), take(y, 4)))
    out["train_2_dict"] = to_json(model.train_on_batch(x, y, sample_weight=data["sw"], return_dict=True))
    if not multi and case["model"] == "cat":
        out["train_3_class_weight"] = to_json(model.train_on_batch(x, y, class_weight={0: 1.0, 1: 2.0, 2: 0.5}))
    out["test_1"] = to_json(model.test_on_batch(take(x, 5), take(y, 5)))
    out["test_2_dict"] = to_json(model.test_on_batch(x, y, sample_weight=data["sw"], return_dict=True))
    out["test_2_dict_keys"] = list(model.test_on_batch(x, y, return_dict=True))
    out["predict_on_batch"] = to_json(model.predict_on_batch(take(x, 3)))
    out["weights"] = to_json(model.get_weights())
    out["metrics_names"] = list(model.metrics_names)
    return out
