"""Fashion-MNIST: 60,000 + 10,000 grayscale 28x28 images of 10 kinds of clothing.

The four IDX files are cached in ``<cache>/datasets/fashion-mnist`` as Keras does. Labels:
0 T-shirt/top, 1 Trouser, 2 Pullover, 3 Dress, 4 Coat, 5 Sandal, 6 Shirt, 7 Sneaker, 8 Bag,
9 Ankle boot. Licence of the data: MIT, copyright Zalando SE.
"""

import gzip
import os

import numpy as np

from lamina.datasets._download import fetch

FILES = ("train-labels-idx1-ubyte.gz", "train-images-idx3-ubyte.gz",
         "t10k-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz")


def _read_idx(path, offset):
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset)


def load_data(cache_dir=None):
    """Loads Fashion-MNIST, downloading the four files into the cache the first time.

    Args:
        cache_dir: the cache root; default ``$LAMINA_HOME``, else ``$KERAS_HOME``, else ``~/.keras``.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: uint8 images ``(60000, 28, 28)`` / ``(10000, 28, 28)``
        and uint8 labels ``(60000,)`` / ``(10000,)``.

    Example:

    >>> from lamina.datasets import fashion_mnist
    >>> fashion_mnist.FILES[0]
    'train-labels-idx1-ubyte.gz'
    """
    subdir = os.path.join("datasets", "fashion-mnist")
    paths = [fetch(name, cache_dir=cache_dir, cache_subdir=subdir) for name in FILES]
    y_train = _read_idx(paths[0], 8)
    x_train = _read_idx(paths[1], 16).reshape(len(y_train), 28, 28)
    y_test = _read_idx(paths[2], 8)
    x_test = _read_idx(paths[3], 16).reshape(len(y_test), 28, 28)
    return (x_train, y_train), (x_test, y_test)
