"""`EarlyStopping`: stops ``fit`` when a monitored quantity stops improving.

>>> import numpy as np, lamina
>>> from lamina import layers
>>> model = lamina.Sequential([lamina.Input((2,)), layers.Dense(1)])
>>> model.compile(optimizer=lamina.optimizers.SGD(learning_rate=0.0), loss="mse")  # a loss that never improves
>>> stop = EarlyStopping(monitor="loss", patience=2)
>>> history = model.fit(np.ones((4, 2)), np.zeros((4, 1)), epochs=10, verbose=0, callbacks=[stop])
>>> len(history.epoch), stop.stopped_epoch  # the best epoch, then `patience` epochs without improvement
(3, 2)
"""

import warnings

from lamina.callbacks.monitor_callback import MonitorCallback


class EarlyStopping(MonitorCallback):
    """Stop training when a monitored metric has stopped improving (Keras 3 semantics).

    At the end of each epoch (from ``start_from_epoch`` on) the monitored value is compared
    with the best so far; after ``patience`` epochs without an improvement of at least
    ``min_delta``, ``model.stop_training`` is set.

    Args:
        monitor: quantity to be monitored. Defaults to ``"val_loss"``.
        min_delta: minimum change in the monitored quantity to qualify as an improvement.
        patience: number of epochs with no improvement after which training is stopped.
        verbose: ``0`` silent, ``1`` prints a message when the callback acts.
        mode: ``"auto"``, ``"min"`` or ``"max"``; ``"auto"`` infers the direction from the name.
        baseline: training stops unless the model improves on this value within ``patience`` epochs.
        restore_best_weights: at the end of training, restore the weights of the best epoch
            (only when the monitored value was seen at least once).
        start_from_epoch: number of warm-up epochs before improvements are monitored.
    """

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto", baseline=None,
                 restore_best_weights=False, start_from_epoch=0):
        super().__init__(monitor, mode, min_delta=min_delta)
        self.patience = patience
        self.verbose = verbose
        self.baseline = baseline
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = start_from_epoch
        self._reset()

    def _reset(self):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_weights = None
        self.best_epoch = 0

    def on_train_begin(self, logs=None):
        self._reset()

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()  # here, once the model's metrics are built
        current = self.get_monitor_value(logs)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self.model.get_weights()
            self.best_epoch = epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            # The counter restarts only when the value beats both the previous best and the baseline.
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping", flush=True)
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.", flush=True)
            self.model.set_weights(self.best_weights)

    def get_monitor_value(self, logs):
        logs = logs or {}
        value = logs.get(self.monitor)
        if value is None:
            warnings.warn(
                f"Early stopping conditioned on metric `{self.monitor}` which is not available. "
                f"Available metrics are: {','.join(list(logs.keys()))}",
                stacklevel=2,
            )
        return value
