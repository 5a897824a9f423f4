"""`GroupQueryAttention` (Keras 3 ``GroupedQueryAttention``): fewer key/value heads than query heads.

Each of the ``num_key_value_heads`` key/value heads serves ``num_query_heads //
num_key_value_heads`` consecutive query heads (``num_key_value_heads=1`` is
multi-query attention). Projections are `EinsumDense` sublayers ``query``, ``key``,
``value``, ``attention_output`` as in Keras; the attention runs on
``scaled_dot_product_attention(enable_gqa=True)`` when no scores are requested.

>>> import torch
>>> gqa = GroupQueryAttention(head_dim=4, num_query_heads=4, num_key_value_heads=2)
>>> gqa(torch.ones(2, 3, 8), torch.ones(2, 5, 8)).shape
torch.Size([2, 3, 8])
>>> [tuple(w.shape) for w in gqa.weights[:4]]
[(8, 4, 4), (4, 4), (8, 2, 4), (2, 4)]
"""

import math

import torch
import torch.nn.functional as F

from lamina import constraints, initializers, regularizers
from lamina.backend import random
from lamina.engine.layer import Layer
from lamina.layers import attention_utils as au
from lamina.layers.einsum_dense import EinsumDense
from lamina.layers.multi_head_attention import _clone, _ser, _unpack


class GroupQueryAttention(Layer):
    """Grouped-query attention (Ainslie et al., 2023).

    Args:
        head_dim: size of each attention head.
        num_query_heads: number of query heads.
        num_key_value_heads: number of key/value heads; divides ``num_query_heads``.
        dropout: dropout rate on the attention probabilities (training only).
        use_bias: whether the projections have biases.
        flash_attention: ``True`` requires the fused kernel (no dropout, no returned scores).
        kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
        activity_regularizer, kernel_constraint, bias_constraint: for the projections.
        seed: int seed of the dropout.
        use_gate, sliding_window: Keras 3 options lamina does not implement; accepted at
            their off values (``False``, ``None``), refused otherwise.

    Call arguments: as `MultiHeadAttention` (``query``, ``value``, ``key``, masks,
    ``attention_mask``, ``return_attention_scores``, ``training``, ``use_causal_mask``);
    inputs have rank 3 and the output has the query's shape.
    """

    supports_masking = True
    _keras_python_name = "GroupedQueryAttention"  # Keras's class: names ``grouped_query_attention``

    def __init__(self, head_dim, num_query_heads, num_key_value_heads, dropout=0.0, use_bias=True,
                 flash_attention=None, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, seed=None, use_gate=False, sliding_window=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        name = type(self).__name__
        au.refuse_keras3_extras(self, use_gate, sliding_window)
        self.head_dim = au.positive_int(head_dim, "head_dim", name)
        self.num_query_heads = au.positive_int(num_query_heads, "num_query_heads", name)
        self.num_key_value_heads = au.positive_int(num_key_value_heads, "num_key_value_heads", name)
        if self.num_query_heads % self.num_key_value_heads:
            raise ValueError(f"`num_query_heads` must be divisible by `num_key_value_heads` in {name}. Received: "
                             f"num_query_heads={num_query_heads}, num_key_value_heads={num_key_value_heads}")
        self.num_repeats = self.num_query_heads // self.num_key_value_heads
        self.dropout = au.check_rate(dropout, "dropout", name)
        self.use_bias = bool(use_bias)
        self._flash_attention = bool(flash_attention)
        if self._flash_attention and self.dropout > 0:
            raise ValueError("Dropout is not supported when flash attention is enabled. "
                             f"Please set dropout to 0.0 to use flash attention. Received: dropout={dropout}")
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.seed = seed
        self._seed_generator = random.SeedGenerator(seed) if seed is not None else None
        self._inverse_sqrt_head_dim = 1.0 / math.sqrt(float(self.head_dim))
        self._query_dense = self._key_dense = self._value_dense = self._output_dense = None
        self._shapes_dict = None
        self._last_path = None

    def __repr__(self):
        return (f"<{type(self).__name__} name={self.name}, num_query_heads={self.num_query_heads}, "
                f"num_key_value_heads={self.num_key_value_heads}, built={self.built}>")

    def _dense(self, equation, output_shape, bias_axes, name, input_shape):
        layer = EinsumDense(
            equation, output_shape=output_shape, bias_axes=bias_axes if self.use_bias else None, name=name,
            kernel_initializer=_clone(self.kernel_initializer), bias_initializer=_clone(self.bias_initializer),
            kernel_regularizer=self.kernel_regularizer, bias_regularizer=self.bias_regularizer,
            activity_regularizer=self.activity_regularizer, kernel_constraint=self.kernel_constraint,
            bias_constraint=self.bias_constraint, dtype=self.dtype_policy)
        layer.build(input_shape)
        for variable in layer.weights:
            variable.path = f"{self.name}/{name}/{variable.name}"
        return layer

    def build(self, query_shape, value_shape=None, key_shape=None):
        """Creates the projections (a list of shapes is accepted as the first argument too)."""
        if value_shape is None and query_shape and isinstance(query_shape[0], (list, tuple)):
            query_shape, value_shape, key_shape = (list(query_shape) + [None])[:3]
        if value_shape is None:
            return  # built on the first call, when all shapes are known
        query_shape, value_shape = tuple(query_shape), tuple(value_shape)
        self._shapes_dict = {"query_shape": query_shape, "value_shape": value_shape}
        if key_shape is not None:
            self._shapes_dict["key_shape"] = tuple(key_shape)
        key_shape = value_shape if key_shape is None else tuple(key_shape)
        for shape, what in ((query_shape, "query"), (value_shape, "value"), (key_shape, "key")):
            if len(shape) != 3:
                raise ValueError(f"Layer '{self.name}' (GroupQueryAttention) expects rank-3 inputs "
                                 f"(batch, length, features). Received: {what}_shape={shape}")
        self.feature_dim = query_shape[-1]
        self._query_dense = self._dense("bqm,muh->bquh", (None, self.num_query_heads, self.head_dim), "uh", "query",
                                        query_shape)
        self._key_dense = self._dense("bkm,mvh->bkvh", (None, self.num_key_value_heads, self.head_dim), "vh", "key",
                                      key_shape)
        self._value_dense = self._dense("bkm,mvh->bkvh", (None, self.num_key_value_heads, self.head_dim), "vh",
                                        "value", value_shape)
        self._output_dense = self._dense("bquh,uhm->bqm", (None, self.feature_dim), "m", "attention_output",
                                         (None, None, self.num_query_heads, self.head_dim))

    def get_build_config(self):
        return None if self._shapes_dict is None else {"shapes_dict": dict(self._shapes_dict)}

    def build_from_config(self, config):
        if not config or self._query_dense is not None:
            return
        if "shapes_dict" in config:
            self.build(**{k: tuple(v) for k, v in config["shapes_dict"].items()})
        elif config.get("input_shape") is not None:
            self.build(config["input_shape"])
        self.built = True

    def call(self, query, value=None, key=None, query_mask=None, value_mask=None, key_mask=None, attention_mask=None,
             return_attention_scores=False, training=None, use_causal_mask=False):
        query, value, key = _unpack(query, value, key)
        if value is None:
            raise ValueError(f"Layer '{self.name}' (GroupQueryAttention) needs a `value` tensor. Received: value=None")
        value, key = au.as_tensor(value, query), au.as_tensor(key, query)
        query_mask = query_mask if query_mask is not None else getattr(query, "_keras_mask", None)
        value_mask = value_mask if value_mask is not None else getattr(value, "_keras_mask", None)
        if key_mask is None and key is not None:
            key_mask = getattr(key, "_keras_mask", None)
        if self._query_dense is None:
            self.build(tuple(query.shape), tuple(value.shape), None if key is None else tuple(key.shape))
        key = value if key is None else key
        mask = au.compute_attention_mask(query, value, query_mask, value_mask, key_mask, attention_mask,
                                         use_causal_mask)
        q, k, v = self._query_dense(query), self._key_dense(key), self._value_dense(value)
        if self._flash_attention and return_attention_scores:
            raise ValueError(f"Layer '{self.name}': returning attention scores is not supported when flash attention "
                             "is enabled. Please disable flash attention to access attention scores.")
        dropout = self.dropout if training and self.dropout > 0 else 0.0
        scores = None
        if not return_attention_scores and (dropout == 0 or self._seed_generator is None):
            self._last_path = "sdpa"
            m = None if mask is None else au.expand_mask(mask, 4, 1)
            out = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2),
                                                 attn_mask=m, dropout_p=dropout, scale=self._inverse_sqrt_head_dim,
                                                 enable_gqa=self.num_repeats > 1)
            out = out.transpose(1, 2)
        else:
            self._last_path = "einsum"
            k = k.repeat_interleave(self.num_repeats, dim=2)
            v = v.repeat_interleave(self.num_repeats, dim=2)
            scores = torch.einsum("bquh,bkuh->buqk", q * self._inverse_sqrt_head_dim, k)
            scores = au.masked_softmax(scores, None if mask is None else au.expand_mask(mask, 4, 1), (-1,))
            dropped = random.dropout(scores, dropout, seed=self._seed_generator) if dropout else scores
            out = torch.einsum("buqk,bkuh->bquh", dropped, v)
        out = self._output_dense(out)
        return (out, scores) if return_attention_scores else out

    def compute_output_shape(self, query_shape, value_shape=None, key_shape=None):
        if value_shape is None and query_shape and isinstance(query_shape[0], (list, tuple)):
            query_shape, value_shape, key_shape = (list(query_shape) + [None])[:3]
        query_shape = tuple(query_shape)
        if value_shape is not None:
            value_shape = tuple(value_shape)
            key_shape = value_shape if key_shape is None else tuple(key_shape)
            if query_shape[-1] != value_shape[-1]:
                raise ValueError(
                    f"The last dimension of `query_shape` and `value_shape` must be equal, but are "
                    f"{query_shape[-1]}, {value_shape[-1]}. Received: query_shape={query_shape}, "
                    f"value_shape={value_shape}")
            if value_shape[1:-1] != key_shape[1:-1]:
                raise ValueError(
                    f"All dimensions of `value` and `key`, except the last one, must be equal. Received: "
                    f"value_shape={value_shape} and key_shape={key_shape}")
        return query_shape

    def compute_mask(self, inputs, mask=None):
        """The output carries the query's mask."""
        return mask[0] if isinstance(mask, (list, tuple)) else mask

    def get_config(self):
        return {
            **{k: v for k, v in super().get_config().items() if k != "activity_regularizer"},
            "head_dim": self.head_dim,
            "num_query_heads": self.num_query_heads,
            "num_key_value_heads": self.num_key_value_heads,
            "use_bias": self.use_bias,
            "use_gate": False,
            "sliding_window": None,
            "dropout": self.dropout,
            "kernel_initializer": _ser(initializers, self.kernel_initializer),
            "bias_initializer": _ser(initializers, self.bias_initializer),
            "kernel_regularizer": _ser(regularizers, self.kernel_regularizer),
            "bias_regularizer": _ser(regularizers, self.bias_regularizer),
            "activity_regularizer": _ser(regularizers, self.activity_regularizer),
            "kernel_constraint": _ser(constraints, self.kernel_constraint),
            "bias_constraint": _ser(constraints, self.bias_constraint),
            "seed": self.seed,
        }
