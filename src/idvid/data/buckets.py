"""Size-bucketed, rank-sharded batches over a clip store.

Clips of different frame sizes cannot share a batch, so batches are formed inside each
``bucket`` ("HxW"). :class:`BucketBatchSampler` is a batch sampler for ``torch.utils.data.
DataLoader(dataset, batch_sampler=...)``:

1. per bucket, the clip indices are shuffled with ``(seed, epoch)`` and cut into *global*
   batches of ``batch_size * world_size``;
2. all global batches are shuffled together with ``(seed, epoch)`` (the same on every rank);
3. rank ``r`` takes its slice of every global batch: ranks never share a sample, and together
   they see exactly the global batch. So the global batches do not depend on how many processes
   share them: 2 processes with ``batch_size=1`` see what 1 process with ``batch_size=2`` sees.

A bucket's last global batch may be short: it is split as evenly as possible over the ranks,
and dropped when it cannot give every rank a sample (a rank without a batch would stall the
others), or when ``drop_last``.

DataLoader workers need no extra sharding: the loader hands each batch of indices to exactly
one worker, and the dataset draws its per-sample randomness from ``(seed, epoch, index)``, so
results do not depend on which worker loads a sample.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np


class BucketBatchSampler:
    """buckets: one bucket key per dataset index (e.g. ``ClipDataset.buckets``); batch_size: samples
    per rank; rank, world_size: this process's place in distributed training; drop_last: drop short
    global batches."""

    def __init__(self, buckets: Sequence[str], batch_size: int, rank: int = 0, world_size: int = 1,
                 seed: int = 0, shuffle: bool = True, drop_last: bool = False):
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if world_size < 1 or not 0 <= rank < world_size:
            raise ValueError(f"need 0 <= rank < world_size, got rank {rank}, world_size {world_size}")
        self.buckets = list(buckets)
        self.batch_size = int(batch_size)
        self.rank, self.world_size = int(rank), int(world_size)
        self.seed, self.shuffle, self.drop_last = int(seed), shuffle, drop_last
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """A new shuffle per epoch (call before iterating, on every rank alike)."""
        self.epoch = int(epoch)

    def global_batches(self) -> list[list[int]]:
        """Every global batch of this epoch, in order (before sharding over ranks)."""
        rng = np.random.default_rng([self.seed, self.epoch, 11])
        groups: dict[str, list[int]] = {}
        for index, key in enumerate(self.buckets):
            groups.setdefault(key, []).append(index)
        size = self.batch_size * self.world_size
        batches = []
        for key in sorted(groups):
            indices = np.asarray(groups[key])
            if self.shuffle:
                indices = indices[rng.permutation(len(indices))]
            for start in range(0, len(indices), size):
                batch = indices[start:start + size].tolist()
                if len(batch) == size or (not self.drop_last and len(batch) >= self.world_size):
                    batches.append(batch)
        if self.shuffle:
            batches = [batches[i] for i in rng.permutation(len(batches))]
        return batches

    def shard(self, batch: list[int]) -> list[int]:
        """This rank's part of one global batch."""
        if len(batch) == self.batch_size * self.world_size:
            return batch[self.rank * self.batch_size:(self.rank + 1) * self.batch_size]
        return np.array_split(np.asarray(batch), self.world_size)[self.rank].tolist()

    def __iter__(self) -> Iterator[list[int]]:
        return iter([self.shard(batch) for batch in self.global_batches()])

    def __len__(self) -> int:
        return len(self.global_batches())
