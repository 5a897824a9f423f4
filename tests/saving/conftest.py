"""Models shared by the saving tests (the ones of specs/samples/README.md, built in lamina)."""

import os

import numpy as np
import pytest

import lamina
from lamina import layers

SAMPLES = os.path.join(os.path.dirname(__file__), "samples")


def sample(name):
    return os.path.join(SAMPLES, name)


def mlp():
    """Functional ``mlp``: Input x (4,) -> Dense hidden (8, relu) -> Dense out (3, softmax)."""
    inputs = lamina.Input((4,), name="x")
    hidden = layers.Dense(8, activation="relu", name="hidden")(inputs)
    return lamina.Model(inputs, layers.Dense(3, activation="softmax", name="out")(hidden), name="mlp")


def sequential():
    return lamina.Sequential([lamina.Input((4,)), layers.Dense(8, activation="relu", name="hidden"),
                              layers.Dense(3, name="out")], name="seq")


def nested():
    """Functional ``nested``: n_in -> Functional encoder (sub_in -> Dense sub_dense) -> act -> Dense n_out."""
    sub_in = lamina.Input((4,), name="sub_in")
    encoder = lamina.Model(sub_in, layers.Dense(6, name="sub_dense")(sub_in), name="encoder")
    n_in = lamina.Input((4,), name="n_in")
    act = layers.Activation("relu", name="act")(encoder(n_in))
    return lamina.Model(n_in, layers.Dense(2, name="n_out")(act), name="nested")


def randomize(model, seed=0):
    """Distinct random values in every weight, so that a wrong pairing shows up in predictions."""
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(size=w.shape).astype(w.dtype) for w in model.get_weights()])
    return model


def predict(model, x):
    return np.asarray(model.predict(x, verbose=0))


@pytest.fixture
def x4():
    return np.random.default_rng(1).normal(size=(5, 4)).astype("float32")
