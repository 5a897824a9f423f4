"""`PyDataset`: Keras 3's base class for Python data sources that produce whole batches.

Subclass it, implement ``__len__`` (the number of batches; or the ``num_batches`` property,
``None`` for an endless dataset) and ``__getitem__(index)`` returning batch ``index`` as
``x``, ``(x, y)`` or ``(x, y, sample_weight)``; pass the instance to ``fit``/``evaluate``/
``predict``. Iterating yields the batches in index order. With ``workers > 1`` batches are
prefetched by a thread pool, or by a process pool with ``use_multiprocessing=True``, with
at most ``max_queue_size`` batches in flight, still delivered in order.

Worker processes are started with the ``forkserver`` (or ``spawn``) method, never ``fork``,
which is unsafe once torch has started threads. They need the dataset object itself, so it is
pickled to them (your own object, handed over in memory - not read from a file): the class
must be importable (defined at a module's top level) and its state picklable. A new pool is
started for each pass, so changes made in ``on_epoch_end`` (e.g. reshuffling) reach the workers.

>>> import numpy as np
>>> class Squares(PyDataset):
...     def __len__(self):
...         return 3
...     def __getitem__(self, index):
...         x = np.full((2, 1), index, dtype="float32")
...         return x, x ** 2
>>> [int(y[0, 0]) for x, y in Squares(workers=2)]
[0, 1, 4]
"""

import collections
import concurrent.futures
import itertools
import multiprocessing

_worker_dataset = None


class PyDataset:
    """Base class for defining a parallel dataset using Python code.

    Args:
        workers: number of workers used for prefetching batches (``1``: batches are produced in
            the calling thread, on demand).
        use_multiprocessing: use processes instead of threads for the workers (for CPU-bound
            Python code that holds the GIL).
        max_queue_size: maximum number of batches requested ahead of the one being consumed.
    """

    _lamina_py_dataset = True  # how `fit` recognises a PyDataset

    def __init__(self, workers=1, use_multiprocessing=False, max_queue_size=10):
        if not isinstance(workers, int) or workers < 1:
            raise ValueError(f"`workers` must be a positive integer. Received: workers={workers!r}")
        if not isinstance(max_queue_size, int) or max_queue_size < 1:
            raise ValueError("`max_queue_size` must be a positive integer. "
                             f"Received: max_queue_size={max_queue_size!r}")
        self._workers = workers
        self._use_multiprocessing = bool(use_multiprocessing)
        self._max_queue_size = max_queue_size

    # Subclasses that forget ``super().__init__()`` still work, with the defaults.
    @property
    def workers(self):
        return self.__dict__.get("_workers", 1)

    @workers.setter
    def workers(self, value):
        self._workers = value

    @property
    def use_multiprocessing(self):
        return self.__dict__.get("_use_multiprocessing", False)

    @use_multiprocessing.setter
    def use_multiprocessing(self, value):
        self._use_multiprocessing = value

    @property
    def max_queue_size(self):
        return self.__dict__.get("_max_queue_size", 10)

    @max_queue_size.setter
    def max_queue_size(self, value):
        self._max_queue_size = value

    def __getitem__(self, index):
        """Returns batch ``index``: ``x``, ``(x, y)`` or ``(x, y, sample_weight)``."""
        raise NotImplementedError(f"{type(self).__name__} must implement `__getitem__(self, index)`.")

    @property
    def num_batches(self):
        """The number of batches: ``len(self)``, or ``None`` for an endless dataset."""
        if hasattr(type(self), "__len__"):
            return len(self)
        raise NotImplementedError(f"{type(self).__name__} must implement `__len__` or the `num_batches` property "
                                  "(which may return None for an endless dataset).")

    def on_epoch_begin(self):
        """Called at the beginning of every epoch."""

    def on_epoch_end(self):
        """Called at the end of every epoch (e.g. to reshuffle)."""

    def __iter__(self):
        count = self.num_batches
        indices = range(count) if count is not None else itertools.count()
        if self.workers <= 1:
            for index in indices:
                yield _get(self, index)
            return
        yield from self._prefetch(iter(indices))

    def _prefetch(self, indices):
        if self.use_multiprocessing:
            context = multiprocessing.get_context(
                "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn")
            executor = concurrent.futures.ProcessPoolExecutor(self.workers, mp_context=context,
                                                              initializer=_init_worker, initargs=(self,))
            fetch = _get_in_worker
        else:
            executor = concurrent.futures.ThreadPoolExecutor(self.workers, thread_name_prefix="PyDataset")
            fetch = _get_bound(self)
        pending = collections.deque()
        try:
            for index in itertools.islice(indices, self.max_queue_size):
                pending.append((index, executor.submit(fetch, index)))
            while pending:
                index, future = pending.popleft()
                batch = _result(self, index, future)
                for next_index in itertools.islice(indices, 1):
                    pending.append((next_index, executor.submit(fetch, next_index)))
                yield batch
        finally:
            # Also when the consumer stops early (``steps``, an error): no batch is left running.
            for _, future in pending:
                future.cancel()
            executor.shutdown(wait=True, cancel_futures=True)


def _get(dataset, index):
    try:
        return dataset[index]
    except Exception as error:
        _annotate(error, dataset, index)
        raise


def _result(dataset, index, future):
    try:
        return future.result()
    except Exception as error:
        _annotate(error, dataset, index)
        raise


def _annotate(error, dataset, index):
    note = f"Raised by {type(dataset).__name__}.__getitem__({index}) in a PyDataset."
    if note not in getattr(error, "__notes__", ()):
        error.add_note(note)


def _get_bound(dataset):
    return dataset.__getitem__


def _init_worker(dataset):
    global _worker_dataset
    _worker_dataset = dataset


def _get_in_worker(index):
    return _worker_dataset[index]
