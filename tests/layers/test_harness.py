"""The layer harness catches what it claims to: a wrong gradient and a config that loses an argument."""

import pytest
import torch

import lamina
from lamina.engine.layer import Layer

from .harness import run_layer_test


class _HalvedGradient(torch.autograd.Function):
    """``x * w`` whose backward returns half of the true gradient for ``w``."""

    @staticmethod
    def forward(ctx, x, w):
        ctx.save_for_backward(x, w)
        return x * w

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        return grad * w, 0.5 * (grad * x).sum(0)


class WrongGradientScale(Layer):
    def build(self, input_shape):
        self.scale = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="scale")

    def call(self, x):
        return _HalvedGradient.apply(x, self.scale.value)


class ForgetfulScale(Layer):
    """Multiplies by ``factor`` but leaves it out of its config."""

    def __init__(self, factor=1.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, x):
        return x * self.factor

    def get_config(self):
        return super().get_config()


class RememberingScale(ForgetfulScale):
    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


def test_harness_catches_a_wrong_weight_gradient():
    with pytest.raises(AssertionError, match="gradient of .*scale along a random direction"):
        run_layer_test(WrongGradientScale, {}, input_shape=(3, 4), run_saving_check=False)


def test_harness_catches_a_config_that_loses_an_argument():
    with pytest.raises(AssertionError, match="output after from_config"):
        run_layer_test(ForgetfulScale, {"factor": 3.0}, input_shape=(3, 4))


def test_harness_passes_a_correct_layer_through_every_check():
    layer, output = run_layer_test(RememberingScale, {"factor": 3.0}, input_shape=(3, 4), expected_output_shape=(3, 4))
    assert isinstance(layer, lamina.layers.Layer) and output.shape == (3, 4)
