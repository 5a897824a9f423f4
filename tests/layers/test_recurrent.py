"""SimpleRNN, LSTM, GRU: harness, NumPy step-loop references, options, fused vs loop paths, gradients.

Tolerances: float32 layers vs float64 NumPy references agree to 1e-5; float64 paths to 1e-10.
"""

import functools

import numpy as np
import pytest
import torch

from lamina import layers
from tests.layers import rnn_reference as ref
from tests.layers.harness import run_layer_test

RNG = np.random.default_rng(0)


def _x(*shape):
    return RNG.standard_normal(shape).astype("float32")


def _step(layer):
    """The NumPy step of ``layer`` with its current weights."""
    kernel, recurrent, bias = ref.weights(layer)
    if isinstance(layer, layers.LSTM):
        return functools.partial(ref.lstm_step, kernel=kernel, recurrent=recurrent, bias=bias)
    if isinstance(layer, layers.GRU):
        return functools.partial(ref.gru_step, kernel=kernel, recurrent=recurrent, bias=bias,
                                 reset_after=layer.cell.reset_after)
    act = {"tanh": np.tanh, "relu": lambda v: np.maximum(v, 0), "sigmoid": ref.sigmoid}[layer.cell.activation.__name__]
    return functools.partial(ref.simple_step, kernel=kernel, recurrent=recurrent, bias=bias, act=act)


def _zero_states(layer, batch):
    return [np.zeros((batch, layer.units)) for _ in range(2 if isinstance(layer, layers.LSTM) else 1)]


LAYERS = [
    (layers.SimpleRNN, {}),
    (layers.LSTM, {}),
    (layers.GRU, {}),
    (layers.GRU, {"reset_after": False}),
]
IDS = ["simple_rnn", "lstm", "gru", "gru_reset_before"]


# ---- harness -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("cls, kwargs", LAYERS, ids=IDS)
@pytest.mark.parametrize("return_sequences", [False, True])
def test_harness(cls, kwargs, return_sequences):
    gates = {layers.SimpleRNN: 1, layers.LSTM: 4, layers.GRU: 3}[cls]
    bias_shape = (2, 9) if cls is layers.GRU and kwargs.get("reset_after", True) else (3 * gates,)
    mask = np.array([[1, 1, 0, 1], [1, 1, 1, 0]], bool)
    run_layer_test(cls, {"units": 3, "return_sequences": return_sequences, **kwargs}, input_shape=(2, 4, 5),
                   expected_output_shape=(2, 4, 3) if return_sequences else (2, 3),
                   expected_num_trainable_weights=3, expected_num_non_trainable_weights=0,
                   expected_weight_names=["kernel", "recurrent_kernel", "bias"],
                   expected_weight_shapes=[(5, 3 * gates), (3, 3 * gates), bias_shape], supports_masking=True,
                   input_mask=mask, expected_mask=mask if return_sequences else None)


def test_harness_return_state_and_penalties():
    layer, out = run_layer_test(layers.LSTM, {"units": 2, "return_state": True, "use_bias": False,
                                              "kernel_regularizer": "l2", "activity_regularizer": "l1"},
                                input_shape=(3, 4, 2), expected_output_shape=[(3, 2), (3, 2), (3, 2)],
                                expected_weight_names=["kernel", "recurrent_kernel"])
    assert len(layer.losses) == 4  # kernel L2 + L1 on each of the 3 outputs (Keras applies it per output)


# ---- numerics against NumPy -------------------------------------------------------------------------------

@pytest.mark.parametrize("cls, kwargs", LAYERS, ids=IDS)
@pytest.mark.parametrize("use_cudnn", ["auto", False])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_against_numpy(cls, kwargs, use_cudnn, go_backwards):
    extra = {} if cls is layers.SimpleRNN else {"use_cudnn": use_cudnn}
    layer = cls(4, return_sequences=True, return_state=True, go_backwards=go_backwards,
                bias_initializer="random_normal", **kwargs, **extra)
    x = _x(3, 6, 5)
    out, *states = layer(x)
    expected_out, _, expected_states = ref.run(_step(layer), x.astype("float64"), _zero_states(layer, 3),
                                               go_backwards=go_backwards)
    np.testing.assert_allclose(out.detach().numpy(), expected_out, rtol=1e-5, atol=1e-5)
    for state, expected in zip(states, expected_states, strict=True):
        np.testing.assert_allclose(state.detach().numpy(), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("cls, kwargs", LAYERS, ids=IDS)
def test_initial_state_and_no_bias(cls, kwargs):
    layer = cls(3, use_bias=False, **kwargs)
    x = _x(2, 5, 4)
    initial = [_x(2, 3) for _ in _zero_states(layer, 2)]
    out = layer(x, initial_state=initial if len(initial) > 1 else initial[0])
    _, last, _ = ref.run(_step(layer), x.astype("float64"), [s.astype("float64") for s in initial])
    np.testing.assert_allclose(out.detach().numpy(), last, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("cls, config, path", [
    (layers.LSTM, {}, "fused"),
    (layers.LSTM, {"activation": "relu"}, "loop"),
    (layers.LSTM, {"recurrent_activation": "hard_sigmoid"}, "loop"),
    (layers.LSTM, {"unroll": True}, "loop"),
    (layers.LSTM, {"use_cudnn": False}, "loop"),
    (layers.LSTM, {"use_bias": False}, "fused"),
    (layers.LSTM, {"dropout": 0.5}, "fused"),
    (layers.LSTM, {"recurrent_dropout": 0.5}, "fused"),  # inference: recurrent dropout is off
    (layers.GRU, {}, "fused"),
    (layers.GRU, {"reset_after": False}, "loop"),
    (layers.GRU, {"activation": "relu"}, "loop"),
    (layers.SimpleRNN, {}, "fused"),
    (layers.SimpleRNN, {"activation": "relu"}, "fused"),
    (layers.SimpleRNN, {"activation": "sigmoid"}, "loop"),
])
def test_path_per_configuration_and_numerics(cls, config, path):
    layer = cls(3, return_sequences=True, **config)
    x = _x(2, 5, 4)
    out = layer(x)
    assert layer.last_call_path == path
    if "dropout" not in config and "recurrent_dropout" not in config:
        act = {"relu": lambda v: np.maximum(v, 0), "tanh": np.tanh, "sigmoid": ref.sigmoid}
        step = _step(layer) if "activation" not in config or cls is layers.SimpleRNN else functools.partial(
            _step(layer), act=act[config["activation"]])
        if "recurrent_activation" in config:  # Keras 3 hard_sigmoid: relu6(x + 3) / 6
            step = functools.partial(step, rec_act=lambda v: np.clip(v + 3, 0, 6) / 6)
        if cls is layers.SimpleRNN and "activation" in config:
            step = functools.partial(step, act=act[config["activation"]])
        expected, _, _ = ref.run(step, x.astype("float64"), _zero_states(layer, 2))
        np.testing.assert_allclose(out.detach().numpy(), expected, rtol=1e-5, atol=1e-5)


def test_paths_with_training_dropout_and_masks():
    x = torch.as_tensor(_x(2, 5, 4))
    rec = layers.LSTM(3, recurrent_dropout=0.5, seed=1)
    rec(x, training=True)
    assert rec.last_call_path == "loop"
    lstm = layers.LSTM(3)
    lstm(x, mask=torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]]).bool())
    assert lstm.last_call_path == "fused"  # right-padded: packed sequences
    lstm(x, mask=torch.tensor([[0, 1, 1, 1, 1], [1, 1, 1, 1, 1]]).bool())
    assert lstm.last_call_path == "loop"  # left-padded
    lstm(x, mask=torch.tensor([[0, 0, 0, 0, 0], [1, 1, 1, 1, 1]]).bool())
    assert lstm.last_call_path == "loop"  # an empty sequence


@pytest.mark.parametrize("cls", [layers.LSTM, layers.GRU, layers.SimpleRNN])
def test_torch_module_with_copied_weights_agrees(cls):
    """Second reference: torch.nn.LSTM/GRU/RNN loaded through the documented weight mapping (§8.2)."""
    layer = cls(4, return_sequences=True, bias_initializer="random_normal")
    x = _x(3, 6, 5)
    out = layer(x).detach()
    kernel, recurrent, bias = (torch.as_tensor(w) for w in layer.get_weights())
    module = {layers.LSTM: torch.nn.LSTM, layers.GRU: torch.nn.GRU, layers.SimpleRNN: torch.nn.RNN}[cls](
        5, 4, batch_first=True)
    with torch.no_grad():
        if cls is layers.GRU:  # Keras z, r, h -> torch r, z, n
            def swap(w):
                z, r, h = w.chunk(3, dim=-1)
                return torch.cat([r, z, h], dim=-1)
            kernel, recurrent, bias = swap(kernel), swap(recurrent), swap(bias)
            module.bias_ih_l0.copy_(bias[0])
            module.bias_hh_l0.copy_(bias[1])
        else:
            module.bias_ih_l0.copy_(bias)
            module.bias_hh_l0.zero_()
        module.weight_ih_l0.copy_(kernel.T)
        module.weight_hh_l0.copy_(recurrent.T)
        expected, _ = module(torch.as_tensor(x))
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)


# ---- masks ----------------------------------------------------------------------------------------------

LENGTHS = [5, 2, 4]


def _padded(features=4, steps=5, left=False):
    x = _x(len(LENGTHS), steps, features)
    mask = np.zeros((len(LENGTHS), steps), bool)
    for i, n in enumerate(LENGTHS):
        if left:
            mask[i, steps - n:] = True
        else:
            mask[i, :n] = True
    return np.where(mask[..., None], x, 0).astype("float32"), mask


@pytest.mark.parametrize("cls, kwargs", LAYERS, ids=IDS)
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("left", [False, True], ids=["right_padded", "left_padded"])
def test_masked_batch_equals_unpadded_runs(cls, kwargs, go_backwards, left):
    layer = cls(3, return_state=True, go_backwards=go_backwards, bias_initializer="random_normal", **kwargs)
    x, mask = _padded(left=left)
    out, *states = layer(torch.as_tensor(x), mask=torch.as_tensor(mask))
    expected_path = "loop" if left or (cls is layers.GRU and kwargs) else "fused"
    assert layer.last_call_path == expected_path
    for i in range(len(LENGTHS)):
        alone, *alone_states = layer(torch.as_tensor(x[i:i + 1][:, mask[i]]))
        torch.testing.assert_close(out[i:i + 1], alone, rtol=1e-5, atol=1e-6)
        for state, expected in zip(states, alone_states, strict=True):
            torch.testing.assert_close(state[i:i + 1], expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cls, kwargs", LAYERS, ids=IDS)
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("zero_output_for_mask", [False, True])
@pytest.mark.parametrize("left", [False, True], ids=["right_padded", "left_padded"])
def test_masked_sequences_follow_keras_loop(cls, kwargs, go_backwards, zero_output_for_mask, left):
    layer = cls(3, return_sequences=True, return_state=True, go_backwards=go_backwards,
                zero_output_for_mask=zero_output_for_mask, **kwargs)
    x, mask = _padded(left=left)
    out, *states = layer(torch.as_tensor(x), mask=torch.as_tensor(mask))
    expected, _, expected_states = ref.run(_step(layer), x.astype("float64"), _zero_states(layer, 3), mask,
                                           go_backwards, zero_output_for_mask)
    np.testing.assert_allclose(out.detach().numpy(), expected, rtol=1e-5, atol=1e-5)
    for state, want in zip(states, expected_states, strict=True):
        np.testing.assert_allclose(state.detach().numpy(), want, rtol=1e-5, atol=1e-5)
    assert torch.equal(out._keras_mask, torch.as_tensor(mask))


def test_last_output_with_zero_output_for_mask_is_zero_when_last_step_masked():
    layer = layers.GRU(2, zero_output_for_mask=True)
    x, mask = _padded()
    out = layer(torch.as_tensor(x), mask=torch.as_tensor(mask)).detach().numpy()
    assert np.all(out[1:] == 0) and np.all(out[0] != 0)  # Keras returns the (zeroed) output of the last step


def test_embedding_mask_zero_lstm_functional_model():
    import lamina

    tokens = lamina.Input(shape=(None,), dtype="int32")
    h = layers.Embedding(20, 4, mask_zero=True)(tokens)
    h = layers.LSTM(3)(h)
    model = lamina.Model(tokens, layers.Dense(1)(h))
    padded = np.array([[3, 5, 7, 0, 0], [4, 2, 9, 8, 1]], "int32")
    out = model(padded).detach()
    for i, n in enumerate([3, 5]):
        torch.testing.assert_close(out[i:i + 1], model(padded[i:i + 1, :n]).detach(), rtol=1e-5, atol=1e-6)
    assert model.layers[2].last_call_path == "fused"


# ---- stateful ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("cls", [layers.LSTM, layers.GRU, layers.SimpleRNN])
@pytest.mark.parametrize("use_cudnn", ["auto", False])
def test_stateful_two_calls_equal_one_long_call(cls, use_cudnn):
    extra = {} if cls is layers.SimpleRNN else {"use_cudnn": use_cudnn}
    stateful = cls(3, stateful=True, return_sequences=True, **extra)
    plain = cls(3, return_sequences=True)
    x = _x(2, 6, 4)
    first = stateful(x[:, :3])
    plain(x)
    plain.set_weights(stateful.get_weights())
    second = stateful(x[:, 3:])
    whole = plain(x)
    torch.testing.assert_close(torch.cat([first, second], 1), whole, rtol=1e-5, atol=1e-6)
    assert not any(s.requires_grad for s in stateful.states)
    stateful.reset_states()
    torch.testing.assert_close(stateful(x[:, :3]), whole[:, :3], rtol=1e-5, atol=1e-6)
    stateful.reset_state([np.ones((2, 3), "float32")] * len(stateful.states))
    assert all(bool((s == 1).all()) for s in stateful.states)
    assert stateful.weights == stateful.cell.weights  # states are not weights (as Keras 3)


def test_stateful_errors():
    layer = layers.LSTM(2, stateful=True)
    layer(_x(2, 3, 4))
    with pytest.raises(ValueError, match="batch size 2"):
        layer(_x(3, 3, 4))
    with pytest.raises(AttributeError, match="must be stateful"):
        layers.LSTM(2).reset_state()
    import lamina

    with pytest.raises(ValueError, match="batch size must be static"):
        layers.GRU(2, stateful=True)(lamina.Input((3, 4)))


# ---- gradients ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("cls, kwargs", LAYERS, ids=IDS)
@pytest.mark.parametrize("use_cudnn", ["auto", False])
@pytest.mark.parametrize("masked", [False, True])
def test_gradcheck(cls, kwargs, use_cudnn, masked):
    extra = {} if cls is layers.SimpleRNN else {"use_cudnn": use_cudnn}
    layer = cls(2, return_sequences=True, bias_initializer="random_normal", dtype="float64", **kwargs, **extra)
    x = torch.randn(2, 3, 2, dtype=torch.float64, requires_grad=True)
    mask = torch.tensor([[1, 1, 1], [1, 1, 0]]).bool() if masked else None
    layer(x)
    params = [w.value for w in layer.weights]
    assert torch.autograd.gradcheck(lambda x, *p: layer(x, mask=mask), (x, *params))


# ---- training-time behaviour ---------------------------------------------------------------------------------

@pytest.mark.parametrize("cls", [layers.LSTM, layers.GRU, layers.SimpleRNN])
def test_dropout_only_in_training(cls):
    layer = cls(4, dropout=0.5, recurrent_dropout=0.3, seed=3)
    x = _x(2, 5, 3)
    inference = layer(x)
    torch.testing.assert_close(layer(x, training=False), inference)
    trained = layer(x, training=True)
    assert layer.last_call_path == "loop"
    assert not torch.allclose(trained, inference)
    fused = cls(4, dropout=0.5, seed=3)
    fused(x, training=True)
    assert fused.last_call_path == "fused"


def test_input_dropout_mask_is_shared_across_timesteps():
    """Keras draws one input mask per sequence: fused and loop paths see the same dropped features."""
    layer = layers.LSTM(3, dropout=0.5, seed=0, return_sequences=True)
    x = torch.ones(4, 6, 8)
    layer(x)
    seen = []
    original = layer.cell.call

    def spy(inputs, states, training=False):
        seen.append(layer.cell.get_dropout_mask(inputs))
        return original(inputs, states, training=training)

    layer.cell.call = spy
    layer.use_cudnn = False
    layer(x, training=True)
    assert len(seen) == 6 and all(m is seen[0] for m in seen)
    assert set(torch.unique(seen[0]).tolist()) == {0.0, 2.0}
