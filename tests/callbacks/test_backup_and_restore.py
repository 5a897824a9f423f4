"""BackupAndRestore: an interrupted fit, resumed, ends with the weights of an uninterrupted run (bit for bit)."""

import json
import os
import signal
import subprocess
import sys

import h5py
import numpy as np
import pytest

import lamina
from lamina.callbacks import BackupAndRestore, Callback
from tests.callbacks import backup_script

STEPS_PER_EPOCH = backup_script.SAMPLES // backup_script.BATCH


@pytest.fixture(scope="module")
def reference():
    model, history = backup_script.train()
    return backup_script.flat_weights(model), history.history["loss"]


class CrashAt(Callback):
    """Raises after the given global training step, or at the start of the given epoch."""

    def __init__(self, step=None, epoch=None):
        super().__init__()
        self.step, self.epoch, self.seen = step, epoch, 0

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            raise RuntimeError("simulated crash")

    def on_train_batch_end(self, batch, logs=None):
        self.seen += 1
        if self.seen == self.step:
            raise RuntimeError("simulated crash")


def _crash_then_resume(tmp_path, save_freq, crash, fresh_model=True):
    backup = str(tmp_path / "backup")
    model_and_data = backup_script.build()
    with pytest.raises(RuntimeError, match="simulated crash"):
        backup_script.train(backup, save_freq, [crash], model_and_data=model_and_data)
    assert os.path.exists(os.path.join(backup, "latest.weights.h5"))
    metadata = json.load(open(os.path.join(backup, "training_metadata.json")))
    # Training continues in another state of the generators, as after a restart.
    np.random.seed(99), lamina.utils.set_random_seed(99)
    model, history = backup_script.train(backup, save_freq,
                                         model_and_data=backup_script.build() if fresh_model else model_and_data)
    assert not os.path.exists(backup)  # delete_checkpoint=True once training completed
    return backup_script.flat_weights(model), history, metadata


def test_epoch_backups_resume_at_the_crashed_epoch(tmp_path, reference):
    weights, history, metadata = _crash_then_resume(tmp_path, "epoch", CrashAt(epoch=2))
    assert metadata == {"epoch": 2, "batch": 0}
    assert history.epoch == [2, 3]
    np.testing.assert_array_equal(weights, reference[0])
    np.testing.assert_array_equal(history.history["loss"], reference[1][2:])


def test_epoch_backup_resume_in_the_same_model_object(tmp_path, reference):
    weights, history, _ = _crash_then_resume(tmp_path, "epoch", CrashAt(step=2 * STEPS_PER_EPOCH + 3),
                                             fresh_model=False)
    assert history.epoch == [2, 3]  # the 3 steps of epoch 2 after the last backup are redone
    np.testing.assert_array_equal(weights, reference[0])


def test_batch_backups_resume_inside_an_epoch(tmp_path, reference):
    # Backups every 3 steps; the crash after step 13 loses step 13 (the last backup is after step 12).
    weights, history, metadata = _crash_then_resume(tmp_path, 3, CrashAt(step=13))
    assert metadata == {"epoch": 2, "batch": 2}  # 12 steps = 2 epochs of 5 + 2 steps of epoch 2
    assert history.epoch == [2, 3]
    np.testing.assert_array_equal(weights, reference[0])
    np.testing.assert_array_equal(history.history["loss"][1:], reference[1][3:])


def test_a_backup_at_the_last_batch_of_an_epoch_resumes_at_the_next_epoch(tmp_path, reference):
    weights, history, metadata = _crash_then_resume(tmp_path, STEPS_PER_EPOCH, CrashAt(step=STEPS_PER_EPOCH + 2))
    assert metadata == {"epoch": 1, "batch": 0}
    assert history.epoch == [1, 2, 3]
    np.testing.assert_array_equal(weights, reference[0])


def test_backup_holds_weights_optimizer_state_and_position(tmp_path):
    backup = str(tmp_path / "b")
    model, x, y = backup_script.build()
    keep = BackupAndRestore(backup, delete_checkpoint=False)
    model.fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=[keep])
    with h5py.File(os.path.join(backup, "latest.weights.h5"), "r") as f:
        assert f["_backup_state"].attrs["epoch"] == 2 and f["_backup_state"].attrs["batch"] == 0
        assert int(f["optimizer/vars/0"][()]) == 2 * STEPS_PER_EPOCH  # Adam's iterations
        np.testing.assert_array_equal(f["layers/dense/vars/0"][()], model.get_weights()[0])
    assert [p for p in os.listdir(backup) if p.endswith(".tmp")] == []  # nothing half-written left behind
    # A completed run's backup makes a new fit start after the last epoch: nothing left to do.
    before, epochs_run = model.get_weights(), []
    count = lamina.callbacks.LambdaCallback(on_epoch_begin=lambda epoch, logs: epochs_run.append(epoch))
    model.fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=[BackupAndRestore(backup), count])
    assert epochs_run == []
    for old, new in zip(before, model.get_weights()):
        np.testing.assert_array_equal(old, new)


def test_sigkill_mid_fit_then_rerun_matches_uninterrupted(tmp_path, reference):
    script = os.path.abspath(backup_script.__file__)
    backup, out = str(tmp_path / "backup"), str(tmp_path / "w.npy")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.getcwd()] + sys.path))
    killed = subprocess.run([sys.executable, script, backup, out, "4", "11"], env=env, timeout=120,
                            capture_output=True)
    assert killed.returncode == -signal.SIGKILL, killed.stderr.decode()[-2000:]
    assert not os.path.exists(out)
    assert json.load(open(os.path.join(backup, "training_metadata.json"))) == {"epoch": 1, "batch": 3}
    rerun = subprocess.run([sys.executable, script, backup, out, "4"], env=env, timeout=120, capture_output=True)
    assert rerun.returncode == 0, rerun.stderr.decode()[-2000:]
    assert "epochs run: [1, 2, 3]" in rerun.stdout.decode()  # resumed inside epoch 1, not from scratch
    np.testing.assert_array_equal(np.load(out), reference[0])


def test_unbuilt_model_and_bad_arguments_raise(tmp_path):
    with pytest.raises(ValueError, match="Empty `backup_dir`"):
        BackupAndRestore("")
    with pytest.raises(ValueError, match="Received: save_freq='batch'"):
        BackupAndRestore(str(tmp_path), save_freq="batch")
    model = lamina.Sequential([lamina.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match="must be built before you call `fit\\(\\)`"):
        model.fit(np.ones((2, 2)), np.ones((2, 1)), verbose=0, callbacks=[BackupAndRestore(str(tmp_path))])
