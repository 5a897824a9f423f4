"""`BackupAndRestore`: resume an interrupted ``fit`` exactly where its last backup left it.

A backup is ONE file, ``<backup_dir>/latest.weights.h5``, written atomically (temporary file
+ rename): the model weights and the optimizer state in the Keras 3 weights layout, plus a
``_backup_state`` group with the position in training (epoch and batch) and the random
generators' states (Python, NumPy, torch, CUDA and the layers' `SeedGenerator`s). Because
weights, optimizer and position are committed together, a process killed at any moment -
even while saving - leaves a consistent backup, and the resumed run replays the same
shuffles and dropout masks: it ends with the same weights as an uninterrupted run. A
``training_metadata.json`` beside it mirrors the position in Keras's format for tools.

>>> import os, tempfile, numpy as np, lamina
>>> from lamina import layers
>>> model = lamina.Sequential([lamina.Input((2,)), layers.Dense(1)])
>>> model.compile(optimizer="sgd", loss="mse")
>>> folder = os.path.join(tempfile.mkdtemp(), "backup")
>>> class Crash(lamina.callbacks.Callback):
...     def on_epoch_begin(self, epoch, logs=None):
...         if epoch == 2:
...             raise RuntimeError("interrupted")
>>> x, y = np.ones((4, 2)), np.zeros((4, 1))
>>> try:
...     model.fit(x, y, epochs=4, verbose=0, callbacks=[BackupAndRestore(folder), Crash()])
... except RuntimeError:
...     pass
>>> model.fit(x, y, epochs=4, verbose=0, callbacks=[BackupAndRestore(folder)]).epoch  # epochs 0, 1 were done
[2, 3]
>>> os.path.exists(folder)  # deleted once training completes
False
"""

import json
import os
import random
import shutil
import warnings

import h5py
import numpy as np
import torch

from lamina.backend.random import SeedGenerator
from lamina.callbacks.callback import Callback
from lamina.distribute.data_parallel import is_chief
from lamina.saving import weights_h5
from lamina.saving.atomic import atomic_path

_STATE = "_backup_state"


class BackupAndRestore(Callback):
    """Callback to back up and restore the training state.

    Args:
        backup_dir: directory of the backup; it must not be shared with another callback or run.
        save_freq: ``"epoch"`` (back up at the end of each epoch), an int ``n`` (back up every ``n``
            training batches; training then resumes at the next batch), or ``False`` (never save).
        double_checkpoint: keep the previous backup as ``latest.weights.h5.bkp``, used when the
            latest one cannot be read.
        delete_checkpoint: delete ``backup_dir`` when training completes.
    """

    def __init__(self, backup_dir, save_freq="epoch", double_checkpoint=False, delete_checkpoint=True):
        super().__init__()
        if not backup_dir:
            raise ValueError(f"Empty `backup_dir` argument passed. Received: backup_dir={backup_dir!r}")
        if save_freq not in ("epoch", False) and (not isinstance(save_freq, int) or isinstance(save_freq, bool)
                                                   or save_freq < 1):
            raise ValueError(f"Invalid value for argument `save_freq`. Received: save_freq={save_freq!r}. "
                             "Expected either 'epoch' or a positive integer value.")
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = save_freq
        self.double_checkpoint = double_checkpoint
        self.delete_checkpoint = delete_checkpoint
        self._weights_path = os.path.join(self.backup_dir, "latest.weights.h5")
        self._prev_weights_path = self._weights_path + ".bkp"
        self._training_metadata_path = os.path.join(self.backup_dir, "training_metadata.json")
        self._current_epoch = 0
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = -1
        self._epoch_rng = None
        self._pending_rng = None
        if isinstance(save_freq, int) and save_freq is not False:
            # Batch hooks only when backing up by batch: epoch backups cost nothing per batch.
            self.on_train_batch_begin = self._on_train_batch_begin
            self.on_train_batch_end = self._on_train_batch_end

    # ---- restoring -------------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        model = self.model
        if not model.built:
            raise ValueError("To use the BackupAndRestore callback, your model must be built before you call "
                             f"`fit()`. Model {model.name} is unbuilt. You can build it beforehand by calling it "
                             "on a batch of data.")
        self._last_batch_seen = -1
        self._batches_seen_since_last_saving = 0
        self._pending_rng = None
        path = self._readable_backup()
        if path is None:
            return
        optimizer = getattr(model, "optimizer", None)
        if optimizer is not None and not optimizer.built:
            optimizer.build(model.trainable_variables)  # so that its saved state has somewhere to go
        model.load_weights(path)
        with h5py.File(path, "r") as f:
            state = f[_STATE]
            epoch, batch = int(state.attrs["epoch"]), int(state.attrs["batch"])
            rng_now = _read_rng(state["rng"])
            rng_epoch = _read_rng(state["epoch_rng"]) if batch and "epoch_rng" in state else None
        self._current_epoch = epoch
        model._initial_epoch = epoch
        if batch:
            # Replay the epoch's data order from its start; the generators' state at the backup is
            # restored right before the first batch that still has to run.
            model._initial_step = batch
            _set_rng(rng_epoch, model)
            self._pending_rng = (batch, rng_now)
        else:
            _set_rng(rng_now, model)

    def _readable_backup(self):
        for path in (self._weights_path, self._prev_weights_path):
            if not os.path.exists(path):
                continue
            try:
                with h5py.File(path, "r") as f:
                    if _STATE in f:
                        return path
            except OSError as error:
                warnings.warn(f"BackupAndRestore could not read the backup '{path}': {error}", stacklevel=3)
        return None

    def _on_train_batch_begin(self, batch, logs=None):
        if self._pending_rng is not None and batch == self._pending_rng[0]:
            _set_rng(self._pending_rng[1], self.model)
            self._pending_rng = None

    # ---- saving ------------------------------------------------------------------------------
    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch
        if self.save_freq not in ("epoch", False):
            self._epoch_rng = _get_rng(self.model)

    def on_epoch_end(self, epoch, logs=None):
        self._current_epoch = epoch + 1
        self._last_batch_seen = -1
        if self.save_freq == "epoch":
            self._save(epoch + 1, 0)

    def _on_train_batch_end(self, batch, logs=None):
        self._batches_seen_since_last_saving += batch - self._last_batch_seen
        self._last_batch_seen = batch
        if self._batches_seen_since_last_saving >= self.save_freq:
            self._batches_seen_since_last_saving = 0
            steps = self.params.get("steps")
            if steps is not None and batch + 1 >= steps:
                self._save(self._current_epoch + 1, 0)  # the epoch's last batch: resume at the next epoch
            else:
                self._save(self._current_epoch, batch + 1)

    def _save(self, epoch, batch):
        if not is_chief():  # under `lamina.distribute` only process 0 writes (every process restores)
            return
        os.makedirs(self.backup_dir, exist_ok=True)
        if self.double_checkpoint and os.path.exists(self._weights_path):
            shutil.copyfile(self._weights_path, self._prev_weights_path)
        with atomic_path(self._weights_path) as tmp:
            with h5py.File(tmp, "w") as f:
                weights_h5.save_weights_to_file(self.model, f)
                state = f.create_group(_STATE)
                state.attrs["epoch"], state.attrs["batch"] = epoch, batch
                _write_rng(state.create_group("rng"), _get_rng(self.model))
                if batch and self._epoch_rng is not None:
                    _write_rng(state.create_group("epoch_rng"), self._epoch_rng)
        with atomic_path(self._training_metadata_path) as tmp:
            with open(tmp, "w") as f:
                json.dump({"epoch": epoch, "batch": batch}, f)

    def on_train_end(self, logs=None):
        if self.delete_checkpoint and is_chief() and os.path.exists(self.backup_dir):
            shutil.rmtree(self.backup_dir)


# ---- random generator states ------------------------------------------------------------------
def _seed_generators(model):
    """Every `SeedGenerator` held by a layer, in a stable order (module order, then attribute name)."""
    found, seen = [], set()
    for module in model.modules():
        for name in sorted(vars(module)):
            value = vars(module)[name]
            if isinstance(value, SeedGenerator) and id(value) not in seen:
                seen.add(id(value))
                found.append(value)
    return found


def _get_rng(model):
    py_state = random.getstate()
    np_state = np.random.get_state()
    state = {
        "python": json.dumps([py_state[0], list(py_state[1]), py_state[2]]),
        "numpy": (np_state[0], np.asarray(np_state[1]), int(np_state[2]), int(np_state[3]), float(np_state[4])),
        "torch": torch.get_rng_state().numpy(),
        "cuda": [s.numpy() for s in torch.cuda.get_rng_state_all()] if torch.cuda.is_initialized() else [],
        "generators": [{key: gen.get_state().cpu().numpy() for key, gen in sg._generators.items()}
                       for sg in _seed_generators(model)],
    }
    return state


def _set_rng(state, model):
    version, internal, gauss = json.loads(state["python"])
    random.setstate((version, tuple(internal), gauss))
    np.random.set_state(state["numpy"])
    torch.set_rng_state(torch.from_numpy(np.ascontiguousarray(state["torch"])))
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([torch.from_numpy(np.ascontiguousarray(s)) for s in state["cuda"]])
    for sg, saved in zip(_seed_generators(model), state["generators"]):
        for key, value in saved.items():
            sg.generator(key).set_state(torch.from_numpy(np.ascontiguousarray(value)))


def _write_rng(group, state):
    group.attrs["python"] = state["python"]
    kind, keys, pos, has_gauss, cached = state["numpy"]
    group.create_dataset("numpy_keys", data=keys)
    group.attrs["numpy"] = json.dumps([kind, pos, has_gauss, cached])
    group.create_dataset("torch", data=state["torch"])
    for i, value in enumerate(state["cuda"]):
        group.create_dataset(f"cuda/{i}", data=value)
    for i, saved in enumerate(state["generators"]):
        sub = group.create_group(f"generators/{i}")
        for key, value in saved.items():
            sub.create_dataset(key.replace("/", "_"), data=value).attrs["device"] = key


def _read_rng(group):
    kind, pos, has_gauss, cached = json.loads(group.attrs["numpy"])
    cuda = group.get("cuda")
    generators = group.get("generators")
    return {
        "python": group.attrs["python"],
        "numpy": (kind, np.asarray(group["numpy_keys"][()], dtype=np.uint32), pos, has_gauss, cached),
        "torch": np.asarray(group["torch"][()], dtype=np.uint8),
        "cuda": [np.asarray(cuda[str(i)][()], dtype=np.uint8) for i in range(len(cuda))] if cuda else [],
        "generators": [{generators[str(i)][name].attrs["device"]: np.asarray(generators[str(i)][name][()],
                                                                               dtype=np.uint8)
                        for name in generators[str(i)]} for i in range(len(generators))] if generators else [],
    }
