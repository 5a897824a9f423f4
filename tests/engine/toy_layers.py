"""Small layers used by the engine tests, independent of the layer catalogue."""

import torch

import lamina
from lamina.engine.layer import Layer
from lamina.saving.registry import register_keras_serializable


@register_keras_serializable(package="engine_tests")
class Linear(Layer):
    """x @ kernel + bias, with weights created from the input shape."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        generator = torch.Generator().manual_seed(len(self.name) + self.units)
        self.kernel = lamina.Variable(torch.randn(input_shape[-1], self.units, generator=generator), name="kernel")
        self.bias = lamina.Variable(torch.zeros(self.units), name="bias")

    def call(self, x):
        return x @ self.kernel.value + self.bias.value

    def get_config(self):
        return {**super().get_config(), "units": self.units}


@register_keras_serializable(package="engine_tests")
class Noisy(Layer):
    """Adds 1 when training, identity otherwise: makes the training flag observable."""

    def call(self, x, training=False):
        return x + 1.0 if training else x


class Relu(Layer):
    def call(self, x):
        return torch.relu(x)
