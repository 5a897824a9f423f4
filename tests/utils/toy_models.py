"""Small models shared by the summary and plot_model tests."""

import numpy as np
import torch

import lamina
from lamina import layers


class Pair(layers.Layer):
    """Concatenates a list of inputs on the last axis (no weights)."""

    def call(self, inputs):
        return torch.cat(list(inputs), dim=-1)


class Counter(layers.Layer):
    """Adds a trainable bias and keeps a non-trainable running count of the same size."""

    def build(self, input_shape):
        self.bias = self.add_weight(shape=(input_shape[-1],), initializer="zeros", name="bias")
        self.count = self.add_weight(shape=(input_shape[-1],), initializer="zeros", name="count", trainable=False)

    def call(self, x):
        return x + self.bias


def seed_model():
    """The Keras 2 walkthrough: Input(2) -> Dense hidden(3, relu) -> Dense output(1, sigmoid)."""
    inputs = lamina.Input((2,), name="input_1")
    hidden = layers.Dense(3, activation="relu", name="hidden")(inputs)
    output = layers.Dense(1, activation="sigmoid", name="output")(hidden)
    return lamina.Model(inputs, output, name="model")


def multi_io_model():
    """Two inputs, a layer shared by both, a merge and two heads."""
    a = lamina.Input((4,), name="a")
    b = lamina.Input((4,), name="b")
    shared = layers.Dense(5, name="shared")
    merged = Pair(name="concat")([shared(a), shared(b)])
    head = layers.Dense(1, name="head")(merged)
    aux = layers.Dense(2, activation="softmax", name="aux")(merged)
    return lamina.Model([a, b], [head, aux], name="two_in_shared")


def nested_model():
    """Input(2) -> inner model (Input(2) -> Dense a(3) -> Dense b(3)) -> Dense top(1)."""
    inner_in = lamina.Input((2,), name="inner_in")
    inner_out = layers.Dense(3, name="b")(layers.Dense(3, name="a")(inner_in))
    inner = lamina.Model(inner_in, inner_out, name="inner")
    x = lamina.Input((2,), name="x")
    return lamina.Model(x, layers.Dense(1, name="top")(inner(x)), name="outer")


class TwoDense(lamina.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.first = layers.Dense(4, name="first")
        self.second = layers.Dense(2, name="second")

    def call(self, x):
        return self.second(self.first(x))


def subclassed_model():
    model = TwoDense(name="two_dense")
    model(np.ones((1, 3), dtype="float32"))
    return model
