"""Shared pieces of the attention layers: argument checks, masks, masked softmax, einsum equations.

Masks follow Keras 3: ``True`` means "may attend". The query mask ``(B, T)`` becomes
``(B, T, 1)``, value and key masks ``(B, S)`` become ``(B, 1, S)``, the causal mask
is a lower-triangular ``(1, T, S)``; all are combined with ``&`` and with the
user's ``attention_mask``.

>>> import torch
>>> compute_attention_mask(torch.zeros(1, 3, 2), torch.zeros(1, 3, 2), use_causal_mask=True).int().tolist()
[[[1, 0, 0], [1, 1, 0], [1, 1, 1]]]
"""

import string

import numpy as np
import torch


def positive_int(value, name, layer):
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value > 0:
        return int(value)
    raise ValueError(f"The `{name}` argument of {layer} must be a positive integer. Received: {name}={value!r}")


def refuse_keras3_extras(layer, use_gate, sliding_window):
    """Keras 3.15's gated and sliding-window attention: accepted at their off values only."""
    for option, value in (("use_gate", use_gate or None), ("sliding_window", sliding_window)):
        if value is not None:
            raise ValueError(f"{type(layer).__name__} '{layer.name}' in lamina does not support `{option}` yet. "
                             f"Received: {option}={value!r}")


def check_rate(value, name, layer):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise ValueError(f"The `{name}` argument of {layer} must be a float in [0, 1). Received: {name}={value!r}")
    return value


def as_tensor(x, like):
    """``x`` (tensor or array) as a tensor on ``like``'s device, floats in ``like``'s dtype."""
    if x is None:
        return None
    t = x if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x))
    if t.is_floating_point() and t.dtype != like.dtype:
        t = t.to(like.dtype)
    return t.to(like.device) if t.device != like.device else t


def _bool(mask, device):
    mask = torch.as_tensor(mask) if not isinstance(mask, torch.Tensor) else mask
    return mask.to(device=device, dtype=torch.bool)


def causal_mask(q_len, v_len, device):
    """``(1, q_len, v_len)``: position ``i`` may attend to positions ``j <= i``."""
    return torch.ones(q_len, v_len, dtype=torch.bool, device=device).tril().unsqueeze(0)


def compute_attention_mask(query, value, query_mask=None, value_mask=None, key_mask=None, attention_mask=None,
                           use_causal_mask=False):
    """The combined boolean ``(B, T, S)``-broadcastable mask, or ``None`` when nothing is masked."""
    device = query.device
    auto = None
    if query_mask is not None:
        auto = _bool(query_mask, device).unsqueeze(-1)
    for mask in (value_mask, key_mask):
        if mask is not None:
            mask = _bool(mask, device).unsqueeze(-2)
            auto = mask if auto is None else auto & mask
    if use_causal_mask:
        mask = causal_mask(query.shape[1], value.shape[1], device)
        auto = mask if auto is None else auto & mask
    if attention_mask is not None:
        attention_mask = _bool(attention_mask, device)
        return attention_mask if auto is None else attention_mask & auto
    return auto


def large_negative(dtype):
    """The additive logit for masked positions (Keras: -3e4 in float16, -1e9 otherwise)."""
    return -3e4 if dtype == torch.float16 else -1e9


def masked_softmax(scores, mask, axes):
    """Keras 3 ``Softmax(axis=axes)(scores, mask)``: masked logits get -1e9, masked outputs are 0."""
    if mask is not None:
        scores = scores + (~mask).to(scores.dtype) * large_negative(scores.dtype)
    if len(axes) == 1:
        out = torch.softmax(scores, dim=axes[0])
    else:
        out = torch.exp(scores - torch.logsumexp(scores, dim=axes, keepdim=True))
    return out if mask is None else out * mask.to(out.dtype)


def expand_mask(mask, rank, num_attention_axes):
    """Inserts the missing leading axes (heads, non-attention axes) in front of the attention axes."""
    axis = -num_attention_axes * 2 - 1
    while mask.dim() < rank:
        mask = mask.unsqueeze(axis)
    return mask


def projection_equation(free_dims, bound_dims, output_dims):
    """``(equation, bias_axes, output_rank)`` of a projection: free axes kept, bound axes contracted."""
    letters = string.ascii_lowercase
    free = letters[:free_dims]
    bound = letters[free_dims:free_dims + bound_dims]
    out = letters[free_dims + bound_dims:free_dims + bound_dims + output_dims]
    return f"{free}{bound},{bound}{out}->{free}{out}", out, free_dims + output_dims


def attention_equations(rank, attention_axes):
    """Einsum equations ``(key, query) -> scores`` and ``(scores, value) -> output`` for projected rank ``rank``.

    Projected tensors are ``(batch, <non-attention axes>, <attention axes>, heads, channels)``;
    scores are ``(<batch axes incl. heads>, <query attention axes>, <key attention axes>)``.
    """
    letters = string.ascii_lowercase
    target = letters[:rank]
    batch_axes = [i for i in range(rank) if i not in attention_axes and i != rank - 1]
    source = list(target)
    extra = iter(letters[rank:])
    for i in attention_axes:
        source[i] = next(extra)
    source = "".join(source)
    product = "".join([target[i] for i in batch_axes] + [target[i] for i in attention_axes]
                      + [source[i] for i in attention_axes])
    return f"{source},{target}->{product}", f"{product},{source}->{target}", len(product)
