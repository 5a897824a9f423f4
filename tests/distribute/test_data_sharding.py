"""The sharded array adapter walks the same global batches as the single-process one (no process group)."""

import torch

from lamina.distribute.data_sharding import ShardedArrays
from lamina.training.data_adapters import ArrayDataAdapter


class _TwoProcesses:
    """The parts of `DataParallel` the sharded adapter reads, for process ``rank`` of two."""

    num_processes = 2

    def __init__(self, rank):
        self.data_shard_id = rank
        self._grad_scale = 1.0

    def shared_seed(self):
        return 0


def _epochs(adapter, epochs):
    return [[batch[0][:, 0].tolist() for batch in adapter] for _ in range(epochs)]


def test_steps_per_epoch_runs_on_through_a_pass_as_unsharded():
    x = torch.arange(10.0).reshape(10, 1)  # 3 batches of 4: [0-3], [4-7], [8, 9]
    whole = _epochs(ArrayDataAdapter(x, batch_size=4, steps=2), 3)
    assert whole == [[[0, 1, 2, 3], [4, 5, 6, 7]], [[8, 9]], [[0, 1, 2, 3], [4, 5, 6, 7]]]
    shards = [_epochs(ShardedArrays(ArrayDataAdapter(x, batch_size=4, steps=2), _TwoProcesses(rank), False), 3)
              for rank in (0, 1)]
    for epoch, batches in enumerate(whole):
        joined = [a + b for a, b in zip(shards[0][epoch], shards[1][epoch])]
        assert joined == batches
