"""`MultiHeadAttention` (Keras 3): EinsumDense projections around scaled dot-product attention.

The four projections are `EinsumDense` sublayers named ``query``, ``key``, ``value``
and ``attention_output`` (attributes ``_query_dense`` … ``_output_dense``), with
Keras weight shapes: q/k/v kernels ``(dim, num_heads, head_dim)``, biases
``(num_heads, head_dim)``, output kernel ``(num_heads, value_dim, out_dim)``.

The attention itself runs on ``torch.nn.functional.scaled_dot_product_attention``
whenever it can (rank-3 inputs, no attention scores requested); otherwise an explicit
einsum + masked softmax path runs. ``layer._last_path`` records which (``"sdpa"`` or
``"einsum"``).

>>> import torch
>>> mha = MultiHeadAttention(num_heads=2, key_dim=3)
>>> mha(torch.ones(1, 4, 5), torch.ones(1, 6, 5)).shape
torch.Size([1, 4, 5])
>>> [tuple(w.shape) for w in mha.weights][:2], mha._last_path
([(5, 2, 3), (2, 3)], 'sdpa')
"""

import math

import torch
import torch.nn.functional as F

from lamina import constraints, initializers, regularizers
from lamina.backend import random
from lamina.engine.keras_tensor import KerasTensor
from lamina.engine.layer import Layer
from lamina.layers import attention_utils as au
from lamina.layers.einsum_dense import EinsumDense


def _ser(module, obj):
    return None if obj is None else module.serialize(obj)


def _clone(initializer):
    return type(initializer).from_config(initializer.get_config())


def _unpack(query, value, key):
    """Accepts ``layer([query, value(, key)])`` as well as ``layer(query, value, key)``."""
    if value is None and isinstance(query, (list, tuple)) and len(query) in (2, 3):
        query, value, key = (list(query) + [None])[:3]
    return query, value, key


def _call(dense, x, bound_dims):
    return dense(x)


def _linear(dense, x, bound_dims):
    """``dense(x)`` for a projection contracting the last ``bound_dims`` axes, as one ``F.linear``
    (the same math as the EinsumDense equation, on torch's fused matmul + bias kernel)."""
    kernel = dense.kernel.value
    dtype = x.dtype
    if kernel.dtype != dtype:
        kernel = kernel.to(dtype)
    out_shape = kernel.shape[bound_dims:]
    weight = kernel.reshape(-1, out_shape.numel()).t()
    bias = None
    if dense.bias is not None:
        bias = dense.bias.value.reshape(-1)
        if bias.dtype != dtype:
            bias = bias.to(dtype)
    if bound_dims > 1:  # (B, T, heads, dim) -> (B, T, heads * dim); one bound axis needs no reshape
        x = x.flatten(-bound_dims)
    out = F.linear(x, weight, bias)
    return out.unflatten(-1, out_shape) if len(out_shape) > 1 else out


class MultiHeadAttention(Layer):
    """Multi-head attention (Vaswani et al., 2017) with Keras 3 arguments and weights.

    Args:
        num_heads: number of attention heads.
        key_dim: size of each head for query and key.
        value_dim: size of each head for value (``key_dim`` when ``None``).
        dropout: dropout rate on the attention probabilities (training only).
        use_bias: whether the projections have biases.
        output_shape: the output's trailing shape (an int or tuple); defaults to the
            query's last dimension.
        attention_axes: the axes attention runs over (``None``: all but batch, heads and features).
        flash_attention: ``True`` requires the fused kernel (no dropout, no returned scores).
        kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
        activity_regularizer, kernel_constraint, bias_constraint: for the projections.
        seed: int seed of the dropout.
        use_gate, sliding_window: Keras 3 options lamina does not implement; accepted at
            their off values (``False``, ``None``), refused otherwise.

    Call arguments:
        query: ``(B, T, dim)``; value: ``(B, S, dim)``; key: ``(B, S, dim)`` (``value`` if ``None``).
        query_mask, value_mask, key_mask: ``(B, T)`` / ``(B, S)`` booleans; default to
            the inputs' ``_keras_mask``.
        attention_mask: boolean ``(B, T, S)`` (``True`` attends), broadcast over heads.
        return_attention_scores: also return the ``(B, heads, T, S)`` probabilities.
        training: dropout only when true.
        use_causal_mask: position ``i`` attends only to positions ``<= i``.
    """

    supports_masking = True

    def __init__(self, num_heads, key_dim, value_dim=None, dropout=0.0, use_bias=True, output_shape=None,
                 attention_axes=None, flash_attention=None, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, seed=None, use_gate=False, sliding_window=None,
                 **kwargs):
        super().__init__(**kwargs)
        name = type(self).__name__
        au.refuse_keras3_extras(self, use_gate, sliding_window)
        self._num_heads = au.positive_int(num_heads, "num_heads", name)
        self._key_dim = au.positive_int(key_dim, "key_dim", name)
        self._value_dim = au.positive_int(value_dim, "value_dim", name) if value_dim else self._key_dim
        self._dropout = au.check_rate(dropout, "dropout", name)
        self._use_bias = bool(use_bias)
        if output_shape:
            if isinstance(output_shape, int):
                output_shape = (output_shape,)
            if not isinstance(output_shape, (list, tuple)):
                raise ValueError(f"Invalid `output_shape` of {name}: it should be a tuple, list or int. "
                                 f"Received: output_shape={output_shape!r}")
            output_shape = tuple(output_shape)
        self._output_shape = output_shape or None
        if isinstance(attention_axes, int):
            attention_axes = (attention_axes,)
        elif attention_axes is not None and not isinstance(attention_axes, (list, tuple)):
            raise ValueError(f"`attention_axes` of {name} must be an int, list, or tuple. "
                             f"Received: attention_axes={attention_axes!r}")
        self._attention_axes = None if attention_axes is None else tuple(attention_axes)
        self._flash_attention = bool(flash_attention)
        if self._flash_attention and self._dropout > 0:
            raise ValueError("Dropout is not supported when flash attention is enabled. "
                             f"Please set dropout to 0.0 to use flash attention. Received: dropout={dropout}")
        self._kernel_initializer = initializers.get(kernel_initializer)
        self._bias_initializer = initializers.get(bias_initializer)
        self._kernel_regularizer = regularizers.get(kernel_regularizer)
        self._bias_regularizer = regularizers.get(bias_regularizer)
        self._activity_regularizer = regularizers.get(activity_regularizer)
        self._kernel_constraint = constraints.get(kernel_constraint)
        self._bias_constraint = constraints.get(bias_constraint)
        self.seed = seed
        self._seed_generator = random.SeedGenerator(seed) if seed is not None else None
        self._inverse_sqrt_key_dim = 1.0 / math.sqrt(float(self._key_dim))
        self._query_dense = self._key_dense = self._value_dense = self._output_dense = None
        self._shapes_dict = None
        self._last_path = None

    num_heads = property(lambda self: self._num_heads)
    key_dim = property(lambda self: self._key_dim)
    value_dim = property(lambda self: self._value_dim)
    dropout = property(lambda self: self._dropout)
    use_bias = property(lambda self: self._use_bias)
    attention_axes = property(lambda self: self._attention_axes)
    query_dense = property(lambda self: self._query_dense)
    key_dense = property(lambda self: self._key_dense)
    value_dense = property(lambda self: self._value_dense)
    output_dense = property(lambda self: self._output_dense)

    def __repr__(self):
        return (f"<{type(self).__name__} name={self.name}, num_heads={self._num_heads}, key_dim={self._key_dim}, "
                f"built={self.built}>")

    # ---- building --------------------------------------------------------------------------------
    def _sublayer_kwargs(self):
        return dict(kernel_initializer=_clone(self._kernel_initializer),
                    bias_initializer=_clone(self._bias_initializer), kernel_regularizer=self._kernel_regularizer,
                    bias_regularizer=self._bias_regularizer, activity_regularizer=self._activity_regularizer,
                    kernel_constraint=self._kernel_constraint, bias_constraint=self._bias_constraint,
                    dtype=self.dtype_policy)

    def _projection(self, rank, bound_dims, output_shape, name):
        equation, bias_axes, output_rank = au.projection_equation(rank - 1, bound_dims, len(output_shape))
        full = [None] * (output_rank - 1 - len(output_shape)) + list(output_shape)
        return EinsumDense(equation, output_shape=full, bias_axes=bias_axes if self._use_bias else None, name=name,
                           **self._sublayer_kwargs())

    def _own(self, sublayer, shape):
        sublayer.build(shape)
        for variable in sublayer.weights:
            variable.path = f"{self.name}/{sublayer.name}/{variable.name}"
        return sublayer

    def build(self, query_shape, value_shape=None, key_shape=None):
        """Creates the four projections for inputs of these shapes (a list of shapes is accepted too)."""
        if value_shape is None and query_shape and isinstance(query_shape[0], (list, tuple)):
            query_shape, value_shape, key_shape = (list(query_shape) + [None])[:3]
        if value_shape is None:
            return  # called with the query shape only: built on the first call, when all shapes are known
        query_shape, value_shape = tuple(query_shape), tuple(value_shape)
        self._shapes_dict = {"query_shape": query_shape, "value_shape": value_shape}
        if key_shape is not None:
            self._shapes_dict["key_shape"] = tuple(key_shape)
        key_shape = value_shape if key_shape is None else tuple(key_shape)
        if value_shape[1:-1] != key_shape[1:-1]:
            raise ValueError(
                f"All dimensions of `value` and `key`, except the last one, must be equal. Layer '{self.name}' "
                f"received: value_shape={value_shape} and key_shape={key_shape}"
            )
        heads = self._num_heads
        self._query_dense = self._own(self._projection(len(query_shape), 1, (heads, self._key_dim), "query"),
                                      query_shape)
        self._key_dense = self._own(self._projection(len(key_shape), 1, (heads, self._key_dim), "key"), key_shape)
        self._value_dense = self._own(self._projection(len(value_shape), 1, (heads, self._value_dim), "value"),
                                      value_shape)
        rank = len(query_shape) + 1
        if self._attention_axes is None:
            self._attention_axes = tuple(range(1, rank - 2))
        else:  # negative axes count from the end of the (unprojected) input, as in Keras
            self._attention_axes = tuple(a if a >= 0 else (rank - 1) + a for a in self._attention_axes)
        self._dot_product_equation, self._combine_equation, scores_rank = au.attention_equations(
            rank, self._attention_axes)
        self._norm_axes = tuple(range(scores_rank - len(self._attention_axes), scores_rank))
        out_shape = self._output_shape or (query_shape[-1],)
        self._output_dense = self._projection(len(query_shape), 2, out_shape, "attention_output")
        projected = list(self._query_dense.compute_output_shape(query_shape))
        projected[-1] = self._value_dim
        self._own(self._output_dense, tuple(projected))

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

    # ---- calling -----------------------------------------------------------------------------------
    def call(self, query, value=None, key=None, query_mask=None, value_mask=None, key_mask=None, attention_mask=None,
             return_attention_scores=False, training=None, use_causal_mask=False):
        query, value, key = _unpack(query, value, key)
        if value is None:
            raise ValueError(f"Layer '{self.name}' (MultiHeadAttention) needs a `value` tensor. Received: value=None")
        value = au.as_tensor(value, query)
        key = au.as_tensor(key, query)
        query_mask = query_mask if query_mask is not None else getattr(query, "_keras_mask", None)
        value_mask = value_mask if value_mask is not None else getattr(value, "_keras_mask", None)
        if key_mask is None and key is not None:
            key_mask = getattr(key, "_keras_mask", None)
        if self._query_dense is None:
            self.build(tuple(query.shape), tuple(value.shape), None if key is None else tuple(key.shape))
        if key is None:
            key = value
        mask = au.compute_attention_mask(query, value, query_mask, value_mask, key_mask, attention_mask,
                                         use_causal_mask)
        fast = self._activity_regularizer is None and query.dim() == 3 and key.dim() == 3 and value.dim() == 3
        project = _linear if fast else _call
        q = project(self._query_dense, query, 1)
        k = project(self._key_dense, key, 1)
        v = project(self._value_dense, value, 1)
        output, scores = self._compute_attention(q, k, v, mask, training, return_attention_scores)
        output = project(self._output_dense, output, 2)
        return (output, scores) if return_attention_scores else output

    def _compute_attention(self, query, key, value, attention_mask=None, training=None,
                           return_attention_scores=False):
        """Attention over projected ``(B, T, N, H)`` tensors; returns ``(output, scores or None)``."""
        if self._flash_attention and return_attention_scores:
            raise ValueError(f"Layer '{self.name}': returning attention scores is not supported when flash attention "
                             "is enabled. Please disable flash attention to access attention scores.")
        dropout = self._dropout if training and self._dropout > 0 else 0.0
        if not return_attention_scores and query.dim() == 4 and (dropout == 0 or self._seed_generator is None):
            self._last_path = "sdpa"
            return self._sdpa(query, key, value, attention_mask, dropout), None
        self._last_path = "einsum"
        query = query * self._inverse_sqrt_key_dim
        scores = torch.einsum(self._dot_product_equation, key, query)
        if attention_mask is not None:
            attention_mask = au.expand_mask(attention_mask, scores.dim(), len(self._attention_axes))
        scores = au.masked_softmax(scores, attention_mask, self._norm_axes)
        dropped = random.dropout(scores, dropout, seed=self._seed_generator) if dropout else scores
        return torch.einsum(self._combine_equation, dropped, value), scores

    def _sdpa(self, query, key, value, mask, dropout):
        q, k, v = query.transpose(1, 2), key.transpose(1, 2), value.transpose(1, 2)
        if mask is not None:
            mask = au.expand_mask(mask, 4, 1)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout,
                                             scale=self._inverse_sqrt_key_dim)
        return out.transpose(1, 2)

    # ---- shapes, masks, config -----------------------------------------------------------------------
    def compute_output_shape(self, query_shape, value_shape=None, key_shape=None):
        if value_shape is None and query_shape and isinstance(query_shape[0], (list, tuple)):
            query_shape, value_shape, key_shape = (list(query_shape) + [None])[:3]
        query_shape = tuple(query_shape)
        if value_shape is not None and key_shape is not None and tuple(value_shape)[1:-1] != tuple(key_shape)[1:-1]:
            raise ValueError(
                f"All dimensions of `value` and `key`, except the last one, must be equal. Layer '{self.name}' "
                f"received: value_shape={tuple(value_shape)} and key_shape={tuple(key_shape)}"
            )
        return query_shape[:-1] + self._output_shape if self._output_shape else query_shape

    def compute_output_spec(self, query, value=None, key=None, return_attention_scores=False, **kwargs):
        query, value, key = _unpack(query, value, key)
        output = KerasTensor(self.compute_output_shape(query.shape, value.shape, None if key is None else key.shape),
                             self.compute_dtype)
        if not return_attention_scores:
            return output
        rank = len(query.shape) + 1
        axes = self._attention_axes or tuple(range(1, rank - 2))
        axes = tuple(a if a >= 0 else (rank - 1) + a for a in axes)
        batch = [query.shape[i] for i in range(rank - 2) if i not in axes]
        scores = batch + [self._num_heads] + [query.shape[a] for a in axes] + [value.shape[a] for a in axes]
        return output, KerasTensor(tuple(scores), self.compute_dtype)

    def compute_mask(self, inputs, mask=None):
        """The output carries the query's mask."""
        return mask[0] if isinstance(mask, (list, tuple)) else mask

    @classmethod
    def from_config(cls, config):
        """Also reads tf.keras 2 configs, which carry the input shapes to build from."""
        config = dict(config)
        shapes = [config.pop(key, None) for key in ("query_shape", "value_shape", "key_shape")]
        config.pop("softmax_robust_masking", None)  # lamina's masking is the robust one already
        layer = super().from_config(config)
        if shapes[0] is not None and shapes[1] is not None:
            layer.build(*shapes)
        return layer

    def get_config(self):
        return {
            **super().get_config(),
            "num_heads": self._num_heads,
            "key_dim": self._key_dim,
            "value_dim": self._value_dim,
            "dropout": self._dropout,
            "use_bias": self._use_bias,
            "use_gate": False,
            "output_shape": self._output_shape,
            "attention_axes": self._attention_axes,
            "sliding_window": None,
            "kernel_initializer": _ser(initializers, self._kernel_initializer),
            "bias_initializer": _ser(initializers, self._bias_initializer),
            "kernel_regularizer": _ser(regularizers, self._kernel_regularizer),
            "bias_regularizer": _ser(regularizers, self._bias_regularizer),
            "activity_regularizer": _ser(regularizers, self._activity_regularizer),
            "kernel_constraint": _ser(constraints, self._kernel_constraint),
            "bias_constraint": _ser(constraints, self._bias_constraint),
            "seed": self.seed,
        }
