"""`MonitorCallback`: the shared ``monitor``/``mode``/``min_delta`` logic of EarlyStopping,
ModelCheckpoint and ReduceLROnPlateau (as Keras 3's base class of the same name).

In ``mode='auto'`` the direction comes from the monitored name: ``loss``/``val_loss`` is
minimised; any other name is looked up among the model's metrics, whose ``_direction``
(``'up'`` for accuracies, ``'down'`` for errors) decides. An unknown name raises.

>>> from lamina.callbacks.monitor_callback import MonitorCallback
>>> cb = MonitorCallback(monitor="val_loss", min_delta=0.1)
>>> cb._set_monitor_op()
>>> cb._is_improvement(0.85, 1.0), cb._is_improvement(0.95, 1.0)
(True, False)
"""

import operator
import warnings

from lamina.callbacks.callback import Callback


class MonitorCallback(Callback):
    """Base class for callbacks that watch one logged quantity and judge improvements.

    Args:
        monitor: the log name to watch (``'val_loss'``, ``'accuracy'``, ...).
        mode: ``'auto'``, ``'min'`` or ``'max'``; an unknown mode warns and falls back to ``'auto'``.
        baseline: the initial "best" value; ``None`` makes the first value an improvement.
        min_delta: the smallest change that counts as an improvement.
    """

    def __init__(self, monitor="val_loss", mode="auto", baseline=None, min_delta=0):
        super().__init__()
        if mode not in ("auto", "min", "max"):
            warnings.warn(f"{type(self).__name__} mode '{mode}' is unknown, fallback to auto mode.", stacklevel=3)
            mode = "auto"
        self.monitor = monitor
        self.mode = mode
        self.best = baseline
        self.min_delta = abs(min_delta)
        self.monitor_op = None

    def _set_monitor_op(self):
        if self.mode == "min":
            self.monitor_op = operator.lt
        elif self.mode == "max":
            self.monitor_op = operator.gt
        else:
            name = self.monitor[4:] if self.monitor.startswith("val_") else self.monitor
            if name == "loss":
                self.monitor_op = operator.lt
            for metric in getattr(self.model, "metrics", None) or []:
                direction = getattr(metric, "_direction", None)
                if getattr(metric, "name", None) == name and direction is not None:
                    self.monitor_op = operator.gt if direction == "up" else operator.lt
            if self.monitor_op is None:
                raise ValueError(
                    f"{type(self).__name__} callback received monitor={self.monitor}, but lamina isn't able to "
                    "automatically determine whether that metric should be maximized or minimized. Pass "
                    "`mode='max'` in order to monitor based on the highest metric value, or pass `mode='min'` "
                    "in order to use the lowest value."
                )
        if self.monitor_op is operator.lt:
            self.min_delta = -abs(self.min_delta)
        else:
            self.min_delta = abs(self.min_delta)

    def _is_improvement(self, monitor_value, reference_value):
        if reference_value is None:
            return True
        return bool(self.monitor_op(monitor_value - self.min_delta, reference_value))
