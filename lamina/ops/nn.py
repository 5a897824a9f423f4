"""Neural-network ops (Keras 3 ``keras.ops.nn``): activations, encodings, losses, normalization, attention.

Activations are the functions of `lamina.activations` (``gelu`` here defaults to
the tanh approximation, as ``keras.ops.gelu`` does). Convolution and pooling are in
`lamina.ops.conv`.

>>> one_hot([0, 2], 3).tolist()
[[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
>>> [round(t.item(), 4) for t in moments([1.0, 2.0, 3.0], axes=0)]
[2.0, 0.6667]
"""

import math

import torch
import torch.nn.functional as F

from lamina import activations
from lamina.backend import config
from lamina.backend.dtypes import to_torch_dtype
from lamina.ops._utils import axes as _axes
from lamina.ops._utils import floating, floatx, tensor

celu = activations.celu
elu = activations.elu
glu = activations.glu
hard_shrink = activations.hard_shrink
hard_sigmoid = activations.hard_sigmoid
hard_silu = activations.hard_silu
hard_swish = activations.hard_silu
hard_tanh = activations.hard_tanh
leaky_relu = activations.leaky_relu
log_sigmoid = activations.log_sigmoid
log_softmax = activations.log_softmax
relu = activations.relu
relu6 = activations.relu6
selu = activations.selu
sigmoid = activations.sigmoid
silu = activations.silu
swish = activations.silu
soft_shrink = activations.soft_shrink
softmax = activations.softmax
softplus = activations.softplus
softsign = activations.softsign
sparse_plus = activations.sparse_plus
sparse_sigmoid = activations.sparse_sigmoid
sparsemax = activations.sparsemax
squareplus = activations.squareplus
tanh_shrink = activations.tanh_shrink
threshold = activations.threshold


def gelu(x, approximate=True):
    """GELU; ``keras.ops.gelu`` defaults to the tanh approximation (``approximate=True``)."""
    return activations.gelu(x, approximate=approximate)


# ---- encodings ----------------------------------------------------------------------------------

def one_hot(x, num_classes, axis=-1, dtype=None, sparse=False):
    """One-hot encodes integer ``x`` along a new ``axis``; out-of-range values give all-zero vectors."""
    if sparse:
        raise ValueError("Sparse one-hot tensors are not supported by lamina (torch). Received: sparse=True")
    x = tensor(x)
    if x.is_floating_point():
        x = x.long()
    num_classes = int(num_classes)
    valid = (x >= 0) & (x < num_classes)
    index = torch.where(valid, x.long(), torch.full_like(x, num_classes, dtype=torch.long))
    out = F.one_hot(index, num_classes + 1)[..., :num_classes]
    out = out.to(floatx() if dtype is None else to_torch_dtype(dtype))
    return out if axis == -1 else torch.movedim(out, -1, axis)


def multi_hot(inputs, num_classes=None, axis=-1, dtype=None, sparse=False, **kwargs):
    """Multi-hot encodes each row of integer ``inputs`` (the whole input if it is 1-D)."""
    if num_classes is None:
        num_classes = kwargs.pop("num_tokens", None)
    if num_classes is None:
        raise ValueError("`num_classes` must be given. Received: num_classes=None")
    inputs = tensor(inputs)
    reduction_axis = 1 if inputs.dim() > 1 else 0
    encoded = one_hot(inputs, num_classes, axis=axis, dtype=dtype, sparse=sparse)
    return torch.amax(encoded, dim=reduction_axis)


# ---- losses -------------------------------------------------------------------------------------

def _same_shape(target, output):
    target, output = tensor(target), floating(output)
    target = target.to(device=output.device, dtype=output.dtype)
    if target.shape != output.shape:
        raise ValueError(
            "Arguments `target` and `output` must have the same shape. "
            f"Received: target.shape={tuple(target.shape)}, output.shape={tuple(output.shape)}"
        )
    return target, output


def binary_crossentropy(target, output, from_logits=False):
    """Elementwise binary crossentropy; probabilities are clipped to ``[epsilon, 1 - epsilon]``."""
    target, output = _same_shape(target, output)
    if from_logits:
        return F.binary_cross_entropy_with_logits(output, target, reduction="none")
    eps = config.epsilon()
    output = torch.clamp(output, eps, 1.0 - eps)
    return -(target * torch.log(output) + (1.0 - target) * torch.log(1.0 - output))


def _log_probabilities(output, from_logits, axis):
    if from_logits:
        return F.log_softmax(output, dim=axis)
    eps = config.epsilon()
    output = output / torch.sum(output, dim=axis, keepdim=True)
    return torch.log(torch.clamp(output, eps, 1.0 - eps))


def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """Crossentropy between one-hot (or soft) ``target`` and ``output`` along ``axis``.

    Probabilities are renormalized to sum to one and clipped to ``[epsilon, 1 - epsilon]``.
    """
    target, output = _same_shape(target, output)
    if output.dim() < 1:
        raise ValueError("Arguments `target` and `output` must be at least rank 1. Received: output.shape=()")
    return -torch.sum(target * _log_probabilities(output, from_logits, axis), dim=axis)


def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """Crossentropy between integer class ``target`` and ``output`` (classes on the last axis)."""
    output = floating(output)
    if axis not in (-1, output.dim() - 1):
        raise ValueError(f"Only axis=-1 is currently supported. Received: axis={axis}")
    target = tensor(target).to(output.device)
    if target.dim() == output.dim() and target.shape[-1] == 1:
        target = target.squeeze(-1)
    if output.dim() < 1 or tuple(target.shape) != tuple(output.shape[:-1]):
        raise ValueError(
            "Arguments `target` and `output` must have the same shape up until the last dimension. "
            f"Received: target.shape={tuple(target.shape)}, output.shape={tuple(output.shape)}"
        )
    log_prob = _log_probabilities(output, from_logits, -1)
    encoded = one_hot(target.long(), output.shape[-1], dtype=output.dtype)
    return -torch.sum(encoded * log_prob, dim=-1)


def ctc_loss(target, output, target_length, output_length, mask_index=0):
    """CTC loss per batch item; ``output`` holds logits ``(batch, time, classes)``, ``mask_index`` the blank."""
    output = floating(output)
    log_probs = F.log_softmax(output, dim=-1).transpose(0, 1)
    target = tensor(target).to(output.device).long()
    lengths = [tensor(v).to(output.device).long() for v in (output_length, target_length)]
    return F.ctc_loss(log_probs, target, lengths[0], lengths[1], blank=mask_index, reduction="none",
                      zero_infinity=False)


# ---- normalization ------------------------------------------------------------------------------

def moments(x, axes, keepdims=False, synchronized=False):
    """``(mean, variance)`` of ``x`` over ``axes`` (population variance); half floats use float32 inside."""
    x = floating(x)
    dims = _axes(axes, x.dim())
    compute = x.float() if x.dtype in (torch.float16, torch.bfloat16) else x
    variance, mean = torch.var_mean(compute, dim=dims, correction=0, keepdim=keepdims)
    return mean.to(x.dtype), variance.to(x.dtype)


def batch_normalization(x, mean, variance, axis, offset=None, scale=None, epsilon=1e-3):
    """``(x - mean) / sqrt(variance + epsilon) * scale + offset``; the 1-D statistics lie along ``axis``."""
    x = floating(x)
    shape = [1] * x.dim()
    shape[axis] = x.shape[axis]

    def stat(value):
        return None if value is None else tensor(value).to(device=x.device, dtype=x.dtype).reshape(shape)

    mean, variance, offset, scale = stat(mean), stat(variance), stat(offset), stat(scale)
    inv = torch.rsqrt(variance + epsilon)
    if scale is not None:
        inv = inv * scale
    out = (x - mean) * inv
    return out if offset is None else out + offset


def normalize(x, axis=-1, order=2, epsilon=None):
    """``x`` divided by its ``order``-norm along ``axis`` (norms below ``epsilon`` count as ``epsilon``)."""
    if not isinstance(order, int) or order < 1:
        raise ValueError(f"Argument `order` must be an int >= 1. Received: order={order!r}")
    x = floating(x)
    if x.dim() == 0:
        x = x.unsqueeze(0)
    epsilon = config.epsilon() if epsilon is None else epsilon
    if order == 2:
        inv_norm = torch.rsqrt(torch.sum(torch.square(x), dim=axis, keepdim=True))
        return x * torch.clamp(inv_norm, max=1.0 / epsilon)
    norm = torch.linalg.vector_norm(x, ord=order, dim=axis, keepdim=True)
    return x / torch.clamp(norm, min=epsilon)


# ---- attention ----------------------------------------------------------------------------------

def dot_product_attention(query, key, value, bias=None, mask=None, scale=None, is_causal=False,
                          flash_attention=None, attn_logits_soft_cap=None):
    """Scaled dot-product attention on ``(batch, seq, heads, head_dim)`` tensors.

    ``key``/``value`` may have fewer heads than ``query`` (grouped-query attention).
    ``bias`` is added to the logits, boolean ``mask`` (broadcast to ``(batch, heads, q, k)``)
    keeps the ``True`` positions, ``is_causal`` masks the future. ``scale`` defaults to
    ``1 / sqrt(head_dim)``.
    """
    query = floating(query)
    key, value = (floating(t).to(device=query.device, dtype=query.dtype) for t in (key, value))
    if query.dim() != 4 or key.dim() != 4 or value.dim() != 4:
        raise ValueError(
            "`query`, `key` and `value` must have rank 4 (batch, seq, heads, head_dim). Received: "
            f"query.shape={tuple(query.shape)}, key.shape={tuple(key.shape)}, value.shape={tuple(value.shape)}"
        )
    heads, kv_heads = query.shape[2], key.shape[2]
    if heads % kv_heads:
        raise ValueError(f"The query heads ({heads}) must be a multiple of the key heads ({kv_heads}).")
    q, k, v = (t.transpose(1, 2) for t in (query, key, value))
    if kv_heads != heads:
        k, v = (t.repeat_interleave(heads // kv_heads, dim=1) for t in (k, v))
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else float(scale)
    logits = torch.matmul(q, k.transpose(-1, -2)) * scale
    if attn_logits_soft_cap is not None:
        logits = attn_logits_soft_cap * torch.tanh(logits / attn_logits_soft_cap)
    if bias is not None:
        logits = logits + tensor(bias).to(device=logits.device, dtype=logits.dtype)
    keep = None
    if mask is not None:
        keep = tensor(mask).to(device=logits.device, dtype=torch.bool)
    if is_causal:
        q_len, k_len = logits.shape[-2:]
        causal = torch.ones(q_len, k_len, dtype=torch.bool, device=logits.device).tril()
        keep = causal if keep is None else keep & causal
    if keep is not None:
        logits = logits.masked_fill(~keep, torch.finfo(logits.dtype).min)
    weights = torch.softmax(logits, dim=-1)
    return torch.matmul(weights, v).transpose(1, 2)
