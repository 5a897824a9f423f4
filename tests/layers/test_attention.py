"""Attention layers against NumPy implementations of the Keras 3 formulas, torch.nn.MultiheadAttention,
SDPA-vs-einsum agreement, gradients, masks, configs and errors."""

import json

import numpy as np
import pytest
import torch

from lamina import layers
from tests.layers.harness import run_layer_test

RNG = np.random.default_rng(0)


def _x(*shape):
    return RNG.standard_normal(shape).astype("float32")


def _t(a):
    return torch.as_tensor(a)


def _softmax(x, axes, mask=None):
    """Keras 3 Softmax: masked logits get -1e9 added, masked outputs are zero."""
    if mask is not None:
        x = x + (1.0 - mask) * -1e9
    e = np.exp(x - x.max(axis=axes, keepdims=True))
    out = e / e.sum(axis=axes, keepdims=True)
    return out if mask is None else out * mask


def _np_mha(layer, q_in, v_in, k_in=None, mask=None):
    """NumPy MultiHeadAttention for rank-3 inputs: projections, scaled scores, masked softmax, output."""
    w = [x.astype(np.float64) for x in layer.get_weights()]
    k_in = v_in if k_in is None else k_in
    q = np.einsum("btd,dnh->btnh", q_in, w[0]) + w[1]
    k = np.einsum("bsd,dnh->bsnh", k_in, w[2]) + w[3]
    v = np.einsum("bsd,dnh->bsnh", v_in, w[4]) + w[5]
    scores = np.einsum("btnh,bsnh->bnts", q / np.sqrt(layer.key_dim), k)
    m = None if mask is None else np.broadcast_to(mask[:, None].astype(np.float64), scores.shape)
    probs = _softmax(scores, -1, m)
    out = np.einsum("bnts,bsnh->btnh", probs, v)
    return np.einsum("btnh,nhe->bte", out, w[6]) + w[7], probs


# ---- harness ----------------------------------------------------------------------------------------

def test_mha_harness_weights_are_keras():
    mask = torch.tensor([[True, True, False, True], [True, False, True, True]])
    layer, _ = run_layer_test(
        layers.MultiHeadAttention, {"num_heads": 2, "key_dim": 3}, input_shape=[(2, 4, 6), (2, 5, 6)],
        expected_output_shape=(2, 4, 6), expected_num_trainable_weights=8, expected_num_non_trainable_weights=0,
        expected_weight_names=["kernel", "bias"] * 4,
        expected_weight_shapes=[(6, 2, 3), (2, 3), (6, 2, 3), (2, 3), (6, 2, 3), (2, 3), (2, 3, 6), (6,)],
        supports_masking=True, input_mask=mask, expected_mask=mask,
        run_training_check=False)  # the key bias has an exactly-zero gradient (softmax is shift-invariant)
    assert [w.path.split("/", 1)[1] for w in layer.weights][::2] == [
        "query/kernel", "key/kernel", "value/kernel", "attention_output/kernel"]
    assert [n for n, _ in layer.named_children()] == ["_query_dense", "_key_dense", "_value_dense", "_output_dense"]


def test_mha_harness_value_dim_output_shape_no_bias():
    run_layer_test(layers.MultiHeadAttention, {"num_heads": 2, "key_dim": 3, "value_dim": 4, "output_shape": 5,
                                               "use_bias": False},
                   input_shape=[(2, 4, 6), (2, 5, 7), (2, 5, 8)], expected_output_shape=(2, 4, 5),
                   expected_weight_shapes=[(6, 2, 3), (8, 2, 3), (7, 2, 4), (2, 4, 5)])


def test_gqa_harness():
    run_layer_test(layers.GroupQueryAttention, {"head_dim": 3, "num_query_heads": 4, "num_key_value_heads": 2},
                   input_shape=[(2, 4, 6), (2, 5, 6)], expected_output_shape=(2, 4, 6),
                   expected_weight_shapes=[(6, 4, 3), (4, 3), (6, 2, 3), (2, 3), (6, 2, 3), (2, 3), (4, 3, 6), (6,)],
                   supports_masking=True, input_mask=torch.ones(2, 4, dtype=torch.bool),
                   expected_mask=torch.ones(2, 4, dtype=torch.bool),
                   run_training_check=False)  # the key bias has an exactly-zero gradient, as in MHA


@pytest.mark.parametrize("cls, kwargs, names", [
    (layers.Attention, {}, []), (layers.Attention, {"use_scale": True}, ["scale"]),
    (layers.Attention, {"use_scale": True, "score_mode": "concat"}, ["scale", "concat_score_weight"]),
    (layers.AdditiveAttention, {}, ["scale"]), (layers.AdditiveAttention, {"use_scale": False}, []),
])
def test_dot_attention_harness(cls, kwargs, names):
    mask = torch.tensor([[True, False, True], [True, True, False]])
    run_layer_test(cls, kwargs, input_shape=[(2, 3, 4), (2, 5, 4)], expected_output_shape=(2, 3, 4),
                   expected_weight_names=names, supports_masking=True, input_mask=mask, expected_mask=mask)


# ---- MultiHeadAttention against NumPy ------------------------------------------------------------------

@pytest.mark.parametrize("scores", [False, True])
def test_mha_against_numpy_with_masks(scores):
    layer = layers.MultiHeadAttention(num_heads=3, key_dim=4, value_dim=2, bias_initializer="glorot_uniform")
    q_in, v_in, k_in = _x(2, 5, 6), _x(2, 7, 6), _x(2, 7, 6)
    q_mask = np.array([[1, 1, 1, 0, 1], [1, 0, 1, 1, 1]], bool)
    v_mask = np.array([[1, 1, 0, 1, 1, 1, 0], [1, 1, 1, 1, 0, 0, 0]], bool)
    attn = RNG.random((2, 5, 7)) > 0.2
    q, v = _t(q_in), _t(v_in)
    q._keras_mask, v._keras_mask = _t(q_mask), _t(v_mask)
    out = layer(q, v, key=_t(k_in), attention_mask=_t(attn), return_attention_scores=scores)
    combined = attn & q_mask[:, :, None] & v_mask[:, None, :]
    expected, probs = _np_mha(layer, q_in, v_in, k_in, combined)
    actual = out[0] if scores else out
    np.testing.assert_allclose(actual.detach().numpy(), expected, rtol=1e-4, atol=1e-5)
    assert layer._last_path == ("einsum" if scores else "sdpa")
    np.testing.assert_array_equal(actual._keras_mask.numpy(), q_mask)  # the output carries the query mask
    if scores:
        np.testing.assert_allclose(out[1].detach().numpy(), probs, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("scores", [False, True])
def test_mha_causal_mask_against_numpy(scores):
    layer = layers.MultiHeadAttention(num_heads=2, key_dim=3)
    x = _x(2, 4, 5)
    out = layer(_t(x), _t(x), use_causal_mask=True, return_attention_scores=scores)
    expected, probs = _np_mha(layer, x, x, mask=np.tril(np.ones((4, 4), bool))[None])
    np.testing.assert_allclose((out[0] if scores else out).detach().numpy(), expected, rtol=1e-4, atol=1e-5)
    if scores:
        assert np.allclose(np.triu(probs, 1), 0) and np.allclose(out[1].detach().numpy(), probs, atol=1e-6)


def test_mha_attention_axes_against_numpy():
    layer = layers.MultiHeadAttention(num_heads=2, key_dim=3, attention_axes=(1, 2))
    x = _x(2, 3, 4, 5)
    out, scores = layer(_t(x), _t(x), return_attention_scores=True)
    w = [a.astype(np.float64) for a in layer.get_weights()]
    q = np.einsum("bxyd,dnh->bxynh", x, w[0]) + w[1]
    k = np.einsum("bxyd,dnh->bxynh", x, w[2]) + w[3]
    v = np.einsum("bxyd,dnh->bxynh", x, w[4]) + w[5]
    logits = np.einsum("bxynh,buvnh->bnxyuv", q / np.sqrt(3), k)
    probs = _softmax(logits, (-2, -1))
    ctx = np.einsum("bnxyuv,buvnh->bxynh", probs, v)
    expected = np.einsum("bxynh,nhe->bxye", ctx, w[6]) + w[7]
    np.testing.assert_allclose(out.detach().numpy(), expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(scores.detach().numpy(), probs, rtol=1e-4, atol=1e-6)
    assert layer._last_path == "einsum" and layer.get_config()["attention_axes"] == (1, 2)
    # one attention axis of a 4-D input: attention runs along axis 2 only
    single = layers.MultiHeadAttention(num_heads=2, key_dim=3, attention_axes=2)
    _, s = single(_t(x), _t(x), return_attention_scores=True)
    assert tuple(s.shape) == (2, 3, 2, 4, 4)


def test_mha_matches_torch_multihead_attention():
    dim, heads = 8, 2
    layer = layers.MultiHeadAttention(num_heads=heads, key_dim=dim // heads, bias_initializer="random_normal")
    q_in, v_in = _x(3, 5, dim), _x(3, 6, dim)
    ours = layer(_t(q_in), _t(v_in))
    wq, bq, wk, bk, wv, bv, wo, bo = (torch.as_tensor(w) for w in layer.get_weights())
    ref = torch.nn.MultiheadAttention(dim, heads, batch_first=True)
    with torch.no_grad():  # Keras (in, heads, head_dim) kernels -> torch (out, in) matrices
        ref.in_proj_weight.copy_(torch.cat([w.reshape(dim, dim).T for w in (wq, wk, wv)]))
        ref.in_proj_bias.copy_(torch.cat([b.reshape(-1) for b in (bq, bk, bv)]))
        ref.out_proj.weight.copy_(wo.reshape(dim, dim).T)
        ref.out_proj.bias.copy_(bo)
    expected, _ = ref(_t(q_in), _t(v_in), _t(v_in))
    np.testing.assert_allclose(ours.detach().numpy(), expected.detach().numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("causal", [False, True])
def test_sdpa_path_equals_einsum_path_including_fully_masked_rows(causal):
    layer = layers.MultiHeadAttention(num_heads=2, key_dim=4)
    q, v = _t(_x(2, 5, 6)), _t(_x(2, 5, 6))
    attn = torch.as_tensor(RNG.random((2, 5, 5)) > 0.4)
    attn[0, 2] = False  # a query that attends to nothing gives a zero context (Keras 3 softmax)
    fused = layer(q, v, attention_mask=attn, use_causal_mask=causal)
    assert layer._last_path == "sdpa"
    explicit, _ = layer(q, v, attention_mask=attn, use_causal_mask=causal, return_attention_scores=True)
    assert layer._last_path == "einsum"
    np.testing.assert_allclose(fused.detach().numpy(), explicit.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(fused[0, 2].detach().numpy(), layer.get_weights()[7], atol=1e-6)


@pytest.mark.parametrize("scores", [False, True])
def test_mha_gradients_match_finite_differences(scores):
    layer = layers.MultiHeadAttention(num_heads=2, key_dim=2, dtype="float64")
    q = torch.randn(2, 3, 4, dtype=torch.float64, requires_grad=True)
    v = torch.randn(2, 4, 4, dtype=torch.float64, requires_grad=True)
    mask = torch.tensor([[1, 1, 0, 1], [1, 0, 1, 1]], dtype=torch.bool)[:, None]
    layer(q, v)
    kernels = [w.value for w in layer.weights]

    def f(q, v, *weights):
        out = layer(q, v, attention_mask=mask, return_attention_scores=scores)
        return out[0] if scores else out

    assert torch.autograd.gradcheck(f, (q, v, *kernels))


def test_mha_dropout_uses_sdpa_without_seed_and_seeded_einsum_with_seed():
    x = torch.ones(2, 4, 6)
    free = layers.MultiHeadAttention(num_heads=2, key_dim=3, dropout=0.5)
    free(x, x, training=True)
    assert free._last_path == "sdpa"
    seeded = layers.MultiHeadAttention(num_heads=2, key_dim=3, dropout=0.5, seed=3)
    _, s1 = seeded(x, x, training=True, return_attention_scores=True)
    out = seeded(x, x, training=True)
    assert seeded._last_path == "einsum" and out.shape == (2, 4, 6)
    np.testing.assert_allclose(s1.sum(-1).detach().numpy(), 1.0, rtol=1e-5)  # scores are taken before dropout
    a, b = seeded(x, x, training=False), seeded(x, x)
    assert torch.equal(a, b)


# ---- GroupQueryAttention ------------------------------------------------------------------------------------

@pytest.mark.parametrize("scores", [False, True])
def test_gqa_against_numpy(scores):
    layer = layers.GroupQueryAttention(head_dim=3, num_query_heads=4, num_key_value_heads=2,
                                       bias_initializer="random_normal")
    q_in, v_in = _x(2, 4, 6), _x(2, 5, 6)
    v_mask = np.array([[1, 1, 1, 0, 0], [1, 0, 1, 1, 1]], bool)
    v = _t(v_in)
    v._keras_mask = _t(v_mask)
    out = layer(_t(q_in), v, use_causal_mask=True, return_attention_scores=scores)
    w = [a.astype(np.float64) for a in layer.get_weights()]
    q = np.einsum("bqm,muh->bquh", q_in, w[0]) + w[1]
    k = np.repeat(np.einsum("bkm,mvh->bkvh", v_in, w[2]) + w[3], 2, axis=2)
    vv = np.repeat(np.einsum("bkm,mvh->bkvh", v_in, w[4]) + w[5], 2, axis=2)
    mask = (np.tril(np.ones((4, 5), bool))[None] & v_mask[:, None])[:, None].astype(np.float64)
    probs = _softmax(np.einsum("bquh,bkuh->buqk", q / np.sqrt(3), k), -1, np.broadcast_to(mask, (2, 4, 4, 5)))
    expected = np.einsum("bquh,uhm->bqm", np.einsum("buqk,bkuh->bquh", probs, vv), w[6]) + w[7]
    np.testing.assert_allclose((out[0] if scores else out).detach().numpy(), expected, rtol=1e-4, atol=1e-5)
    assert layer._last_path == ("einsum" if scores else "sdpa")


# ---- Attention / AdditiveAttention -------------------------------------------------------------------------

def _np_attention(scores, v, v_mask=None, q_mask=None, causal=False):
    keep = np.ones(scores.shape, bool)
    if v_mask is not None:
        keep = keep & v_mask[:, None, :]
    if causal:
        keep = keep & np.tril(np.ones(scores.shape[-2:], bool))
    scores = scores - 1e9 * (~keep)
    e = np.exp(scores - scores.max(-1, keepdims=True))
    probs = e / e.sum(-1, keepdims=True)
    out = probs @ v
    return (out if q_mask is None else out * q_mask[..., None]), probs


@pytest.mark.parametrize("mode", ["dot", "concat", "additive"])
@pytest.mark.parametrize("causal", [False, True])
def test_dot_and_additive_attention_against_numpy(mode, causal):
    q, v, k = _x(2, 3, 4), _x(2, 3, 4), _x(2, 3, 4)
    q_mask, v_mask = np.array([[1, 1, 0], [1, 1, 1]], bool), np.array([[1, 0, 1], [1, 1, 0]], bool)
    if mode == "additive":
        layer = layers.AdditiveAttention()
    else:
        layer = layers.Attention(use_scale=True, score_mode=mode)
    layer.build([q.shape, v.shape, k.shape])
    layer.set_weights([np.asarray(w) * 0 + RNG.uniform(0.5, 1.5, np.shape(w)).astype("float32")
                       for w in layer.get_weights()])
    w = layer.get_weights()
    if mode == "dot":
        scores = w[0] * np.einsum("bqd,bkd->bqk", q, k)
    elif mode == "concat":
        scores = w[1] * np.tanh(w[0] * (q[:, :, None] + k[:, None])).sum(-1)
    else:
        scores = (w[0] * np.tanh(q[:, :, None] + k[:, None])).sum(-1)
    expected, probs = _np_attention(scores.astype(np.float64), v, v_mask, q_mask, causal)
    out, got_probs = layer([_t(q), _t(v), _t(k)], mask=[_t(q_mask), _t(v_mask)], return_attention_scores=True,
                           use_causal_mask=causal)
    np.testing.assert_allclose(out.detach().numpy(), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got_probs.detach().numpy(), probs, rtol=1e-5, atol=1e-6)
    # masks arriving on the inputs are used the same way
    qt, vt = _t(q), _t(v)
    qt._keras_mask, vt._keras_mask = _t(q_mask), _t(v_mask)
    again = layer([qt, vt, _t(k)], use_causal_mask=causal)
    np.testing.assert_allclose(again.detach().numpy(), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(again._keras_mask.numpy(), q_mask)


def test_attention_gradients_match_finite_differences():
    layer = layers.AdditiveAttention(dtype="float64")
    q = torch.randn(2, 3, 4, dtype=torch.float64, requires_grad=True)
    v = torch.randn(2, 2, 4, dtype=torch.float64, requires_grad=True)
    layer([q, v])
    assert torch.autograd.gradcheck(lambda q, v, s: layer([q, v], use_causal_mask=True), (q, v, layer.scale.value))


def test_attention_dropout_is_seeded_and_training_only():
    q = torch.ones(2, 3, 4)
    layer = layers.Attention(dropout=0.5, seed=1)
    assert torch.equal(layer([q, q]), layer([q, q], training=False))
    _, p = layer([q, q], training=True, return_attention_scores=True)
    assert sorted(set(np.round(p.numpy().ravel(), 4))) <= [0.0, round(2 / 3, 4)]


# ---- configs and errors ---------------------------------------------------------------------------------------

def test_configs_are_keras():
    config = layers.MultiHeadAttention(num_heads=2, key_dim=3, name="mha").get_config()
    # Keras 3.15.1's keys, in its order (use_gate and sliding_window at their off values).
    assert list(config) == ["name", "trainable", "dtype", "num_heads", "key_dim", "value_dim", "dropout", "use_bias",
                            "use_gate", "output_shape", "attention_axes", "sliding_window", "kernel_initializer",
                            "bias_initializer",
                            "kernel_regularizer", "bias_regularizer", "activity_regularizer", "kernel_constraint",
                            "bias_constraint", "seed"]
    assert config["value_dim"] == 3 and config["output_shape"] is None and config["attention_axes"] is None
    assert json.loads(json.dumps(config))["kernel_initializer"]["class_name"] == "GlorotUniform"
    gqa = layers.GroupQueryAttention(2, 4, 2).get_config()
    assert list(gqa)[3:] == ["head_dim", "num_query_heads", "num_key_value_heads", "use_bias", "use_gate",
                             "sliding_window", "dropout",
                             "kernel_initializer", "bias_initializer", "kernel_regularizer", "bias_regularizer",
                             "activity_regularizer", "kernel_constraint", "bias_constraint", "seed"]
    assert list(layers.Attention().get_config())[3:] == ["use_scale", "score_mode", "dropout", "seed"]
    assert list(layers.AdditiveAttention().get_config())[3:] == ["use_scale", "dropout", "seed"]
    assert layers.AdditiveAttention().use_scale is True


def test_mha_build_config_round_trip():
    layer = layers.MultiHeadAttention(num_heads=2, key_dim=3)
    layer(torch.ones(1, 4, 5), torch.ones(1, 6, 7))
    build_config = layer.get_build_config()
    assert build_config == {"shapes_dict": {"query_shape": (1, 4, 5), "value_shape": (1, 6, 7)}}
    clone = layers.MultiHeadAttention.from_config(layer.get_config())
    clone.build_from_config(json.loads(json.dumps(build_config)))
    assert [w.shape for w in clone.weights] == [w.shape for w in layer.weights]


def test_errors_are_clear():
    with pytest.raises(ValueError, match=r"`num_heads` argument of MultiHeadAttention must be a positive integer"):
        layers.MultiHeadAttention(num_heads=0, key_dim=2)
    with pytest.raises(ValueError, match=r"Dropout is not supported when flash attention is enabled"):
        layers.MultiHeadAttention(2, 2, dropout=0.1, flash_attention=True)
    with pytest.raises(ValueError, match=r"returning attention scores is not supported"):
        layers.MultiHeadAttention(2, 2, flash_attention=True)(torch.ones(1, 2, 3), torch.ones(1, 2, 3),
                                                              return_attention_scores=True)
    with pytest.raises(ValueError, match=r"All dimensions of `value` and `key`, except the last one, must be equal"):
        layers.MultiHeadAttention(2, 2)(torch.ones(1, 2, 3), torch.ones(1, 4, 3), key=torch.ones(1, 5, 3))
    with pytest.raises(ValueError, match=r"`num_query_heads` must be divisible by `num_key_value_heads`"):
        layers.GroupQueryAttention(2, 3, 2)
    with pytest.raises(ValueError, match=r"Invalid value for argument score_mode"):
        layers.Attention(score_mode="bad")
    with pytest.raises(ValueError, match=r"must be called on a list of inputs, namely \[query, value\]"):
        layers.Attention()(torch.ones(1, 2, 3))
    with pytest.raises(ValueError, match=r"accepts inputs list of length 2 or 3.*Received length: 4"):
        layers.Attention()([torch.ones(1, 2, 3)] * 4)
    with pytest.raises(ValueError, match=r"`dropout` argument of Attention must be a float in \[0, 1\)"):
        layers.Attention(dropout=1.5)


def test_symbolic_calls():
    import lamina

    q, v = lamina.Input((4, 6)), lamina.Input((5, 6))
    out, scores = layers.MultiHeadAttention(2, 3)(q, v, return_attention_scores=True)
    assert out.shape == (None, 4, 6) and scores.shape == (None, 2, 4, 5)
    assert layers.Attention()([q, v]).shape == (None, 4, 6)
