"""Functions run in each process of a `lamina.distribute.launch` group (module-level, so spawn can pickle them)."""

import os

import numpy as np

import lamina
from lamina import layers


def build_model(initial_weights=None):
    model = lamina.Sequential([lamina.Input((6,)), layers.Dense(8, activation="tanh"), layers.Dense(2)])
    if initial_weights is not None:
        model.set_weights(initial_weights)
    return model


def data(n=90):
    rng = np.random.default_rng(7)
    x = rng.normal(size=(n, 6)).astype("float32")
    y = (x[:, :2] * 0.5 - x[:, 2:4]).astype("float32")
    return x, y


def train_data_parallel(rank, initial_weights, checkpoint_dir):
    """Trains under `DataParallel` from process 0's weights; returns what the test compares with one process."""
    x, y = data()
    strategy = lamina.distribute.DataParallel()
    if rank != 0:  # fit must replace these by process 0's weights before the first step
        lamina.utils.set_random_seed(100 + rank)
    with strategy.scope():
        model = build_model(initial_weights if rank == 0 else None)
        model.compile(optimizer=lamina.optimizers.SGD(0.1, momentum=0.9), loss="mse", metrics=["mae"])
    checkpoint = lamina.callbacks.ModelCheckpoint(os.path.join(checkpoint_dir, f"written_by_rank{rank}.weights.h5"),
                                                  save_weights_only=True)
    history = model.fit(x, y, batch_size=32, epochs=3, shuffle=False, verbose=0, callbacks=[checkpoint])
    weights = model.get_weights()
    evaluation = model.evaluate(x, y, batch_size=25, verbose=0, return_dict=True)
    predictions = model.predict(x, batch_size=25, verbose=0)
    # Shuffled epochs: every process draws the same permutation, so the replicas stay identical.
    model.fit(x, y, batch_size=16, epochs=2, shuffle=True, verbose=0)
    return {
        "rank": rank,
        "num_processes": strategy.num_processes,
        "is_chief": lamina.distribute.is_chief(),
        "history": history.history,
        "weights": weights,
        "evaluation": evaluation,
        "predictions": predictions,
        "weights_after_shuffled_fit": model.get_weights(),
        "local_batch_sizes": _local_batch_sizes(strategy, x, y),
    }


def _local_batch_sizes(strategy, x, y):
    """The per-process slice sizes `fit` takes of batches of 32 out of 90 samples (32, 32, 26)."""
    from lamina.training.loops import _make_adapter

    adapter = _make_adapter(x, y, None, 32, None, False, distribution=strategy)
    return [int(batch[0].shape[0]) for batch in adapter]
