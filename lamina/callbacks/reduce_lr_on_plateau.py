"""`ReduceLROnPlateau`: lowers the learning rate when a metric has stopped improving.

>>> import numpy as np, lamina
>>> from lamina import layers
>>> model = lamina.Sequential([lamina.Input((2,)), layers.Dense(1)])
>>> model.compile(optimizer=lamina.optimizers.SGD(learning_rate=0.1), loss="mse")
>>> reduce = ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, min_delta=10.0)  # nothing improves by 10
>>> history = model.fit(np.ones((4, 2)), np.zeros((4, 1)), epochs=3, verbose=0, callbacks=[reduce])
>>> [round(lr, 6) for lr in history.history["learning_rate"]]  # the rate each epoch ran with
[0.1, 0.1, 0.05]
>>> round(float(model.optimizer.learning_rate), 6)
0.025
"""

import warnings

import numpy as np

from lamina.callbacks.monitor_callback import MonitorCallback


def current_learning_rate(model):
    """The optimizer's current learning rate as a Python float."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or not hasattr(optimizer, "learning_rate"):
        raise ValueError(f'Optimizer must have a "learning_rate" attribute. Received: optimizer={optimizer!r}')
    return float(np.asarray(optimizer.learning_rate))


class ReduceLROnPlateau(MonitorCallback):
    """Reduce the learning rate when a metric has stopped improving (Keras 3 semantics).

    After ``patience`` epochs without an improvement of at least ``min_delta``, the learning
    rate becomes ``max(lr * factor, min_lr)``, then ``cooldown`` epochs pass before waiting
    starts again. Each epoch's logs get a ``learning_rate`` entry (the rate used during it).

    Args:
        monitor: quantity to be monitored.
        factor: factor by which the learning rate is reduced (``new_lr = lr * factor``); must be < 1.
        patience: number of epochs with no improvement after which the learning rate is reduced.
        verbose: ``0`` quiet, ``1`` prints a message on each reduction.
        mode: ``"auto"``, ``"min"`` or ``"max"``.
        min_delta: threshold for measuring the new optimum.
        cooldown: number of epochs to wait after a reduction before resuming normal operation.
        min_lr: lower bound on the learning rate.
    """

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto", min_delta=1e-4,
                 cooldown=0, min_lr=0.0, **kwargs):
        super().__init__(monitor, mode, min_delta=min_delta)
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau does not support a factor >= 1.0. Received factor={factor}")
        self.factor = factor
        self.min_lr = min_lr
        self.patience = patience
        self.verbose = verbose
        self.cooldown = cooldown
        self.cooldown_counter = 0
        self.wait = 0

    def _reset(self):
        self.cooldown_counter = 0
        self.wait = 0

    def on_train_begin(self, logs=None):
        self._reset()

    def in_cooldown(self):
        return self.cooldown_counter > 0

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()  # here, once the model's metrics are built
        logs = logs if logs is not None else {}
        logs["learning_rate"] = current_learning_rate(self.model)
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"Learning rate reduction is conditioned on metric `{self.monitor}` which is not "
                          f"available. Available metrics are: {','.join(list(logs.keys()))}.", stacklevel=2)
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self._is_improvement(current, self.best):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience:
                old_lr = current_learning_rate(self.model)
                if old_lr > np.float32(self.min_lr):
                    new_lr = max(old_lr * self.factor, self.min_lr)
                    self.model.optimizer.learning_rate = new_lr
                    if self.verbose > 0:
                        print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new_lr}.",
                              flush=True)
                    self.cooldown_counter = self.cooldown
                    self.wait = 0
