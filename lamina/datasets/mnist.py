"""MNIST handwritten digits (Keras's ``mnist.npz``: 60,000 + 10,000 images of 28x28 pixels).

Licence of the data: Yann LeCun and Corinna Cortes hold the copyright of MNIST, a derivative
of NIST data, made available under CC BY-SA 3.0.
"""

import numpy as np

from lamina.datasets._download import fetch


def load_data(path="mnist.npz", cache_dir=None):
    """Loads MNIST, downloading ``mnist.npz`` into the cache the first time (Keras's file and hash).

    Args:
        path: the file name in the cache folder (``<cache>/datasets``).
        cache_dir: the cache root; default ``$LAMINA_HOME``, else ``$KERAS_HOME``, else ``~/.keras``.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: uint8 images ``(60000, 28, 28)`` / ``(10000, 28, 28)``
        with values 0-255, and uint8 labels 0-9 of shapes ``(60000,)`` / ``(10000,)``.

    Example:

    >>> from lamina.datasets import mnist
    >>> mnist.load_data  # doctest: +ELLIPSIS
    <function load_data at ...>
    """
    with np.load(fetch("mnist.npz", path, cache_dir), allow_pickle=False) as f:
        return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])
