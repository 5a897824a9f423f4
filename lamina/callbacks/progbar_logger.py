"""`ProgbarLogger`: the Keras progress display of ``fit``/``evaluate``/``predict``."""

from lamina.callbacks.callback import Callback
from lamina.utils.progbar import Progbar


class ProgbarLogger(Callback):
    """Prints a progress bar per epoch (``verbose=1``) or one line per epoch (``verbose=2``)."""

    def __init__(self):
        super().__init__()
        self.progbar = None
        self.verbose = 1
        self.epochs = 1
        self._seen = 0

    def set_params(self, params):
        super().set_params(params)
        self.verbose = params.get("verbose", 1)
        self.epochs = params.get("epochs", 1)

    def _start(self, target):
        self.progbar = Progbar(target=target, verbose=self.verbose, unit_name="step")
        self._seen = 0

    def on_train_begin(self, logs=None):
        self._in_fit = True
        self._epoch_steps = None

    def on_train_end(self, logs=None):
        self._in_fit = False

    def on_epoch_begin(self, epoch, logs=None):
        if self.verbose and self.epochs > 1:
            print(f"Epoch {epoch + 1}/{self.epochs}", flush=True)
        # Data of unknown length: the first epoch counts up; later ones know its step count, as in Keras.
        self._start(self.params.get("steps") or getattr(self, "_epoch_steps", None))

    def on_train_batch_end(self, batch, logs=None):
        self._update(batch, logs)

    def on_test_begin(self, logs=None):
        if not getattr(self, "_in_fit", False):
            self._start(self.params.get("steps"))

    def on_test_batch_end(self, batch, logs=None):
        if not getattr(self, "_in_fit", False):
            self._update(batch, logs)

    def on_predict_begin(self, logs=None):
        self._start(self.params.get("steps"))

    def on_predict_batch_end(self, batch, logs=None):
        self._update(batch, None)

    def _update(self, batch, logs):
        # With steps_per_execution the last index may pass the end of the epoch (see `fit`): never show 4/3.
        steps = self.params.get("steps")
        self._seen = batch + 1 if not steps else min(batch + 1, steps)
        if self.progbar is not None:
            self.progbar.update(self._seen, values=logs, finalize=False)

    def on_epoch_end(self, epoch, logs=None):
        self._finish(logs)
        if not self.params.get("steps"):
            self._epoch_steps = self._seen

    def on_test_end(self, logs=None):
        if not getattr(self, "_in_fit", False):
            self._finish(logs)

    def on_predict_end(self, logs=None):
        self._finish(None)

    def _finish(self, logs):
        if self.progbar is not None:
            if self.progbar.target is None:  # the count is known now: the final line shows a full bar
                self.progbar.target = self._seen
            self.progbar.update(self._seen, values=logs, finalize=True)
