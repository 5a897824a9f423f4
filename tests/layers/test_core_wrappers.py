"""Lambda (saving by name and as Keras bytecode, safe mode) and TorchModuleWrapper."""

import base64
import json
import marshal
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from lamina.saving import registry
from tests.layers.harness import run_layer_test

SAMPLES = Path("/work/shared/specs/samples/keras-3.15.1")


def double(x):
    return x * 2.0


@registry.register_keras_serializable(package="layer_tests")
def add_one(x):
    return x + 1.0


# ---- Lambda -----------------------------------------------------------------------------------------------

def test_lambda_harness_named_function():
    run_layer_test(layers.Lambda, {"function": add_one}, input_shape=(2, 3), expected_output_shape=(2, 3),
                   expected_num_trainable_weights=0)


def test_lambda_values_arguments_and_output_shape():
    x = np.arange(6, dtype="float32").reshape(2, 3)
    out = layers.Lambda(lambda t, k: t * k, arguments={"k": 3.0})(x)
    np.testing.assert_array_equal(out.numpy(), x * 3)
    layer = layers.Lambda(lambda t: torch.cat([t, t], dim=-1), output_shape=(6,))
    assert layer.compute_output_shape((None, 3)) == (None, 6)
    symbolic = layer(lamina.Input(shape=(3,)))
    assert symbolic.shape == (None, 6)
    # inferred on meta tensors, dtype included
    inferred = layers.Lambda(lambda t: torch.argmax(t, dim=-1))(lamina.Input(shape=(4,)))
    assert inferred.shape == (None,) and inferred.dtype == "int64"


def test_lambda_mask_argument():
    layer = layers.Lambda(lambda t: t, mask=lambda inputs, mask: inputs[..., 0] > 0)
    out = layer(torch.tensor([[[1.0], [-1.0]]]))
    assert out._keras_mask.tolist() == [[True, False]]
    assert layer.supports_masking


def test_lambda_python_lambda_is_saved_as_keras_bytecode():
    layer = layers.Lambda(lambda t: t * 2.0, name="double")
    config = layer.get_config()
    function = config["function"]
    assert function["class_name"] == "__lambda__"
    assert set(function["config"]) == {"code", "defaults", "closure"}
    code = function["config"]["code"]
    assert all(len(line) <= 76 for line in code.splitlines()) and code.endswith("\n")
    assert marshal.loads(base64.decodebytes(code.encode())).co_name == "<lambda>"
    assert list(config) == ["name", "trainable", "dtype", "function", "arguments"]
    json.dumps(config)


def test_lambda_bytecode_refused_in_safe_mode():
    config = layers.Lambda(lambda t: t * 2.0).get_config()
    with pytest.raises(ValueError, match=r"Requested the deserialization of a `Lambda` layer whose `function` is a "
                                         r"Python lambda.*passing `safe_mode=False`"):
        layers.Lambda.from_config(config)
    with registry.safe_mode_scope(False):
        restored = layers.Lambda.from_config(config)
    np.testing.assert_array_equal(restored(np.ones((1, 2), "float32")).numpy(), [[2.0, 2.0]])
    restored = layers.Lambda.from_config(config, safe_mode=False)
    np.testing.assert_array_equal(restored(np.ones((1, 2), "float32")).numpy(), [[2.0, 2.0]])


def test_lambda_closure_and_defaults_round_trip():
    factor = 5.0
    layer = layers.Lambda(lambda t, offset=1.0: t * factor + offset)
    restored = layers.Lambda.from_config(json.loads(json.dumps(layer.get_config())), safe_mode=False)
    np.testing.assert_array_equal(restored(np.ones((1, 1), "float32")).numpy(), [[6.0]])


def test_lambda_named_function_saved_by_name():
    config = layers.Lambda(double, name="dbl").get_config()
    assert config["function"] == {"module": "builtins", "class_name": "function", "config": "double",
                                  "registered_name": "function"}
    with pytest.raises(ValueError, match="Unknown function 'double'.*custom_objects"):
        layers.Lambda.from_config(config)
    restored = layers.Lambda.from_config(config, custom_objects={"double": double})
    assert restored.function is double
    with registry.custom_object_scope({"double": double}):
        assert layers.Lambda.from_config(config).function is double
    registered = layers.Lambda(add_one).get_config()["function"]
    assert registered["config"] == "layer_tests>add_one"
    assert layers.Lambda.from_config({"function": registered, "arguments": {}}).function is add_one


def test_lambda_keras2_config():
    code = base64.encodebytes(marshal.dumps((lambda t: t + 3.0).__code__)).decode()
    keras2 = {"name": "l", "trainable": True, "dtype": "float32", "function": [code, None, None],
              "function_type": "lambda", "module": "__main__", "output_shape": None, "output_shape_type": "raw",
              "output_shape_module": None, "arguments": {}}
    with pytest.raises(ValueError, match="safe_mode=False"):
        layers.Lambda.from_config(keras2)
    layer = layers.Lambda.from_config(keras2, safe_mode=False)
    np.testing.assert_array_equal(layer(np.zeros((1, 1), "float32")).numpy(), [[3.0]])
    by_name = {**keras2, "function": "double", "function_type": "function"}
    assert layers.Lambda.from_config(by_name, custom_objects={"double": double}).function is double


@pytest.mark.skipif(not (SAMPLES / "k3_lambda.keras").exists(), reason="Keras samples not available")
def test_lambda_reads_the_keras_3_sample():
    config = json.loads(zipfile.ZipFile(SAMPLES / "k3_lambda.keras").read("config.json"))
    entry = next(layer for layer in config["config"]["layers"] if layer["class_name"] == "Lambda")
    with pytest.raises(ValueError, match="safe_mode=False"):
        layers.Lambda.from_config(entry["config"])
    layer = layers.Lambda.from_config(entry["config"], safe_mode=False)
    np.testing.assert_array_equal(layer(np.ones((1, 4), "float32")).numpy(), np.full((1, 4), 2.0))


def test_lambda_errors():
    with pytest.raises(TypeError, match="Lambda expects a callable `function`. Received: function=3"):
        layers.Lambda(3)
    with pytest.raises(TypeError, match=r"Unrecognized keyword arguments passed to Lambda: \{'fn': 1\}"):
        layers.Lambda(double, fn=1)


# ---- TorchModuleWrapper ------------------------------------------------------------------------------------

@registry.register_keras_serializable(package="layer_tests")
class Affine(torch.nn.Module):
    """A torch module that can be rebuilt from its config."""

    def __init__(self, features, units):
        super().__init__()
        self.features, self.units = features, units
        self.linear = torch.nn.Linear(features, units)
        self.register_buffer("offset", torch.zeros(units))

    def forward(self, x):
        return torch.tanh(self.linear(x)) + self.offset

    def get_config(self):
        return {"features": self.features, "units": self.units}


def test_torch_module_wrapper_harness():
    run_layer_test(layers.TorchModuleWrapper, {"module": Affine(3, 4)}, input_shape=(2, 3),
                   expected_output_shape=(2, 4), expected_weight_names=["linear.weight", "linear.bias"],
                   expected_weight_shapes=[(4, 3), (4,)], expected_num_non_trainable_weights=0,
                   float64_init_kwargs={"module": Affine(3, 4).double()})  # the module's own dtype decides


def test_torch_module_wrapper_shares_parameters():
    module = torch.nn.Linear(3, 2)
    layer = layers.TorchModuleWrapper(module, name="wrapped")
    assert layer.built and [w.path for w in layer.weights] == ["wrapped/weight", "wrapped/bias"]
    assert layer.weights[0].value is module.weight
    layer.set_weights([np.ones((2, 3)), np.zeros(2)])
    np.testing.assert_array_equal(module.weight.detach().numpy(), np.ones((2, 3)))
    x = torch.randn(4, 3)
    np.testing.assert_allclose(layer(x).detach().numpy(), x.sum(-1, keepdim=True).expand(4, 2).numpy(),
                               rtol=1e-5, atol=1e-6)  # float32: addmm and sum round differently
    layer.trainable = False
    assert not module.weight.requires_grad and layer.non_trainable_weights and not layer.trainable_weights
    assert len(list(layer.parameters())) == 2 and list(layer.state_dict()) == ["module.weight", "module.bias"]


def test_torch_module_wrapper_lazy_module_and_training_flag():
    layer = layers.TorchModuleWrapper(torch.nn.Sequential(torch.nn.LazyLinear(3), torch.nn.Dropout(0.5)))
    assert not layer.built
    out = layer(torch.ones(2, 5), training=False)
    assert out.shape == (2, 3) and [w.shape for w in layer.weights] == [(3, 5), (3,)]
    assert not layer.module.training
    layer(torch.ones(2, 5), training=True)
    assert layer.module.training


def test_torch_module_wrapper_symbolic_and_config_errors():
    layer = layers.TorchModuleWrapper(torch.nn.Linear(3, 2), name="lin")
    assert layer(lamina.Input(shape=(3,))).shape == (None, 2)
    with pytest.raises(NotImplementedError, match="TorchModuleWrapper 'lin' cannot be serialized.*Linear.*"
                                                  "register_keras_serializable"):
        layer.get_config()
    with pytest.raises(TypeError, match="expects a `torch.nn.Module`. Received: module=3"):
        layers.TorchModuleWrapper(3)
    with pytest.raises(ValueError, match="never unpickles"):
        layers.TorchModuleWrapper.from_config({"name": "x", "module": "gASVAAAA"})
