"""`functional.relu_after_max_pool`: conv(relu) -> max pool runs as conv -> max pool -> relu, unseen by callers."""

import pytest
import torch

import lamina
from lamina import layers
from lamina.engine.call_context import CONTEXT
from lamina.engine.functional import _ThenRelu, _WithoutRelu


def _kinds(model):
    return [type(entry[0]).__name__ for entry in model._plan]


def _cnn(padding="valid", data_format="channels_last"):
    shape = (9, 9, 2) if data_format == "channels_last" else (2, 9, 9)
    inputs = lamina.Input(shape)
    x = layers.Conv2D(4, 3, activation="relu", data_format=data_format)(inputs)
    x = layers.MaxPooling2D(2, padding=padding, data_format=data_format)(x)
    x = layers.Conv1D(3, 2, activation="relu")(layers.Reshape((-1, 4))(x))
    x = layers.MaxPooling1D(2)(x)
    return lamina.Model(inputs, layers.Dense(2)(layers.Flatten()(x)))


def _layer_by_layer(model, x, training):
    for layer in model.layers[1:]:
        x = layer(x, training=training)
    return x


@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_values_and_gradients_are_those_of_the_layers_in_order(padding, data_format):
    lamina.utils.set_random_seed(0)
    model = _cnn(padding, data_format)
    assert _kinds(model)[:2] == ["_WithoutRelu", "_ThenRelu"]
    assert _kinds(model)[3:5] == ["_WithoutRelu", "_ThenRelu"]
    x = torch.randn(3, *model.input_shape[1:])
    x.view(-1)[:5] = 0.0  # ties at zero
    assert torch.equal(model(x), _layer_by_layer(model, x, False))
    weights = [w.value for w in model.trainable_weights]
    grads = torch.autograd.grad(model(x, training=True).square().sum(), weights)
    expected = torch.autograd.grad(_layer_by_layer(model, x, True).square().sum(), weights)
    for got, want in zip(grads, expected):
        assert torch.equal(got, want)


def test_a_conv_output_that_is_seen_elsewhere_keeps_its_relu():
    inputs = lamina.Input((8, 8, 1))
    conv = layers.Conv2D(2, 3, activation="relu")(inputs)
    pooled = layers.MaxPooling2D()(conv)
    as_output = lamina.Model(inputs, [conv, pooled])
    assert "_WithoutRelu" not in _kinds(as_output)
    conv_b = layers.Conv2D(2, 3, activation="relu")(inputs)
    two_consumers = lamina.Model(inputs, layers.Add()([layers.MaxPooling2D(1)(conv_b), layers.Activation("linear")(
        conv_b)]))
    assert "_WithoutRelu" not in _kinds(two_consumers)
    x = torch.randn(2, 8, 8, 1)
    out_conv, _ = as_output(x)
    assert float(out_conv.min()) >= 0.0


@pytest.mark.parametrize("conv_kwargs, pool", [
    ({"activation": "tanh"}, layers.MaxPooling2D()),
    ({"activation": "relu", "activity_regularizer": "l2"}, layers.MaxPooling2D()),
    ({"activation": "relu"}, layers.AveragePooling2D()),
])
def test_other_pairs_are_left_alone(conv_kwargs, pool):
    inputs = lamina.Input((8, 8, 1))
    model = lamina.Model(inputs, pool(layers.Conv2D(2, 3, **conv_kwargs)(inputs)))
    assert not any(isinstance(entry[0], (_WithoutRelu, _ThenRelu)) for entry in model._plan)


def test_sequential_models_are_rewritten_and_the_flag_never_outlives_a_call():
    model = lamina.Sequential([lamina.Input((6, 6, 1)), layers.Conv2D(2, 3, activation="relu"), layers.MaxPooling2D()])
    model(torch.randn(1, 6, 6, 1))
    assert "_WithoutRelu" in _kinds(model._functional)
    with pytest.raises(ValueError):
        model(torch.randn(1, 6, 6, 3))  # a channel count the conv does not take
    assert CONTEXT.deferred_relu is None


@pytest.mark.parametrize("relu_layer", [lambda: layers.Activation("relu"), lambda: layers.ReLU()])
def test_a_relu_layer_before_a_max_pool_moves_after_it(relu_layer):
    lamina.utils.set_random_seed(0)
    inputs = lamina.Input((7, 7, 2))
    x = layers.Conv2D(3, 2)(inputs)
    x = layers.MaxPooling2D()(relu_layer()(x))
    model = lamina.Model(inputs, layers.Dense(1)(layers.Flatten()(x)))
    assert _kinds(model)[:3] == ["Conv2D", "_Skipped", "_ThenRelu"]
    x = torch.randn(2, 7, 7, 2)
    assert torch.equal(model(x), _layer_by_layer(model, x, False))
    weights = [w.value for w in model.trainable_weights]
    grads = torch.autograd.grad(model(x, training=True).sum(), weights)
    for got, want in zip(grads, torch.autograd.grad(_layer_by_layer(model, x, True).sum(), weights)):
        assert torch.equal(got, want)


def test_a_relu_layer_with_options_stays():
    inputs = lamina.Input((6, 6, 1))
    model = lamina.Model(inputs, layers.MaxPooling2D()(layers.ReLU(max_value=1.0)(inputs)))
    assert _kinds(model) == ["ReLU", "MaxPooling2D"]
