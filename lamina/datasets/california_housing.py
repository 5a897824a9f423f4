"""California housing prices (20,640 districts, 8 features; targets in $), Keras's ``california_housing.npz``."""

import numpy as np

from lamina.datasets._download import fetch
from lamina.datasets._regression import check_test_split, split


def load_data(version="large", path="california_housing.npz", test_split=0.2, seed=113, cache_dir=None):
    """Loads the California housing dataset, shuffled with ``seed`` and split as Keras.

    Args:
        version: ``"large"`` (all 20,640 samples) or ``"small"`` (the first 600).
        path: the file name in the cache folder.
        test_split: fraction of the data kept for testing, in ``[0, 1)``.
        seed: seed of the shuffling before the split.
        cache_dir: the cache root; default ``$LAMINA_HOME``, else ``$KERAS_HOME``, else ``~/.keras``.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: float arrays ``(n, 8)`` and targets ``(n,)``.

    Example:

    >>> from lamina.datasets import california_housing
    >>> california_housing.load_data(version="medium")
    Traceback (most recent call last):
    ...
    ValueError: Argument `version` must be one of 'small', 'large'. Received: version=medium
    """
    check_test_split(test_split)
    if version not in ("small", "large"):
        raise ValueError(f"Argument `version` must be one of 'small', 'large'. Received: version={version}")
    with np.load(fetch("california_housing.npz", path, cache_dir), allow_pickle=False) as f:
        x, y = f["x"], f["y"]
    if version == "small":
        x, y = x[:600], y[:600]
    return split(x, y, test_split, seed)
