"""Math ops (Keras 3 ``keras.ops.math``): top-k, logsumexp, segment reductions, special functions, FFTs.

>>> values, indices = top_k([1.0, 3.0, 2.0], k=2)
>>> values.tolist(), indices.tolist()
([3.0, 2.0], [1, 2])
>>> round(logsumexp([0.0, 0.0]).item(), 6)
0.693147
"""

import torch

from lamina.ops._utils import axes, floating, tensor


def top_k(x, k, sorted=True):  # noqa: A002 - Keras name
    """The ``k`` largest values along the last axis and their indices (int32)."""
    x = tensor(x)
    values, indices = torch.topk(x, int(k), dim=-1, largest=True, sorted=sorted)
    return values, indices.to(torch.int32)


def in_top_k(targets, predictions, k):
    """Whether each target class is among the ``k`` highest predictions of its row (ties count as in)."""
    predictions = tensor(predictions)
    targets = tensor(targets).to(predictions.device).long()
    target_scores = torch.gather(predictions, 1, targets.unsqueeze(1))
    higher = (predictions > target_scores).sum(dim=1)
    return (higher < k) & torch.isfinite(target_scores.squeeze(1))


def logsumexp(x, axis=None, keepdims=False):
    """``log(sum(exp(x)))`` over ``axis`` (all axes if ``None``), computed stably."""
    x = floating(x)
    dims = axes(axis, x.dim())
    return torch.logsumexp(x, dim=tuple(range(x.dim())) if dims is None else dims, keepdim=keepdims)


def _segment_args(data, segment_ids, num_segments):
    data = tensor(data)
    ids = tensor(segment_ids).to(data.device).long()
    if ids.dim() != 1 or ids.shape[0] != data.shape[0]:
        raise ValueError(
            "`segment_ids` must be 1-D with one id per row of `data`. "
            f"Received: data.shape={tuple(data.shape)}, segment_ids.shape={tuple(ids.shape)}"
        )
    if num_segments is None:
        num_segments = int(ids.max()) + 1 if ids.numel() else 0
    return data, ids, int(num_segments)


def _segment_reduce(data, segment_ids, num_segments, reduce):
    data, ids, num_segments = _segment_args(data, segment_ids, num_segments)
    valid = (ids >= 0) & (ids < num_segments)
    data, ids = data[valid], ids[valid]
    out = torch.zeros((num_segments, *data.shape[1:]), dtype=data.dtype, device=data.device)
    index = ids.reshape(-1, *([1] * (data.dim() - 1))).expand_as(data)
    return out.scatter_reduce(0, index, data, reduce=reduce, include_self=False)


def segment_sum(data, segment_ids, num_segments=None, sorted=False):  # noqa: A002 - Keras name
    """Sums rows of ``data`` sharing a segment id (ids outside ``[0, num_segments)`` are dropped).

    >>> segment_sum([1.0, 2.0, 3.0], [0, 0, 2]).tolist()
    [3.0, 0.0, 3.0]
    """
    return _segment_reduce(data, segment_ids, num_segments, "sum")


def segment_max(data, segment_ids, num_segments=None, sorted=False):  # noqa: A002 - Keras name
    """Maximum of the rows of ``data`` sharing a segment id; empty segments hold the dtype's lowest value."""
    data = tensor(data)
    out = _segment_reduce(data, segment_ids, num_segments, "amax")
    data_ids = tensor(segment_ids).to(out.device).long()
    present = torch.zeros(out.shape[0], dtype=torch.bool, device=out.device)
    present[data_ids[(data_ids >= 0) & (data_ids < out.shape[0])]] = True
    lowest = torch.finfo(out.dtype).min if out.is_floating_point() else torch.iinfo(out.dtype).min
    shape = (-1,) + (1,) * (out.dim() - 1)
    return torch.where(present.reshape(shape), out, torch.full_like(out, lowest))


def erf(x):
    """The error function."""
    return torch.erf(floating(x))


def erfinv(x):
    """The inverse error function."""
    return torch.erfinv(floating(x))


def rsqrt(x):
    """``1 / sqrt(x)``."""
    return torch.rsqrt(floating(x))


def logdet(x):
    """``log(det(x))`` of (batches of) square matrices."""
    return torch.logdet(floating(x))


def extract_sequences(x, sequence_length, sequence_stride):
    """Frames of ``sequence_length`` along the last axis, every ``sequence_stride`` samples.

    >>> extract_sequences(torch.arange(5), 2, 2).tolist()
    [[0, 1], [2, 3]]
    """
    return tensor(x).unfold(-1, int(sequence_length), int(sequence_stride))


def _complex(x):
    if not isinstance(x, (tuple, list)) or len(x) != 2:
        raise ValueError(f"Input must be a tuple (real, imag). Received: x={x!r}")
    real, imag = floating(x[0]), floating(x[1])
    if real.shape != imag.shape:
        raise ValueError(
            "The real and imaginary parts must have the same shape. "
            f"Received: real.shape={tuple(real.shape)}, imag.shape={tuple(imag.shape)}"
        )
    return torch.complex(real, imag.to(real.dtype))


def fft(x):
    """FFT over the last axis of ``(real, imag)``; returns ``(real, imag)``."""
    out = torch.fft.fft(_complex(x), dim=-1)
    return out.real, out.imag


def fft2(x):
    """2-D FFT over the last two axes of ``(real, imag)``; returns ``(real, imag)``."""
    out = torch.fft.fft2(_complex(x), dim=(-2, -1))
    return out.real, out.imag


def ifft2(x):
    """Inverse 2-D FFT over the last two axes of ``(real, imag)``; returns ``(real, imag)``."""
    out = torch.fft.ifft2(_complex(x), dim=(-2, -1))
    return out.real, out.imag


def rfft(x, fft_length=None):
    """FFT of a real signal over the last axis; returns ``(real, imag)`` of ``fft_length // 2 + 1`` bins."""
    out = torch.fft.rfft(floating(x), n=fft_length, dim=-1)
    return out.real, out.imag


def irfft(x, fft_length=None):
    """Inverse of `rfft` for ``(real, imag)``; the output has ``fft_length`` samples."""
    return torch.fft.irfft(_complex(x), n=fft_length, dim=-1)
