import json

import numpy as np
import pytest
import torch

import lamina
from tests.engine.toy_layers import Linear


def test_deferred_build_on_first_call():
    model = lamina.Sequential([Linear(4), Linear(1)])
    assert not model.built and model.weights == []
    out = model(np.ones((2, 3)))
    assert out.shape == (2, 1) and model.built
    assert model.input_shape == (None, 3) and model.output_shape == (None, 1)
    assert len(model.weights) == 4 and len(model.layers) == 2


def test_input_first_builds_immediately_and_add_pop():
    model = lamina.Sequential([lamina.Input((5,)), Linear(3)])
    assert model.built and model.output_shape == (None, 3)
    model.add(Linear(7))
    assert model.output_shape == (None, 7) and len(model.layers) == 2
    popped = model.pop()
    assert popped.units == 7 and model.output_shape == (None, 3)
    with pytest.raises(ValueError, match="Only instances of `lamina.layers.Layer`"):
        model.add("dense")


def test_input_shape_kwarg_on_first_layer():
    model = lamina.Sequential([Linear(2, input_shape=(4,))])
    assert model.built and model.input_shape == (None, 4)


def test_explicit_build_and_get_layer():
    model = lamina.Sequential([Linear(3, name="a"), Linear(2, name="b")])
    model.build((None, 6))
    assert model.get_layer("b").kernel.shape == (3, 2)
    assert model.get_layer(index=0).name == "a"
    with pytest.raises(ValueError, match="unique names"):
        model.add(Linear(1, name="a"))


def test_config_round_trip_and_equal_predictions():
    model = lamina.Sequential([lamina.Input((3,)), Linear(4), Linear(2)], name="seq")
    config = model.get_config()
    assert config["layers"][0]["class_name"] == "InputLayer" and config["build_input_shape"] == [None, 3]
    rebuilt = lamina.Sequential.from_config(json.loads(json.dumps(config)))
    rebuilt.set_weights(model.get_weights())
    x = torch.randn(5, 3)
    torch.testing.assert_close(rebuilt(x), model(x))
    clone = lamina.models.clone_model(model)
    assert clone.get_config() == config and clone.weights[0] is not model.weights[0]


def test_sequential_as_layer_in_functional_model():
    inner = lamina.Sequential([lamina.Input((4,)), Linear(3, name="sd")], name="seqsub")
    x = lamina.Input((4,))
    outer = lamina.Model(x, Linear(2, name="after")(inner(x)))
    assert outer(torch.ones(2, 4)).shape == (2, 2)
    assert lamina.Model(x, inner(x)).get_config()["output_layers"] == ["seqsub", 1, 0]
