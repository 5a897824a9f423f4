import json

import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from lamina.engine.keras_tensor import KerasTensor
from tests.engine.toy_layers import Linear, Noisy, Relu


def _two_layer():
    inputs = lamina.Input((2,))
    hidden = Linear(3, name="hidden")(inputs)
    output = Linear(1, name="output")(hidden)
    return inputs, hidden, output


def test_input_is_a_keras_tensor():
    x = lamina.Input(shape=(2,), name="features")
    assert isinstance(x, KerasTensor)
    assert repr(x) == "<KerasTensor shape=(None, 2), dtype=float32, name=features>"
    assert lamina.Input(batch_shape=(8, 3), dtype="int32").shape == (8, 3)
    with pytest.raises(ValueError, match="You must pass a `shape`"):
        lamina.Input()


def test_symbolic_calls_infer_shapes_and_record_nodes():
    inputs, hidden, output = _two_layer()
    assert hidden.shape == (None, 3) and output.shape == (None, 1)
    layer = output._keras_history[0]
    assert layer.name == "output" and layer.output is output and layer.input is hidden
    assert layer.output_shape == (None, 1) and layer.get_input_shape_at(0) == (None, 3)


def test_model_runs_and_shares_variables_between_models():
    inputs, _, output = _two_layer()
    model_1 = lamina.Model(inputs, output)
    model_2 = lamina.Model(inputs, output)
    assert all(w1 is w2 for w1, w2 in zip(model_1.weights, model_2.weights))
    model_1.weights[0].assign_add(np.ones((2, 3)))
    assert np.array_equal(model_2.weights[0].numpy(), model_1.weights[0].numpy())
    x = torch.tensor([[0.5, 0.7], [0.3, 0.2]])
    hidden, out = model_1.get_layer("hidden"), model_1.get_layer("output")
    expected = (x @ hidden.kernel.value + hidden.bias.value) @ out.kernel.value + out.bias.value
    torch.testing.assert_close(model_1(x), expected)
    assert [layer.name for layer in model_1.layers][1:] == ["hidden", "output"]
    assert model_1.get_layer(index=1) is hidden


def test_trainable_false_empties_trainable_variables():
    inputs, _, output = _two_layer()
    model = lamina.Model(inputs, output)
    assert len(model.trainable_variables) == 4
    model.trainable = False
    assert model.trainable_variables == [] and len(model.non_trainable_variables) == 4
    model.trainable = True
    model.get_layer("hidden").trainable = False
    assert [w.path for w in model.trainable_weights] == ["output/kernel", "output/bias"]


def test_training_flag_and_explicit_training_in_graph():
    x = lamina.Input((1,))
    model = lamina.Model(x, Noisy()(x))
    assert float(model(torch.zeros(1, 1))) == 0.0
    assert float(model(torch.zeros(1, 1), training=True)) == 1.0
    forced = lamina.Model(x, Noisy()(x, training=True))
    assert float(forced(torch.zeros(1, 1))) == 1.0


def test_multi_input_multi_output_with_ops_and_shared_layer():
    a, b = lamina.Input((4,), name="a"), lamina.Input((4,), name="b")
    shared = Linear(5, name="shared")
    sa, sb = shared(a), shared(b)
    head = Linear(1, name="head")(sa - sb * 2.0)
    model = lamina.Model([a, b], [head, sa[:, :2]])
    assert len(shared._inbound_nodes) == 2 and shared.get_output_at(1) is sb
    xa, xb = torch.randn(3, 4), torch.randn(3, 4)
    y_head, y_slice = model([xa, xb])
    ka, kb = shared(xa), shared(xb)
    torch.testing.assert_close(y_slice, ka[:, :2])
    torch.testing.assert_close(y_head, model.get_layer("head")(ka - kb * 2.0))
    assert model.input_names == ["a", "b"] and model.output_shape == [(None, 1), (None, 2)]


def test_dict_inputs_and_outputs():
    a, b = lamina.Input((2,), name="a"), lamina.Input((2,), name="b")
    model = lamina.Model({"a": a, "b": b}, {"sum": a + b, "prod": a * b})
    out = model({"b": torch.ones(1, 2), "a": torch.full((1, 2), 3.0)})
    assert float(out["sum"][0, 0]) == 4.0 and float(out["prod"][0, 0]) == 3.0


def test_nested_model_as_layer_and_reuse_on_new_inputs():
    inner_in = lamina.Input((4,))
    encoder = lamina.Model(inner_in, Linear(6, name="sub")(inner_in), name="encoder")
    outer_in = lamina.Input((4,))
    outer = lamina.Model(outer_in, Linear(2, name="n_out")(Relu()(encoder(outer_in))), name="outer")
    x = torch.randn(5, 4)
    expected = outer.get_layer("n_out")(torch.relu(encoder(x)))
    torch.testing.assert_close(outer(x), expected)
    assert len(outer.weights) == 4


def test_graph_errors():
    inputs, _, output = _two_layer()
    other = lamina.Input((2,))
    with pytest.raises(ValueError, match="Graph disconnected: cannot obtain value for tensor"):
        lamina.Model(other, output)
    with pytest.raises(TypeError, match="must be KerasTensors"):
        lamina.Model(np.ones((1, 2)), output)
    model = lamina.Model(inputs, output)
    with pytest.raises(ValueError, match=r'Input 0 of layer "model\S*" is incompatible with the layer: '
                                         r"expected shape=\(None, 2\), found shape=\(3, 5\)"):
        model(torch.ones(3, 5))
    with pytest.raises(ValueError, match=r"expects 1 input\(s\), but it received 2 input tensors"):
        model([torch.ones(3, 2), torch.ones(3, 2)])
    x = lamina.Input((2,))
    with pytest.raises(ValueError, match='The name "dup" is used 2 times in the model'):
        lamina.Model(x, Linear(2, name="dup")(Linear(2, name="dup")(x)))


def test_config_round_trip_keras3_schema():
    a, b = lamina.Input((4,), name="a"), lamina.Input((4,), name="b")
    shared = Linear(5, name="shared")
    model = lamina.Model([a, b], Linear(1, name="head")(shared(a) + shared(b)), name="two_in")
    config = model.get_config()
    assert config["input_layers"] == [["a", 0, 0], ["b", 0, 0]]
    assert config["output_layers"] == ["head", 0, 0]
    shared_entry = next(entry for entry in config["layers"] if entry["name"] == "shared")
    assert [n["args"][0]["config"]["keras_history"] for n in shared_entry["inbound_nodes"]] == [["a", 0, 0],
                                                                                            ["b", 0, 0]]
    clone = lamina.Model.from_config(json.loads(json.dumps(config)))
    assert clone.get_config() == config
    clone.set_weights(model.get_weights())
    xs = [torch.randn(2, 4), torch.randn(2, 4)]
    torch.testing.assert_close(clone(xs), model(xs))


def test_reads_keras2_functional_config():
    config = {
        "name": "model_3",
        "layers": [
            {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 2], "dtype": "float32",
                                                    "sparse": False, "name": "input_2"},
             "name": "input_2", "inbound_nodes": []},
            {"class_name": "engine_tests>Linear", "config": {"name": "hidden", "trainable": True, "dtype": "float32",
                                                             "units": 3},
             "name": "hidden", "inbound_nodes": [[["input_2", 0, 0, {}]]]},
            {"class_name": "engine_tests>Linear", "config": {"name": "output", "trainable": True,
                                                             "dtype": "float32", "units": 1},
             "name": "output", "inbound_nodes": [[["hidden", 0, 0, {}]]]},
        ],
        "input_layers": [["input_2", 0, 0]],
        "output_layers": [["output", 0, 0]],
    }
    model = lamina.models.model_from_json(json.dumps({"class_name": "Model", "config": config}))
    assert [layer.name for layer in model.layers] == ["input_2", "hidden", "output"]
    assert model(torch.ones(3, 2)).shape == (3, 1)


def test_nested_model_node_offsets_in_config():
    inner_in = lamina.Input((4,), name="sub_in")
    encoder = lamina.Model(inner_in, Linear(6, name="sub_dense")(inner_in), name="encoder")
    n_in = lamina.Input((4,), name="n_in")
    z = encoder(n_in)
    model = lamina.Model(n_in, Linear(2, name="n_out")(z), name="nested")
    config = model.get_config()
    out_entry = config["layers"][-1]
    assert out_entry["inbound_nodes"][0]["args"][0]["config"]["keras_history"] == ["encoder", 0, 0]
    assert lamina.Model(n_in, z).get_config()["output_layers"] == ["encoder", 1, 0]
    rebuilt = lamina.Model.from_config(config)
    rebuilt.set_weights(model.get_weights())
    x = torch.randn(2, 4)
    torch.testing.assert_close(rebuilt(x), model(x))


def test_to_json_to_yaml_round_trip_same_predictions():
    inputs, _, output = _two_layer()
    model = lamina.Model(inputs, output)
    x = torch.randn(4, 2)
    for text, loader in ((model.to_json(), lamina.models.model_from_json),
                         (model.to_yaml(), lamina.models.model_from_yaml)):
        rebuilt = loader(text)
        rebuilt.set_weights(model.get_weights())
        torch.testing.assert_close(rebuilt(x), model(x))
    assert json.loads(model.to_json())["class_name"] == "Functional"


def test_clone_model_new_variables_same_config():
    inputs, _, output = _two_layer()
    model = lamina.Model(inputs, output)
    clone = lamina.models.clone_model(model)
    assert clone.get_config() == model.get_config()
    assert not any(a is b for a, b in zip(clone.weights, model.weights))
    new_input = lamina.Input((2,))
    on_tensor = lamina.models.clone_model(model, input_tensors=new_input)
    assert on_tensor.inputs[0] is new_input


def test_string_inputs_flow_to_text_layers():
    vectorize = lamina.layers.TextVectorization(max_tokens=20, output_sequence_length=5)
    vectorize.adapt(["the cat sat", "the dog ran far away", "a cat"])
    inputs = lamina.Input(shape=(1,), dtype="string")
    tokens = vectorize(inputs)
    assert tokens.shape == (None, 5) and tokens.dtype == "int64"
    model = lamina.Model(inputs, lamina.layers.Embedding(20, 4)(tokens))
    texts = np.array([["the cat"], ["dog far"], ["unknown words"]])
    assert model(texts).shape == (3, 5, 4)
    assert model.predict(texts, verbose=0).shape == (3, 5, 4)
    assert model.get_config()["layers"][0]["config"]["dtype"] == "string"


class _TwoInputSubclass(lamina.Model):
    def __init__(self):
        super().__init__(name="two_input_subclass")
        self.merge, self.head = layers.Concatenate(), layers.Dense(2)

    def call(self, inputs):
        if isinstance(inputs, dict):
            inputs = [inputs["a"], inputs["b"]]
        return self.head(self.merge(inputs))


@pytest.mark.parametrize("shape", [[(None, 3), (None, 4)], {"a": (None, 3), "b": (None, 4)}])
def test_subclassed_model_build_creates_weights_for_lists_and_dicts(shape):
    model = _TwoInputSubclass()
    assert not model.weights
    model.build(shape)
    assert model.built and [tuple(w.shape) for w in model.weights] == [(7, 2), (2,)]
    assert model.head.get_build_config() == {"input_shape": (None, 7)}  # not a stand-in batch size
    x = [np.ones((5, 3), "float32"), np.ones((5, 4), "float32")]
    assert tuple(model(x if isinstance(shape, list) else {"a": x[0], "b": x[1]}).shape) == (5, 2)


def test_two_inputs_two_heads_round_trip_through_config():
    left, right = lamina.Input((3,), name="left"), lamina.Input((2,), name="right")
    merged = layers.Dense(4, activation="relu", name="trunk")(layers.Concatenate(name="merge")([left, right]))
    model = lamina.Model([left, right], [layers.Dense(1, name="score")(merged),
                                         layers.Dense(3, activation="softmax", name="label")(merged)])
    clone = lamina.Model.from_config(model.get_config())
    clone.set_weights(model.get_weights())
    assert clone.input_names == ["left", "right"] and clone.output_names == ["score", "label"]
    x = [np.random.rand(6, 3).astype("float32"), np.random.rand(6, 2).astype("float32")]
    for ours, theirs in zip(model.predict(x, verbose=0), clone.predict(x, verbose=0)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6)
    assert [tuple(o.shape) for o in clone.outputs] == [(None, 1), (None, 3)]


def test_building_a_built_subclassed_model_again_keeps_its_weights():
    class Scaled(lamina.Model):
        def __init__(self):
            super().__init__()
            self.scale = self.add_weight(shape=(3,), initializer="ones", name="scale")
            self.dense = layers.Dense(2)

        def call(self, x):
            return self.dense(x * self.scale)

    model = Scaled()
    model(np.ones((2, 3), "float32"))
    before = model.get_weights()
    model.build((None, 3))
    assert len(model.weights) == 3
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_model_training_flag_overrides_one_recorded_in_the_graph():
    # Keras 3: `Dropout(...)(x, training=True)` in a functional graph drops when the model is
    # called without a flag, but predict (training=False) and fit (training=True) decide.
    inputs = lamina.Input((64,))
    outputs = lamina.layers.Dropout(0.5, seed=1)(inputs, training=True)
    model = lamina.Model(inputs, outputs)
    x = np.ones((4, 64), "float32")
    assert (model(x).detach().numpy() == 0).any()
    np.testing.assert_array_equal(model.predict(x, verbose=0), x)
    np.testing.assert_array_equal(model(x, training=False).detach().numpy(), x)
