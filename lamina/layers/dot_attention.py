"""`Attention` (Luong, dot-product) and `AdditiveAttention` (Bahdanau) over ``[query, value(, key)]``.

Scores are ``query @ key^T`` (optionally times a learned scalar ``scale``), or for
``score_mode='concat'`` / `AdditiveAttention` a sum of ``tanh(query + key)``. Masked
value positions get ``-1e9`` (``-65504`` in float16) added before the softmax, and
masked query positions give zero outputs, as in Keras 3.

>>> import torch
>>> q, v = torch.ones(2, 3, 4), torch.ones(2, 5, 4)
>>> Attention()([q, v]).shape
torch.Size([2, 3, 4])
>>> out, scores = AdditiveAttention()([q, v], return_attention_scores=True)
>>> tuple(scores.shape)
(2, 3, 5)
"""

import torch

from lamina.backend import random
from lamina.engine.layer import Layer
from lamina.layers import attention_utils as au


class Attention(Layer):
    """Dot-product attention layer, a.k.a. Luong-style attention.

    Args:
        use_scale: learn a scalar ``scale`` multiplying the scores.
        score_mode: ``'dot'`` (query-key dot product) or ``'concat'`` (sum of
            ``tanh(query + key)``, times a learned scalar ``concat_score_weight``).
        dropout: dropout rate on the attention probabilities (training only).
        seed: int seed of the dropout.

    Call arguments:
        inputs: ``[query (B, Tq, dim), value (B, Tv, dim)]`` or ``[query, value, key (B, Tv, dim)]``.
        mask: ``[query_mask (B, Tq), value_mask (B, Tv)]``; defaults to the inputs' masks.
        return_attention_scores: also return the ``(B, Tq, Tv)`` probabilities.
        training: dropout only when true.
        use_causal_mask: position ``i`` attends only to positions ``<= i``.
    """

    supports_masking = True

    def __init__(self, use_scale=False, score_mode="dot", dropout=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.use_scale = use_scale
        self.score_mode = score_mode
        self.dropout = au.check_rate(dropout, "dropout", type(self).__name__)
        self.seed = seed
        self.seed_generator = random.SeedGenerator(seed) if self.dropout > 0 and seed is not None else None
        if score_mode not in ("dot", "concat"):
            raise ValueError("Invalid value for argument score_mode. Expected one of {'dot', 'concat'}. "
                             f"Received: score_mode={score_mode!r}")
        self.scale = None
        self.concat_score_weight = None

    def build(self, input_shape):
        self._validate_inputs(input_shape)
        if self.use_scale:
            self.scale = self.add_weight(name="scale", shape=(), initializer="ones", dtype=self.dtype)
        if self.score_mode == "concat":
            self.concat_score_weight = self.add_weight(name="concat_score_weight", shape=(), initializer="ones",
                                                       dtype=self.dtype)

    def _calculate_scores(self, query, key):
        """``(B, Tq, Tv)`` scores of ``query (B, Tq, dim)`` against ``key (B, Tv, dim)``."""
        if self.score_mode == "dot":
            scores = torch.matmul(query, key.transpose(-1, -2))
            return scores * self.scale.value if self.scale is not None else scores
        summed = query.unsqueeze(-2) + key.unsqueeze(-3)
        if self.scale is not None:
            summed = self.scale.value * summed
        return self.concat_score_weight.value * torch.tanh(summed).sum(dim=-1)

    def _apply_scores(self, scores, value, scores_mask=None, training=False):
        if scores_mask is not None:
            big = 65504.0 if scores.dtype == torch.float16 else 1.0e9
            scores = scores - big * (~scores_mask).to(scores.dtype)
        weights = torch.softmax(scores, dim=-1)
        if training and self.dropout > 0:
            weights_dropped = random.dropout(weights, self.dropout, seed=self.seed_generator)
        else:
            weights_dropped = weights
        return torch.matmul(weights_dropped, value), weights_dropped

    def call(self, inputs, mask=None, training=None, return_attention_scores=False, use_causal_mask=False):
        self._validate_inputs(inputs, mask)
        q = inputs[0]
        v = au.as_tensor(inputs[1], q)
        k = au.as_tensor(inputs[2], q) if len(inputs) > 2 else v
        q_mask = mask[0] if mask else None
        v_mask = mask[1] if mask else None
        scores = self._calculate_scores(q, k)
        scores_mask = None if v_mask is None else au._bool(v_mask, q.device).unsqueeze(-2)
        if use_causal_mask:
            causal = au.causal_mask(scores.shape[-2], scores.shape[-1], q.device)
            scores_mask = causal if scores_mask is None else scores_mask & causal
        result, attention_scores = self._apply_scores(scores, v, scores_mask, training)
        if q_mask is not None:
            result = result * au._bool(q_mask, q.device).unsqueeze(-1).to(result.dtype)
        return (result, attention_scores) if return_attention_scores else result

    def compute_mask(self, inputs, mask=None):
        self._validate_inputs(inputs, mask)
        if mask is None or mask[0] is None:
            return None
        return mask[0]

    def compute_output_shape(self, input_shape):
        self._validate_inputs(input_shape)
        return (*tuple(input_shape[0])[:-1], tuple(input_shape[1])[-1])

    def _validate_inputs(self, inputs, mask=None):
        name = type(self).__name__
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(f"{name} layer '{self.name}' must be called on a list of inputs, namely [query, value] "
                             f"or [query, value, key]. Received: inputs of type {type(inputs).__name__}.")
        if not 2 <= len(inputs) <= 3:
            raise ValueError(f"{name} layer '{self.name}' accepts inputs list of length 2 or 3, namely "
                             f"[query, value] or [query, value, key]. Received length: {len(inputs)}.")
        if mask is not None:
            if not isinstance(mask, (list, tuple)):
                raise ValueError(f"{name} layer '{self.name}' mask must be a list, namely [query_mask, value_mask]. "
                                 f"Received: mask of type {type(mask).__name__}.")
            if not 2 <= len(mask) <= 3:
                raise ValueError(f"{name} layer '{self.name}' accepts mask list of length 2 or 3. "
                                 f"Received length: {len(mask)}.")

    def get_config(self):
        return {**super().get_config(), "use_scale": self.use_scale, "score_mode": self.score_mode,
                "dropout": self.dropout, "seed": self.seed}


class AdditiveAttention(Attention):
    """Additive attention layer, a.k.a. Bahdanau-style attention.

    Scores are ``sum(scale * tanh(query + key), axis=-1)`` with a learned ``scale`` of
    shape ``(dim,)`` (glorot-uniform initialised) when ``use_scale=True``.

    Args:
        use_scale: learn the per-feature ``scale`` (default ``True``).
        dropout: dropout rate on the attention probabilities (training only).

    Call arguments: as `Attention`.
    """

    def __init__(self, use_scale=True, dropout=0.0, seed=None, **kwargs):
        super().__init__(use_scale=use_scale, dropout=dropout, seed=seed, **kwargs)

    def build(self, input_shape):
        self._validate_inputs(input_shape)
        if self.use_scale:
            self.scale = self.add_weight(name="scale", shape=(input_shape[0][-1],), initializer="glorot_uniform",
                                         dtype=self.dtype)

    def _calculate_scores(self, query, key):
        summed = torch.tanh(query.unsqueeze(-2) + key.unsqueeze(-3))
        if self.use_scale:
            summed = self.scale.value * summed
        return summed.sum(dim=-1)

    def get_config(self):
        config = super().get_config()
        del config["score_mode"]
        return config
