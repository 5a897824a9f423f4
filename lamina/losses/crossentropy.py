"""Crossentropy loss functions (binary, categorical, sparse, focal, generalized), as in Keras 3.

Probabilities are clipped to ``[epsilon, 1 - epsilon]`` (``epsilon = 1e-7``) the
way Keras does, so 0 and 1 give finite values; categorical predictions are first
renormalized to sum to one. With ``from_logits=True`` the stable torch forms
(BCE-with-logits, ``log_softmax``) are used. As Keras does on its default
backend, a ``y_pred`` produced by `lamina.activations.sigmoid`/`softmax`
(it carries ``_keras_logits``) is scored from its logits.

>>> y_true = [[0.0, 1.0], [0.0, 0.0]]
>>> y_pred = [[0.6, 0.4], [0.4, 0.6]]
>>> [round(v, 3) for v in binary_crossentropy(y_true, y_pred).tolist()]
[0.916, 0.714]
>>> [round(v, 4) for v in sparse_categorical_crossentropy([1, 2], [[0.05, 0.95, 0], [0.1, 0.8, 0.1]]).tolist()]
[0.0513, 2.3026]
"""

import warnings

import torch
import torch.nn.functional as F

from lamina.backend import config
from lamina.losses.base import (
    Loss,
    LossFunctionWrapper,
    check_broadcastable,
    check_same_shape,
    labels_like,
    prediction,
    to_tensor,
)


def _resolve_logits(output, from_logits, activation, fn_name):
    """Keras's ``_get_logits``: outputs of sigmoid/softmax activations are scored from their logits."""
    logits = getattr(output, "_keras_logits", None)
    if logits is None:
        return output, from_logits
    if from_logits:
        warnings.warn(
            f"`{fn_name}` received `from_logits=True`, but the `output` argument was produced by a "
            f"{activation} activation and thus does not represent logits. Was this intended?",
            stacklevel=3,
        )
    return to_tensor(logits, "y_pred").to(device=output.device, dtype=output.dtype), True


def _log_softmax(x, dim):
    """``log_softmax`` along ``dim``. torch's CPU kernel is slow for fewer than 16 classes: (128, 10) took
    25-40 us on one thread of this 2-core CPU (16 or more classes: 3-7 us) and up to ~1 ms with two threads
    while the other core was busy, against 13-40 us for ``x - logsumexp(x)`` (as stable, same gradient)."""
    if x.device.type == "cpu" and x.dim() and x.shape[dim] < 16:
        return x - torch.logsumexp(x, dim=dim, keepdim=True)
    return F.log_softmax(x, dim=dim)


def _clip(output):
    eps = config.epsilon()
    return torch.clamp(output, eps, 1.0 - eps)


def _binary(target, output, from_logits):
    output, from_logits = _resolve_logits(output, from_logits, "Sigmoid", "binary_crossentropy")
    if from_logits:
        return F.binary_cross_entropy_with_logits(output, target, reduction="none")
    output = _clip(output)
    return -(target * torch.log(output) + (1.0 - target) * torch.log(1.0 - output))


def _check_axis(axis, fn_name):
    if isinstance(axis, bool) or not isinstance(axis, int):
        raise ValueError(f"`axis` of {fn_name} must be of type `int`. Received: axis={axis!r} of type "
                         f"{type(axis).__name__}")


def _warn_single_class(y_pred, fn_name):
    if y_pred.dim() and y_pred.shape[-1] == 1:
        warnings.warn(
            f"In loss {fn_name}, expected y_pred.shape to be (batch_size, num_classes) with num_classes > 1. "
            f"Received: y_pred.shape={tuple(y_pred.shape)}. Consider using 'binary_crossentropy' if you only "
            "have 2 classes.",
            SyntaxWarning,
            stacklevel=3,
        )


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Binary crossentropy, averaged over ``axis``: shape ``y_pred.shape`` without ``axis``.

    Args:
        y_true: labels in ``[0, 1]``, same shape as ``y_pred``.
        y_pred: probabilities, or logits with ``from_logits=True``.
        from_logits: whether ``y_pred`` holds logits.
        label_smoothing: squeezes the labels towards 0.5: ``y * (1 - s) + 0.5 * s``.
        axis: the axis the mean is taken over.
    """
    y_pred = prediction(y_pred, "binary_crossentropy")
    y_true = labels_like(y_true, y_pred, "binary_crossentropy")
    check_same_shape(y_true, y_pred, "binary_crossentropy")
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    return torch.mean(_binary(y_true, y_pred, from_logits), dim=axis)


def binary_focal_crossentropy(y_true, y_pred, apply_class_balancing=False, alpha=0.25, gamma=2.0,
                              from_logits=False, label_smoothing=0.0, axis=-1):
    """Binary crossentropy scaled by the focal factor ``(1 - p_t) ** gamma``, averaged over ``axis``.

    ``p_t`` is ``y_pred`` for class 1 and ``1 - y_pred`` for class 0; with
    ``apply_class_balancing`` class 1 is also weighted by ``alpha`` and class 0 by ``1 - alpha``.
    With ``from_logits`` the crossentropy is computed from the logits (no clipping), the focal factor
    from their sigmoid, as in Keras.
    """
    y_pred = prediction(y_pred, "binary_focal_crossentropy")
    y_true = labels_like(y_true, y_pred, "binary_focal_crossentropy")
    check_same_shape(y_true, y_pred, "binary_focal_crossentropy")
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    # As in Keras, the crossentropy of logits is the stable form; the focal factor uses their sigmoid.
    bce = _binary(y_true, y_pred, from_logits)
    if from_logits:
        y_pred = torch.sigmoid(y_pred)
    p_t = y_true * y_pred + (1.0 - y_true) * (1.0 - y_pred)
    focal_bce = torch.pow(1.0 - p_t, gamma) * bce
    if apply_class_balancing:
        focal_bce = (y_true * alpha + (1.0 - y_true) * (1.0 - alpha)) * focal_bce
    return torch.mean(focal_bce, dim=axis)


def _smooth_categorical(y_true, label_smoothing):
    if not label_smoothing:
        return y_true
    return y_true * (1.0 - label_smoothing) + label_smoothing / y_true.shape[-1]


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Crossentropy between one-hot (or soft) labels and predictions along ``axis``.

    Args:
        y_true: one-hot labels, same shape as ``y_pred``.
        y_pred: probabilities (renormalized to sum to one), or logits with ``from_logits=True``.
        from_logits: whether ``y_pred`` holds logits.
        label_smoothing: labels become ``y * (1 - s) + s / num_classes``.
        axis: the class axis.
    """
    _check_axis(axis, "categorical_crossentropy")
    y_pred = prediction(y_pred, "categorical_crossentropy")
    y_true = labels_like(y_true, y_pred, "categorical_crossentropy")
    check_same_shape(y_true, y_pred, "categorical_crossentropy")
    if y_pred.dim() < 1:
        raise ValueError("Loss 'categorical_crossentropy' expects `y_true` and `y_pred` of rank 1 or more. "
                         f"Received: y_pred.shape={tuple(y_pred.shape)}")
    _warn_single_class(y_pred, "categorical_crossentropy")
    y_true = _smooth_categorical(y_true, label_smoothing)
    output, from_logits = _resolve_logits(y_pred, from_logits, "Softmax", "categorical_crossentropy")
    if from_logits:
        return -torch.sum(y_true * _log_softmax(output, axis), dim=axis)
    output = _clip(output / torch.sum(output, dim=axis, keepdim=True))
    return -torch.sum(y_true * torch.log(output), dim=axis)


def categorical_focal_crossentropy(y_true, y_pred, alpha=0.25, gamma=2.0, from_logits=False,
                                   label_smoothing=0.0, axis=-1):
    """Categorical crossentropy weighted by ``alpha * (1 - p) ** gamma`` per class, summed over ``axis``.

    ``alpha`` is a float or one weight per class.
    """
    _check_axis(axis, "categorical_focal_crossentropy")
    y_pred = prediction(y_pred, "categorical_focal_crossentropy")
    y_true = labels_like(y_true, y_pred, "categorical_focal_crossentropy")
    check_broadcastable(y_true, y_pred, "categorical_focal_crossentropy")
    _warn_single_class(y_pred, "categorical_focal_crossentropy")
    y_true = _smooth_categorical(y_true, label_smoothing)
    if from_logits:
        y_pred = F.softmax(y_pred, dim=axis)
    output = _clip(y_pred / torch.sum(y_pred, dim=axis, keepdim=True))
    cce = -y_true * torch.log(output)
    if isinstance(alpha, (list, tuple)) or isinstance(alpha, torch.Tensor):
        alpha = to_tensor(alpha, "alpha").to(device=output.device, dtype=output.dtype)
    weighting = torch.pow(1.0 - output, gamma) * alpha
    return torch.sum(weighting * cce, dim=axis)


def _sparse_targets(y_true, y_pred, axis, fn_name):
    """Integer labels of shape ``y_pred.shape[:-1]`` and ``y_pred`` with the class axis moved last."""
    if y_pred.dim() < 1:
        raise ValueError(f"Loss '{fn_name}' expects `y_pred` of rank 1 or more. "
                         f"Received: y_pred.shape={tuple(y_pred.shape)}")
    axis = axis % y_pred.dim()
    if y_true.dim() == y_pred.dim() and y_true.shape[axis] == 1:
        y_true = y_true.squeeze(axis)
    y_pred = y_pred.movedim(axis, -1)
    if tuple(y_true.shape) != tuple(y_pred.shape[:-1]):
        raise ValueError(
            f"Loss '{fn_name}' expects integer class labels `y_true` of shape {tuple(y_pred.shape[:-1])} "
            f"(`y_pred` without its class axis, optionally with a trailing 1). For one-hot labels use "
            f"categorical_crossentropy. Received: y_true.shape={tuple(y_true.shape)}, "
            f"y_pred.shape={tuple(y_pred.movedim(-1, axis).shape)}"
        )
    return y_true, y_pred


def _check_label_range(labels, num_classes, fn_name):
    if labels.numel() and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(
            f"Loss '{fn_name}' received a label outside the valid range [0, {num_classes}) of class indices. "
            f"Received: y_true with values in [{int(labels.min())}, {int(labels.max())}]"
        ) from None


def _gather_labels(log_prob, labels, fn_name):
    """``log_prob[..., label]`` per entry. An out-of-range label on the CPU makes torch's gather raise, and
    that error becomes a clear `ValueError`: no range check (two reductions and two host syncs) per batch.
    On an accelerator torch's own device-side check applies."""
    try:
        return torch.gather(log_prob, -1, labels.unsqueeze(-1)).squeeze(-1)
    except RuntimeError:
        _check_label_range(labels, log_prob.shape[-1], fn_name)
        raise


# No label equals it, so `F.cross_entropy` ignores nothing and an out-of-range label (-1 included) raises.
_NO_IGNORED_LABEL = -(2**63)


def _sparse_nll_of_scores(scores, labels, fn_name):
    """``-log_softmax(scores)[..., label]`` per entry, classes along the last axis of ``scores``.

    ``F.cross_entropy`` does this in one fused kernel (forward and backward), which on the CPU takes a
    quarter less time per training step of a small classifier than ``log_softmax`` + ``gather``. It is used
    where its kernels exist (float32/float64 on the CPU, any float type elsewhere).
    """
    fused = scores.dim() >= 2 and (scores.dtype in (torch.float32, torch.float64) or scores.device.type != "cpu")
    if not fused:
        return -_gather_labels(_log_softmax(scores, -1), labels, fn_name)
    try:
        return F.cross_entropy(scores.movedim(-1, 1) if scores.dim() > 2 else scores, labels,
                               reduction="none", ignore_index=_NO_IGNORED_LABEL)
    except (IndexError, RuntimeError):
        _check_label_range(labels, scores.shape[-1], fn_name)
        raise


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None, axis=-1):
    """Crossentropy between integer class labels and predictions (classes along ``axis``).

    Args:
        y_true: integer labels of shape ``y_pred.shape`` without the class axis (a trailing 1 is allowed).
        y_pred: probabilities, or logits with ``from_logits=True``.
        from_logits: whether ``y_pred`` holds logits.
        ignore_class: a label value whose entries get a loss of 0 and a ``_keras_mask`` that
            `Loss` reductions use to leave them out of the average.
        axis: the class axis.

    Returns:
        Per-entry losses of shape ``y_true.shape`` (after squeezing).
    """
    fn_name = "sparse_categorical_crossentropy"
    _check_axis(axis, fn_name)
    y_pred = prediction(y_pred, fn_name)
    y_true = to_tensor(y_true, "y_true", loss=fn_name).to(y_pred.device)
    if ignore_class is None:
        output, from_logits = _resolve_logits(y_pred, from_logits, "Softmax", fn_name)
    else:
        output = y_pred  # Keras masks y_pred first, which drops the cached logits
    y_true, output = _sparse_targets(y_true, output, axis, fn_name)
    labels = y_true.long()
    valid = None
    if ignore_class is not None:
        valid = y_true != ignore_class
        labels = torch.where(valid, labels, torch.zeros_like(labels))
    if not from_logits:
        output = torch.log(_clip(output))
    result = _sparse_nll_of_scores(output, labels, fn_name)
    if valid is not None:
        result = torch.where(valid, result, torch.zeros_like(result))
        result._keras_mask = valid
    return result


def categorical_generalized_cross_entropy(y_true, y_pred, q):
    """Generalized crossentropy ``(1 - p ** q) / q``, ``p`` the predicted probability of the true class.

    ``y_true`` holds integer labels (shape ``y_pred.shape[:-1]``, optionally with a trailing 1).
    """
    y_pred = prediction(y_pred, "categorical_generalized_cross_entropy")
    y_true = to_tensor(y_true, "y_true").to(y_pred.device)
    y_true, y_pred = _sparse_targets(y_true, y_pred, -1, "categorical_generalized_cross_entropy")
    one_hot = F.one_hot(y_true.long(), y_pred.shape[-1]).to(y_pred.dtype)
    p = torch.sum(y_pred * one_hot, dim=-1)
    return (1.0 - torch.pow(p, q)) / q


def _fast_path_logits(loss, y_pred, from_logits):
    """The logits a loss's one-kernel batch mean can use, or ``None`` when the general path is needed.

    That path is taken for the default reduction, a plain tensor without a mask, and logits either
    given (``from_logits=True``) or cached by a sigmoid/softmax output (``from_logits=False``), in the
    loss dtype and of a type torch's fused kernels take on the device.
    """
    if loss.reduction != "sum_over_batch_size" or type(y_pred) is not torch.Tensor or not y_pred.dim() \
            or getattr(y_pred, "_keras_mask", None) is not None:
        return None
    logits = getattr(y_pred, "_keras_logits", None)
    if from_logits:
        scores = y_pred if logits is None else None  # with cached logits the general path warns
    else:
        scores = logits if type(logits) is torch.Tensor and logits.shape == y_pred.shape else None
    if scores is None or scores.dtype != loss._torch_dtype or not scores.numel():
        return None
    if scores.device.type == "cpu" and scores.dtype not in (torch.float32, torch.float64):
        return None
    return scores


class BinaryCrossentropy(LossFunctionWrapper):
    """Binary crossentropy between labels in ``[0, 1]`` and probabilities (or logits).

    Args:
        from_logits: whether ``y_pred`` holds logits (recommended: it is more stable).
        label_smoothing: float in ``[0, 1]``; squeezes the labels towards 0.5.
        axis: the axis the mean is taken over.
        reduction, name, dtype: as for `Loss`.

    >>> bce = BinaryCrossentropy(from_logits=True)
    >>> round(float(bce([[0, 1], [0, 0]], [[-18.6, 0.51], [2.94, -12.8]])), 3)
    0.865
    >>> round(float(bce([[0, 1], [0, 0]], [[-18.6, 0.51], [2.94, -12.8]], sample_weight=[0.8, 0.2])), 3)
    0.244
    """

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1, reduction="sum_over_batch_size",
                 name="binary_crossentropy", dtype=None):
        super().__init__(binary_crossentropy, name=name, reduction=reduction, dtype=dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis

    def _batch_mean(self, y_true, y_pred):
        """Unweighted logits (or a sigmoid output with its logits) against labels of the same shape, averaged
        over everything (the mean over ``axis`` and then over the batch), in one
        ``F.binary_cross_entropy_with_logits``; ``None`` when the general path is needed."""
        kwargs = self._fn_kwargs
        if kwargs["label_smoothing"] or kwargs["axis"] != -1:
            return None
        logits = _fast_path_logits(self, y_pred, kwargs["from_logits"])
        if logits is None or type(y_true) is not torch.Tensor or y_true.shape != logits.shape \
                or y_true.device != logits.device:
            return None
        if y_true.dtype != logits.dtype:
            y_true = y_true.to(logits.dtype)
        return F.binary_cross_entropy_with_logits(logits, y_true)

    def get_config(self):
        return {**Loss.get_config(self), "from_logits": self.from_logits, "label_smoothing": self.label_smoothing,
                "axis": self.axis}


class BinaryFocalCrossentropy(LossFunctionWrapper):
    """Binary crossentropy with the focal factor of Lin et al. (2018), optionally class-balanced.

    Args:
        apply_class_balancing: weight class 1 by ``alpha`` and class 0 by ``1 - alpha``.
        alpha: the weight of class 1 when balancing.
        gamma: the focusing parameter; 0 gives binary crossentropy.
        from_logits, label_smoothing, axis: as for `BinaryCrossentropy`.
        reduction, name, dtype: as for `Loss`.

    >>> loss = BinaryFocalCrossentropy(gamma=2, from_logits=True)
    >>> round(float(loss([0, 1, 0, 0], [-18.6, 0.51, 2.94, -12.8])), 3)
    0.691
    """

    def __init__(self, apply_class_balancing=False, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0,
                 axis=-1, reduction="sum_over_batch_size", name="binary_focal_crossentropy", dtype=None):
        super().__init__(binary_focal_crossentropy, name=name, reduction=reduction, dtype=dtype,
                         apply_class_balancing=apply_class_balancing, alpha=alpha, gamma=gamma,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)
        self.apply_class_balancing = apply_class_balancing
        self.alpha = alpha
        self.gamma = gamma
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis

    def get_config(self):
        return {**Loss.get_config(self), "from_logits": self.from_logits, "label_smoothing": self.label_smoothing,
                "axis": self.axis, "apply_class_balancing": self.apply_class_balancing, "alpha": self.alpha,
                "gamma": self.gamma}


class CategoricalCrossentropy(LossFunctionWrapper):
    """Crossentropy between one-hot labels and class probabilities (or logits).

    Args:
        from_logits: whether ``y_pred`` holds logits.
        label_smoothing: float in ``[0, 1]``; labels become ``y * (1 - s) + s / num_classes``.
        axis: the class axis.
        reduction, name, dtype: as for `Loss`.

    >>> cce = CategoricalCrossentropy()
    >>> round(float(cce([[0, 1, 0], [0, 0, 1]], [[0.05, 0.95, 0], [0.1, 0.8, 0.1]])), 3)
    1.177
    """

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1, reduction="sum_over_batch_size",
                 name="categorical_crossentropy", dtype=None):
        super().__init__(categorical_crossentropy, name=name, reduction=reduction, dtype=dtype,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis

    def get_config(self):
        return {**Loss.get_config(self), "from_logits": self.from_logits, "label_smoothing": self.label_smoothing,
                "axis": self.axis}


class CategoricalFocalCrossentropy(LossFunctionWrapper):
    """Categorical crossentropy weighted by ``alpha * (1 - p) ** gamma`` (Lin et al., 2018).

    Args:
        alpha: a float, or one weight per class.
        gamma: the focusing parameter; 0 gives ``alpha`` times categorical crossentropy.
        from_logits, label_smoothing, axis: as for `CategoricalCrossentropy`.
        reduction, name, dtype: as for `Loss`.

    >>> cfce = CategoricalFocalCrossentropy()
    >>> round(float(cfce([[0., 1., 0.], [0., 0., 1.]], [[0.05, 0.95, 0], [0.1, 0.8, 0.1]])), 4)
    0.2332
    """

    def __init__(self, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction="sum_over_batch_size", name="categorical_focal_crossentropy", dtype=None):
        super().__init__(categorical_focal_crossentropy, name=name, reduction=reduction, dtype=dtype, alpha=alpha,
                         gamma=gamma, from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)
        self.alpha = alpha
        self.gamma = gamma
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis

    def get_config(self):
        return {**Loss.get_config(self), "from_logits": self.from_logits, "label_smoothing": self.label_smoothing,
                "axis": self.axis, "alpha": self.alpha, "gamma": self.gamma}


class SparseCategoricalCrossentropy(LossFunctionWrapper):
    """Crossentropy between integer class labels and class probabilities (or logits).

    Args:
        from_logits: whether ``y_pred`` holds logits.
        ignore_class: a label value (e.g. -1 or 255 for "void") left out of the loss and of the average.
        reduction, name, dtype: as for `Loss`.
        axis: the class axis of ``y_pred``.

    >>> scce = SparseCategoricalCrossentropy()
    >>> round(float(scce([1, 2], [[0.05, 0.95, 0], [0.1, 0.8, 0.1]], sample_weight=[0.3, 0.7])), 3)
    0.814
    >>> scce = SparseCategoricalCrossentropy(ignore_class=-1)
    >>> round(float(scce([1, -1], [[0.05, 0.95, 0], [0.1, 0.8, 0.1]])), 4)
    0.0513
    """

    _integer_labels = True

    def __init__(self, from_logits=False, ignore_class=None, reduction="sum_over_batch_size",
                 name="sparse_categorical_crossentropy", dtype=None, axis=-1):
        super().__init__(sparse_categorical_crossentropy, name=name, reduction=reduction, dtype=dtype,
                         from_logits=from_logits, ignore_class=ignore_class, axis=axis)
        self.from_logits = from_logits
        self.ignore_class = ignore_class
        self.axis = axis

    def _batch_mean(self, y_true, y_pred):
        """The common case in one fused kernel, or ``None`` when the general path is needed.

        Unweighted, unmasked ``(batch, classes)`` scores (logits, or a softmax output with its logits)
        against ``(batch,)`` or ``(batch, 1)`` integer labels, averaged over the batch: ``F.cross_entropy``
        with its mean reduction, the same value as the general path (which took 80 us per call against
        12 us for the kernel, for a (128, 10) batch on the CPU).
        """
        kwargs = self._fn_kwargs
        if kwargs["ignore_class"] is not None or kwargs["axis"] not in (-1, 1):
            return None
        scores = _fast_path_logits(self, y_pred, kwargs["from_logits"])
        if scores is None or scores.dim() != 2:
            return None
        if type(y_true) is not torch.Tensor or y_true.is_floating_point() or y_true.dtype == torch.bool \
                or y_true.device != scores.device:
            return None
        if y_true.dim() == 2 and y_true.shape[1] == 1:
            y_true = y_true.view(-1)
        if y_true.dim() != 1 or y_true.shape[0] != scores.shape[0] or not y_true.shape[0]:
            return None
        labels = y_true if y_true.dtype == torch.int64 else y_true.long()
        try:
            return F.cross_entropy(scores, labels, ignore_index=_NO_IGNORED_LABEL)
        except (IndexError, RuntimeError):
            _check_label_range(labels, scores.shape[-1], "sparse_categorical_crossentropy")
            raise

    def get_config(self):
        return {**Loss.get_config(self), "from_logits": self.from_logits, "ignore_class": self.ignore_class,
                "axis": self.axis}


class CategoricalGeneralizedCrossEntropy(LossFunctionWrapper):
    """Generalized crossentropy (Zhang & Sabuncu, 2018): ``(1 - p ** q) / q`` for integer labels.

    Args:
        q: float in ``(0, 1)``; near 0 it behaves like crossentropy, near 1 like mean absolute error.
        reduction, name, dtype: as for `Loss`.
    """

    def __init__(self, q=0.5, reduction="sum_over_batch_size", name="categorical_generalized_cross_entropy",
                 dtype=None):
        if not 0 < q < 1:
            raise ValueError(f"`q` of CategoricalGeneralizedCrossEntropy must be in the interval (0, 1). "
                             f"Received: q={q!r}")
        super().__init__(categorical_generalized_cross_entropy, name=name, reduction=reduction, dtype=dtype, q=q)
        self.q = q

    def get_config(self):
        return {**Loss.get_config(self), "q": self.q}
