"""`LearningRateScheduler`: sets the learning rate at the start of each epoch from ``schedule``.

>>> import numpy as np, lamina
>>> from lamina import layers
>>> model = lamina.Sequential([lamina.Input((2,)), layers.Dense(1)])
>>> model.compile(optimizer=lamina.optimizers.SGD(learning_rate=0.1), loss="mse")
>>> halve = LearningRateScheduler(lambda epoch, lr: lr if epoch == 0 else lr / 2)
>>> history = model.fit(np.ones((4, 2)), np.zeros((4, 1)), epochs=3, verbose=0, callbacks=[halve])
>>> [round(lr, 6) for lr in history.history["learning_rate"]]
[0.1, 0.05, 0.025]
"""

import numpy as np

from lamina.callbacks.callback import Callback
from lamina.callbacks.reduce_lr_on_plateau import current_learning_rate


class LearningRateScheduler(Callback):
    """Learning rate scheduler (Keras 3 semantics).

    Args:
        schedule: ``schedule(epoch, lr) -> new_lr`` (``epoch`` 0-based, ``lr`` the current rate as a
            float), or the older one-argument form ``schedule(epoch) -> new_lr``. It must return a float.
        verbose: ``0`` quiet, ``1`` prints the rate set at each epoch.
    """

    def __init__(self, schedule, verbose=0):
        super().__init__()
        if not callable(schedule):
            raise TypeError(f"`schedule` must be a callable. Received: schedule={schedule!r}")
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch, logs=None):
        learning_rate = current_learning_rate(self.model)
        try:  # the current API: schedule(epoch, lr)
            learning_rate = self.schedule(epoch, learning_rate)
        except TypeError:  # the old API: schedule(epoch)
            learning_rate = self.schedule(epoch)
        if not isinstance(learning_rate, (float, np.float32, np.float64)):
            raise ValueError(f"The output of the `schedule` function should be a float. Got: {learning_rate}")
        self.model.optimizer.learning_rate = learning_rate
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {learning_rate}.", flush=True)

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = current_learning_rate(self.model)
