"""How ``compile(metrics=['accuracy'])`` picks the accuracy (or crossentropy) metric.

As in Keras: a model output with last dimension 1 gives the binary metric; targets of
lower rank than the output, or with last dimension 1 against a wider output, give the
sparse categorical one; anything else the categorical one. The loss is consulted only
when the target shape is unknown.

>>> type(resolve_accuracy("accuracy", "sparse_categorical_crossentropy", (32,), (32, 10))).__name__
'SparseCategoricalAccuracy'
>>> m = resolve_accuracy("acc", None, (32, 1), (32, 1))
>>> type(m).__name__, m.name
('BinaryAccuracy', 'acc')
>>> type(resolve_accuracy("ce", None, (8, 3), (8, 3))).__name__
'CategoricalCrossentropy'
"""

from lamina.metrics.accuracy import BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy
from lamina.metrics.probabilistic import BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy

ACCURACY_NAMES = ("accuracy", "acc")
CROSSENTROPY_NAMES = ("crossentropy", "ce")

_CHOICES = {
    "accuracy": (BinaryAccuracy, SparseCategoricalAccuracy, CategoricalAccuracy),
    "crossentropy": (BinaryCrossentropy, SparseCategoricalCrossentropy, CategoricalCrossentropy),
}


def _loss_name(loss):
    """A lower-case name for a loss given as a string, function, or Loss object (or None)."""
    if loss is None:
        return ""
    if isinstance(loss, str):
        return loss.lower()
    if isinstance(loss, dict):
        return str(loss.get("class_name", "")).lower()
    name = getattr(loss, "__name__", None) or type(loss).__name__
    return name.lower()


def _kind_from_loss(loss):
    name = _loss_name(loss).replace("_", "")
    if "sparsecategorical" in name:
        return "sparse"
    if name.startswith("binary") or name in ("bce",):
        return "binary"
    return "categorical"


def _kind_from_shapes(y_true_shape, y_pred_shape):
    """Keras's rule: ``'binary'``, ``'sparse'`` or ``'categorical'``."""
    pred_last = y_pred_shape[-1] if len(y_pred_shape) else None
    if pred_last == 1:
        return "binary"
    true_last = y_true_shape[-1] if len(y_true_shape) else None
    if len(y_true_shape) < len(y_pred_shape) or (true_last == 1 and pred_last is not None and pred_last > 1):
        return "sparse"
    return "categorical"


def resolve_accuracy(name, loss_name_or_fn, y_true_shape, y_pred_shape):
    """The metric instance (named ``name``) that ``'accuracy'``/``'acc'``/``'crossentropy'``/``'ce'`` means.

    Args:
        name: one of ``'accuracy'``, ``'acc'``, ``'crossentropy'``, ``'ce'`` (any case).
        loss_name_or_fn: the output's loss (name, function, Loss object or None).
        y_true_shape: the target shape (tuple) or ``None`` when unknown.
        y_pred_shape: the model output shape (tuple).

    Raises:
        ValueError: for any other ``name``, or without an output shape.
    """
    key = str(name).lower()
    if key in ACCURACY_NAMES:
        family = "accuracy"
    elif key in CROSSENTROPY_NAMES:
        family = "crossentropy"
    else:
        raise ValueError(f"resolve_accuracy expects one of {ACCURACY_NAMES + CROSSENTROPY_NAMES}. "
                         f"Received: name={name!r}")
    if y_pred_shape is None:
        raise ValueError(f"Cannot resolve metric '{name}' without the model output shape. Received: y_pred_shape=None")
    y_pred_shape = tuple(y_pred_shape)
    if y_true_shape is None:
        kind = "binary" if y_pred_shape and y_pred_shape[-1] == 1 else _kind_from_loss(loss_name_or_fn)
    else:
        kind = _kind_from_shapes(tuple(y_true_shape), y_pred_shape)
    binary, sparse, categorical = _CHOICES[family]
    cls = {"binary": binary, "sparse": sparse, "categorical": categorical}[kind]
    return cls(name=str(name))
