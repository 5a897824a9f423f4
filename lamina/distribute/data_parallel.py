"""`DataParallel`: synchronous data parallelism over `torch.distributed` processes.

Every process holds a full replica of the model. Under a `DataParallel` distribution,
``fit``/``evaluate``/``predict`` give each process its slice of every global batch
(`lamina.distribute.data_sharding`), ``fit`` broadcasts the weights of process 0
before the first step, the trainer averages the gradients across processes with
``all_reduce`` on a few flat buckets per step (`DataParallel.reduce_gradients`), and
the loss/metric states are summed across processes at the end of each epoch and of
each evaluation (`DataParallel.sync_metrics`), so that every process reports the
global values. Keras 3's analogue is ``keras.distribution.DataParallel``.

>>> strategy = DataParallel()  # outside a process group: one process, nothing to do
>>> strategy.num_processes, strategy.data_shard_id, strategy.active
(1, 0, False)
>>> with strategy.scope():
...     distribution() is strategy
True
>>> distribution() is None
True
"""

import contextlib
import os
import threading

import torch
import torch.distributed as dist

_GLOBAL = [None]
_SCOPES = threading.local()


def distribution():
    """The current distribution: the innermost ``scope()``, else the one given to `set_distribution`."""
    stack = getattr(_SCOPES, "stack", None)
    return stack[-1] if stack else _GLOBAL[0]


def set_distribution(value):
    """Sets the distribution used by models that were not compiled under a ``scope()`` (``None`` unsets it)."""
    if value is not None and not isinstance(value, DataParallel):
        raise TypeError(f"Expected a `lamina.distribute.DataParallel` instance or None. Received: value={value!r}")
    _GLOBAL[0] = value


def is_chief():
    """Whether this process is the one that prints and writes files (rank 0, or no process group)."""
    return not _initialized() or dist.get_rank() == 0


def _initialized():
    return dist.is_available() and dist.is_initialized()


def attach_distribution(model):
    """Called by ``compile``: records the distribution of the enclosing ``scope()`` on the model."""
    current = distribution()
    object.__setattr__(model, "_distribution_scope", current)
    object.__setattr__(model, "_distribution", current if current is not None and current.active else None)


def active_distribution(model):
    """The distribution a ``fit``/``evaluate``/``predict`` call runs under (``None`` when single-process).

    The model's compile-time scope wins over the global `set_distribution`. The result is also set as
    ``model._distribution``, the one attribute the gradient step checks.
    """
    current = getattr(model, "_distribution_scope", None) or distribution()
    current = current if current is not None and current.active else None
    object.__setattr__(model, "_distribution", current)
    return current


class DataParallel:
    """Data-parallel training: one model replica per process, gradients averaged with ``all_reduce``.

    Start one process per device with ``torchrun`` (or `lamina.distribute.launch` on one
    machine); ``DataParallel()`` joins the process group that ``torchrun`` describes in the
    environment (``WORLD_SIZE``, ``RANK``, ``MASTER_ADDR``, ``MASTER_PORT``) when none is
    initialized yet. Outside a process group it is a no-op, so the same script also runs
    as a single process.

    Args:
        process_group: the `torch.distributed` group whose processes share the work;
            ``None`` uses the default (world) group.
        auto_shard_dataset: give each process its slice of every global batch (``True``,
            as Keras) or use the data of each process as it is (``False``: it is already sharded).
        bucket_cap_mb: size of the flat gradient buckets reduced in one collective.
        backend: the backend used when this object initializes the process group from
            ``torchrun``'s environment (default ``'nccl'`` with CUDA, else ``'gloo'``).

    Data: ``batch_size`` is the *global* batch; each of ``n`` processes gets
    ``batch_size // n`` samples of it (the first ``batch_size % n`` processes one more), and
    gradients are averaged weighted by these shard sizes, so that ``fit`` equals a
    single-process ``fit`` on the global batches for losses that average over the batch
    (Keras's default reduction). Arrays are shuffled with a seed shared by all processes.
    Map-style torch datasets (or DataLoaders over one) are read in ``fit`` through a
    `torch.utils.data.distributed.DistributedSampler`; generators, iterable datasets and
    `PyDataset`s are read in full by every process, which keeps its slice of each batch (they
    must produce the same batches in every process). A global batch smaller than the number
    of processes is skipped by ``fit``/``evaluate``.

    Not synchronized: batch-level logs seen by callbacks are those of each process; the
    moving statistics of ``BatchNormalization`` layers follow each process's data unless the
    layer has ``synchronized=True``. Parameters unused in a step must be unused in every process.
    """

    def __init__(self, process_group=None, auto_shard_dataset=True, bucket_cap_mb=25, backend=None):
        if not isinstance(bucket_cap_mb, (int, float)) or isinstance(bucket_cap_mb, bool) or bucket_cap_mb <= 0:
            raise ValueError(f"`bucket_cap_mb` must be a positive number. Received: bucket_cap_mb={bucket_cap_mb!r}")
        if not _initialized() and int(os.environ.get("WORLD_SIZE", "1")) > 1 and "MASTER_ADDR" in os.environ:
            backend = backend or ("nccl" if torch.cuda.is_available() else "gloo")
            if backend == "nccl":
                torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
            dist.init_process_group(backend=backend)
        self.process_group = process_group
        self.auto_shard_dataset = bool(auto_shard_dataset)
        self.bucket_cap_mb = bucket_cap_mb
        self._grad_scale = 1.0  # this process's shard of the current batch relative to an even share

    # ---- the process group ---------------------------------------------------------------------------
    @property
    def num_processes(self):
        """Number of processes sharing the work (``1`` outside a process group)."""
        return dist.get_world_size(self.process_group) if _initialized() else 1

    @property
    def data_shard_id(self):
        """This process's index in the group: which slice of each batch it takes."""
        return dist.get_rank(self.process_group) if _initialized() else 0

    world_size, rank = num_processes, data_shard_id

    @property
    def active(self):
        """Whether there is more than one process to synchronize with."""
        return _initialized() and self.num_processes > 1

    @property
    def is_chief(self):
        return is_chief()

    @contextlib.contextmanager
    def scope(self):
        """Models compiled inside the ``with`` block train under this distribution."""
        stack = getattr(_SCOPES, "stack", None)
        if stack is None:
            stack = _SCOPES.stack = []
        stack.append(self)
        try:
            yield self
        finally:
            stack.pop()

    def _collective_device(self):
        if dist.get_backend(self.process_group) == "nccl":
            return torch.device("cuda", torch.cuda.current_device())
        return torch.device("cpu")

    def _buckets(self, tensors):
        """Indices of the non-None tensors grouped by dtype and device, each group cut at ``bucket_cap_mb``."""
        cap = self.bucket_cap_mb * 2 ** 20
        open_buckets, done = {}, []
        for i, tensor in enumerate(tensors):
            if tensor is None:
                continue
            key = (tensor.dtype, tensor.device)
            bucket = open_buckets.setdefault(key, [[], 0])
            bucket[0].append(i)
            bucket[1] += tensor.numel() * tensor.element_size()
            if bucket[1] >= cap:
                done.append(bucket[0])
                del open_buckets[key]
        return done + [bucket[0] for bucket in open_buckets.values()]

    def _flat(self, tensors, indices):
        flat = torch.cat([tensors[i].reshape(-1) for i in indices])
        device = self._collective_device()
        return flat if flat.device == device else flat.to(device)

    @staticmethod
    def _unflatten(flat, tensors, indices):
        pieces = flat.split([tensors[i].numel() for i in indices])
        return [(i, piece.view(tensors[i].shape).to(tensors[i].device)) for i, piece in zip(indices, pieces)]

    # ---- gradients, weights, metrics ------------------------------------------------------------------------
    def reduce_gradients(self, grads):
        """Averages ``grads`` (a sequence of tensors or ``None``) across processes, a few collectives per step.

        Each process's gradients are weighted by the size of its shard of the batch, so the result is the
        gradient of the loss averaged over the whole global batch.
        """
        grads = list(grads)
        pre = self._grad_scale
        post = 1.0 / self.num_processes
        pending = []
        for indices in self._buckets(grads):
            flat = self._flat(grads, indices)
            if pre != 1.0:
                flat = flat * pre
            pending.append((indices, flat, dist.all_reduce(flat, group=self.process_group, async_op=True)))
        for indices, flat, work in pending:
            work.wait()
            flat.mul_(post)
            for i, piece in self._unflatten(flat, grads, indices):
                grads[i] = piece
        return grads

    def broadcast_variables(self, variables, src=0):
        """Copies the values of ``variables`` (lamina Variables) from process ``src`` into every process."""
        tensors = [_as_collective(v.value.detach()) for v in variables]
        for indices in self._buckets(tensors):
            flat = self._flat(tensors, indices)
            dist.broadcast(flat, src=src, group=self.process_group)
            with torch.no_grad():
                for i, piece in self._unflatten(flat, tensors, indices):
                    variables[i].value.copy_(piece.to(variables[i].value.dtype))

    def broadcast_model(self, model):
        """Makes every process start from process 0's weights (and optimizer state, once it has one)."""
        variables = list(model.weights)
        optimizer = getattr(model, "optimizer", None)
        if optimizer is not None and getattr(optimizer, "built", False):
            variables += list(optimizer.variables)
        self.broadcast_variables(variables)

    def begin_fit(self, model, adapter):
        """Builds an unbuilt model on this process's first batch, then broadcasts process 0's weights."""
        if not model.built:
            first_batch = getattr(adapter, "first_batch", None)
            if first_batch is None:
                raise ValueError(
                    f"Model '{model.name}' must be built before a distributed fit() on this kind of data, so that "
                    "process 0's initial weights can be broadcast: call it once on a batch (or build it) first."
                )
            with torch.no_grad():
                model(first_batch()[0], training=False)
        self.broadcast_model(model)

    def sync_metrics(self, model, logs):
        """Aggregates the state of ``model.metrics`` across processes; returns ``logs`` with the global values.

        Metric states are summed (their ``aggregation``: ``'mean'`` averages, ``'only_first_replica'``
        takes process 0's); logs that are not metric results are returned as they are.
        """
        groups = {"sum": [], "mean": [], "only_first_replica": []}
        for metric in model.metrics:
            for variable in metric.variables:
                kind = variable.aggregation if variable.aggregation in groups else "sum"
                groups[kind].append(variable)
        for kind, variables in groups.items():
            tensors = [_as_collective(v.value.detach()) for v in variables]
            for indices in self._buckets(tensors):
                flat = self._flat(tensors, indices)
                if kind == "only_first_replica":
                    dist.broadcast(flat, src=0, group=self.process_group)
                else:
                    dist.all_reduce(flat, group=self.process_group)
                    if kind == "mean":
                        flat = flat / self.num_processes
                for i, piece in self._unflatten(flat, tensors, indices):
                    variables[i].assign(piece.to(variables[i].value.dtype))
        results = model.get_metrics_result()
        return {key: results.get(key, value) for key, value in (logs or {}).items()} or results

    # ---- data -------------------------------------------------------------------------------------------
    def distribute_data(self, build_adapter, x, y, sample_weight, batch_size, steps, shuffle, class_weight=None,
                        training=False, record_sizes=False):
        """This process's batches of the data given to ``fit``/``evaluate``/``predict`` (see the class doc)."""
        from lamina.distribute import data_sharding

        return data_sharding.distribute_data(self, build_adapter, x, y, sample_weight, batch_size, steps,
                                             shuffle, class_weight, training, record_sizes)

    def gather_predictions(self, outputs, adapter):
        """Every process's predictions, put back in the order of the global data."""
        from lamina.distribute import data_sharding

        return data_sharding.gather_predictions(self, outputs, adapter)

    def shared_seed(self):
        """A random seed drawn by process 0 (from its torch generator) and given to every process."""
        seed = torch.randint(0, 2 ** 62, (1,), dtype=torch.int64).to(self._collective_device())
        dist.broadcast(seed, src=0, group=self.process_group)
        return int(seed.item())

    def barrier(self):
        dist.barrier(group=self.process_group)

    def __repr__(self):
        return (f"<DataParallel num_processes={self.num_processes}, data_shard_id={self.data_shard_id}, "
                f"auto_shard_dataset={self.auto_shard_dataset}>")


def _as_collective(tensor):
    return tensor.to(torch.uint8) if tensor.dtype == torch.bool else tensor
