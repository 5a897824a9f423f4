"""Tiny models and a callback that scripts the monitored values, for the callback tests."""

import numpy as np

import lamina
from lamina.callbacks import Callback


def tiny_model(lr=0.05, metrics=None, optimizer=None):
    lamina.utils.set_random_seed(0)
    model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(1, name="out")])
    model.compile(optimizer=optimizer or lamina.optimizers.SGD(learning_rate=lr), loss="mse", metrics=metrics)
    return model


def data(n=16, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3)).astype("float32")
    return x, (x @ np.array([[1.0], [-1.0], [2.0]], dtype="float32"))


class Script(Callback):
    """Overwrites ``logs[key]`` at each epoch end with the next scripted value; records the weights."""

    def __init__(self, key, values):
        super().__init__()
        self.key, self.values, self.weights = key, list(values), []

    def on_epoch_end(self, epoch, logs=None):
        logs[self.key] = self.values[epoch]
        self.weights.append(self.model.get_weights())
