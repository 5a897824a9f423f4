"""Turning what users pass to ``fit``/``evaluate``/``predict`` into batches of tensors.

Arrays and tensors (also lists/dicts of them and pandas objects) are moved to the
device once, shuffled once per epoch with one gather, and cut into whole batches by
slicing (never per-sample collation); the last partial batch is kept. A
`torch.utils.data.TensorDataset` is sliced the same way. Generators, other
`torch.utils.data` datasets/loaders and `lamina.utils.PyDataset` are iterated as given.
"""

import math

import numpy as np
import torch

from lamina.backend import config
from lamina.backend.dtypes import standardize_dtype


def _is_array_like(x):
    return isinstance(x, (np.ndarray, torch.Tensor)) or (
        hasattr(x, "__array__") and hasattr(x, "shape") and not isinstance(x, (list, tuple, dict))
    )


def _map(fn, structure):
    if structure is None:
        return None
    if isinstance(structure, (list, tuple)):
        return type(structure)(_map(fn, s) for s in structure)
    if isinstance(structure, dict):
        return {k: _map(fn, v) for k, v in structure.items()}
    return fn(structure)


def _leaves(structure):
    if structure is None:
        return []
    if isinstance(structure, (list, tuple)):
        return [leaf for s in structure for leaf in _leaves(s)]
    if isinstance(structure, dict):
        return [leaf for s in structure.values() for leaf in _leaves(s)]
    return [structure]


def to_device_tensor(x, device=None):
    """A tensor on the device: float64 arrays become floatx, other dtypes are kept."""
    device = device or config.device()
    if isinstance(x, torch.Tensor):
        tensor = x
    else:
        if hasattr(x, "to_numpy"):  # pandas
            x = x.to_numpy()
        array = np.asarray(x)
        if array.dtype == np.float64:
            array = array.astype(standardize_dtype(None))
        elif array.dtype.kind in "US" or array.dtype == object:
            return array  # strings stay NumPy (for preprocessing layers)
        tensor = torch.from_numpy(np.ascontiguousarray(array))
    if tensor.dtype == torch.float64 and config.floatx() != "float64":
        tensor = tensor.to(torch.float32)
    return tensor.to(device, non_blocking=True)


class ArrayDataAdapter:
    """Whole-batch slicing over in-memory ``(x, y, sample_weight)`` structures."""

    def __init__(self, x, y=None, sample_weight=None, batch_size=32, shuffle=False, steps=None):
        self.x, self.y, self.sample_weight = (_map(to_device_tensor, s) for s in (x, y, sample_weight))
        leaves = _leaves(self.x) + _leaves(self.y) + _leaves(self.sample_weight)
        sizes = {int(leaf.shape[0]) for leaf in leaves}
        if len(sizes) > 1:
            raise ValueError(
                "Data cardinality is ambiguous: make sure all arrays contain the same number of samples. "
                f"Received sizes: x={[int(v.shape[0]) for v in _leaves(self.x)]}, "
                f"y={[int(v.shape[0]) for v in _leaves(self.y)]}, "
                f"sample_weight={[int(v.shape[0]) for v in _leaves(self.sample_weight)]}"
            )
        self.num_samples = sizes.pop() if sizes else 0
        self.batch_size = int(batch_size)
        if self.batch_size <= 0:
            raise ValueError(f"`batch_size` must be a positive integer. Received: batch_size={batch_size}")
        self.shuffle = shuffle
        self.steps = steps

    @property
    def num_batches(self):
        # With an explicit number of steps, an epoch may end early when a pass over the data runs out.
        return math.ceil(self.num_samples / self.batch_size) if self.steps is None else self.steps

    def __iter__(self):
        if self.steps is None:
            return self._pass()
        return epoch_of_steps(self, self.steps, math.ceil(self.num_samples / self.batch_size), self._pass)

    def _pass(self):
        x, y, sw = self.x, self.y, self.sample_weight
        if self.shuffle is True or self.shuffle == "batch":
            device = next((leaf.device for leaf in _leaves(x) if isinstance(leaf, torch.Tensor)), None)
            perm = torch.randperm(self.num_samples, device=device)
            if self.shuffle == "batch":  # shuffle the order of whole batches, as Keras does
                perm = _batch_shuffle(self.num_samples, self.batch_size, device)

            def gather(t):
                return t.index_select(0, perm) if isinstance(t, torch.Tensor) else t[perm.cpu().numpy()]

            x, y, sw = _map(gather, x), _map(gather, y), _map(gather, sw)
        batch = self.batch_size
        for step in range(math.ceil(self.num_samples / batch)):
            cut = _slicer(slice(step * batch, (step + 1) * batch))
            yield _map(cut, x), _map(cut, y), _map(cut, sw)


def epoch_of_steps(owner, steps, per_pass, make_pass):
    """An epoch of ``steps`` batches, as Keras: a pass over the data (``make_pass()``, ``per_pass`` batches) runs
    on across epochs, an epoch that runs out of data ends early, and the next epoch starts a new pass. The
    position in the pass is kept on ``owner``."""
    position = getattr(owner, "_position", per_pass)
    done = 0
    while done < steps and per_pass:
        if position >= per_pass:
            if done:
                break  # out of data in this epoch
            position, owner._pass_batches = 0, make_pass()
        batch = next(owner._pass_batches)
        position += 1
        owner._position = position
        done += 1
        yield batch


def _slicer(index):
    return lambda t: t[index]


def _batch_shuffle(num_samples, batch_size, device):
    order = torch.randperm(math.ceil(num_samples / batch_size), device=device)
    index = torch.arange(num_samples, device=device)
    chunks = list(torch.split(index, batch_size))
    return torch.cat([chunks[i] for i in order.tolist()])


class IterableDataAdapter:
    """Batches produced by a generator, a DataLoader, a PyDataset or any iterable."""

    def __init__(self, data, steps=None, reiterable=True, class_weight=None):
        self.data = data
        self.steps = steps
        self.reiterable = reiterable
        try:
            self._length = data.num_batches if hasattr(data, "_lamina_py_dataset") else len(data)
        except TypeError:
            self._length = None
        self._iterator = None

    @property
    def num_batches(self):
        if self.steps is not None:
            return self.steps
        return self._length

    def __iter__(self):
        source = self.data
        if hasattr(source, "on_epoch_begin"):
            source.on_epoch_begin()
        if self.reiterable:
            iterator = iter(source)
        else:
            if self._iterator is None:
                self._iterator = iter(source)
            iterator = self._iterator
        count = 0
        for batch in iterator:
            if isinstance(batch, list) and len(batch) in (2, 3):
                batch = tuple(batch)  # torch's default collation turns (x, y) into [x, y]
            yield unpack_batch(_map(to_device_tensor, batch))
            count += 1
            if self.steps is not None and count >= self.steps:
                break
        if hasattr(source, "on_epoch_end"):
            source.on_epoch_end()


def unpack_batch(batch):
    """``(x,)``, ``(x, y)`` or ``(x, y, sample_weight)`` -> a 3-tuple; a dict/array is x alone."""
    if isinstance(batch, tuple):
        if len(batch) == 1:
            return batch[0], None, None
        if len(batch) == 2:
            return batch[0], batch[1], None
        if len(batch) == 3:
            return batch[0], batch[1], batch[2]
        raise ValueError(
            "Data is expected to be in format `x`, `(x,)`, `(x, y)`, or `(x, y, sample_weight)`. "
            f"Received a tuple of length {len(batch)}."
        )
    return batch, None, None


def get_data_adapter(x, y=None, sample_weight=None, batch_size=None, steps=None, shuffle=False):
    """Picks the adapter for ``x`` (and checks that ``y`` is allowed with it)."""
    import inspect

    if isinstance(x, torch.utils.data.TensorDataset) and 1 <= len(x.tensors) <= 3:
        # Its samples are rows of whole tensors: slice batches from them instead of letting a DataLoader
        # fetch and collate sample by sample (the tensors are (x,), (x, y) or (x, y, sample_weight)).
        _no_targets(y, sample_weight, "a torch Dataset")
        parts = list(x.tensors) + [None] * (3 - len(x.tensors))
        return ArrayDataAdapter(parts[0], parts[1], parts[2], batch_size=batch_size or 32, shuffle=shuffle,
                                steps=steps)
    if isinstance(x, torch.utils.data.Dataset) and not isinstance(x, torch.utils.data.IterableDataset) \
            and not hasattr(x, "_lamina_py_dataset"):
        # A map-style dataset: a DataLoader fetches its samples one index at a time (or in one call when the
        # dataset defines torch's `__getitems__`) and collates them into a batch.
        _no_targets(y, sample_weight, "a torch Dataset")
        loader = torch.utils.data.DataLoader(x, batch_size=batch_size or 32, shuffle=bool(shuffle))
        return IterableDataAdapter(loader, steps=steps)
    if isinstance(x, (torch.utils.data.DataLoader, torch.utils.data.IterableDataset)):
        _no_targets(y, sample_weight, type(x).__name__)
        return IterableDataAdapter(x, steps=steps)
    if hasattr(x, "_lamina_py_dataset"):
        _no_targets(y, sample_weight, "a PyDataset")
        return IterableDataAdapter(x, steps=steps)
    if inspect.isgenerator(x) or (hasattr(x, "__next__") and not _is_array_like(x)):
        _no_targets(y, sample_weight, "a generator")
        return IterableDataAdapter(x, steps=steps, reiterable=False)
    if all(_is_array_like(leaf) or isinstance(leaf, (list, np.ndarray)) for leaf in _leaves(x)):
        return ArrayDataAdapter(_arrays(x), _arrays(y), _arrays(sample_weight), batch_size=batch_size or 32,
                                shuffle=shuffle, steps=steps)
    raise ValueError(
        "Unrecognized data type: x should be a NumPy array, a torch tensor, a list/dict of them, a pandas "
        "object, a generator, a torch DataLoader/Dataset or a lamina.utils.PyDataset. "
        f"Received: x of type {type(x).__name__}"
    )


def _arrays(structure):
    if structure is None:
        return None
    if isinstance(structure, list) and structure and not hasattr(structure[0], "shape") \
            and not isinstance(structure[0], (list, dict)):
        return np.asarray(structure)  # a plain Python list of numbers
    if hasattr(structure, "to_numpy") and hasattr(structure, "columns"):  # DataFrame: one array
        return structure.to_numpy()
    return structure


def _no_targets(y, sample_weight, what):
    if y is not None or sample_weight is not None:
        raise ValueError(
            f"`y` and `sample_weight` must not be passed when `x` is {what}: it must yield (x, y) or "
            "(x, y, sample_weight) batches itself."
        )


def train_validation_split(x, y, sample_weight, validation_split):
    """Keras's split: the last ``validation_split`` fraction, taken before any shuffling."""
    if not 0.0 < validation_split < 1.0:
        raise ValueError(f"`validation_split` must be in (0, 1). Received: validation_split={validation_split}")
    leaves = _leaves(x)
    if not leaves or not all(_is_array_like(leaf) for leaf in leaves):
        raise ValueError("`validation_split` is only supported for arrays and tensors, not for datasets or "
                         "generators. Pass `validation_data` instead.")
    n = int(leaves[0].shape[0])
    split = int(math.floor(n * (1.0 - validation_split)))
    if split == 0 or split == n:
        raise ValueError(f"Training data contains {n} samples, which is not sufficient to split it into a "
                         f"validation and training set as specified by `validation_split={validation_split}`.")

    def head(t):
        return t[:split]

    def tail(t):
        return t[split:]

    return ((_map(head, x), _map(head, y), _map(head, sample_weight)),
            (_map(tail, x), _map(tail, y), _map(tail, sample_weight)))
