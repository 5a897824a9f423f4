"""Which kernel the recurrent layers run, proven by spying on torch's fused kernels, and masked batches.

``last_call_path`` is lamina's own record; these tests check it against what actually
ran: a spy on ``torch._VF.lstm`` / ``gru`` / ``rnn_tanh`` / ``rnn_relu`` counts the fused
kernel calls. Every fused configuration must call the kernel exactly once per layer call
and match the step loop (forward and gradients); every fallback configuration must never
call it. Then: a masked batch of right-padded sequences equals running each sequence
unpadded (outputs at the valid steps, final states, and weight gradients), for LSTM and
GRU on both paths.
"""

import numpy as np
import pytest
import torch

from lamina import layers

KERNELS = ("lstm", "gru", "rnn_tanh", "rnn_relu")


@pytest.fixture
def fused_calls(monkeypatch):
    """Counts calls of torch's fused RNN kernels, by kernel name."""
    calls = dict.fromkeys(KERNELS, 0)
    for name in KERNELS:
        original = getattr(torch._VF, name)

        def spy(*args, _name=name, _original=original, **kwargs):
            calls[_name] += 1
            return _original(*args, **kwargs)

        monkeypatch.setattr(torch._VF, name, spy)
    return calls


def _x(*shape, seed=0):
    return torch.as_tensor(np.random.default_rng(seed).standard_normal(shape).astype("float32"))


def _twin(layer, **overrides):
    """A layer of the same class and config (plus ``overrides``) holding ``layer``'s weights."""
    config = {**layer.get_config(), **overrides}
    config.pop("name")
    twin = type(layer).from_config(config)
    twin.build((None, None, layer.cell.kernel.shape[0]))
    twin.set_weights(layer.get_weights())
    return twin


def _grads(layer, loss):
    weights = [w.value for w in layer.trainable_weights]
    return torch.autograd.grad(loss, weights)


FUSED = [
    (layers.LSTM, {}, {}, "lstm"),
    (layers.LSTM, {"use_bias": False}, {}, "lstm"),
    (layers.LSTM, {"go_backwards": True}, {}, "lstm"),
    (layers.LSTM, {"return_state": True}, {}, "lstm"),
    (layers.LSTM, {"dropout": 0.5, "seed": 1}, {"training": True}, "lstm"),  # input dropout: one mask per sequence
    (layers.LSTM, {"recurrent_dropout": 0.5}, {"training": False}, "lstm"),  # off in inference
    (layers.LSTM, {}, {"mask": torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]]).bool()}, "lstm"),  # right-padded
    (layers.GRU, {}, {}, "gru"),
    (layers.GRU, {"use_bias": False, "go_backwards": True}, {}, "gru"),
    (layers.GRU, {}, {"mask": torch.tensor([[1, 1, 0, 0, 0], [1, 1, 1, 1, 1]]).bool()}, "gru"),
    (layers.SimpleRNN, {}, {}, "rnn_tanh"),
    (layers.SimpleRNN, {"activation": "relu"}, {}, "rnn_relu"),
]


@pytest.mark.parametrize("cls, config, call_kwargs, kernel", FUSED,
                         ids=[f"{c.__name__}-{i}" for i, (c, *_) in enumerate(FUSED)])
def test_fused_configurations_run_torchs_kernel_once_and_match_the_loop(fused_calls, cls, config, call_kwargs,
                                                                        kernel):
    layer = cls(3, return_sequences=True, bias_initializer="random_normal", **config)
    x = _x(2, 5, 4)
    layer(x)
    before = dict(fused_calls)
    out = layer(x, **call_kwargs)
    assert layer.last_call_path == "fused"
    assert {k: fused_calls[k] - before[k] for k in KERNELS} == {k: int(k == kernel) for k in KERNELS}
    if call_kwargs.get("training"):
        return  # dropout draws differ between layers; the shared input mask is tested in test_recurrent.py
    loop = _twin(layer, **({} if cls is layers.SimpleRNN else {"use_cudnn": False}))
    if cls is layers.SimpleRNN:
        loop.unroll = True  # SimpleRNN has no use_cudnn; unroll keeps it on the step loop
    count = sum(fused_calls.values())
    expected = loop(x, **call_kwargs)
    assert loop.last_call_path == "loop" and sum(fused_calls.values()) == count
    outputs, wanted = (out, expected) if isinstance(out, torch.Tensor) else (out[0], expected[0])
    torch.testing.assert_close(outputs, wanted, rtol=1e-5, atol=1e-6)
    for got, want in zip(_grads(layer, outputs.square().sum()), _grads(loop, wanted.square().sum()), strict=True):
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)


FALLBACK = [
    (layers.LSTM, {"activation": "relu"}, {}),
    (layers.LSTM, {"recurrent_activation": "hard_sigmoid"}, {}),
    (layers.LSTM, {"unroll": True}, {}),
    (layers.LSTM, {"use_cudnn": False}, {}),
    (layers.LSTM, {"recurrent_dropout": 0.5, "seed": 1}, {"training": True}),
    (layers.LSTM, {}, {"mask": torch.tensor([[0, 1, 1, 1, 1], [1, 1, 1, 1, 1]]).bool()}),  # left-padded
    (layers.LSTM, {}, {"mask": torch.tensor([[1, 0, 1, 1, 1], [1, 1, 1, 1, 1]]).bool()}),  # a hole
    (layers.LSTM, {}, {"mask": torch.tensor([[0, 0, 0, 0, 0], [1, 1, 1, 1, 1]]).bool()}),  # an empty sequence
    (layers.GRU, {"reset_after": False}, {}),
    (layers.GRU, {"recurrent_activation": "relu"}, {}),
    (layers.GRU, {"use_cudnn": False}, {}),
    (layers.GRU, {"dropout": 0.2, "recurrent_dropout": 0.5, "seed": 1}, {"training": True}),
    (layers.SimpleRNN, {"activation": "sigmoid"}, {}),
]


@pytest.mark.parametrize("cls, config, call_kwargs", FALLBACK,
                         ids=[f"{c.__name__}-{i}" for i, (c, *_) in enumerate(FALLBACK)])
def test_fallback_configurations_never_call_a_fused_kernel(fused_calls, cls, config, call_kwargs):
    layer = cls(3, return_sequences=True, **config)
    layer(_x(2, 5, 4), **call_kwargs)
    assert layer.last_call_path == "loop"
    assert sum(fused_calls.values()) == 0


def test_use_cudnn_true_refuses_the_fallback_instead_of_running_it(fused_calls):
    layer = layers.GRU(3, use_cudnn=True)
    layer(_x(2, 5, 4))
    assert fused_calls["gru"] == 1
    with pytest.raises(ValueError, match="use_cudnn=True"):
        layer(_x(2, 5, 4), mask=torch.tensor([[0, 1, 1, 1, 1], [1, 1, 1, 1, 1]]).bool())
    with pytest.raises(ValueError, match="use_cudnn=True"):
        layers.LSTM(3, recurrent_dropout=0.5, use_cudnn=True)(_x(2, 5, 4), training=True)


def test_bidirectional_runs_both_directions_fused(fused_calls):
    layer = layers.Bidirectional(layers.LSTM(3, return_sequences=True))
    layer(_x(2, 5, 4))
    assert fused_calls["lstm"] == 2
    assert layer.forward_layer.last_call_path == layer.backward_layer.last_call_path == "fused"


# ---- masked batches equal unpadded runs --------------------------------------------------------------------

LENGTHS = [6, 2, 4, 1, 5]


@pytest.mark.parametrize("cls", [layers.LSTM, layers.GRU])
@pytest.mark.parametrize("use_cudnn", ["auto", False], ids=["fused", "loop"])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_masked_right_padded_batch_equals_unpadded_sequences(fused_calls, cls, use_cudnn, go_backwards):
    steps, features = max(LENGTHS) + 1, 3  # every sequence is padded
    layer = cls(4, return_sequences=True, return_state=True, go_backwards=go_backwards, use_cudnn=use_cudnn,
                bias_initializer="random_normal")
    x = _x(len(LENGTHS), steps, features, seed=1)
    mask = torch.arange(steps)[None] < torch.tensor(LENGTHS)[:, None]
    x = torch.where(mask[..., None], x, torch.full_like(x, 7.0))  # the padding values must not matter
    out, *states = layer(x, mask=mask)
    expected_path = "fused" if use_cudnn == "auto" else "loop"
    assert layer.last_call_path == expected_path
    assert (sum(fused_calls.values()) == 1) == (expected_path == "fused")
    # The loss only sees valid steps (in processing order: go_backwards puts the padding first).
    valid = mask.flip(1) if go_backwards else mask
    loss = (out * valid[..., None]).square().sum() + sum(s.square().sum() for s in states)
    batch_grads = _grads(layer, loss)

    alone_grads = None
    for i, n in enumerate(LENGTHS):
        alone, *alone_states = layer(x[i:i + 1, :n])
        assert layer.last_call_path == expected_path
        got = out[i:i + 1][:, valid[i]]
        torch.testing.assert_close(got, alone, rtol=1e-5, atol=1e-6)
        for state, want in zip(states, alone_states, strict=True):
            torch.testing.assert_close(state[i:i + 1], want, rtol=1e-5, atol=1e-6)
        grads = _grads(layer, alone.square().sum() + sum(s.square().sum() for s in alone_states))
        alone_grads = grads if alone_grads is None else [a + g for a, g in zip(alone_grads, grads)]
    for got, want in zip(batch_grads, alone_grads, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("cls", [layers.LSTM, layers.GRU])
def test_masked_last_output_equals_unpadded_on_both_paths(cls):
    """``return_sequences=False``: the packed fused path and the loop give each sequence's last valid output."""
    fused = cls(4, bias_initializer="random_normal")
    x = _x(len(LENGTHS), max(LENGTHS), 3, seed=2)
    mask = torch.arange(x.shape[1])[None] < torch.tensor(LENGTHS)[:, None]
    out = fused(x, mask=mask)
    loop = _twin(fused, use_cudnn=False)
    torch.testing.assert_close(loop(x, mask=mask), out, rtol=1e-5, atol=1e-6)
    assert (fused.last_call_path, loop.last_call_path) == ("fused", "loop")
    for i, n in enumerate(LENGTHS):
        torch.testing.assert_close(out[i:i + 1], fused(x[i:i + 1, :n]), rtol=1e-5, atol=1e-6)
