"""Gradients of the random image layers in training mode, against finite differences.

The layer harness skips these layers' finite-difference check because two calls draw different
transforms. Here each evaluation restarts the layer's `SeedGenerator`, so every call draws the
same transform and `torch.autograd.gradcheck` can compare the input gradient (the transform is
linear in the pixel values for a fixed draw) with central differences, in float64.
"""

import pytest
import torch

from lamina import layers

CASES = [
    (layers.RandomFlip, {"mode": "horizontal_and_vertical"}),
    (layers.RandomRotation, {"factor": 0.2}),
    (layers.RandomRotation, {"factor": 0.2, "fill_mode": "constant", "interpolation": "nearest"}),
    (layers.RandomZoom, {"height_factor": 0.3, "width_factor": 0.2}),
    (layers.RandomTranslation, {"height_factor": 0.2, "width_factor": 0.3, "fill_mode": "wrap"}),
    (layers.RandomContrast, {"factor": 0.5, "value_range": (0, 1)}),
    (layers.RandomCrop, {"height": 4, "width": 3}),
]


def _seeded_call(layer):
    def call(x):
        layer.seed_generator._generators.clear()  # the same draw on every call
        return layer(x, training=True)

    return call


@pytest.mark.parametrize("layer_cls, kwargs", CASES, ids=lambda v: getattr(v, "__name__", None) or str(v))
def test_training_mode_gradient_matches_finite_differences(layer_cls, kwargs):
    layer = layer_cls(seed=3, dtype="float64", **kwargs)
    # Inside (0, 1) so RandomContrast's clip to value_range is inactive.
    x = torch.rand(2, 6, 5, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0)) * 0.2 + 0.4
    x.requires_grad_(True)
    call = _seeded_call(layer)
    first, second = call(x), call(x)
    torch.testing.assert_close(first, second, rtol=0, atol=0)
    assert first.dtype == torch.float64
    if first.shape == x.shape:  # the layer did transform the batch: the check is not of an identity
        assert not torch.allclose(first, x)
    assert torch.autograd.gradcheck(call, (x,), eps=1e-6, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("layer_cls, kwargs", CASES, ids=lambda v: getattr(v, "__name__", None) or str(v))
def test_inference_gradient_passes_through(layer_cls, kwargs):
    layer = layer_cls(seed=3, dtype="float64", **kwargs)
    x = torch.rand(1, 6, 5, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: layer(t, training=False), (x,), eps=1e-6, atol=1e-6, rtol=1e-5)
