"""`Trainer`: ``compile``, ``fit``, ``evaluate``, ``predict`` and the step methods, mixed into `Model`.

The steps are plain methods a subclass may override (``train_step``, ``test_step``,
``predict_step``, ``compute_loss``, ``compute_metrics``), as in Keras 3. Each step
keeps its values on the device: logs are 0-d tensors, turned into Python numbers only
where something prints or records them.
"""

import types
import warnings

import torch

from lamina.training import data_adapters
from lamina.training.compile_utils import CompileLoss, CompileMetrics


class Trainer:
    """Training and inference loops for `Model`."""

    compiled = False
    # Before compile(): predict() on an uncompiled model follows compile()'s default.
    jit_compile = "auto"
    # The active `lamina.distribute` distribution (None: single process); set by compile and by the loops.
    _distribution = None
    _distribution_scope = None
    # Set by the fit/evaluate loops while the default steps run without batch-level callbacks (see
    # `compute_metrics`).
    _defer_metric_results = False

    # ---- compile -------------------------------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None, weighted_metrics=None,
                run_eagerly=False, steps_per_execution=1, jit_compile="auto", auto_scale_loss=True, **kwargs):
        """Configures the model for training.

        Args:
            optimizer: an optimizer name (``'adam'``) or instance.
            loss: a loss (name, function or `lamina.losses.Loss`), a list per output or a dict by output name.
            loss_weights: scalars weighting each output's loss.
            metrics: metrics to report (names like ``'accuracy'``, functions or `lamina.metrics.Metric`s),
                a list per output, or a dict by output name.
            weighted_metrics: metrics that take ``sample_weight``/``class_weight`` into account.
            run_eagerly: never compile the steps with torch.compile.
            steps_per_execution: how many batches one execution runs. Batch-level callbacks are called once
                per execution, ``on_*_batch_begin`` with the index of its first batch and ``on_*_batch_end``
                with the index ``first + steps_per_execution - 1`` (as Keras, also when the last execution of an
                epoch is shorter) and the logs after it, and ``stop_training`` is checked between executions,
                as in Keras. On torch the batches of an execution run one after another in eager Python (or each
                through the compiled step); what an execution saves is the per-batch work of callbacks and logs.
            jit_compile: ``True`` compiles the steps with `torch.compile`; ``'auto'`` compiles on CUDA when every
                layer can be compiled without graph breaks, and runs eagerly on the CPU.
        """
        from lamina import optimizers

        if "experimental_run_tf_function" in kwargs:
            kwargs.pop("experimental_run_tf_function")
        if kwargs:
            raise TypeError(f"Invalid keyword arguments passed to compile(): {sorted(kwargs)}")
        self.optimizer = optimizers.get(optimizer)
        self.loss = loss
        self._compile_loss = CompileLoss(loss, loss_weights) if loss is not None else None
        self._compile_metrics = CompileMetrics(metrics, weighted_metrics, loss)
        from lamina import metrics as metrics_module

        self._loss_tracker = metrics_module.Mean(name="loss")
        self._output_loss_trackers = None
        self.run_eagerly = bool(run_eagerly)
        if isinstance(steps_per_execution, bool) or int(steps_per_execution) != steps_per_execution \
                or steps_per_execution < 1:
            raise ValueError("`steps_per_execution` must be a positive integer. "
                             f"Received: steps_per_execution={steps_per_execution!r}")
        self.steps_per_execution = int(steps_per_execution)
        self.jit_compile = False if run_eagerly else (jit_compile if jit_compile == "auto" else bool(jit_compile))
        self._compiled_steps = {}
        self.compiled = True
        from lamina.distribute.data_parallel import attach_distribution

        attach_distribution(self)  # a model compiled under `DataParallel().scope()` trains data-parallel
        self.stop_training = False
        object.__setattr__(self, "_compile_config", {
            "optimizer": optimizer if isinstance(optimizer, str) else optimizers.serialize(self.optimizer),
            "loss": loss, "loss_weights": loss_weights, "metrics": metrics, "weighted_metrics": weighted_metrics,
            "run_eagerly": run_eagerly, "steps_per_execution": steps_per_execution, "jit_compile": jit_compile,
        })

    def _assert_compiled(self, what):
        if not self.compiled:
            raise RuntimeError(f"You must call `compile()` before calling `{what}()`. Model: '{self.name}'")

    @property
    def metrics(self):
        """The loss tracker, per-output loss trackers and compiled metrics (once built)."""
        if not self.compiled:
            return []
        out = [self._loss_tracker]
        out.extend(self._output_loss_trackers or [])
        out.extend(metric for _, metric, _ in self._compile_metrics.metrics)
        return out

    @property
    def metrics_names(self):
        return [m.name for m in self.metrics]

    def reset_metrics(self):
        for metric in self.metrics:
            metric.reset_state()

    # ---- the steps ----------------------------------------------------------------------------------------------
    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """Compiled losses (weighted) plus the losses the layers added (`self.losses`)."""
        total = None
        if self._compile_loss is not None and y is not None:
            if not self._compile_loss.built:
                self._compile_loss.build(self, y_pred)
                self._build_output_trackers()
            total, parts = self._compile_loss(y, y_pred, sample_weight)
            if self._output_loss_trackers:
                # As Keras 3: each output's loss is averaged over the batches with equal weights (the total
                # `loss` is weighted by batch size), so with a partial last batch the parts don't add up. A
                # weight of 1 (not None) takes the tracker's two-add fast path for a scalar.
                with torch.no_grad():
                    for tracker, part in zip(self._output_loss_trackers, parts):
                        if part is not None:
                            tracker.update_state(part.detach(), sample_weight=1)
        extra = self.losses
        if extra:
            extra_total = torch.stack([torch.as_tensor(v, dtype=torch.float32).reshape(()) for v in extra]).sum()
            total = extra_total if total is None else total + extra_total
        if total is None:
            raise ValueError(
                f"Model '{self.name}' has no loss to optimize: pass `loss=` to compile() or add losses with "
                "`add_loss()` in `call()`, and pass targets `y` to fit()."
            )
        return total

    def _build_output_trackers(self):
        from lamina import metrics as metrics_module

        names = self._compile_loss.names
        if len(names) > 1:
            self._output_loss_trackers = [metrics_module.Mean(name=f"{name}_loss") for name in names]

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        """Updates the compiled metrics and returns the logs (0-d tensors)."""
        if y is not None:
            if not self._compile_metrics.built:
                self._compile_metrics.build(self, y, y_pred)
            self._compile_metrics.update_state(y, y_pred, sample_weight)
        if self._defer_metric_results:
            # Inside fit/evaluate with the default steps and no callback reading batch logs: the loop
            # computes `get_metrics_result()` once when it needs the logs (the end of an epoch or
            # execution), instead of a few kernels per metric per batch.
            return {}
        return self.get_metrics_result()

    def get_metrics_result(self):
        return {metric.name: metric.result() for metric in self.metrics}

    def train_step(self, data):
        x, y, sample_weight = data_adapters.unpack_batch(data)
        y_pred = self(x, training=True)
        loss = self.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=True)
        self._apply_gradients(loss)
        with torch.no_grad():
            self._loss_tracker.update_state(loss.detach(), sample_weight=_batch_size(y_pred))
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def _apply_gradients(self, loss):
        variables = self._trainable_for_step()
        if not variables:
            warnings.warn(f"Model '{self.name}' has no trainable variables: fit() updates nothing.", stacklevel=3)
            return
        optimizer = self.optimizer
        scale = getattr(optimizer, "loss_scale_factor", None)
        if scale:
            loss = loss * scale
        grads = torch.autograd.grad(loss, [v.value for v in variables], allow_unused=True)
        if self._distribution is not None:  # data parallel: average the gradients of all processes
            grads = self._distribution.reduce_gradients(grads)
        optimizer.apply(list(grads), variables)

    def _trainable_for_step(self):
        cache = getattr(self, "_trainable_cache", None)
        key = tuple(id(v) for v in self.trainable_variables)
        if cache is None or cache[0] != key:
            cache = (key, self.trainable_variables)
            object.__setattr__(self, "_trainable_cache", cache)
        return cache[1]

    def test_step(self, data):
        x, y, sample_weight = data_adapters.unpack_batch(data)
        y_pred = self(x, training=False)
        loss = self.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=False)
        self._loss_tracker.update_state(loss.detach(), sample_weight=_batch_size(y_pred))
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def predict_step(self, data):
        x, _, _ = data_adapters.unpack_batch(data)
        return self(x, training=False)

    def _step_function(self, kind):
        """The step to run: the method itself, or its torch.compile'd version."""
        step = {"train": self.train_step, "test": self.test_step, "predict": self.predict_step}[kind]
        if self.jit_compile == "auto":
            self.jit_compile = _auto_jit(self)
        if not self.jit_compile:
            return step
        cache = self.__dict__.get("_compiled_steps")
        if cache is None:
            cache = self._compiled_steps = {}
        compiled = cache.get(kind)
        if compiled is None:
            compiled = cache[kind] = _compile_step(self, kind)
        return compiled

    # ---- loops -------------------------------------------------------------------------------------------------
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None, validation_split=0.0,
            validation_data=None, shuffle=True, class_weight=None, sample_weight=None, initial_epoch=0,
            steps_per_epoch=None, validation_steps=None, validation_batch_size=None, validation_freq=1):
        """Trains for ``epochs`` epochs and returns a `History`. See Keras's ``Model.fit``."""
        from lamina.training.loops import fit_loop

        self._assert_compiled("fit")
        return fit_loop(self, x=x, y=y, batch_size=batch_size, epochs=epochs, verbose=verbose, callbacks=callbacks,
                        validation_split=validation_split, validation_data=validation_data, shuffle=shuffle,
                        class_weight=class_weight, sample_weight=sample_weight, initial_epoch=initial_epoch,
                        steps_per_epoch=steps_per_epoch, validation_steps=validation_steps,
                        validation_batch_size=validation_batch_size, validation_freq=validation_freq)

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, steps=None,
                 callbacks=None, return_dict=False, **kwargs):
        """Returns the loss and metrics on the data (a list, or a dict with ``return_dict=True``)."""
        from lamina.training.loops import evaluate_loop

        self._assert_compiled("evaluate")
        return evaluate_loop(self, x=x, y=y, batch_size=batch_size, verbose=verbose, sample_weight=sample_weight,
                             steps=steps, callbacks=callbacks, return_dict=return_dict, **kwargs)

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """Returns the model's outputs on ``x`` as NumPy arrays, batch by batch."""
        from lamina.training.loops import predict_loop

        return predict_loop(self, x, batch_size=batch_size, verbose=verbose, steps=steps, callbacks=callbacks)

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
        """One gradient update on one batch; returns the metrics of that batch."""
        from lamina.training.loops import logs_list, logs_to_python, sample_weights_from_class_weight

        self._assert_compiled("train_on_batch")
        self.reset_metrics()
        x, y, sample_weight = (data_adapters._map(data_adapters.to_device_tensor, v) for v in (x, y, sample_weight))
        if class_weight is not None:
            sample_weight = sample_weights_from_class_weight(y, class_weight, sample_weight)
        logs = logs_to_python(self._step_function("train")((x, y, sample_weight)))
        return logs if return_dict else logs_list(self, logs)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        """Evaluates one batch; returns its loss and metrics."""
        from lamina.training.loops import logs_list, logs_to_python

        self._assert_compiled("test_on_batch")
        self.reset_metrics()
        x, y, sample_weight = (data_adapters._map(data_adapters.to_device_tensor, v) for v in (x, y, sample_weight))
        with torch.no_grad():
            logs = logs_to_python(self._step_function("test")((x, y, sample_weight)))
        return logs if return_dict else logs_list(self, logs)

    def predict_on_batch(self, x):
        """The model's outputs on one batch, as NumPy arrays."""
        from lamina.training.loops import to_numpy

        x = data_adapters._map(data_adapters.to_device_tensor, x)
        with torch.no_grad():
            return to_numpy(self._step_function("predict")((x, None, None)))

    def get_compile_config(self):
        return dict(getattr(self, "_compile_config", {})) if self.compiled else None

    def compile_from_config(self, config):
        self.compile(**config)


def _auto_jit(model):
    """``jit_compile='auto'``: compile on CUDA (fit measured 1.7x (MLP) and 2.6x (CNN) the speed of raw eager torch
    on an H100 with bench/bench_fit.py), stay
    eager on the CPU (compiled steps measured no faster for typical models), and stay eager when a layer
    breaks the compiled graph (packed RNN sequences, string layers): each break costs recompilations."""
    from lamina.backend import config

    if config.device().type != "cuda":
        return False
    return all(getattr(layer, "supports_jit", True) for layer in model._flatten_layers())


def _batch_size(y_pred):
    first = y_pred
    while isinstance(first, (list, tuple, dict)):
        first = next(iter(first.values())) if isinstance(first, dict) else first[0]
    return first.shape[0] if first.dim() else 1


def _compile_step(model, kind):
    from lamina.backend import config

    backend = config.compile_backend()
    method = f"{kind}_step"
    if kind == "predict" or getattr(type(model), method) is not getattr(Trainer, method):
        # predict, or a step the model overrides: compile the method itself (the optimizer update inside a
        # user's train_step is excluded from the graph by `Optimizer.apply`'s compiler.disable).
        return torch.compile(types.MethodType(_own_code(getattr(type(model), method)), model), backend=backend)
    # Compile the forward pass and the loss; autograd and the (foreach) optimizer update stay eager.
    forward = torch.compile(_own_code(_forward_and_loss), backend=backend)

    def step(data):
        x, y, sample_weight = data_adapters.unpack_batch(data)
        training = kind == "train"
        if training:
            y_pred, loss = forward(model, x, y, sample_weight, True)
            model._apply_gradients(loss)
        else:
            with torch.no_grad():
                y_pred, loss = forward(model, x, y, sample_weight, False)
        with torch.no_grad():
            model._loss_tracker.update_state(loss.detach(), sample_weight=_batch_size(y_pred))
        return model.compute_metrics(x, y, y_pred, sample_weight)

    return step


def _own_code(function):
    """A copy of ``function`` with a code object of its own.

    torch.compile keeps its compiled graphs, and its budget of recompilations (``recompile_limit``, 8),
    per code object. Each model's steps get their own: with the shared code, the third model compiled
    in a process ran its train and test steps eagerly, as the budget was spent on the first two.
    """
    return types.FunctionType(function.__code__.replace(), function.__globals__, function.__name__,
                              function.__defaults__, function.__closure__)


def _forward_and_loss(model, x, y, sample_weight, training):
    y_pred = model(x, training=training)
    return y_pred, model.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=training)
