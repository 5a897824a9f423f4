"""CIFAR-100: 50,000 + 10,000 colour images of 32x32 pixels in 100 classes (20 superclasses).

Keras's archive (``cifar-100-python.tar.gz``, its sha256) is cached as
``<cache>/datasets/cifar-100-python-target_archive`` and extracted beside it; the pickled
batches are read with a restricted unpickler (`lamina.datasets._cifar`).
"""

import os

import numpy as np

from lamina.datasets._cifar import load_batch, to_data_format
from lamina.datasets._download import fetch


def load_data(label_mode="fine", cache_dir=None):
    """Loads CIFAR-100, downloading and extracting it into the cache the first time.

    Args:
        label_mode: ``"fine"`` (100 classes) or ``"coarse"`` (20 superclasses).
        cache_dir: the cache root; default ``$LAMINA_HOME``, else ``$KERAS_HOME``, else ``~/.keras``.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: uint8 images ``(50000, 32, 32, 3)`` / ``(10000, 32, 32, 3)``
        and labels of shape ``(50000, 1)`` / ``(10000, 1)`` (int64, as Keras's
        ``np.reshape`` of the label lists gives).

    Example:

    >>> from lamina.datasets import cifar100
    >>> cifar100.load_data(label_mode="medium")
    Traceback (most recent call last):
    ...
    ValueError: `label_mode` must be one of `"fine"`, `"coarse"`. Received: label_mode=medium.
    """
    if label_mode not in ("fine", "coarse"):
        raise ValueError(f'`label_mode` must be one of `"fine"`, `"coarse"`. Received: label_mode={label_mode}.')
    folder = os.path.join(fetch("cifar-100-python-target", cache_dir=cache_dir, extract=True), "cifar-100-python")
    key = label_mode + "_labels"
    x_train, y_train = load_batch(os.path.join(folder, "train"), label_key=key)
    x_test, y_test = load_batch(os.path.join(folder, "test"), label_key=key)
    y_train = np.reshape(np.asarray(y_train, dtype="int64"), (len(y_train), 1))
    y_test = np.reshape(np.asarray(y_test, dtype="int64"), (len(y_test), 1))
    return (to_data_format(x_train), y_train), (to_data_format(x_test), y_test)
