"""`launch`: runs a function in several local processes joined in one `torch.distributed` group.

For one machine (tests, notebooks, a few GPUs): the processes are started with
``torch.multiprocessing`` (spawn) and meet over TCP on ``127.0.0.1`` at a free port.
On several machines, or for fault tolerance, use ``torchrun`` instead::

    torchrun --nproc-per-node=2 train.py     # train.py builds the model under DataParallel().scope()

>>> launch(print, num_processes=0)
Traceback (most recent call last):
...
ValueError: `num_processes` must be a positive integer. Received: num_processes=0
"""

import datetime
import os
import queue as queue_module
import socket
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def launch(fn, num_processes, backend="gloo", args=(), timeout=None):
    """Runs ``fn(rank, *args)`` in ``num_processes`` new processes forming one process group.

    Args:
        fn: a picklable (module-level) function; it runs after ``torch.distributed`` is
            initialized, and its return values must be picklable.
        num_processes: how many processes (ranks ``0 .. num_processes - 1``).
        backend: ``'gloo'`` (CPU) or ``'nccl'`` (one GPU per process, ``cuda:rank``).
        args: further positional arguments of ``fn``.
        timeout: seconds before the processes are stopped and `TimeoutError` is raised
            (also the timeout of each collective); ``None`` waits without limit.

    Returns:
        The list of the return values of ``fn``, by rank.

    Raises:
        torch.multiprocessing.ProcessRaisedException: a process raised (its traceback is in the
            message); the other processes are stopped.
    """
    if not isinstance(num_processes, int) or isinstance(num_processes, bool) or num_processes < 1:
        raise ValueError(f"`num_processes` must be a positive integer. Received: num_processes={num_processes!r}")
    if backend not in ("gloo", "nccl", "mpi", "ucc"):
        raise ValueError(f"Unknown torch.distributed backend. Expected 'gloo' or 'nccl'. Received: backend={backend!r}")
    context = mp.get_context("spawn")
    results = context.Queue()
    port = free_port()
    processes = mp.start_processes(_worker, args=(fn, num_processes, port, backend, tuple(args), results, timeout),
                                   nprocs=num_processes, join=False, start_method="spawn")
    deadline = None if timeout is None else time.monotonic() + timeout
    values = {}
    try:
        while True:
            _drain(results, values)  # children cannot exit while their results wait in the pipe
            if processes.join(timeout=0.05):
                break
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"lamina.distribute.launch: the processes did not finish within {timeout} s.")
        _drain(results, values)
    finally:
        _stop(processes.processes)
        results.close()
    missing = sorted(set(range(num_processes)) - set(values))
    if missing:
        raise RuntimeError(f"lamina.distribute.launch: no result from ranks {missing}.")
    return [values[rank] for rank in range(num_processes)]


def _drain(results, values):
    while True:
        try:
            rank, value = results.get(timeout=0.01)
        except queue_module.Empty:
            return
        values[rank] = value


def _stop(processes):
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(5)
        if process.is_alive():
            process.kill()
            process.join()


def _worker(rank, fn, world_size, port, backend, args, results, timeout):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), LOCAL_RANK=str(rank),
                      WORLD_SIZE=str(world_size))
    if backend == "nccl":
        torch.cuda.set_device(rank % torch.cuda.device_count())
    limit = datetime.timedelta(seconds=timeout) if timeout is not None else datetime.timedelta(minutes=30)
    dist.init_process_group(backend, init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world_size,
                            timeout=limit)
    try:
        results.put((rank, fn(rank, *args)))
    finally:
        dist.destroy_process_group()
