"""Numeric preprocessing: Normalization (with ``adapt``), Discretization, CategoryEncoding,
and `encode_categorical`, the one-hot/multi-hot/count encoder shared by the lookup layers.

>>> import numpy as np
>>> from lamina import layers
>>> layer = layers.Normalization(axis=None)
>>> layer.adapt(np.array([1.0, 2.0, 3.0]))
>>> layer(np.array([2.0])).tolist()
[0.0]
>>> layers.CategoryEncoding(num_tokens=4, output_mode="count")(np.array([[0, 1, 1]])).tolist()
[[1.0, 2.0, 0.0, 0.0]]
>>> layers.Discretization(bin_boundaries=[0.0, 1.0])(np.array([-1.0, 0.5, 2.0])).tolist()
[0, 1, 2]
"""

import numpy as np
import torch
import torch.nn.functional as F

from lamina.backend import config
from lamina.backend.dtypes import to_torch_dtype
from lamina.engine.keras_tensor import KerasTensor
from lamina.engine.layer import Layer

ENCODINGS = ("int", "one_hot", "multi_hot", "count")


def check_output_mode(output_mode, allowed, layer):
    if output_mode not in allowed:
        raise ValueError(
            f"Invalid value for argument `output_mode` of {layer}. Expected one of {allowed}. "
            f"Received: output_mode={output_mode!r}"
        )
    return output_mode


def encode_categorical(indices, output_mode, depth, dtype, count_weights=None):
    """Encodes integer ``indices`` as Keras's ``encode_categorical_inputs``; values outside
    ``[0, depth)`` are dropped (they encode to zeros).

    ``one_hot`` adds an axis (replacing a last axis of size 1); ``multi_hot``/``count``
    reduce the last axis (a rank-1 input is one sample).
    """
    if output_mode == "int":
        return indices.to(dtype)
    indices = indices.long()
    if output_mode == "one_hot":
        if indices.dim() > 1 and indices.shape[-1] == 1:
            indices = indices.squeeze(-1)
        valid = (indices >= 0) & (indices < depth)
        return (F.one_hot(indices.clamp(0, depth - 1), depth) * valid[..., None]).to(dtype)
    single = indices.dim() <= 1
    rows = indices.reshape(1, -1) if single else indices.reshape(-1, indices.shape[-1])
    rows = torch.where((rows >= 0) & (rows < depth), rows, torch.full_like(rows, depth))
    if count_weights is not None:
        weights = torch.as_tensor(count_weights, device=rows.device).reshape(rows.shape).to(dtype)
    else:
        weights = torch.ones(rows.shape, dtype=dtype, device=rows.device)
    out = torch.zeros(rows.shape[0], depth + 1, dtype=dtype, device=rows.device).scatter_add_(1, rows, weights)
    out = out[:, :depth]
    if output_mode == "multi_hot":
        out = (out > 0).to(dtype)
    return out.reshape(depth) if single else out.reshape(*indices.shape[:-1], depth)


def encoded_shape(input_shape, output_mode, depth):
    input_shape = tuple(input_shape)
    if output_mode == "int":
        return input_shape
    if output_mode == "one_hot":
        if len(input_shape) > 1 and input_shape[-1] == 1:
            return input_shape[:-1] + (depth,)
        return input_shape + (depth,)
    return input_shape[:-1] + (depth,) if len(input_shape) > 1 else (depth,)


class CategoryEncoding(Layer):
    """Encodes integer categories as one-hot, multi-hot or count vectors of size ``num_tokens``.

    Args:
        num_tokens: the number of categories; inputs must lie in ``[0, num_tokens)``.
        output_mode: ``'multi_hot'`` (default), ``'one_hot'`` or ``'count'``.
        sparse: only ``False`` (torch sparse outputs are not produced).

    Call args:
        inputs: integer tensor ``(batch,)`` or ``(batch, samples)``.
        count_weights: weights for ``'count'`` mode, shaped as ``inputs``.

    >>> import numpy as np
    >>> CategoryEncoding(3, output_mode="one_hot")(np.array([2, 0])).tolist()
    [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]
    """

    def __init__(self, num_tokens=None, output_mode="multi_hot", sparse=False, **kwargs):
        super().__init__(**kwargs)
        if output_mode == "binary":  # deprecated Keras 2 name
            output_mode = "multi_hot"
        check_output_mode(output_mode, ("one_hot", "multi_hot", "count"), "CategoryEncoding")
        if num_tokens is None or isinstance(num_tokens, bool) or not isinstance(num_tokens, (int, np.integer)) \
                or num_tokens < 1:
            raise ValueError(f"`num_tokens` of CategoryEncoding must be a positive int. Received: "
                             f"num_tokens={num_tokens!r}")
        if sparse:
            raise ValueError("CategoryEncoding does not support sparse outputs on torch. Received: sparse=True")
        self.num_tokens = int(num_tokens)
        self.output_mode = output_mode
        self.sparse = sparse

    def call(self, inputs, count_weights=None):
        if inputs.is_floating_point():
            inputs = inputs.long()
        if count_weights is not None and self.output_mode != "count":
            raise ValueError(f"`count_weights` is only used with output_mode='count'. Received: "
                             f"output_mode={self.output_mode!r}")
        if inputs.numel() and not inputs.device.type == "meta":
            low, high = int(inputs.min()), int(inputs.max())
            if low < 0 or high >= self.num_tokens:
                raise ValueError(
                    f"Input values of CategoryEncoding must be in the range 0 <= values < num_tokens with "
                    f"num_tokens={self.num_tokens}. Received: inputs with min={low} and max={high}"
                )
        return encode_categorical(inputs, self.output_mode, self.num_tokens, self.dtype_policy.torch_compute_dtype,
                                  count_weights)

    def compute_output_shape(self, input_shape):
        return encoded_shape(input_shape, self.output_mode, self.num_tokens)

    def compute_output_spec(self, inputs, count_weights=None):
        return KerasTensor(self.compute_output_shape(inputs.shape), self.compute_dtype)

    def get_config(self):
        return {**super().get_config(), "num_tokens": self.num_tokens, "output_mode": self.output_mode,
                "sparse": self.sparse}


def _batches(data, batch_size=None, steps=None):
    """Arrays/tensors (optionally cut into ``batch_size`` pieces) or an iterable of batches -> arrays."""
    if isinstance(data, torch.Tensor):
        data = data.detach().cpu().numpy()
    if isinstance(data, (list, tuple)):
        data = np.asarray(data)
    if isinstance(data, np.ndarray):
        if batch_size is None:
            yield data
            return
        array, size = data, int(batch_size)
        data = (array[i:i + size] for i in range(0, max(len(array), 1), size))
    elif not hasattr(data, "__iter__"):
        raise TypeError(f"`adapt` expects an array, a tensor or an iterable of batches. Received: data={data!r}")
    for step, batch in enumerate(data):
        if steps is not None and step >= steps:
            return
        if isinstance(batch, (tuple, list)) and len(batch) and not np.isscalar(batch[0]):
            batch = batch[0]  # (x, y) pairs: adapt on x
        yield batch.detach().cpu().numpy() if isinstance(batch, torch.Tensor) else np.asarray(batch)


class Normalization(Layer):
    """Shifts and scales inputs to mean 0 and variance 1: ``(x - mean) / sqrt(variance)``.

    ``mean``/``variance`` are given, or learned by `adapt` from data (state in the
    non-trainable weights ``mean``, ``variance`` and ``count``, as Keras).

    Args:
        axis: the axis (or axes) that keep separate statistics (default ``-1``, features);
            ``None`` means one scalar mean and variance.
        mean, variance: fixed statistics (broadcast to the kept axes); give both or neither.
        invert: apply the inverse transform ``x * sqrt(variance) + mean``.

    >>> import numpy as np
    >>> layer = Normalization(mean=2.0, variance=4.0)
    >>> layer(np.array([[4.0]])).tolist()
    [[1.0]]
    """

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, **kwargs):
        super().__init__(**kwargs)
        if axis is None:
            axis = ()
        elif isinstance(axis, (int, np.integer)):
            axis = (int(axis),)
        else:
            axis = tuple(int(a) for a in axis)
        if 0 in axis:
            raise ValueError(f"The argument 'axis' may not be 0 (the batch axis). Received: axis={axis}")
        if (mean is None) != (variance is None):
            raise ValueError("When setting values directly, both `mean` and `variance` must be set. "
                             f"Received: mean={mean!r} and variance={variance!r}")
        self.axis = axis
        self.input_mean = mean
        self.input_variance = variance
        self.invert = invert
        self.supports_masking = True

    def build(self, input_shape):
        if input_shape is None:
            return
        ndim = len(input_shape)
        if any(a >= ndim or a < -ndim for a in self.axis):
            raise ValueError(f"All `axis` values of Normalization must be in the range [-ndim, ndim). "
                             f"Received inputs of rank {ndim} and axis={self.axis}")
        self._keep_axis = tuple(sorted(a % ndim for a in self.axis))
        self._reduce_axis = tuple(d for d in range(ndim) if d not in self._keep_axis)
        kept = [input_shape[d] for d in self._keep_axis]
        if any(d is None for d in kept):
            raise ValueError(f"All `axis` values to be kept must have a known shape. Received: axis={self.axis}, "
                             f"inputs.shape={tuple(input_shape)}")
        self._broadcast_shape = tuple(input_shape[d] if d in self._keep_axis else 1 for d in range(ndim))
        if self.input_mean is None:
            self.mean = self.add_weight(name="mean", shape=kept, initializer="zeros", trainable=False)
            self.variance = self.add_weight(name="variance", shape=kept, initializer="ones", trainable=False)
            self.count = self.add_weight(name="count", shape=(), dtype="int64", initializer="zeros", trainable=False)

    def _stats(self, device, dtype):
        if self.input_mean is not None:
            mean, variance = (torch.as_tensor(np.asarray(v, dtype="float64"), device=device).to(dtype)
                              for v in (self.input_mean, self.input_variance))
            return mean.reshape(self._broadcast_shape), variance.reshape(self._broadcast_shape)
        return (self.mean.value.to(dtype).reshape(self._broadcast_shape),
                self.variance.value.to(dtype).reshape(self._broadcast_shape))

    def adapt(self, data, batch_size=None, steps=None):
        """Computes the mean and variance of ``data`` over the non-kept axes.

        ``data`` is an array or tensor (optionally streamed in ``batch_size`` pieces) or an
        iterable of batches (``steps`` limits it). Batches are combined exactly and stably
        (Chan et al.'s parallel update in float64), so the result equals ``np.mean``/``np.var``.
        """
        if self.input_mean is not None:
            raise ValueError("Normalization was created with fixed `mean` and `variance`; it cannot be adapted.")
        count, mean, m2 = 0, None, None
        for batch in _batches(data, batch_size, steps):
            if batch.dtype.kind not in "fiub":
                raise TypeError(f"Normalization.adapt expects numeric data. Received: data of dtype {batch.dtype}")
            batch = batch.astype("float64")
            if not self.built:
                self.build((None,) + batch.shape[1:])
            if batch.ndim != len(self._broadcast_shape) or any(
                    batch.shape[d] != self._broadcast_shape[d] for d in self._keep_axis):
                raise ValueError(f"Normalization.adapt got data of shape {batch.shape}, incompatible with the "
                                 f"layer's kept axes {self._keep_axis} of shape {self._broadcast_shape}")
            n = int(np.prod([batch.shape[d] for d in self._reduce_axis]))
            if n == 0:
                continue
            b_mean = batch.mean(axis=self._reduce_axis)
            b_m2 = ((batch - batch.mean(axis=self._reduce_axis, keepdims=True)) ** 2).sum(axis=self._reduce_axis)
            if mean is None:
                count, mean, m2 = n, b_mean, b_m2
            else:
                delta = b_mean - mean
                total = count + n
                mean = mean + delta * n / total
                m2 = m2 + b_m2 + delta ** 2 * count * n / total
                count = total
        if mean is None:
            raise ValueError("Normalization.adapt received no data.")
        self.mean.assign(mean.astype(self.mean.dtype))
        self.variance.assign((m2 / count).astype(self.variance.dtype))
        self.count.assign(count)

    def call(self, inputs):
        mean, variance = self._stats(inputs.device, inputs.dtype)
        scale = torch.clamp(torch.sqrt(variance), min=config.epsilon())
        if self.invert:
            return mean + inputs * scale
        return (inputs - mean) / scale

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        def plain(value):
            return None if value is None else np.asarray(value).tolist()

        return {**super().get_config(), "axis": self.axis, "invert": self.invert,
                "mean": plain(self.input_mean), "variance": plain(self.input_variance)}


# ---- Discretization -------------------------------------------------------------------------------------
# Keras's approximate quantiles: a sorted (values, weights) summary, compressed to ~1/epsilon points.

def _summarize(values, epsilon):
    values = np.sort(values.reshape(-1))
    increment = values.size * epsilon
    step = max(increment, 1)
    points = values[int(increment)::int(step)]
    return np.stack([points, np.ones_like(points) * step])


def _compress(summary, epsilon):
    if summary.shape[1] * epsilon < 1:
        return summary
    percents = epsilon + np.arange(0.0, 1.0, epsilon)
    cumulative = summary[1].cumsum()
    fractions = cumulative / cumulative[-1]
    points = np.interp(percents, fractions, summary[0])
    cumulative = np.interp(percents, fractions, cumulative)
    weights = cumulative - np.concatenate(([0.0], cumulative[:-1]))
    return np.stack([points, weights]).astype("float32")


def _merge(previous, new, epsilon):
    merged = np.concatenate([previous, new], axis=1)
    return _compress(merged[:, np.argsort(merged[0], kind="stable")], epsilon)


class Discretization(Layer):
    """Buckets numbers into ranges: bucket ``i`` holds ``boundaries[i-1] <= x < boundaries[i]``.

    Args:
        bin_boundaries: sorted boundaries (``n - 1`` values for ``n`` bins), or None to `adapt`.
        num_bins: number of bins learned by `adapt` (approximate quantiles, as Keras).
        epsilon: the quantile approximation error of `adapt` (default 0.01).
        output_mode: ``'int'`` (default, int64), ``'one_hot'``, ``'multi_hot'`` or ``'count'``.
        sparse: only ``False``.

    >>> import numpy as np
    >>> layer = Discretization(num_bins=4, epsilon=0.01)
    >>> layer.adapt(np.arange(100.0))
    >>> layer.bin_boundaries
    [24.75, 49.5, 74.25]
    """

    def __init__(self, bin_boundaries=None, num_bins=None, epsilon=0.01, output_mode="int", sparse=False, **kwargs):
        # The dtype is the inputs' (Keras 3: a float policy; an int policy would floor the inputs);
        # 'int' outputs are int64 whatever it is. tf.keras 2 files carry 'int64' here.
        kwargs.setdefault("dtype", None)
        if kwargs["dtype"] is None:
            kwargs["dtype"] = config.floatx()
        super().__init__(**kwargs)
        check_output_mode(output_mode, ENCODINGS, "Discretization")
        if sparse:
            raise ValueError("Discretization does not support sparse outputs on torch. Received: sparse=True")
        if num_bins is None and bin_boundaries is None:
            raise ValueError("You need to set either `num_bins` or `bin_boundaries`.")
        if num_bins is not None and num_bins < 0:
            raise ValueError(f"`num_bins` must be greater than or equal to 0. Received: num_bins={num_bins}")
        if num_bins is not None and bin_boundaries is not None and len(bin_boundaries) != num_bins - 1:
            raise ValueError(
                "Both `num_bins` and `bin_boundaries` should not be set. "
                f"Received: num_bins={num_bins} and bin_boundaries={bin_boundaries}"
            )
        self.bin_boundaries = list(bin_boundaries) if bin_boundaries is not None else None
        self.num_bins = num_bins
        self.epsilon = epsilon
        self.output_mode = output_mode
        self.sparse = sparse
        self._summary = np.array([[], []], dtype="float32")

    def adapt(self, data, steps=None, batch_size=None):
        """Learns ``num_bins - 1`` quantile boundaries from ``data`` (array, tensor or batches)."""
        if self.num_bins is None:
            raise ValueError("Cannot adapt a Discretization layer that has been initialized with "
                             "`bin_boundaries`, use `num_bins` instead.")
        self._summary = np.array([[], []], dtype="float32")
        for batch in _batches(data, batch_size, steps):
            if batch.dtype.kind not in "fiub":
                raise TypeError(f"Discretization.adapt expects numeric data. Received: data of dtype {batch.dtype}")
            self._summary = _merge(self._summary, _summarize(batch.astype("float32"), self.epsilon), self.epsilon)
        if self._summary.shape[1] == 0:
            raise ValueError("Discretization.adapt received no data.")
        self.bin_boundaries = _compress(self._summary, 1.0 / self.num_bins)[0, :-1].tolist()

    # tf.keras 2 keeps an adapted layer's quantile sketch as a weight, ``summary`` of shape (2, n):
    # values and their weights; its boundaries are the sketch compressed to ``num_bins``.
    _tf_keras_state_weights = ("summary",)

    def _tf_keras_state_loader(self, arrays):
        (summary,) = arrays
        if summary.ndim != 2 or summary.shape[0] != 2 or summary.dtype.kind != "f":
            raise ValueError(f"tf.keras 2's Discretization `summary` is a float array of shape (2, n). "
                             f"Received: shape={summary.shape}, dtype={summary.dtype}")
        if not np.all(np.isfinite(summary)) or np.any(summary[1] < 0):
            raise ValueError("tf.keras 2's Discretization `summary` holds finite values and non-negative weights.")
        summary = summary.astype("float32")

        def apply():
            if self.bin_boundaries is not None or self.num_bins is None or summary.shape[1] == 0:
                return  # boundaries given at construction decide (tf.keras 2 ignores the sketch too)
            self._summary = summary
            self.bin_boundaries = _compress(summary, 1.0 / self.num_bins)[0, :-1].tolist()

        return apply

    def _depth(self):
        return len(self.bin_boundaries) + 1

    def call(self, inputs):
        if self.bin_boundaries is None:
            raise ValueError("You need to either pass the `bin_boundaries` argument at construction time or "
                             "call `adapt(dataset)` before you can start using the `Discretization` layer.")
        boundaries = torch.as_tensor(self.bin_boundaries, dtype=torch.float64, device=inputs.device)
        indices = torch.bucketize(inputs.to(torch.float64), boundaries, right=True)
        dtype = to_torch_dtype("int64") if self.output_mode == "int" else self.dtype_policy.torch_compute_dtype
        if self.output_mode == "int" and self.compute_dtype in ("int32", "int64"):
            dtype = self.dtype_policy.torch_compute_dtype
        return encode_categorical(indices, self.output_mode, self._depth(), dtype)

    def compute_output_shape(self, input_shape):
        depth = self._depth() if self.bin_boundaries is not None else (self.num_bins or None)
        return encoded_shape(input_shape, self.output_mode, depth)

    def compute_output_spec(self, inputs):
        dtype = "int64" if self.output_mode == "int" else self.compute_dtype
        return KerasTensor(self.compute_output_shape(inputs.shape), dtype)

    # Keras 3 writes no `trainable` here (its constructor refuses one), and this order.
    _config_has_trainable = False

    def get_config(self):
        return {"bin_boundaries": self.bin_boundaries, "num_bins": self.num_bins, "epsilon": self.epsilon,
                "output_mode": self.output_mode, "sparse": self.sparse, "name": self.name,
                "dtype": self._dtype_policy.name}
