"""The UCI optical handwritten digits (1797 images of 8x8 pixels, values 0-16), shipped with lamina.

No download: the data is ``lamina/datasets/data/digits.csv.gz`` (the copy scikit-learn ships;
CC BY 4.0, Alpaydin & Kaynak 1998, UCI ML Repository - see ``data/DIGITS_README.md``). Its
SHA-256 is checked on every load.

>>> from lamina.datasets import digits
>>> (x_train, y_train), (x_test, y_test) = digits.load_data()
>>> x_train.shape, x_train.dtype, y_train.shape, x_test.shape
((1437, 8, 8), dtype('uint8'), (1437,), (360, 8, 8))
"""

import gzip
import hashlib
import os

import numpy as np

DATA_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "digits.csv.gz")
SHA256 = "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22"
NUM_SAMPLES = 1797


def _read():
    with open(DATA_PATH, "rb") as f:
        raw = f.read()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != SHA256:
        raise ValueError(f"The shipped digits file '{DATA_PATH}' is damaged: its sha256 is {digest}, expected "
                         f"{SHA256}. Reinstall lamina.")
    table = np.loadtxt(gzip.decompress(raw).decode("ascii").splitlines(), delimiter=",", dtype=np.int64)
    if table.shape != (NUM_SAMPLES, 65):
        raise ValueError(f"The shipped digits file '{DATA_PATH}' has shape {table.shape}; expected (1797, 65).")
    return table[:, :64].reshape(-1, 8, 8).astype(np.uint8), table[:, 64].astype(np.uint8)


def load_data(test_split=0.2, seed=113):
    """The digits, shuffled with ``np.random.RandomState(seed)`` and split like Keras's loaders.

    Args:
        test_split: fraction of the images kept for testing, in ``[0, 1)``.
        seed: seed of the shuffling (the same seed gives the same split).

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: uint8 images ``(n, 8, 8)`` with values 0-16 and uint8
        labels 0-9. The first ``int(1797 * (1 - test_split))`` shuffled images are for training.
    """
    if not 0 <= test_split < 1:
        raise ValueError(f"Invalid `test_split` argument: {test_split}. It must be between 0 and 1 (exclusive of 1).")
    x, y = _read()
    indices = np.arange(len(x))
    np.random.RandomState(seed).shuffle(indices)
    x, y = x[indices], y[indices]
    cut = int(len(x) * (1 - test_split))
    return (x[:cut], y[:cut]), (x[cut:], y[cut:])
