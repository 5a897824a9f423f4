"""The epoch and batch loops behind ``fit``, ``evaluate`` and ``predict``."""

import functools
import itertools
import sys

import numpy as np
import torch

from lamina.backend import config, host_memory
from lamina.training import data_adapters


def logs_to_python(logs):
    """0-d tensors to Python floats (the one host synchronisation of a logging point)."""
    out = {}
    # Sorted by name, the order Keras's logs have (its TF backend returns them sorted).
    for key, value in sorted((logs or {}).items()):
        if isinstance(value, torch.Tensor):
            value = value.detach()
            value = float(value.cpu()) if value.numel() == 1 else value.cpu().numpy()
        out[key] = value
    return out


def to_numpy(structure):
    if isinstance(structure, torch.Tensor):
        return structure.detach().cpu().numpy()
    if isinstance(structure, (list, tuple)):
        return type(structure)(to_numpy(s) for s in structure)
    if isinstance(structure, dict):
        return {k: to_numpy(v) for k, v in structure.items()}
    return structure


def _resolve_verbose(verbose):
    if verbose == "auto":
        return 1 if sys.stdout.isatty() else 2
    return int(verbose)


def sample_weights_from_class_weight(y, class_weight, sample_weight=None):
    """Per-sample weights from ``{class_index: weight}`` (labels as indices or one-hot rows)."""
    if sample_weight is not None:
        raise ValueError("You cannot `class_weight` and `sample_weight` at the same time.")
    if isinstance(y, (list, tuple, dict)):
        raise ValueError("`class_weight` is only supported for models with a single output.")
    labels = y
    if labels.dim() > 1 and labels.shape[-1] > 1:
        labels = labels.argmax(dim=-1)
    elif labels.dim() > 1:
        labels = labels.reshape(labels.shape[0], -1)[:, 0]
    labels = labels.round().long() if labels.is_floating_point() else labels.long()
    max_class = max(int(k) for k in class_weight)
    table = torch.ones(max(max_class + 1, int(labels.max()) + 1 if labels.numel() else 1), device=labels.device)
    for key, value in class_weight.items():
        table[int(key)] = float(value)
    return table[labels]


def _make_adapter(x, y, sample_weight, batch_size, steps, shuffle, class_weight=None, distribution=None,
                  training=False, record_sizes=False):
    if distribution is not None:  # this process's share of every global batch (`lamina.distribute`)
        return distribution.distribute_data(_make_adapter, x, y, sample_weight, batch_size, steps, shuffle,
                                            class_weight, training=training, record_sizes=record_sizes)
    adapter = data_adapters.get_data_adapter(x, y, sample_weight, batch_size=batch_size, steps=steps,
                                             shuffle=shuffle)
    if class_weight is not None:
        if not isinstance(adapter, data_adapters.ArrayDataAdapter):
            return _ClassWeighted(adapter, class_weight)
        adapter.sample_weight = sample_weights_from_class_weight(adapter.y, class_weight, adapter.sample_weight)
    return adapter


class _ClassWeighted:
    def __init__(self, adapter, class_weight):
        self.adapter, self.class_weight = adapter, class_weight

    @property
    def num_batches(self):
        return self.adapter.num_batches

    def __iter__(self):
        for x, y, sw in self.adapter:
            yield x, y, sample_weights_from_class_weight(y, self.class_weight, sw)


def _active_distribution(model):
    """The `lamina.distribute` distribution of this loop (None for a single process)."""
    from lamina.distribute.data_parallel import active_distribution

    return active_distribution(model)


def _callbacks(model, callbacks, verbose, epochs, steps, add_history, **params):
    from lamina.callbacks import CallbackList

    if isinstance(callbacks, CallbackList):
        return callbacks
    return CallbackList(callbacks, add_history=add_history, add_progbar=verbose != 0, model=model,
                        verbose=verbose, epochs=epochs, steps=steps, **params)


def _reusing_host_memory(loop):
    """Runs ``loop`` inside `host_memory.reuse_freed_memory` for the configured device."""

    @functools.wraps(loop)
    def run(*args, **kwargs):
        with host_memory.reuse_freed_memory(config.device()):
            return loop(*args, **kwargs)

    return run


@_reusing_host_memory
def fit_loop(model, x, y, batch_size, epochs, verbose, callbacks, validation_split, validation_data, shuffle,
             class_weight, sample_weight, initial_epoch, steps_per_epoch, validation_steps, validation_batch_size,
             validation_freq):
    verbose = _resolve_verbose(verbose)
    distribution = _active_distribution(model)
    if distribution is not None and not distribution.is_chief:
        verbose = 0  # only process 0 prints
    if validation_split and validation_data is None:
        (x, y, sample_weight), validation_data = data_adapters.train_validation_split(
            x, y, sample_weight, validation_split)
    train_data = _make_adapter(x, y, sample_weight, batch_size, steps_per_epoch, shuffle, class_weight,
                               distribution=distribution, training=True)
    val_data = None
    if validation_data is not None:
        vx, vy, vsw = _unpack_validation(validation_data)
        val_data = _make_adapter(vx, vy, vsw, validation_batch_size or batch_size, validation_steps, False,
                                 distribution=distribution)
    callbacks = _callbacks(model, callbacks, verbose, epochs, train_data.num_batches, add_history=True)
    needs_batch_logs = callbacks.needs_batch_logs("train")
    train_step, deferred = _loop_step(model, "train")
    per_execution = _steps_per_execution(model)
    model.stop_training = False
    callbacks.on_train_begin()
    if distribution is not None:  # after a restore by a callback: every process starts from process 0's weights
        distribution.begin_fit(model, train_data)
    initial_epoch, skip_steps = _resume_point(model, initial_epoch)
    epoch_logs = {}
    for epoch in range(initial_epoch, epochs):
        model.reset_metrics()
        callbacks.on_epoch_begin(epoch)
        logs = {}
        batches, first_step = iter(train_data), 0
        if skip_steps:  # resuming inside this epoch: replay its data order, skip the finished steps
            batches, first_step, skip_steps = itertools.islice(batches, skip_steps, None), skip_steps, 0
        ran = False
        for begin, execution in _executions(batches, per_execution, first_step):
            if needs_batch_logs:
                callbacks.on_train_batch_begin(begin)
            for batch in execution:
                logs = train_step(batch)
            ran = True
            if needs_batch_logs:
                callbacks.on_train_batch_end(begin + per_execution - 1, _execution_logs(model, logs, deferred))
            if model.stop_training:
                break
        if deferred and ran:
            logs = model.get_metrics_result()
        if distribution is not None:  # global loss and metrics (one all-reduce of their states per epoch)
            logs = distribution.sync_metrics(model, logs)
        epoch_logs = logs_to_python(logs)
        if not epoch_logs and step_count(train_data) == 0:
            raise ValueError("The training data produced no batches: check `x` and `steps_per_epoch`.")
        if val_data is not None and _should_validate(epoch, validation_freq):
            # As Keras, the validation runs the test hooks (on_test_begin, on_test_batch_*, on_test_end with
            # the logs before their "val_" prefix), for callbacks such as TensorBoard.
            callbacks.on_test_begin()
            val_logs = _run_evaluation(model, val_data, callbacks=callbacks, distribution=distribution,
                                       in_fit=True)
            callbacks.on_test_end(val_logs)
            epoch_logs.update({f"val_{k}": v for k, v in val_logs.items()})
        callbacks.on_epoch_end(epoch, epoch_logs)
        if model.stop_training:
            break
    callbacks.on_train_end(epoch_logs)
    return _history_of(callbacks)  # this fit's History (model.history is a previous one when no epoch ran)


def _resume_point(model, initial_epoch):
    """The epoch (and step in it) where a callback asked ``fit`` to resume, e.g. `BackupAndRestore`.

    A callback sets ``model._initial_epoch`` (and optionally ``model._initial_step``) in
    ``on_train_begin``; both are consumed here, so they apply to one ``fit`` call only.
    """
    epoch, step = getattr(model, "_initial_epoch", None), getattr(model, "_initial_step", None)
    if epoch is None and step is None:
        return initial_epoch, 0
    model._initial_epoch = model._initial_step = None
    return (initial_epoch if epoch is None else int(epoch)), int(step or 0)


def step_count(adapter):
    return adapter.num_batches if adapter.num_batches is not None else 1


def _history_of(callbacks):
    from lamina.callbacks import History

    return next(c for c in callbacks if isinstance(c, History))


def _should_validate(epoch, validation_freq):
    if isinstance(validation_freq, int):
        return (epoch + 1) % validation_freq == 0
    return epoch + 1 in validation_freq


def _unpack_validation(validation_data):
    if isinstance(validation_data, (tuple, list)) and len(validation_data) in (2, 3):
        items = list(validation_data) + [None] * (3 - len(validation_data))
        return items[0], items[1], items[2]
    return validation_data, None, None


def _steps_per_execution(model):
    return int(getattr(model, "steps_per_execution", 1))


def _executions(batches, size, first_step=0):
    """Groups the batches into executions of ``size`` steps: yields ``(index of the first step, batches)``.

    The batches of an execution are produced lazily; the last execution of an epoch may be shorter. As in
    Keras 3, ``on_*_batch_end`` gets the nominal index of an execution's last step, ``first + size - 1``,
    also for a shorter last execution (3 batches with ``steps_per_execution=2``: indices 1 and 3).
    """
    iterator = iter(batches)
    step = first_step
    for first in iterator:
        yield step, itertools.chain((first,), itertools.islice(iterator, size - 1)) if size > 1 else (first,)
        step += size


def _uses_default_steps(model, kind):
    cls = type(model)
    from lamina.training.trainer import Trainer

    return (getattr(cls, f"{kind}_step") is getattr(Trainer, f"{kind}_step") and f"{kind}_step" not in vars(model)
            and cls.compute_metrics is Trainer.compute_metrics
            and cls.get_metrics_result is Trainer.get_metrics_result)


def _loop_step(model, kind):
    """The step a loop runs, and whether it defers the metric results.

    With the default steps the results (a few kernels per metric) are not computed per batch: the loop
    asks `get_metrics_result()` when it needs the logs (for batch callbacks, at the end of an execution
    or an epoch), as Keras does at the end of a loop. The flag is set only while the step runs, so a
    callback calling `test_on_batch` or `evaluate` gets its own logs.
    """
    step = model._step_function(kind)
    if not _uses_default_steps(model, kind):
        return step, False

    def deferred_step(batch):
        object.__setattr__(model, "_defer_metric_results", True)
        try:
            return step(batch)
        finally:
            object.__setattr__(model, "_defer_metric_results", False)

    return deferred_step, True


def _execution_logs(model, logs, deferred):
    return model.get_metrics_result() if deferred else logs


def _run_evaluation(model, adapter, callbacks, distribution=None, in_fit=False):
    test_step, deferred = _loop_step(model, "test")
    per_execution = _steps_per_execution(model)
    model.reset_metrics()
    logs = {}
    ran = False
    needs_batch_logs = callbacks is not None and callbacks.needs_batch_logs("test", in_fit=in_fit)
    with torch.no_grad():
        for begin, execution in _executions(adapter, per_execution):
            if needs_batch_logs:
                callbacks.on_test_batch_begin(begin)
            for batch in execution:
                logs = test_step(batch)
            ran = True
            if needs_batch_logs:
                callbacks.on_test_batch_end(begin + per_execution - 1, _execution_logs(model, logs, deferred))
    if deferred and ran:
        logs = model.get_metrics_result()
    if distribution is not None:
        logs = distribution.sync_metrics(model, logs)
    return logs_to_python(logs)


@_reusing_host_memory
def evaluate_loop(model, x, y, batch_size, verbose, sample_weight, steps, callbacks, return_dict, **kwargs):
    if kwargs:
        raise TypeError(f"Invalid keyword arguments passed to evaluate(): {sorted(kwargs)}")
    verbose = _resolve_verbose(verbose)
    distribution = _active_distribution(model)
    if distribution is not None and not distribution.is_chief:
        verbose = 0
    adapter = _make_adapter(x, y, sample_weight, batch_size, steps, False, distribution=distribution)
    callbacks = _callbacks(model, callbacks, verbose, 1, adapter.num_batches, add_history=False)
    callbacks.on_test_begin()
    logs = _run_evaluation(model, adapter, callbacks, distribution=distribution)
    callbacks.on_test_end(logs)
    if return_dict:
        return logs
    return logs_list(model, logs)


def logs_list(model, logs):
    """The logs as ``evaluate``/``train_on_batch`` list them, in Keras's order: ``loss``, the compiled metrics
    (single-output models; multi-output names are prefixed, so they fall to the sorted rest), the per-output
    losses, then every other log sorted by name. One value alone is returned as it is."""
    names = ["loss"]
    compiled = getattr(model, "_compile_metrics", None)
    if compiled is not None:
        names += [getattr(metric, "_base_name", metric.name) for _, metric, _ in compiled.metrics]
    names += [tracker.name for tracker in getattr(model, "_output_loss_trackers", None) or []]
    values, seen = [], set()
    for name in names:
        if name in logs and name not in seen:
            seen.add(name)
            values.append(logs[name])
    values += [logs[key] for key in sorted(logs) if key not in seen]
    return values[0] if len(values) == 1 else values


@_reusing_host_memory
def predict_loop(model, x, batch_size, verbose, steps, callbacks):
    distribution = _active_distribution(model)
    adapter = _make_adapter(x, None, None, batch_size, steps, False, distribution=distribution, record_sizes=True)
    if verbose == "auto":
        # A single small batch prints nothing, as in Keras; more batches show progress on a terminal.
        verbose = 0 if (adapter.num_batches or 0) <= 1 else _resolve_verbose("auto")
    if distribution is not None and not distribution.is_chief:
        verbose = 0
    callbacks = _callbacks(model, callbacks, int(verbose), 1, adapter.num_batches, add_history=False)
    predict_step = model._step_function("predict")
    per_execution = _steps_per_execution(model) if model.compiled else 1
    needs_batch_logs = callbacks.needs_batch_logs("predict")
    callbacks.on_predict_begin()
    outputs = []
    with torch.no_grad():
        for begin, execution in _executions(adapter, per_execution):
            if needs_batch_logs:
                callbacks.on_predict_batch_begin(begin)
            count = 0
            for batch in execution:
                outputs.append(predict_step(batch))
                count += 1
            if needs_batch_logs:  # the outputs of every batch of the execution, concatenated
                out = outputs[-1] if count == 1 else _concatenate_tensors(outputs[-count:])
                callbacks.on_predict_batch_end(begin + per_execution - 1, {"outputs": out})
    callbacks.on_predict_end()
    if not outputs:
        raise ValueError("Unexpected result of `predict_function` (empty batch_outputs): the input is empty.")
    if distribution is not None:  # every process's rows, back in the global order
        return distribution.gather_predictions(_concatenate(outputs), adapter)
    return _concatenate(outputs)


def _concatenate_tensors(batches):
    first = batches[0]
    if isinstance(first, torch.Tensor):
        return torch.cat(batches)
    if isinstance(first, (list, tuple)):
        return type(first)(_concatenate_tensors([b[i] for b in batches]) for i in range(len(first)))
    if isinstance(first, dict):
        return {k: _concatenate_tensors([b[k] for b in batches]) for k in first}
    return batches[-1]


def _concatenate(batches):
    first = batches[0]
    if isinstance(first, torch.Tensor):
        return torch.cat([b.detach() for b in batches]).cpu().numpy()
    if isinstance(first, (list, tuple)):
        return type(first)(_concatenate([b[i] for b in batches]) for i in range(len(first)))
    if isinstance(first, dict):
        return {k: _concatenate([b[k] for b in batches]) for k in first}
    return np.concatenate([np.asarray(b) for b in batches])
