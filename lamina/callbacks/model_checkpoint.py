"""`ModelCheckpoint`: saves the model or its weights during ``fit``.

The file name may hold ``str.format`` fields filled with ``epoch`` (1-based), ``batch``
(1-based, for batch-level saves) and the logged values: ``"w.{epoch:02d}-{val_loss:.2f}.weights.h5"``.
Every save is atomic (a temporary file renamed into place), so a checkpoint on disk is always
complete, even if the process is killed while saving.

>>> import os, tempfile, numpy as np, lamina
>>> from lamina import layers
>>> model = lamina.Sequential([lamina.Input((2,)), layers.Dense(1)])
>>> model.compile(optimizer="sgd", loss="mse")
>>> folder = tempfile.mkdtemp()
>>> checkpoint = ModelCheckpoint(os.path.join(folder, "w.{epoch:02d}.weights.h5"), save_weights_only=True)
>>> _ = model.fit(np.ones((4, 2)), np.zeros((4, 1)), epochs=2, verbose=0, callbacks=[checkpoint])
>>> sorted(os.listdir(folder))
['w.01.weights.h5', 'w.02.weights.h5']
"""

import os
import warnings

import numpy as np
import torch

from lamina.callbacks.monitor_callback import MonitorCallback
from lamina.distribute.data_parallel import is_chief


class ModelCheckpoint(MonitorCallback):
    """Callback to save the model (``model.save``) or its weights (``model.save_weights``) at some frequency.

    Args:
        filepath: path of the file; may contain named formatting fields (``{epoch:02d}``, ``{val_loss:.2f}``).
            It must end in ``.weights.h5`` when ``save_weights_only=True``, else in ``.keras`` (or ``.h5``).
        monitor: the logged quantity judged by ``save_best_only``.
        verbose: ``0`` silent, ``1`` prints a line per save decision.
        save_best_only: save only when the monitored quantity improves on the best so far.
        save_weights_only: save the weights only instead of the whole model.
        mode: ``"auto"``, ``"min"`` or ``"max"`` (the direction of improvement).
        save_freq: ``"epoch"`` (at the end of each epoch) or an int: save every that many batches.
        initial_value_threshold: the initial "best" value for ``save_best_only``.
    """

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False, save_weights_only=False,
                 mode="auto", save_freq="epoch", initial_value_threshold=None):
        super().__init__(monitor, mode, initial_value_threshold)
        if not isinstance(filepath, (str, os.PathLike)):
            raise TypeError(f"`filepath` must be a string or os.PathLike. Received: filepath={filepath!r}")
        self.verbose = verbose
        self.filepath = os.fspath(filepath)
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.save_freq = save_freq
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = 0
        self._current_epoch = 0
        if save_freq != "epoch" and (not isinstance(save_freq, int) or isinstance(save_freq, bool) or save_freq < 1):
            raise ValueError(f"Unrecognized save_freq: {save_freq}. Expected save_freq are 'epoch' or integer "
                             f"values (a positive number of batches). Received: save_freq={save_freq!r}")
        if save_weights_only:
            if not self.filepath.endswith(".weights.h5"):
                raise ValueError("When using `save_weights_only=True` in `ModelCheckpoint`, the filepath provided "
                                 "must end in `.weights.h5` (Keras weights format). "
                                 f"Received: filepath={self.filepath}")
        elif not self.filepath.endswith((".keras", ".h5")):
            raise ValueError("The filepath provided must end in `.keras` (Keras model format). "
                             f"Received: filepath={self.filepath}")
        if save_freq != "epoch":
            # Batch hooks only when saving by batch, so that epoch saving costs nothing per batch.
            self.on_train_batch_end = self._on_train_batch_end

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()  # here, once the model's metrics are built
        if self.save_freq == "epoch":
            self._save_model(epoch=epoch, batch=None, logs=logs)

    def _on_train_batch_end(self, batch, logs=None):
        if self._should_save_on_batch(batch):
            if self.monitor_op is None and self.save_best_only:
                self._set_monitor_op()
            self._save_model(epoch=self._current_epoch, batch=batch, logs=_to_python(logs))

    def _should_save_on_batch(self, batch):
        if batch <= self._last_batch_seen:  # a new epoch started
            add_batches = batch + 1
        else:
            add_batches = batch - self._last_batch_seen
        self._batches_seen_since_last_saving += add_batches
        self._last_batch_seen = batch
        if self._batches_seen_since_last_saving >= self.save_freq:
            self._batches_seen_since_last_saving = 0
            return True
        return False

    def _should_save_model(self, epoch, logs, filepath):
        if not self.save_best_only:
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: saving model to {filepath}", flush=True)
            return True
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"Can save best model only with {self.monitor} available.", stacklevel=3)
            return True
        if isinstance(current, (np.ndarray, torch.Tensor)) and len(current.shape) > 0:
            warnings.warn(f"Can save best model only when `monitor` is a scalar value. Received: {current}. "
                          "Falling back to `save_best_only=False`.", stacklevel=3)
            return True
        best = "None" if self.best is None else f"{self.best:.5f}"
        if self._is_improvement(current, self.best):
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: {self.monitor} improved from {best} to {current:.5f}, saving model "
                      f"to {filepath}", flush=True)
            self.best = current
            return True
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {best}", flush=True)
        return False

    def _save_model(self, epoch, batch, logs):
        logs = logs or {}
        filepath = self._get_file_path(epoch, batch, logs)
        if os.path.isdir(filepath):
            raise IsADirectoryError("Please specify a non-directory filepath for ModelCheckpoint. Filepath used is "
                                    f"an existing directory: {filepath}")
        if not self._should_save_model(epoch, logs, filepath) or not is_chief():
            return  # under `lamina.distribute`, every process tracks the best value; only process 0 writes
        dirname = os.path.dirname(filepath)
        if dirname:
            os.makedirs(dirname, exist_ok=True)
        # Both savers write a temporary file and rename it: a checkpoint is never seen half-written.
        if self.save_weights_only:
            self.model.save_weights(filepath, overwrite=True)
        else:
            self.model.save(filepath, overwrite=True)

    def _get_file_path(self, epoch, batch, logs):
        try:
            if batch is None or "batch" in logs:
                return self.filepath.format(epoch=epoch + 1, **logs)
            return self.filepath.format(epoch=epoch + 1, batch=batch + 1, **logs)
        except KeyError as error:
            raise KeyError(f'Failed to format this callback filepath: "{self.filepath}". Reason: {error}') from None


def _to_python(logs):
    from lamina.training.loops import logs_to_python

    return logs_to_python(logs)
