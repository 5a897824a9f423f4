"""`BatchDataset`: what lamina's ``*_dataset_from_*`` utilities return instead of a ``tf.data.Dataset``.

A `BatchDataset` reads samples by index from a source (arrays in memory, image or text files),
and yields batches: ``(x, y)`` tuples (or ``x`` alone when there are no labels) of torch tensors
(CPU tensors, as a `torch.utils.data.DataLoader` gives; ``Model.fit`` moves each batch to the
device; being a `torch.utils.data.IterableDataset`, it also goes into a ``DataLoader`` with
``batch_size=None``). String data (text files) stays a NumPy array of ``str``, which lamina's text layers take.

Differences from ``tf.data``: it is re-iterable (each ``for`` loop is one epoch), ``len()`` is
the number of batches, shuffling is a full permutation redrawn at each epoch from a generator
seeded once by ``seed`` (``tf.data`` shuffles within a buffer), and only ``batch``,
``unbatch``, ``prefetch`` (a no-op), ``take``/``skip`` and ``cardinality`` of the ``tf.data``
methods exist.

>>> import numpy as np
>>> ds = BatchDataset.from_arrays((np.arange(5), np.arange(5) * 10), batch_size=2)
>>> len(ds)
3
>>> [y.tolist() for _, y in ds]
[[0, 10], [20, 30], [40]]
>>> [x.tolist() for x, _ in ds.unbatch()][:2]
[0, 1]
"""

import math

import numpy as np
import torch


def _map(fn, structure):
    if isinstance(structure, tuple):
        return tuple(_map(fn, s) for s in structure)
    if isinstance(structure, list):
        return [_map(fn, s) for s in structure]
    if isinstance(structure, dict):
        return {k: _map(fn, v) for k, v in structure.items()}
    return fn(structure)


def _to_tensor(array):
    array = np.asarray(array)
    if array.dtype.kind in "USO":
        return array  # strings have no torch dtype
    if not array.flags.c_contiguous or not array.flags.writeable:
        array = array.copy()  # (np.ascontiguousarray would turn a 0-d array into 1-d)
    return torch.from_numpy(array)


def _check_batch_size(batch_size):
    if batch_size is None:
        return None
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size <= 0:
        raise ValueError(f"`batch_size` must be a positive integer or None. Received: batch_size={batch_size!r}")
    return int(batch_size)


def as_numpy(x):
    """A NumPy view of an array-like (a torch tensor is copied to the host first)."""
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)


class BatchDataset(torch.utils.data.IterableDataset):
    """Batches of samples read by index; re-iterable, with ``len()`` = number of batches.

    Args:
        read: ``read(indices)`` -> a structure (array, tuple, dict) of NumPy arrays whose first axis is
            ``len(indices)``.
        num_samples: how many samples there are.
        batch_size: samples per batch; ``None`` yields single samples (no batch axis).
        shuffle: draw a new order at every epoch.
        seed: seed of the shuffling (the same seed gives the same sequence of epochs).
        class_names: kept as the ``class_names`` attribute (as Keras's datasets have).
        file_paths: kept as the ``file_paths`` attribute.
    """

    def __init__(self, read, num_samples, batch_size=32, shuffle=False, seed=None, class_names=None,
                 file_paths=None):
        self._read = read
        self.num_samples = int(num_samples)
        self.batch_size = _check_batch_size(batch_size)
        self.shuffle = bool(shuffle)
        self.seed = seed
        self._rng = np.random.default_rng(seed)
        self._indices = None  # a fixed subset/order of the source (take/skip)
        self.class_names = class_names
        self.file_paths = file_paths

    @classmethod
    def from_arrays(cls, arrays, batch_size=32, shuffle=False, seed=None, **kwargs):
        """A dataset over in-memory arrays (a structure of arrays with one first-axis length)."""
        arrays = _map(as_numpy, arrays)
        leaves = []
        _map(leaves.append, arrays)
        sizes = {len(leaf) for leaf in leaves}
        if len(sizes) != 1:
            raise ValueError(f"All arrays must have the same number of samples. Received sizes: {sorted(sizes)}")
        return cls(lambda idx: _map(lambda a: a[idx], arrays), sizes.pop(), batch_size, shuffle, seed, **kwargs)

    def _copy(self, **changes):
        new = BatchDataset.__new__(BatchDataset)
        new.__dict__.update(self.__dict__)
        new._rng = np.random.default_rng(self.seed)
        new.__dict__.update(changes)
        return new

    def _order(self):
        order = np.arange(self.num_samples) if self._indices is None else self._indices
        return self._rng.permutation(order) if self.shuffle else order

    def __len__(self):
        n = self.num_samples if self._indices is None else len(self._indices)
        return n if self.batch_size is None else math.ceil(n / self.batch_size)

    def __iter__(self):
        order = self._order()
        if self.batch_size is None:
            for i in order:
                yield _map(lambda a: _to_tensor(a[0]), self._read(np.array([i])))
            return
        for start in range(0, len(order), self.batch_size):
            yield _map(_to_tensor, self._read(order[start:start + self.batch_size]))

    def batch(self, batch_size, drop_remainder=False):
        """The same samples in batches of ``batch_size`` (``drop_remainder`` drops a last smaller batch)."""
        batch_size = _check_batch_size(batch_size)
        indices = self._indices
        if drop_remainder and batch_size is not None:
            indices = self._order_base()
            indices = indices[: len(indices) - len(indices) % batch_size]
        return self._copy(batch_size=batch_size, _indices=indices)

    def _order_base(self):
        return np.arange(self.num_samples) if self._indices is None else self._indices

    def unbatch(self):
        """The same samples one at a time."""
        return self._copy(batch_size=None)

    def take(self, count):
        """The first ``count`` batches (samples when unbatched), in unshuffled order."""
        size = 1 if self.batch_size is None else self.batch_size
        return self._copy(_indices=self._order_base()[: int(count) * size])

    def skip(self, count):
        """All but the first ``count`` batches (samples when unbatched), in unshuffled order."""
        size = 1 if self.batch_size is None else self.batch_size
        return self._copy(_indices=self._order_base()[int(count) * size:])

    def prefetch(self, buffer_size=None):
        """No-op (kept so ``tf.data``-style code runs): batches are read on demand."""
        return self

    def cardinality(self):
        """The number of batches, as ``tf.data.Dataset.cardinality()``."""
        return len(self)

    def __repr__(self):
        return (f"<BatchDataset samples={len(self._order_base())}, batch_size={self.batch_size}, "
                f"batches={len(self)}, shuffle={self.shuffle}>")
