"""Each process's share of the data given to ``fit``/``evaluate``/``predict`` under `DataParallel`.

A global batch of ``n`` samples is cut into contiguous slices, one per process, of
``n // world`` samples (the first ``n % world`` processes take one more):

>>> [shard_bounds(7, world=2, rank=r) for r in range(2)]
[(0, 4), (4, 7)]

Arrays are sliced on the device straight from the global data (each process gathers
only its own rows); shuffling draws the permutation from a seed shared by all
processes, so the slices are disjoint and cover every batch. Map-style torch datasets
are read in ``fit`` through a `DistributedSampler` (process ``r`` loads only its
samples); any other source is read in full by every process, which keeps its slice of
each batch.
"""

import math
import warnings

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, IterableDataset, RandomSampler
from torch.utils.data.distributed import DistributedSampler

from lamina.training import data_adapters
from lamina.training.data_adapters import _map


def shard_bounds(n, world, rank):
    """``(start, stop)`` of process ``rank``'s slice of a batch of ``n`` samples."""
    base, extra = divmod(n, world)
    start = rank * base + min(rank, extra)
    return start, start + base + (1 if rank < extra else 0)


def distribute_data(distribution, build_adapter, x, y, sample_weight, batch_size, steps, shuffle, class_weight,
                    training, record_sizes):
    """The adapter yielding this process's batches (see `DataParallel.distribute_data`)."""
    if not distribution.auto_shard_dataset:
        return build_adapter(x, y, sample_weight, batch_size, steps, shuffle, class_weight)
    if training and _is_map_style(x):
        loader = _sampled_loader(distribution, x, batch_size, shuffle)
        return build_adapter(loader, y, sample_weight, None, steps, False, class_weight)
    adapter = build_adapter(x, y, sample_weight, batch_size, steps, shuffle, class_weight)
    if isinstance(adapter, data_adapters.ArrayDataAdapter):
        return ShardedArrays(adapter, distribution, keep_small=record_sizes)
    return ShardedBatches(adapter, distribution, keep_small=record_sizes)


def _is_map_style(x):
    if hasattr(x, "_lamina_py_dataset"):
        return False
    if isinstance(x, DataLoader):
        return x.batch_size is not None and not isinstance(x.dataset, IterableDataset)
    return isinstance(x, Dataset) and not isinstance(x, IterableDataset)


class _EpochLoader(DataLoader):
    """A DataLoader that tells its `DistributedSampler` which epoch starts (a new shuffle each epoch)."""

    def __iter__(self):
        epoch = getattr(self, "_lamina_epoch", 0)
        self.sampler.set_epoch(epoch)
        self._lamina_epoch = epoch + 1
        return super().__iter__()


def _sampled_loader(distribution, x, batch_size, shuffle):
    world, rank = distribution.num_processes, distribution.data_shard_id
    template = x if isinstance(x, DataLoader) else None
    options = {}
    if template is None:
        dataset, batch_size, shuffle = x, batch_size or 32, bool(shuffle)
    else:
        dataset, batch_size = template.dataset, template.batch_size
        shuffle = isinstance(template.sampler, RandomSampler)
        options = dict(num_workers=template.num_workers, collate_fn=template.collate_fn,
                       pin_memory=template.pin_memory, drop_last=template.drop_last, timeout=template.timeout,
                       worker_init_fn=template.worker_init_fn,
                       multiprocessing_context=template.multiprocessing_context,
                       persistent_workers=template.persistent_workers)
        if template.num_workers > 0:
            options["prefetch_factor"] = template.prefetch_factor
    if batch_size % world:
        raise ValueError(
            "To shard a torch Dataset, the global batch size must be divisible by the number of processes "
            f"(each process loads batch_size // num_processes samples). Received: batch_size={batch_size}, "
            f"num_processes={world}"
        )
    seed = distribution.shared_seed() if shuffle else 0
    sampler = DistributedSampler(dataset, num_replicas=world, rank=rank, shuffle=shuffle, seed=seed)
    return _EpochLoader(dataset, batch_size=batch_size // world, sampler=sampler, **options)


class _Sharded:
    """Common part of the sharded adapters: batch counting, shard weights and the small-batch rule."""

    def __init__(self, adapter, distribution, keep_small):
        self.adapter = adapter
        self.distribution = distribution
        self.keep_small = keep_small  # predict keeps batches smaller than the group (some slices are empty)
        self.sizes = []  # global size of each batch produced by the last pass (predict reassembles with them)

    @property
    def num_batches(self):
        return self.adapter.num_batches

    def _take(self, size):
        """This process's ``(start, stop)`` in a batch of ``size``, or None to skip the batch."""
        world = self.distribution.num_processes
        if size < world and not self.keep_small:
            warnings.warn(f"DataParallel: a batch of {size} samples cannot be split among {world} processes; "
                          "it is skipped.", stacklevel=4)
            return None
        start, stop = shard_bounds(size, world, self.distribution.data_shard_id)
        self.sizes.append(size)
        if size:
            self.distribution._grad_scale = (stop - start) * world / size
        return start, stop


class ShardedArrays(_Sharded):
    """This process's slice of every global batch of an `ArrayDataAdapter` (same batches, same shuffling)."""

    def first_batch(self):
        """This process's slice of the first batch, without shuffling (to build a model before broadcasting)."""
        a = self.adapter
        start, stop = shard_bounds(min(a.batch_size, a.num_samples), self.distribution.num_processes,
                                   self.distribution.data_shard_id)
        cut = _slicer(slice(start, stop))
        return _map(cut, a.x), _map(cut, a.y), _map(cut, a.sample_weight)

    def __iter__(self):
        a = self.adapter
        per_pass = math.ceil(a.num_samples / a.batch_size)
        batches = self._pass() if a.steps is None else data_adapters.epoch_of_steps(self, a.steps, per_pass,
                                                                                   self._pass)
        self.sizes = []
        try:
            for batch in batches:
                if batch is not None:
                    yield batch
        finally:
            self.distribution._grad_scale = 1.0

    def _pass(self):
        """One pass over the global batches (None where this process skips a batch), shuffled alike everywhere."""
        a = self.adapter
        n, batch = a.num_samples, a.batch_size
        per_pass = math.ceil(n / batch)
        perm = order = None
        if a.shuffle is True or a.shuffle == "batch":
            generator = torch.Generator().manual_seed(self.distribution.shared_seed())
            if a.shuffle == "batch":  # the order of whole batches
                order = torch.randperm(per_pass, generator=generator).tolist()
            else:
                perm = torch.randperm(n, generator=generator).to(_device_of(a.x))
        for k in range(per_pass):
            start = (order[k] if order is not None else k) * batch
            bounds = self._take(min(start + batch, n) - start)
            if bounds is None:
                yield None
                continue
            lo, hi = start + bounds[0], start + bounds[1]
            cut = _slicer(slice(lo, hi)) if perm is None else _gatherer(perm[lo:hi])
            yield _map(cut, a.x), _map(cut, a.y), _map(cut, a.sample_weight)


class ShardedBatches(_Sharded):
    """This process's slice of every batch of any other adapter (the source is read in full)."""

    def __iter__(self):
        self.sizes = []
        try:
            for x, y, sample_weight in self.adapter:
                leaves = data_adapters._leaves(x) + data_adapters._leaves(y) + data_adapters._leaves(sample_weight)
                bounds = self._take(int(leaves[0].shape[0]) if leaves else 0)
                if bounds is None:
                    continue
                cut = _slicer(slice(*bounds))
                yield _map(cut, x), _map(cut, y), _map(cut, sample_weight)
        finally:
            self.distribution._grad_scale = 1.0


def _slicer(index):
    return lambda t: t[index]


def _gatherer(index):
    host = None

    def gather(t):
        nonlocal host
        if isinstance(t, torch.Tensor):
            return t.index_select(0, index.to(t.device))
        if host is None:
            host = index.cpu().numpy()
        return t[host]  # NumPy leaves (strings)

    return gather


def _device_of(structure):
    return next((leaf.device for leaf in data_adapters._leaves(structure) if isinstance(leaf, torch.Tensor)), None)


def gather_predictions(distribution, outputs, adapter):
    """Every process's outputs (NumPy structures), interleaved back into the global batch order."""
    world = distribution.num_processes
    gathered = [None] * world
    torch.distributed.all_gather_object(gathered, outputs, group=distribution.process_group)
    counts = np.array([[stop - start for start, stop in (shard_bounds(size, world, r) for r in range(world))]
                       for size in adapter.sizes], dtype=np.int64).reshape(-1, world)
    return _merge(gathered, counts)


def _merge(per_process, counts):
    first = per_process[0]
    if isinstance(first, (list, tuple)):
        return type(first)(_merge([p[i] for p in per_process], counts) for i in range(len(first)))
    if isinstance(first, dict):
        return {key: _merge([p[key] for p in per_process], counts) for key in first}
    pieces = [np.split(np.asarray(p), np.cumsum(counts[:, r])[:-1]) for r, p in enumerate(per_process)]
    return np.concatenate([pieces[r][k] for k in range(counts.shape[0]) for r in range(len(per_process))])
