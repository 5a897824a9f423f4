"""Boston housing prices (506 samples, 13 features; targets in k$), Keras's ``boston_housing.npz``.

Note: this dataset has an ethical problem (a feature built on the share of Black residents);
Keras keeps it for reproducibility, and `lamina.datasets.california_housing` is the suggested
replacement.
"""

import numpy as np

from lamina.datasets._download import fetch
from lamina.datasets._regression import check_test_split, split


def load_data(path="boston_housing.npz", test_split=0.2, seed=113, cache_dir=None):
    """Loads the Boston housing dataset, shuffled with ``seed`` and split as Keras.

    Args:
        path: the file name in the cache folder.
        test_split: fraction of the data kept for testing, in ``[0, 1)``.
        seed: seed of the shuffling before the split.
        cache_dir: the cache root; default ``$LAMINA_HOME``, else ``$KERAS_HOME``, else ``~/.keras``.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: float arrays ``(n, 13)`` and targets ``(n,)``.

    Example:

    >>> from lamina.datasets import boston_housing
    >>> boston_housing.load_data(test_split=1.0)
    Traceback (most recent call last):
    ...
    ValueError: Invalid `test_split` argument: 1.0. It must be between 0 and 1 (exclusive of 1).
    """
    check_test_split(test_split)
    with np.load(fetch("boston_housing.npz", path, cache_dir), allow_pickle=False) as f:
        x, y = f["x"], f["y"]
    return split(x, y, test_split, seed)
