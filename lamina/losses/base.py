"""`Loss`, `LossFunctionWrapper` and the Keras 3 reductions (sample weights, masks).

A loss computes a per-sample loss in `call` and `__call__` weights and reduces
it: ``'sum_over_batch_size'`` (and ``'mean'``) divide the weighted sum by the
number of loss elements (the number of unmasked ones when ``y_pred`` or the
per-sample loss carries a ``_keras_mask``), ``'sum'`` sums, and
``'mean_with_sample_weight'`` divides by the sum of the sample weights.

>>> import torch
>>> class Squares(Loss):
...     def call(self, y_true, y_pred):
...         return torch.mean((y_true - y_pred) ** 2, dim=-1)
>>> loss = Squares(reduction="sum")
>>> float(loss(torch.zeros(2, 2), torch.ones(2, 2)))
2.0
>>> float(loss(torch.zeros(2, 2), torch.ones(2, 2), sample_weight=[1.0, 0.5]))
1.5
"""

import torch

from lamina.backend import config
from lamina.backend.dtypes import standardize_dtype, to_torch_dtype
from lamina.backend.naming import to_snake_case, unique_name
from lamina.backend.variable import Variable

REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None)


class Reduction:
    """tf.keras 2 reduction names (``'auto'`` means ``'sum_over_batch_size'``)."""

    AUTO = "auto"
    NONE = "none"
    SUM = "sum"
    SUM_OVER_BATCH_SIZE = "sum_over_batch_size"


def standardize_reduction(reduction, owner="Loss"):
    """Validates ``reduction``; tf.keras 2's ``'auto'`` becomes ``'sum_over_batch_size'``."""
    if reduction == "auto":
        return "sum_over_batch_size"
    if not isinstance(reduction, (str, type(None))) or reduction not in REDUCTIONS:
        raise ValueError(
            f"Invalid value for argument `reduction` of {owner}. Expected one of "
            f"{list(REDUCTIONS)}. Received: reduction={reduction!r}"
        )
    return reduction


def to_tensor(x, what="y_pred", dtype=None, loss="loss"):
    """Converts an array, list, number, tensor or `Variable` to a tensor (``dtype``: a torch dtype or None)."""
    if isinstance(x, Variable):
        x = x.value
    if isinstance(x, torch.Tensor):
        return x if dtype is None or x.dtype == dtype else x.to(dtype)
    from lamina.ops.core import convert_to_tensor  # lazy: lamina.ops imports much of lamina

    try:
        return convert_to_tensor(x, dtype=dtype)
    except (TypeError, ValueError) as error:
        raise TypeError(
            f"Loss '{loss}' expects `{what}` to be a tensor, a NumPy array, a Variable or a nested list of "
            f"numbers. Received: {what}={x!r} of type {type(x).__name__}"
        ) from error


def prediction(y_pred, loss="loss"):
    """``y_pred`` as a floating tensor (integer inputs are computed in floatx)."""
    y_pred = to_tensor(y_pred, "y_pred", loss=loss)
    if not y_pred.is_floating_point():
        y_pred = y_pred.to(to_torch_dtype(config.floatx()))
    return y_pred


def labels_like(y_true, y_pred, loss="loss"):
    """``y_true`` as a tensor with the dtype and device of ``y_pred``."""
    y_true = to_tensor(y_true, "y_true", loss=loss)
    return y_true.to(device=y_pred.device, dtype=y_pred.dtype)


def check_broadcastable(y_true, y_pred, loss):
    """Raises a `ValueError` naming ``loss`` when the two shapes do not broadcast together."""
    if y_true.shape == y_pred.shape:  # the common case; torch.broadcast_shapes costs ~10 us per call
        return
    try:
        torch.broadcast_shapes(y_true.shape, y_pred.shape)
    except RuntimeError:
        raise ValueError(
            f"Loss '{loss}' received `y_true` and `y_pred` of incompatible shapes: they must be equal or "
            f"broadcast together. Received: y_true.shape={tuple(y_true.shape)}, "
            f"y_pred.shape={tuple(y_pred.shape)}"
        ) from None


def check_same_shape(y_true, y_pred, loss):
    """Raises a `ValueError` naming ``loss`` unless both shapes are equal."""
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"Loss '{loss}' expects `y_true` and `y_pred` of the same shape. Received: "
            f"y_true.shape={tuple(y_true.shape)}, y_pred.shape={tuple(y_pred.shape)}"
        )


def squeeze_or_expand_to_same_rank(x1, x2, expand_rank_1=True):
    """Keras's rank fix: when ranks differ by one and the longer ends in 1, squeeze it (or expand a rank-1 one)."""
    r1, r2 = x1.dim(), x2.dim()
    if r1 == r2 + 1 and x1.shape[-1] == 1:
        if r2 == 1 and expand_rank_1:
            x2 = x2.unsqueeze(-1)
        else:
            x1 = x1.squeeze(-1)
    if r2 == r1 + 1 and x2.shape[-1] == 1:
        if r1 == 1 and expand_rank_1:
            x1 = x1.unsqueeze(-1)
        else:
            x2 = x2.squeeze(-1)
    return x1, x2


def expand_sample_weight(weights, like):
    """Per-sample weights (shape ``like.shape[:k]``) reshaped to broadcast over ``like``'s trailing axes.

    Weights of shape ``(batch,)`` on per-timestep values ``(batch, time)`` weigh each sample's row (as
    tf.keras 2 did), also where ``batch == time`` and plain broadcasting would weigh the columns. Keras 3
    raises on these shapes (or, for ``batch == time``, weighs the columns). Other shapes are returned as
    they are.
    """
    rank = weights.dim()
    if 0 < rank < like.dim() and like.shape[:rank] == weights.shape:
        return weights.reshape(tuple(weights.shape) + (1,) * (like.dim() - rank))
    return weights


def _multiply(values, weights, loss):
    weights = expand_sample_weight(weights, values)
    try:
        if values.shape != weights.shape:
            torch.broadcast_shapes(values.shape, weights.shape)
    except RuntimeError:
        raise ValueError(
            f"Loss '{loss}': `sample_weight` of shape {tuple(weights.shape)} does not broadcast to the "
            f"per-sample loss of shape {tuple(values.shape)}. Pass one weight per sample (shape "
            f"{tuple(values.shape[:1])}) or per loss element. Received: "
            f"sample_weight.shape={tuple(weights.shape)}"
        ) from None
    return values * weights


def reduce_values(values, sample_weight=None, reduction="sum_over_batch_size"):
    """Sums (and divides) the already weighted ``values`` as ``reduction`` says."""
    if reduction is None or reduction == "none" or values.dim() == 0 or tuple(values.shape) == (0,):
        return values
    loss = torch.sum(values)
    if reduction == "sum":
        return loss
    if reduction == "mean_with_sample_weight" and sample_weight is not None:
        divisor = torch.sum(sample_weight).to(loss.dtype)
        return torch.where(divisor != 0, loss / torch.where(divisor != 0, divisor, 1), torch.zeros_like(loss))
    count = values.numel()
    return loss / count if count > 0 else torch.zeros_like(loss)


def apply_mask(sample_weight, mask, dtype, reduction):
    """Merges a boolean mask into the sample weights; averaging reductions then count only unmasked entries."""
    if mask is None:
        return sample_weight
    mask = mask.to(dtype)
    if reduction in ("mean", "sum_over_batch_size"):
        valid = torch.sum(mask)
        total = float(mask.numel())
        mask = mask * torch.where(valid > 0, total / torch.where(valid > 0, valid, 1), 0)
    if sample_weight is None:
        return mask
    mask, sample_weight = squeeze_or_expand_to_same_rank(mask, sample_weight.to(dtype))
    return expand_sample_weight(sample_weight, mask) * mask


def reduce_weighted_values(values, sample_weight=None, mask=None, reduction="sum_over_batch_size", loss="loss"):
    """Weights ``values`` by ``sample_weight`` and ``mask`` (Keras broadcasting rules) and reduces them."""
    reduction = standardize_reduction(reduction, loss)
    if sample_weight is not None:
        sample_weight = to_tensor(sample_weight, "sample_weight", loss=loss).to(device=values.device,
                                                                               dtype=values.dtype)
    if mask is not None:
        mask = to_tensor(mask, "mask", loss=loss).to(values.device)
    sample_weight = apply_mask(sample_weight, mask, values.dtype, reduction)
    if sample_weight is not None:
        values, sample_weight = squeeze_or_expand_to_same_rank(values, sample_weight)
        values = _multiply(values, sample_weight, loss)
    return reduce_values(values, sample_weight, reduction)


def _compute_dtype(dtype):
    if dtype is None:
        return config.floatx()
    if hasattr(dtype, "compute_dtype"):  # a DTypePolicy
        return dtype.compute_dtype
    if isinstance(dtype, dict):  # a serialized DTypePolicy
        name = dtype.get("config", {}).get("name", config.floatx())
        return name[len("mixed_"):] if name.startswith("mixed_") else standardize_dtype(name)
    return standardize_dtype(dtype)


def _convert(x, dtype, what, loss):
    """Casts to the loss dtype, keeping the ``_keras_logits`` that sigmoid/softmax outputs carry."""
    converted = to_tensor(x, what, dtype=dtype, loss=loss)
    logits = getattr(x, "_keras_logits", None)
    if logits is not None and converted is not x:
        converted._keras_logits = to_tensor(logits, what, dtype=dtype, loss=loss)
    return converted


class Loss:
    """Base class of losses: subclasses implement ``call(y_true, y_pred)`` returning per-sample losses.

    Args:
        name: the loss name; defaults to the snake_case class name, made unique.
        reduction: ``'sum_over_batch_size'`` (default), ``'sum'``, ``'mean'``,
            ``'mean_with_sample_weight'``, ``'none'`` or ``None``.
        dtype: the dtype ``y_true`` and ``y_pred`` are cast to (defaults to floatx);
            a name or a `DTypePolicy` (its compute dtype is used).
    """

    # Losses of integer class indices (sparse categorical crossentropy) keep integer `y_true` tensors as they
    # are, where Keras casts them to the loss dtype and back.
    _integer_labels = False

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        if name is not None and not isinstance(name, str):
            raise TypeError(f"The name of a loss must be a string. Received: name={name!r}")
        self.name = name or unique_name(to_snake_case(type(self).__name__))
        self.reduction = standardize_reduction(reduction, type(self).__name__)
        self._dtype = _compute_dtype(dtype)
        self._torch_dtype = to_torch_dtype(self._dtype)

    @property
    def _keras_module(self):
        """``keras.losses`` for lamina's losses, the defining module for user subclasses."""
        module = type(self).__module__
        return "keras.losses" if module.startswith("lamina.losses") else module

    @property
    def dtype(self):
        """The dtype name the inputs are cast to (e.g. ``'float32'``)."""
        return self._dtype

    def __call__(self, y_true, y_pred, sample_weight=None):
        """The reduced loss of ``y_pred`` against ``y_true``, weighted by ``sample_weight``."""
        if sample_weight is None:
            mean = self._batch_mean(y_true, y_pred)
            if mean is not None:
                return mean
        in_mask = getattr(y_pred, "_keras_mask", None)
        y_pred = _convert(y_pred, self._torch_dtype, "y_pred", self.name)
        if self._integer_labels and isinstance(y_true, torch.Tensor) and not y_true.is_floating_point() \
                and y_true.dtype != torch.bool:
            y_true = y_true.to(y_pred.device)  # class indices: a cast to float and back would change nothing
        else:
            y_true = _convert(y_true, self._torch_dtype, "y_true", self.name).to(y_pred.device)
        losses = self.call(y_true, y_pred)
        out_mask = getattr(losses, "_keras_mask", None)
        if in_mask is not None and out_mask is not None:
            mask = in_mask.to(torch.bool) & out_mask.to(torch.bool)
        else:
            mask = in_mask if in_mask is not None else out_mask
        return reduce_weighted_values(losses, sample_weight=sample_weight, mask=mask, reduction=self.reduction,
                                      loss=self.name)

    def _batch_mean(self, y_true, y_pred):
        """The unweighted loss in one fused kernel where a subclass has one for these inputs, else ``None``
        (then `__call__` converts, computes per-sample losses and reduces them)."""
        return None

    def call(self, y_true, y_pred):
        """Per-sample losses; subclasses implement it."""
        raise NotImplementedError(f"{type(self).__name__} must implement `call(y_true, y_pred)`.")

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if config.get("reduction") == "auto":  # tf.keras 2 configs
            config["reduction"] = "sum_over_batch_size"
        return cls(**config)

    def __repr__(self):
        fields = ", ".join(f"{key}={value!r}" for key, value in self.get_config().items() if key != "fn")
        return f"<{type(self).__name__} {fields}>"


class LossFunctionWrapper(Loss):
    """Wraps a loss function ``fn(y_true, y_pred, **kwargs)`` returning per-sample losses into a `Loss`.

    Args:
        fn: the loss function.
        reduction, name, dtype: as for `Loss`.
        **kwargs: keyword arguments passed to ``fn`` on every call.

    >>> import torch
    >>> def absolute(y_true, y_pred, scale=1.0):
    ...     return scale * torch.abs(y_true - y_pred).mean(dim=-1)
    >>> loss = LossFunctionWrapper(absolute, name="abs", scale=2.0)
    >>> float(loss(torch.zeros(2, 3), torch.ones(2, 3)))
    2.0
    """

    def __init__(self, fn, reduction="sum_over_batch_size", name=None, dtype=None, **kwargs):
        if not callable(fn):
            raise TypeError(f"LossFunctionWrapper expects a callable `fn`. Received: fn={fn!r}")
        super().__init__(name=name or getattr(fn, "__name__", None), reduction=reduction, dtype=dtype)
        self.fn = fn
        self._fn_kwargs = kwargs

    def call(self, y_true, y_pred):
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self):
        from lamina.losses.serialization import serialize_function

        config = Loss.get_config(self)
        config["fn"] = serialize_function(self.fn)
        config.update(self._fn_kwargs)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if "fn" in config:
            from lamina.losses.serialization import deserialize

            config["fn"] = deserialize(config["fn"])
        return super().from_config(config)

