"""CIFAR-10: 50,000 + 10,000 colour images of 32x32 pixels in 10 classes.

Keras's archive (``cifar-10-python.tar.gz``, its sha256) is cached as
``<cache>/datasets/cifar-10-batches-py-target_archive`` and extracted beside it; the pickled
batches are read with a restricted unpickler (`lamina.datasets._cifar`). Classes: airplane,
automobile, bird, cat, deer, dog, frog, horse, ship, truck.
"""

import os

import numpy as np

from lamina.datasets._cifar import load_batch, to_data_format
from lamina.datasets._download import fetch


def load_data(cache_dir=None):
    """Loads CIFAR-10, downloading and extracting it into the cache the first time.

    Args:
        cache_dir: the cache root; default ``$LAMINA_HOME``, else ``$KERAS_HOME``, else ``~/.keras``.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: uint8 images ``(50000, 32, 32, 3)`` / ``(10000, 32, 32, 3)``
        (channels first if ``image_data_format()`` is ``"channels_first"``) and uint8 labels of shape
        ``(50000, 1)`` / ``(10000, 1)``.

    Example:

    >>> from lamina.datasets import cifar10
    >>> cifar10.load_data  # doctest: +ELLIPSIS
    <function load_data at ...>
    """
    folder = os.path.join(fetch("cifar-10-batches-py-target", cache_dir=cache_dir, extract=True),
                          "cifar-10-batches-py")
    xs, ys = [], []
    for i in range(1, 6):
        x, y = load_batch(os.path.join(folder, f"data_batch_{i}"))
        xs.append(x)
        ys.append(np.asarray(y, dtype="uint8"))
    x_test, y_test = load_batch(os.path.join(folder, "test_batch"))
    x_train, y_train = np.concatenate(xs), np.concatenate(ys)
    y_train = y_train.reshape(len(y_train), 1)
    y_test = np.asarray(y_test, dtype="uint8").reshape(len(y_test), 1)
    return (to_data_format(x_train), y_train), (to_data_format(x_test), y_test)
