"""Dataset utilities with Keras's names and arguments: `split_dataset`,
`timeseries_dataset_from_array`, `image_dataset_from_directory`, `text_dataset_from_directory`.

Keras returns ``tf.data.Dataset`` objects; lamina returns a `BatchDataset`: re-iterable (one
``for`` loop = one epoch), ``len()`` = number of batches, yielding ``(x, y)`` tuples of torch
tensors, which ``Model.fit`` / ``evaluate`` / ``predict`` take directly.

>>> import numpy as np
>>> ds = timeseries_dataset_from_array(np.arange(10), None, sequence_length=3, sequence_stride=3, batch_size=2)
>>> [batch.tolist() for batch in ds]
[[[0, 1, 2], [3, 4, 5]], [[6, 7, 8]]]
>>> left, right = split_dataset(np.arange(10), left_size=0.8)
>>> len(left), len(right)
(8, 2)
"""

import numpy as np
import torch

from lamina.utils.batch_dataset import BatchDataset, as_numpy
from lamina.utils.image_dataset import image_dataset_from_directory
from lamina.utils.text_dataset import text_dataset_from_directory

__all__ = ["BatchDataset", "image_dataset_from_directory", "split_dataset", "text_dataset_from_directory",
           "timeseries_dataset_from_array"]


def timeseries_dataset_from_array(data, targets, sequence_length, sequence_stride=1, sampling_rate=1, batch_size=128,
                                  shuffle=False, seed=None, start_index=None, end_index=None):
    """Sliding windows over a time series, as batches (Keras's windows, checks and messages).

    Window ``i`` holds ``data[s + j * sampling_rate]`` for ``j < sequence_length``, where
    ``s = start_index + i * sequence_stride``; its target is ``targets[s]``. Only the steps in
    ``[start_index, end_index)`` are used.

    Args:
        data: array-like (or tensor) with time along the first axis.
        targets: the target of the window starting at each step, or ``None`` (windows only).
        sequence_length: steps per window.
        sequence_stride: steps between the starts of consecutive windows.
        sampling_rate: steps between the elements of a window.
        batch_size: windows per batch (``None``: single windows).
        shuffle: shuffle the windows at each epoch.
        seed: seed of the shuffling.
        start_index, end_index: the range of steps used.

    Returns:
        A `BatchDataset` yielding windows ``(batch, sequence_length, ...)`` (and targets).
    """
    n = len(data)
    if start_index:
        if start_index < 0:
            raise ValueError(f"`start_index` must be 0 or greater. Received: start_index={start_index}")
        if start_index >= n:
            raise ValueError("`start_index` must be lower than the length of the data. Received: "
                             f"start_index={start_index}, for data of length {n}")
    if end_index:
        if start_index and end_index <= start_index:
            raise ValueError("`end_index` must be higher than `start_index`. Received: "
                             f"start_index={start_index}, and end_index={end_index} ")
        if end_index >= n:
            raise ValueError("`end_index` must be lower than the length of the data. Received: "
                             f"end_index={end_index}, for data of length {n}")
        if end_index <= 0:
            raise ValueError(f"`end_index` must be higher than 0. Received: end_index={end_index}")
    if sampling_rate <= 0:
        raise ValueError(f"`sampling_rate` must be higher than 0. Received: sampling_rate={sampling_rate}")
    if sampling_rate >= n:
        raise ValueError("`sampling_rate` must be lower than the length of the data. Received: "
                         f"sampling_rate={sampling_rate}, for data of length {n}")
    if sequence_stride <= 0:
        raise ValueError(f"`sequence_stride` must be higher than 0. Received: sequence_stride={sequence_stride}")
    if sequence_stride >= n:
        raise ValueError("`sequence_stride` must be lower than the length of the data. Received: "
                         f"sequence_stride={sequence_stride}, for data of length {n}")
    start_index = start_index or 0
    end_index = n if end_index is None else end_index
    num_seqs = end_index - start_index - (sequence_length - 1) * sampling_rate
    if targets is not None:
        num_seqs = min(num_seqs, len(targets))
    starts = np.arange(0, max(num_seqs, 0), sequence_stride, dtype="int64")
    data = as_numpy(data)[start_index:end_index]
    offsets = np.arange(sequence_length, dtype="int64") * sampling_rate
    if targets is None:
        read = lambda idx: data[starts[idx][:, None] + offsets]  # noqa: E731
    else:
        target_array = as_numpy(targets)[start_index:end_index]
        read = lambda idx: (data[starts[idx][:, None] + offsets], target_array[starts[idx]])  # noqa: E731
    return BatchDataset(read, len(starts), batch_size, shuffle, seed)


def _split_sizes(left_size, right_size, total):
    """Keras's rules: floats are fractions (rounded), ints are counts, the missing side is the rest."""
    for name, value in (("left_size", left_size), ("right_size", right_size)):
        if value is not None and type(value) not in (int, float):
            raise TypeError(f"Invalid `{name}` Type. Expected: int or float or None, Received: "
                            f"type({name})={type(value)}")
    if left_size == 0 and right_size == 0:
        raise ValueError("Both `left_size` and `right_size` are zero. At least one of the split sizes must be "
                         "non-zero.")
    for name, value in (("left_size", left_size), ("right_size", right_size)):
        if (type(value) is int and (value <= 0 or value >= total)) or (type(value) is float and not 0 < value < 1):
            raise ValueError(f"`{name}` should be either a positive integer smaller than {total}, or a float within "
                             f"the range `[0, 1]`. Received: {name}={value}")
    if type(left_size) is float and type(right_size) is float and left_size + right_size > 1:
        raise ValueError("The sum of `left_size` and `right_size` is greater than 1. It must be less than or equal "
                         "to 1.")
    left = round(left_size * total) if type(left_size) is float else left_size
    right = round(right_size * total) if type(right_size) is float else right_size
    left = total - right if left is None else left
    right = total - left if right is None else right
    if left + right > total:
        raise ValueError(f"The sum of `left_size` and `right_size` should be smaller than the {total}. Received: "
                         f"left_size + right_size = {left + right}and total_length = {total}")
    for split, side in ((left, "left"), (right, "right")):
        if split == 0:
            raise ValueError(f"With `dataset` of length={total}, `left_size`={left_size} and "
                             f"`right_size`={right_size}. Resulting {side} side dataset split will be empty. Adjust "
                             "any of the aforementioned parameters")
    return int(left), int(right)


def _as_arrays(dataset):
    """A structure of NumPy arrays holding every sample of ``dataset``."""
    if isinstance(dataset, (np.ndarray, torch.Tensor)):
        return as_numpy(dataset)
    if isinstance(dataset, (tuple, list)) and dataset and all(hasattr(a, "shape") for a in dataset):
        return tuple(as_numpy(a) for a in dataset)
    if isinstance(dataset, dict):
        return {k: as_numpy(v) for k, v in dataset.items()}
    if isinstance(dataset, BatchDataset):
        dataset = dataset.unbatch()
    elif isinstance(dataset, torch.utils.data.Dataset) and not isinstance(dataset, torch.utils.data.IterableDataset):
        dataset = [dataset[i] for i in range(len(dataset))]
    elif not hasattr(dataset, "__iter__"):
        raise TypeError("The `dataset` argument must be a NumPy array, a torch tensor, a tuple/list/dict of arrays, "
                        f"a torch Dataset, a BatchDataset or an iterable of samples. Received: dataset={dataset!r}")
    samples = list(dataset)
    if not samples:
        raise ValueError("The `dataset` argument is empty.")
    if isinstance(samples[0], (tuple, list)):
        return tuple(np.stack([as_numpy(s[i]) for s in samples]) for i in range(len(samples[0])))
    return np.stack([as_numpy(s) for s in samples])


def split_dataset(dataset, left_size=None, right_size=None, shuffle=False, seed=None):
    """Splits a dataset into a left and a right part (Keras's sizes, order and shuffling).

    The left part is the first ``left_size`` samples and the right part the last ``right_size``
    (of the order after shuffling, which uses ``np.random.RandomState(seed)`` as Keras).

    Args:
        dataset: array, tensor, tuple/list/dict of arrays, torch ``Dataset``, `BatchDataset`, or an
            iterable of samples.
        left_size: int (samples) or float in (0, 1) (fraction); default: the rest, or 0.5 if both are ``None``.
        right_size: int or float, as ``left_size``; default: the rest.
        shuffle: shuffle the samples before splitting.
        seed: seed of the shuffling.

    Returns:
        ``(left, right)``: unbatched `BatchDataset` objects (call ``.batch(n)`` before ``fit``).
    """
    arrays = _as_arrays(dataset)
    leaves = list(arrays.values()) if isinstance(arrays, dict) else list(arrays) if isinstance(arrays, tuple) \
        else [arrays]
    total = len(leaves[0])
    if left_size is None and right_size is None:
        left_size = 0.5
    left, right = _split_sizes(left_size, right_size, total)
    order = np.arange(total)
    if shuffle:
        if seed is None:
            seed = np.random.randint(1e6)
        np.random.RandomState(seed).shuffle(order)

    def part(indices):
        def take(a):
            return a[indices]
        if isinstance(arrays, dict):
            return BatchDataset.from_arrays({k: take(v) for k, v in arrays.items()}, batch_size=None)
        if isinstance(arrays, tuple):
            return BatchDataset.from_arrays(tuple(take(a) for a in arrays), batch_size=None)
        return BatchDataset.from_arrays(take(arrays), batch_size=None)

    return part(order[:left]), part(order[total - right:])
