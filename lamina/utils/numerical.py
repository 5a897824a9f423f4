"""`to_categorical` and `normalize` (Keras's array utilities).

NumPy input gives NumPy output, exactly as Keras; a torch tensor gives a tensor on its device.

>>> to_categorical([0, 1, 2, 3], num_classes=4)
array([[1., 0., 0., 0.],
       [0., 1., 0., 0.],
       [0., 0., 1., 0.],
       [0., 0., 0., 1.]])
>>> normalize(np.array([[3.0, 4.0]]))
array([[0.6, 0.8]])
"""

import numpy as np
import torch

from lamina.backend import config


def to_categorical(x, num_classes=None):
    """Converts a class vector (integers) to a one-hot matrix, the class axis last.

    A trailing axis of size 1 is dropped first, so labels of shape ``(n, 1)`` give ``(n, num_classes)``.

    Args:
        x: array-like of class indices in ``[0, num_classes)``, or a torch tensor.
        num_classes: the number of classes; default ``max(x) + 1``.

    Returns:
        A float64 NumPy array (NumPy/list input), or a float32 (floatx) tensor on the device of a tensor input.
    """
    if isinstance(x, torch.Tensor):
        if x.dtype.is_floating_point or x.dtype.is_complex or x.dtype == torch.bool:
            raise TypeError(f"`to_categorical` expects integer class indices. Received: x with dtype {x.dtype}")
        if x.ndim > 1 and x.shape[-1] == 1:
            x = x.reshape(x.shape[:-1])
        if num_classes is None:
            num_classes = int(x.max()) + 1 if x.numel() else 0
        if x.numel() and (int(x.min()) < 0 or int(x.max()) >= num_classes):
            raise ValueError(f"Class indices must be in [0, {num_classes}). Received: x with values in "
                             f"[{int(x.min())}, {int(x.max())}]")
        return torch.nn.functional.one_hot(x.long(), int(num_classes)).to(getattr(torch, config.floatx()))
    x = np.array(x, dtype="int64")
    input_shape = x.shape
    if input_shape and input_shape[-1] == 1 and len(input_shape) > 1:
        input_shape = tuple(input_shape[:-1])
    x = x.reshape(-1)
    if not num_classes:
        num_classes = np.max(x) + 1
    categorical = np.zeros((x.shape[0], num_classes))
    categorical[np.arange(x.shape[0]), x] = 1
    return np.reshape(categorical, input_shape + (num_classes,))


def normalize(x, axis=-1, order=2):
    """Divides ``x`` by its ``order``-norm along ``axis``.

    Args:
        x: NumPy array or torch tensor.
        axis: the axis to normalize along.
        order: the norm order (2 for L2).

    Returns:
        NumPy input: ``x / norm`` with zero norms replaced by 1 (as Keras). Tensor input:
        ``x / max(norm, epsilon())`` (Keras's ``ops.normalize``), on ``x``'s device.
    """
    if isinstance(x, torch.Tensor):
        norm = torch.linalg.vector_norm(x, ord=order, dim=axis, keepdim=True)
        return x / torch.clamp(norm, min=config.epsilon())
    x = np.asarray(x)
    norm = np.atleast_1d(np.linalg.norm(x, order, axis))
    norm[norm == 0] = 1
    return x / np.expand_dims(norm, axis)
