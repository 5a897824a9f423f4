"""Generic RNN with custom cells, the cell classes alone, StackedRNNCells, ConvLSTM2D, configs and errors."""

import functools
import json

import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from tests.layers import rnn_reference as ref
from tests.layers.harness import run_layer_test

RNG = np.random.default_rng(1)


def _x(*shape):
    return RNG.standard_normal(shape).astype("float32")


class MinimalCell(layers.Layer):
    """The Keras docs' custom cell: ``h' = x @ kernel + h @ recurrent_kernel``."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.state_size = units

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), name="kernel")
        self.recurrent_kernel = self.add_weight(shape=(self.units, self.units), name="recurrent_kernel")

    def call(self, inputs, states):
        output = inputs @ self.kernel + states[0] @ self.recurrent_kernel
        return output, [output]

    def get_config(self):
        return {**super().get_config(), "units": self.units}


# ---- generic RNN ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("make_cell", [lambda **k: MinimalCell(3, **k), lambda **k: layers.LSTMCell(3, **k),
                                       lambda **k: [layers.GRUCell(4, **k), layers.SimpleRNNCell(3, **k)]],
                         ids=["custom", "lstm_cell", "stacked"])
def test_rnn_harness_with_custom_and_builtin_cells(return_sequences, make_cell):
    # The float64 variant wraps float64 cells: a cell keeps its own dtype, as in Keras.
    mask = np.array([[1, 1, 0, 1], [1, 0, 1, 1]], bool)
    with lamina.saving.custom_object_scope({"MinimalCell": MinimalCell}):
        layer, _ = run_layer_test(layers.RNN, {"cell": make_cell(), "return_sequences": return_sequences},
                                  input_shape=(2, 4, 5),
                                  expected_output_shape=(2, 4, 3) if return_sequences else (2, 3),
                                  supports_masking=True, input_mask=mask,
                                  expected_mask=mask if return_sequences else None,
                                  float64_init_kwargs={"cell": make_cell(dtype="float64"),
                                                       "return_sequences": return_sequences,
                                                       "dtype": "float64"})
    assert layer.last_call_path == "loop"


def test_rnn_custom_cell_against_numpy_with_mask_and_state():
    layer = layers.RNN(MinimalCell(3), return_sequences=True, return_state=True, go_backwards=True)
    x = _x(2, 5, 4)
    mask = np.array([[1, 1, 1, 0, 0], [0, 1, 1, 1, 1]], bool)
    initial = _x(2, 3)
    out, state = layer(torch.as_tensor(x), initial_state=initial, mask=torch.as_tensor(mask))
    kernel, recurrent = (w.astype("float64") for w in layer.get_weights())

    def step(x_t, states):
        h = x_t @ kernel + states[0] @ recurrent
        return h, [h]

    expected, _, (expected_state,) = ref.run(step, x.astype("float64"), [initial.astype("float64")], mask,
                                             go_backwards=True)
    np.testing.assert_allclose(out.detach().numpy(), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(state.detach().numpy(), expected_state, rtol=1e-5, atol=1e-5)
    prefix = f"{layer.name}/{layer.cell.name}"
    assert [w.path for w in layer.weights] == [f"{prefix}/kernel", f"{prefix}/recurrent_kernel"]


def test_stacked_cells_equal_two_layers():
    cells = [layers.LSTMCell(3), layers.GRUCell(2)]
    stacked = layers.RNN(cells, return_sequences=True, return_state=True)
    x = _x(2, 4, 5)
    out, lstm_states, gru_state = stacked(x)
    first, second = layers.LSTM(3, return_sequences=True, return_state=True), layers.GRU(2, return_state=True,
                                                                                         return_sequences=True)
    h, *s1 = first(x)
    first.set_weights(cells[0].get_weights())
    second(h)
    second.set_weights(cells[1].get_weights())
    h, *s1 = first(x)
    expected, s2 = second(h)
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-6)
    # As in Keras, a built-in cell's state inside StackedRNNCells stays a list ([h] for the GRU).
    torch.testing.assert_close(gru_state, [s2], rtol=1e-5, atol=1e-6)
    for got, want in zip(lstm_states, s1, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)
    assert stacked.weights[0].path == f"{stacked.name}/{stacked.cell.name}/{cells[0].name}/kernel"


def test_stacked_cells_config_round_trip():
    stacked = layers.StackedRNNCells([layers.SimpleRNNCell(2), layers.LSTMCell(3, name="top")])
    config = json.loads(json.dumps(stacked.get_config()))
    assert [c["class_name"] for c in config["cells"]] == ["SimpleRNNCell", "LSTMCell"]
    clone = layers.StackedRNNCells.from_config(config)
    assert clone.state_size == [2, [3, 3]] and clone.output_size == 3
    layer = layers.RNN(clone)
    assert layer(_x(2, 3, 4)).shape == (2, 3)


# ---- cells alone ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("cell_cls, kwargs, numpy_step", [
    (layers.SimpleRNNCell, {}, ref.simple_step),
    (layers.LSTMCell, {}, ref.lstm_step),
    (layers.GRUCell, {}, ref.gru_step),
    (layers.GRUCell, {"reset_after": False}, functools.partial(ref.gru_step, reset_after=False)),
])
def test_cell_step_against_numpy(cell_cls, kwargs, numpy_step):
    cell = cell_cls(3, bias_initializer="random_normal", **kwargs)
    x = _x(2, 4)
    states = [_x(2, 3) for _ in range(2 if cell_cls is layers.LSTMCell else 1)]
    out, new_states = cell(torch.as_tensor(x), [torch.as_tensor(s) for s in states])
    kernel, recurrent, bias = (w.astype("float64") for w in cell.get_weights())
    expected, expected_states = numpy_step(x.astype("float64"), [s.astype("float64") for s in states],
                                           kernel=kernel, recurrent=recurrent, bias=bias)
    np.testing.assert_allclose(out.detach().numpy(), expected, rtol=1e-5, atol=1e-5)
    for got, want in zip(new_states, expected_states, strict=True):
        np.testing.assert_allclose(got.detach().numpy(), want, rtol=1e-5, atol=1e-5)


def test_cell_initial_state_and_forget_bias():
    cell = layers.LSTMCell(2)
    assert [tuple(s.shape) for s in cell.get_initial_state(batch_size=4)] == [(4, 2), (4, 2)]
    cell.build((None, 3))
    np.testing.assert_array_equal(cell.bias.numpy(), [0, 0, 1, 1, 0, 0, 0, 0])
    assert layers.LSTMCell(2, unit_forget_bias=False, bias_initializer="ones").state_size == [2, 2]


def test_cell_configs_are_keras_3():
    assert list(layers.LSTMCell(2).get_config()) == [
        "name", "trainable", "dtype", "units", "activation", "recurrent_activation", "use_bias", "unit_forget_bias",
        "kernel_initializer", "recurrent_initializer", "bias_initializer", "kernel_regularizer",
        "recurrent_regularizer", "bias_regularizer", "kernel_constraint", "recurrent_constraint", "bias_constraint",
        "dropout", "recurrent_dropout", "seed"]
    assert list(layers.GRUCell(2).get_config())[-3:] == ["recurrent_dropout", "reset_after", "seed"]
    assert "recurrent_activation" not in layers.SimpleRNNCell(2).get_config()
    for cls in (layers.SimpleRNNCell, layers.LSTMCell, layers.GRUCell):
        config = json.loads(json.dumps(cls(2, dropout=0.25, seed=4).get_config()))
        assert cls.from_config(config).get_config() == config


# ---- layer configs ------------------------------------------------------------------------------------------

RNN_KEYS = ["name", "trainable", "dtype", "return_sequences", "return_state", "go_backwards", "stateful", "unroll",
            "zero_output_for_mask"]


def test_layer_configs_have_exactly_keras_3_keys():
    assert list(layers.LSTM(3).get_config()) == RNN_KEYS + [
        "units", "activation", "recurrent_activation", "use_bias", "kernel_initializer", "recurrent_initializer",
        "bias_initializer", "unit_forget_bias", "kernel_regularizer", "recurrent_regularizer", "bias_regularizer",
        "activity_regularizer", "kernel_constraint", "recurrent_constraint", "bias_constraint", "dropout",
        "recurrent_dropout", "seed"]
    assert list(layers.GRU(3).get_config()) == RNN_KEYS + [
        "units", "activation", "recurrent_activation", "use_bias", "kernel_initializer", "recurrent_initializer",
        "bias_initializer", "kernel_regularizer", "recurrent_regularizer", "bias_regularizer", "activity_regularizer",
        "kernel_constraint", "recurrent_constraint", "bias_constraint", "dropout", "recurrent_dropout",
        "reset_after", "seed"]
    assert list(layers.SimpleRNN(3).get_config()) == RNN_KEYS + [
        "units", "activation", "use_bias", "kernel_initializer", "recurrent_initializer", "bias_initializer",
        "kernel_regularizer", "recurrent_regularizer", "bias_regularizer", "activity_regularizer",
        "kernel_constraint", "recurrent_constraint", "bias_constraint", "dropout", "recurrent_dropout"]
    assert list(layers.RNN(layers.GRUCell(2)).get_config()) == RNN_KEYS + ["cell"]
    config = layers.GRU(3).get_config()
    assert config["reset_after"] is True and config["recurrent_initializer"]["class_name"] == "Orthogonal"
    assert config["kernel_initializer"]["class_name"] == "GlorotUniform" and config["unroll"] is False
    assert layers.LSTM(3).units == 3 and layers.LSTM(3, dropout=0.2).dropout == 0.2


def test_keras_3_sample_config_loads():
    """The LSTM config of specs/keras-formats.md §6.5 (Keras 3.15, DTypePolicy dict, shared ids)."""
    init = {"module": "keras.initializers", "registered_name": None, "shared_object_id": 1}
    config = {
        "name": "lstm", "trainable": True,
        "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"},
                  "registered_name": None, "shared_object_id": 139649777836048},
        "return_sequences": False, "return_state": False, "go_backwards": False, "stateful": False, "unroll": False,
        "zero_output_for_mask": False, "units": 3, "activation": "tanh", "recurrent_activation": "sigmoid",
        "use_bias": True,
        "kernel_initializer": {**init, "class_name": "GlorotUniform",
                               "config": {"seed": None, "input_axes": None, "output_axes": None}},
        "recurrent_initializer": {**init, "class_name": "Orthogonal", "config": {"seed": None, "gain": 1.0}},
        "bias_initializer": {**init, "class_name": "Zeros", "config": {}},
        "unit_forget_bias": True, "kernel_regularizer": None, "recurrent_regularizer": None,
        "bias_regularizer": None, "activity_regularizer": None, "kernel_constraint": None,
        "recurrent_constraint": None, "bias_constraint": None, "dropout": 0.0, "recurrent_dropout": 0.0, "seed": None}
    layer = layers.deserialize({"module": "keras.layers", "class_name": "LSTM", "config": config})
    assert isinstance(layer, layers.LSTM) and layer.units == 3
    assert layer(_x(2, 5, 4)).shape == (2, 3)


def test_keras_2_config_with_time_major_and_implementation_loads():
    config = {"name": "lstm", "trainable": True, "dtype": "float32", "return_sequences": True,
              "return_state": False, "go_backwards": False, "stateful": False, "unroll": False, "time_major": False,
              "units": 3, "activation": "tanh", "recurrent_activation": "sigmoid", "use_bias": True,
              "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": None}},
              "recurrent_initializer": {"class_name": "Orthogonal", "config": {"gain": 1.0, "seed": None}},
              "bias_initializer": {"class_name": "Zeros", "config": {}}, "unit_forget_bias": True,
              "kernel_regularizer": None, "recurrent_regularizer": None, "bias_regularizer": None,
              "activity_regularizer": None, "kernel_constraint": None, "recurrent_constraint": None,
              "bias_constraint": None, "dropout": 0.0, "recurrent_dropout": 0.0, "implementation": 2}
    layer = layers.LSTM.from_config(config)
    assert "time_major" not in layer.get_config() and "implementation" not in layer.get_config()
    x = _x(2, 5, 4)
    major = layers.LSTM.from_config({**config, "time_major": True})
    layer(x)
    major(x.transpose(1, 0, 2))
    major.set_weights(layer.get_weights())
    torch.testing.assert_close(major(x.transpose(1, 0, 2)).transpose(0, 1), layer(x))
    assert major.get_config()["time_major"] is True


def test_weight_paths_and_torch_state_dict():
    layer = layers.GRU(2, name="gru")
    layer(_x(1, 3, 4))
    assert [w.path for w in layer.weights] == ["gru/gru_cell/kernel", "gru/gru_cell/recurrent_kernel",
                                              "gru/gru_cell/bias"]
    assert list(layer.state_dict()) == ["cell.kernel", "cell.recurrent_kernel", "cell.bias"]


# ---- errors --------------------------------------------------------------------------------------------

def test_errors_are_clear():
    with pytest.raises(ValueError, match="units=0"):
        layers.LSTM(0)
    with pytest.raises(ValueError, match="use_cudnn='fast'"):
        layers.GRU(2, use_cudnn="fast")
    with pytest.raises(ValueError, match="use_cudnn=True"):
        layers.LSTM(2, activation="relu", use_cudnn=True)(_x(1, 2, 3))
    with pytest.raises(ValueError, match="should have a `call` method"):
        layers.RNN(object())
    with pytest.raises(ValueError, match="state_size"):
        layers.RNN(layers.Dense(2))
    with pytest.raises(ValueError, match=r"expects inputs of shape \(batch, timesteps, ...features\)"):
        layers.LSTM(2)(_x(2, 3))
    with pytest.raises(ValueError, match="expects 2 initial state"):
        layers.LSTM(2)(_x(1, 3, 4), initial_state=[torch.zeros(1, 2)])
    with pytest.raises(TypeError, match="dropout"):
        layers.SimpleRNN(2, dropout="high")
    with pytest.raises(ValueError, match="seed"):
        layers.GRU(2, seed=1.5)


# ---- ConvLSTM2D --------------------------------------------------------------------------------------------

def _np_conv(x, kernel, stride, padding):
    """Channels-last 2-D convolution with TensorFlow 'same' padding, as a plain loop."""
    kh, kw = kernel.shape[:2]
    if padding == "same":
        pads = []
        for size, k, s in zip(x.shape[1:3], (kh, kw), stride):
            total = max((-(-size // s) - 1) * s + k - size, 0)
            pads.append((total // 2, total - total // 2))
        x = np.pad(x, [(0, 0), pads[0], pads[1], (0, 0)])
    rows = (x.shape[1] - kh) // stride[0] + 1
    cols = (x.shape[2] - kw) // stride[1] + 1
    out = np.zeros((x.shape[0], rows, cols, kernel.shape[-1]))
    for i in range(rows):
        for j in range(cols):
            patch = x[:, i * stride[0]:i * stride[0] + kh, j * stride[1]:j * stride[1] + kw]
            out[:, i, j] = np.tensordot(patch, kernel, axes=([1, 2, 3], [0, 1, 2]))
    return out


@pytest.mark.parametrize("padding, strides", [("valid", 1), ("same", 2)])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_conv_lstm2d_against_numpy(padding, strides, data_format):
    layer = layers.ConvLSTM2D(2, (2, 3), strides=strides, padding=padding, data_format=data_format,
                              return_sequences=True, return_state=True, bias_initializer="random_normal")
    x = _x(2, 3, 5, 6, 3)
    given = x if data_format == "channels_last" else x.transpose(0, 1, 4, 2, 3)
    out, h, c = layer(given)
    kernel, recurrent, bias = (w.astype("float64") for w in layer.get_weights())

    def step(x_t, states):
        h, c = states
        z = _np_conv(x_t, kernel, (strides, strides), padding) + bias + _np_conv(h, recurrent, (1, 1), "same")
        i, f, g, o = np.split(z, 4, axis=-1)
        c = ref.sigmoid(f) * c + ref.sigmoid(i) * np.tanh(g)
        h = ref.sigmoid(o) * np.tanh(c)
        return h, [h, c]

    rows, cols = (4, 4) if padding == "valid" else (3, 3)
    zeros = [np.zeros((2, rows, cols, 2))] * 2
    expected, _, (eh, ec) = ref.run(step, x.astype("float64"), zeros)
    if data_format == "channels_first":
        expected, eh, ec = expected.transpose(0, 1, 4, 2, 3), eh.transpose(0, 3, 1, 2), ec.transpose(0, 3, 1, 2)
    np.testing.assert_allclose(out.detach().numpy(), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(h.detach().numpy(), eh, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(c.detach().numpy(), ec, rtol=1e-5, atol=1e-5)


def test_conv_lstm2d_harness_config_and_mask():
    mask = np.array([[1, 1, 0], [1, 0, 0]], bool)
    layer, _ = run_layer_test(layers.ConvLSTM2D, {"filters": 2, "kernel_size": 2, "padding": "same",
                                                  "return_sequences": True},
                              input_shape=(2, 3, 4, 4, 1), expected_output_shape=(2, 3, 4, 4, 2),
                              expected_weight_shapes=[(2, 2, 1, 8), (2, 2, 2, 8), (8,)], supports_masking=True,
                              input_mask=mask, expected_mask=mask)
    assert [w.path for w in layer.weights][0] == f"{layer.name}/conv_lstm_cell/kernel"
    config = layer.get_config()
    assert list(config)[len(RNN_KEYS):len(RNN_KEYS) + 6] == ["filters", "kernel_size", "strides", "padding",
                                                             "data_format", "dilation_rate"]
    assert config["kernel_size"] == (2, 2) and config["recurrent_activation"] == "sigmoid"
    assert "cell" not in config and config["seed"] is None
    masked = layer(torch.as_tensor(_x(2, 3, 4, 4, 1)), mask=torch.as_tensor(mask))
    torch.testing.assert_close(masked[1, 1], masked[1, 0])  # masked steps repeat the last valid output
    assert layer.compute_output_shape((None, 3, 4, 4, 1)) == (None, 3, 4, 4, 2)
    with pytest.raises(ValueError, match="strides > 1"):
        layers.ConvLSTM2D(2, 3, strides=2, dilation_rate=2)
    with pytest.raises(ValueError, match="padding='full'"):
        layers.ConvLSTM2D(2, 3, padding="full")
