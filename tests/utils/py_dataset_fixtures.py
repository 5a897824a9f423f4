"""PyDatasets at module level, so that worker processes can unpickle them."""

import os
import threading
import time

import numpy as np

from lamina.utils import PyDataset


class Linear(PyDataset):
    """Batch i holds samples 8i..8i+7 of y = x @ [1, -2] with unit sample weights."""

    def __init__(self, batches=5, fail_at=None, delay=0.0, **kwargs):
        super().__init__(**kwargs)
        self.batches, self.fail_at, self.delay = batches, fail_at, delay
        self.epochs_begun = self.epochs_ended = 0

    def __len__(self):
        return self.batches

    def __getitem__(self, index):
        if index == self.fail_at:
            raise KeyError(f"no batch {index}")
        if self.delay:
            # Later batches finish first: ordering must come from the index, not completion time.
            time.sleep(self.delay * (self.batches - index))
        x = np.arange(16 * index, 16 * index + 16, dtype="float32").reshape(8, 2) / 100.0
        y = x @ np.array([[1.0], [-2.0]], dtype="float32")
        return x, y, np.ones((8,), dtype="float32")

    def on_epoch_begin(self):
        self.epochs_begun += 1

    def on_epoch_end(self):
        self.epochs_ended += 1


class Endless(PyDataset):
    @property
    def num_batches(self):
        return None

    def __getitem__(self, index):
        x = np.full((4, 2), index, dtype="float32")
        return x, x[:, :1]


class WhereMade(PyDataset):
    def __len__(self):
        return 4

    def __getitem__(self, index):
        return np.array([index, os.getpid()]), threading.get_ident()
