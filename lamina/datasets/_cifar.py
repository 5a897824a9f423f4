"""Reading the CIFAR "python version" batches safely.

Keras downloads the python version of CIFAR (``cifar-10-python.tar.gz``), whose batches are
Python pickles. lamina reads the same files - so the Keras cache and hashes apply - with the
restricted unpickler of `lamina.datasets._safe_pickle`, which allows only NumPy array
reconstruction (no code from the file runs).
"""

import numpy as np

from lamina.backend import config
from lamina.datasets import _safe_pickle


def load_batch(fpath, label_key="labels"):
    """``(data (N, 3, 32, 32) uint8, labels list)`` of one CIFAR batch file."""
    with open(fpath, "rb") as f:
        batch = _safe_pickle.load(f, encoding="bytes")
    if not isinstance(batch, dict):
        raise ValueError(f"'{fpath}' is not a CIFAR batch: expected a pickled dict. Received: {type(batch).__name__}")
    batch = {k.decode("utf8") if isinstance(k, bytes) else k: v for k, v in batch.items()}
    for key in ("data", label_key):
        if key not in batch:
            raise ValueError(f"'{fpath}' is not a CIFAR batch: it has no '{key}' entry. Received keys: "
                             f"{sorted(batch)}")
    data = np.asarray(batch["data"])
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise ValueError(f"'{fpath}' is not a CIFAR batch: expected uint8 data of shape (N, 3072). Received: "
                         f"dtype={data.dtype}, shape={data.shape}")
    return data.reshape(data.shape[0], 3, 32, 32), batch[label_key]


def to_data_format(x):
    """NCHW batches to the configured image data format (channels last by default), as Keras."""
    return x.transpose(0, 2, 3, 1) if config.image_data_format() == "channels_last" else x
