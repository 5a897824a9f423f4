"""Multi-process data-parallel training on `torch.distributed` (Keras 3: ``keras.distribution``).

`DataParallel` (Keras's ``keras.distribution.DataParallel``) runs one model replica per
process: each process trains on its slice of every global batch, gradients are averaged
with ``all_reduce`` in a few flat buckets per step, ``fit`` starts from process 0's weights,
epoch-end metrics are global, and only process 0 (`is_chief`) prints progress and writes
checkpoints. A model uses it when compiled inside ``strategy.scope()``, or whenever
`set_distribution` has set it.

>>> import lamina
>>> strategy = lamina.distribute.DataParallel()
>>> strategy  # no process group in this doctest: one process, a no-op
<DataParallel num_processes=1, data_shard_id=0, auto_shard_dataset=True>
>>> lamina.distribute.is_chief()
True

A training script, started on one machine by `launch` (spawned processes meeting on
``127.0.0.1``) or by ``torchrun --nproc-per-node=2 train.py`` (then call ``train(0)``
from the script: ``DataParallel()`` joins the group ``torchrun`` describes)::

    import numpy as np
    import lamina

    def train(rank):
        x, y = np.random.rand(256, 8), np.random.rand(256, 1)   # the same global data in every process
        strategy = lamina.distribute.DataParallel()
        with strategy.scope():
            model = lamina.Sequential([lamina.Input((8,)), lamina.layers.Dense(16, activation="relu"),
                                       lamina.layers.Dense(1)])
            model.compile(optimizer="adam", loss="mse")
        history = model.fit(x, y, batch_size=64, epochs=3)  # 32 samples per process and step
        return history.history["loss"]

    if __name__ == "__main__":
        losses = lamina.distribute.launch(train, num_processes=2, backend="gloo")

A lamina model is also a `torch.nn.Module`: build it, then wrap it in
``torch.nn.parallel.DistributedDataParallel`` in a plain torch training loop.
"""

from lamina._lazy import attach

_EXPORTS = {
    "DataParallel": "lamina.distribute.data_parallel:DataParallel",
    "distribution": "lamina.distribute.data_parallel:distribution",
    "set_distribution": "lamina.distribute.data_parallel:set_distribution",
    "is_chief": "lamina.distribute.data_parallel:is_chief",
    "launch": "lamina.distribute.launch:launch",
}

__getattr__, __dir__, __all__ = attach(__name__, _EXPORTS)
