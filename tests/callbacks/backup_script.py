"""A seeded training run used by the BackupAndRestore tests, in-process and as a script.

``python backup_script.py BACKUP_DIR OUT.npy SAVE_FREQ [KILL_AT_STEP]`` trains, optionally
SIGKILLs itself after global training step KILL_AT_STEP, and writes the final weights to OUT.npy.
"""

import os
import signal
import sys

import numpy as np

EPOCHS, SAMPLES, BATCH = 4, 40, 8  # 5 steps per epoch


def build():
    import lamina
    from lamina import layers

    lamina.utils.set_random_seed(1234)
    model = lamina.Sequential([lamina.Input((3,)), layers.Dense(8, activation="relu"), layers.Dropout(0.3),
                               layers.Dense(1)])
    model.compile(optimizer=lamina.optimizers.Adam(learning_rate=0.01), loss="mse")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(SAMPLES, 3)).astype("float32")
    y = (x @ np.array([[1.0], [-2.0], [0.5]], dtype="float32")).astype("float32")
    return model, x, y


def flat_weights(model):
    return np.concatenate([w.ravel() for w in model.get_weights()])


def train(backup_dir=None, save_freq="epoch", extra_callbacks=(), model_and_data=None):
    import lamina

    model, x, y = model_and_data or build()
    callbacks = list(extra_callbacks)
    if backup_dir is not None:
        callbacks.insert(0, lamina.callbacks.BackupAndRestore(backup_dir, save_freq=save_freq))
    history = model.fit(x, y, batch_size=BATCH, epochs=EPOCHS, shuffle=True, verbose=0, callbacks=callbacks)
    return model, history


def main(argv):
    import lamina

    backup_dir, out, save_freq = argv[0], argv[1], argv[2]
    save_freq = save_freq if save_freq == "epoch" else int(save_freq)
    extra = []
    if len(argv) > 3:
        kill_at = int(argv[3])
        steps = []

        def maybe_die(batch, logs):
            steps.append(batch)
            if len(steps) == kill_at:
                os.kill(os.getpid(), signal.SIGKILL)

        extra.append(lamina.callbacks.LambdaCallback(on_train_batch_end=maybe_die))
    model, history = train(backup_dir, save_freq, extra)
    print("epochs run:", history.epoch)
    np.save(out, flat_weights(model))


if __name__ == "__main__":
    main(sys.argv[1:])
