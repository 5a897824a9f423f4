"""Bidirectional and TimeDistributed: harness, manual references, masks, configs, names and errors."""

import json

import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from tests.layers.harness import run_layer_test

RNG = np.random.default_rng(2)


def _x(*shape):
    return RNG.standard_normal(shape).astype("float32")


# ---- Bidirectional ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("merge_mode, width", [("concat", 6), ("sum", 3), ("mul", 3), ("ave", 3)])
def test_bidirectional_harness(merge_mode, width):
    # As in Keras, the wrapped layers are copies that keep the given layer's dtype: the float64
    # variant wraps a float64 LSTM.
    mask = np.array([[1, 1, 1, 0], [1, 1, 0, 0]], bool)
    layer, _ = run_layer_test(layers.Bidirectional, {"layer": layers.LSTM(3, return_sequences=True),
                                                     "merge_mode": merge_mode},
                              input_shape=(2, 4, 5), expected_output_shape=(2, 4, width),
                              expected_num_trainable_weights=6, supports_masking=True, input_mask=mask,
                              expected_mask=mask,
                              float64_init_kwargs={"layer": layers.LSTM(3, return_sequences=True, dtype="float64"),
                                                   "merge_mode": merge_mode})
    assert layer.weights[0].path == f"{layer.name}/{layer.forward_layer.name}/lstm_cell/kernel"


def _manual(bi, x, mask=None):
    """Forward layer on x, a plain copy of it on each sequence reversed, merged by hand."""
    forward = bi.forward_layer
    backward = layers.deserialize(layers.serialize(bi.backward_layer))
    config = backward.get_config()
    plain = type(backward).from_config({**config, "go_backwards": False, "zero_output_for_mask": False})
    plain(x)
    plain.set_weights(bi.backward_layer.get_weights())
    y = forward(x) if mask is None else forward(x, mask=mask)
    if mask is None:
        y_rev = plain(x.flip(1))
    else:  # reverse each sequence within its valid length
        outs = []
        for i in range(x.shape[0]):
            n = int(mask[i].sum())
            seq = plain(x[i:i + 1, :n].flip(1))
            if forward.return_sequences:
                seq = torch.cat([seq.flip(1), torch.zeros(1, x.shape[1] - n, seq.shape[-1])], 1)
            outs.append(seq)
        return y, torch.cat(outs)
    return y, (y_rev.flip(1) if forward.return_sequences else y_rev)


@pytest.mark.parametrize("cls", [layers.LSTM, layers.GRU, layers.SimpleRNN])
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
def test_bidirectional_matches_forward_plus_reversed_backward(cls, return_sequences, merge_mode):
    bi = layers.Bidirectional(cls(3, return_sequences=return_sequences), merge_mode=merge_mode)
    x = torch.as_tensor(_x(2, 5, 4))
    out = bi(x)
    y, y_rev = _manual(bi, x)
    expected = {"concat": lambda: torch.cat([y, y_rev], -1), "sum": lambda: y + y_rev, "mul": lambda: y * y_rev,
                "ave": lambda: (y + y_rev) / 2, None: lambda: (y, y_rev)}[merge_mode]()
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("return_sequences", [False, True])
def test_bidirectional_masked_equals_unpadded(return_sequences):
    bi = layers.Bidirectional(layers.GRU(2, return_sequences=return_sequences))
    x = torch.as_tensor(_x(3, 5, 4))
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 0, 0, 0], [1, 1, 1, 0, 0]]).bool()
    x = x * mask[..., None]
    out = bi(x, mask=mask)
    for i, n in enumerate([5, 2, 3]):
        alone = bi(x[i:i + 1, :n])
        if return_sequences:  # padded steps: zeros for both directions (Keras sets zero_output_for_mask)
            torch.testing.assert_close(out[i:i + 1, :n], alone, rtol=1e-5, atol=1e-6)
            assert bool((out[i, n:] == 0).all())
        else:
            torch.testing.assert_close(out[i:i + 1], alone, rtol=1e-5, atol=1e-6)
    assert bi.forward_layer.last_call_path == "fused" and bi.backward_layer.last_call_path == "fused"


def test_bidirectional_return_state_and_initial_state():
    bi = layers.Bidirectional(layers.LSTM(3, return_state=True))
    x = torch.as_tensor(_x(2, 4, 5))
    out, fh, fc, bh, bc = bi(x)
    assert out.shape == (2, 6) and fh.shape == bc.shape == (2, 3)
    torch.testing.assert_close(out, torch.cat([fh, bh], -1))
    states = [torch.as_tensor(_x(2, 3)) for _ in range(4)]
    out2 = bi(x, initial_state=states)[0]
    torch.testing.assert_close(out2[:, :3], bi.forward_layer(x, initial_state=states[:2])[0])
    torch.testing.assert_close(out2[:, 3:], bi.backward_layer(x, initial_state=states[2:])[0])
    assert bi.compute_output_shape((None, 4, 5)) == ((None, 6), (None, 3), (None, 3), (None, 3), (None, 3))
    none = layers.Bidirectional(layers.GRU(2, return_sequences=True, return_state=True), merge_mode=None)
    shapes = [tuple(t.shape) for t in none(x)]
    assert shapes == [(2, 4, 2), (2, 4, 2), (2, 2), (2, 2)]
    assert list(none.compute_output_shape((2, 4, 5))) == shapes


def test_bidirectional_names_config_and_weights():
    lstm = layers.LSTM(3, name="enc")
    bi = layers.Bidirectional(lstm, name="bi")
    bi(_x(1, 4, 2))
    assert bi.forward_layer is not lstm and not lstm.built
    assert (bi.forward_layer.name, bi.backward_layer.name) == ("forward_enc", "backward_enc")
    assert bi.backward_layer.go_backwards and not bi.forward_layer.go_backwards
    assert [w.path for w in bi.weights] == [f"bi/{d}_enc/lstm_cell/{n}" for d in ("forward", "backward")
                                            for n in ("kernel", "recurrent_kernel", "bias")]
    config = json.loads(json.dumps(bi.get_config()))
    assert list(config) == ["name", "trainable", "dtype", "merge_mode", "layer", "backward_layer"]
    assert config["layer"]["config"]["name"] == "forward_enc"
    assert config["backward_layer"]["config"]["go_backwards"] is True
    clone = layers.Bidirectional.from_config(config)
    assert (clone.forward_layer.name, clone.backward_layer.name) == ("forward_enc", "backward_enc")
    clone(_x(1, 4, 2))
    clone.set_weights(bi.get_weights())
    x = _x(2, 4, 2)
    torch.testing.assert_close(clone(x), bi(x))
    weights = [w + 1 for w in bi.get_weights()]
    preset = layers.Bidirectional(layers.LSTM(3), weights=weights)
    preset(x)
    for got, want in zip(preset.get_weights(), weights, strict=True):
        np.testing.assert_array_equal(got, want)


def test_bidirectional_custom_backward_layer_and_errors():
    backward = layers.GRU(2, go_backwards=True, activation="relu", name="back")
    bi = layers.Bidirectional(layers.GRU(2), backward_layer=backward)
    assert bi.backward_layer is backward
    assert bi(_x(2, 3, 4)).shape == (2, 4)
    with pytest.raises(ValueError, match="different `go_backwards`"):
        layers.Bidirectional(layers.GRU(2), backward_layer=layers.GRU(2))
    with pytest.raises(ValueError, match='"return_sequences"'):
        layers.Bidirectional(layers.GRU(2), backward_layer=layers.GRU(2, go_backwards=True, return_sequences=True))
    with pytest.raises(ValueError, match="merge_mode='max'"):
        layers.Bidirectional(layers.GRU(2), merge_mode="max")
    with pytest.raises(ValueError, match="Layer` instance"):
        layers.Bidirectional("lstm")


def test_bidirectional_stateful_reset():
    bi = layers.Bidirectional(layers.LSTM(2, stateful=True))
    x = _x(2, 3, 4)
    first = bi(x)
    assert len(bi.states) == 4 and not torch.allclose(bi(x), first)
    bi.reset_states()
    torch.testing.assert_close(bi(x), first)
    with pytest.raises(AttributeError, match="stateful"):
        layers.Bidirectional(layers.LSTM(2)).reset_state()


def test_bidirectional_in_functional_model_with_embedding_mask():
    tokens = lamina.Input(shape=(None,), dtype="int32")
    h = layers.Embedding(10, 3, mask_zero=True)(tokens)
    h = layers.Bidirectional(layers.LSTM(2, return_sequences=True))(h)
    h = layers.Bidirectional(layers.LSTM(2))(h)
    model = lamina.Model(tokens, h)
    padded = np.array([[1, 2, 3, 0], [4, 5, 6, 7]], "int32")
    out = model(padded)
    torch.testing.assert_close(out[:1], model(padded[:1, :3]), rtol=1e-5, atol=1e-6)


# ---- TimeDistributed ----------------------------------------------------------------------------------------

def test_time_distributed_harness_and_manual_loop():
    layer, out = run_layer_test(layers.TimeDistributed, {"layer": layers.Dense(3, activation="tanh")},
                                input_shape=(2, 4, 5), expected_output_shape=(2, 4, 3),
                                expected_weight_names=["kernel", "bias"], supports_masking=True,
                                float64_init_kwargs={"layer": layers.Dense(3, activation="tanh", dtype="float64")})
    x = torch.as_tensor(_x(2, 4, 5))
    expected = torch.stack([layer.layer(x[:, t]) for t in range(4)], 1)
    torch.testing.assert_close(layer(x), expected)
    assert layer.weights[0].path == f"{layer.name}/{layer.layer.name}/kernel"


def test_time_distributed_conv_and_shapes():
    try:
        td = layers.TimeDistributed(layers.Conv2D(2, 3))
    except (ImportError, AttributeError):  # the convolution family is another module's
        pytest.skip("Conv2D not available")
    x = torch.as_tensor(_x(2, 3, 6, 6, 1))
    out = td(x)
    assert out.shape == (2, 3, 4, 4, 2)
    torch.testing.assert_close(out[:, 1], td.layer(x[:, 1]))
    assert td.compute_output_shape((None, 3, 6, 6, 1)) == (None, 3, 4, 4, 2)
    symbolic = td(lamina.Input((None, 6, 6, 1)))
    assert symbolic.shape == (None, None, 4, 4, 2)


class MaskedSum(layers.Layer):
    """Sums features where the (per-sample) mask is True; records the masks it receives."""

    def call(self, inputs, mask=None):
        self.seen = mask
        return inputs.sum(-1, keepdim=True) * (1 if mask is None else mask[..., None].to(inputs.dtype))


def test_time_distributed_passes_folded_mask_and_keeps_it():
    inner = MaskedSum()
    td = layers.TimeDistributed(inner)
    x = torch.as_tensor(_x(2, 3, 4))
    mask = torch.tensor([[1, 0, 1], [1, 1, 0]]).bool()
    x._keras_mask = mask
    out = td(x)
    assert inner.seen.shape == (6,)
    torch.testing.assert_close(out[..., 0], x.sum(-1) * mask)
    assert torch.equal(out._keras_mask, mask)
    with pytest.raises(ValueError, match="mask.shape=\\(2, 2\\)"):
        td(torch.as_tensor(_x(2, 3, 4)), mask=torch.ones(2, 2).bool())


def test_time_distributed_config_training_and_errors():
    td = layers.TimeDistributed(layers.Dropout(0.5, seed=1), name="td")
    x = torch.ones(2, 3, 4)
    torch.testing.assert_close(td(x), x)
    assert not torch.equal(td(x, training=True), x)
    config = json.loads(json.dumps(td.get_config()))
    assert list(config) == ["name", "trainable", "dtype", "layer"] and config["layer"]["class_name"] == "Dropout"
    assert isinstance(layers.TimeDistributed.from_config(config).layer, layers.Dropout)
    with pytest.raises(ValueError, match="at least 3 dimensions"):
        layers.TimeDistributed(layers.Dense(2))(torch.ones(2, 3))
    with pytest.raises(ValueError, match="Layer` instance"):
        layers.TimeDistributed(lambda x: x)
