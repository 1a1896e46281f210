"""Size-bucketed, rank-sharded batches over a clip store.

Clips of different frame sizes cannot share a batch, so batches are formed inside each
``bucket`` ("HxW"). :class:`BucketBatchSampler` is a batch sampler for ``torch.utils.data.
DataLoader(dataset, batch_sampler=...)``:

1. per bucket, the clip indices are shuffled with ``(seed, epoch)`` and cut into batches;
2. all batches are shuffled together with ``(seed, epoch)`` (the same on every rank);
3. rank ``r`` of ``world_size`` takes batches ``r, r + world_size, ...``: ranks never share a
   sample, and together they cover every batch. With ``even=True`` (the default, needed by DDP)
   the last ``len(batches) % world_size`` batches are dropped so every rank gets the same count.

DataLoader workers need no extra sharding: the loader hands each batch of indices to exactly
one worker, and the dataset draws its per-sample randomness from ``(seed, epoch, index)``, so
results do not depend on which worker loads a sample.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np


class BucketBatchSampler:
    """buckets: one bucket key per dataset index (e.g. ``ClipDataset.buckets``); batch_size;
    rank, world_size: this process's place in distributed training; drop_last: drop each bucket's
    incomplete last batch; even: equal batch counts on all ranks (drops a few batches)."""

    def __init__(self, buckets: Sequence[str], batch_size: int, rank: int = 0, world_size: int = 1,
                 seed: int = 0, shuffle: bool = True, drop_last: bool = False, even: bool = True):
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if world_size < 1 or not 0 <= rank < world_size:
            raise ValueError(f"need 0 <= rank < world_size, got rank {rank}, world_size {world_size}")
        self.buckets = list(buckets)
        self.batch_size = int(batch_size)
        self.rank, self.world_size = int(rank), int(world_size)
        self.seed, self.shuffle, self.drop_last, self.even = int(seed), shuffle, drop_last, even
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """A new shuffle per epoch (call before iterating, on every rank alike)."""
        self.epoch = int(epoch)

    def all_batches(self) -> list[list[int]]:
        """Every rank's batches for this epoch, in order (before sharding)."""
        rng = np.random.default_rng([self.seed, self.epoch, 11])
        groups: dict[str, list[int]] = {}
        for index, key in enumerate(self.buckets):
            groups.setdefault(key, []).append(index)
        batches = []
        for key in sorted(groups):
            indices = np.asarray(groups[key])
            if self.shuffle:
                indices = indices[rng.permutation(len(indices))]
            for start in range(0, len(indices), self.batch_size):
                batch = indices[start:start + self.batch_size].tolist()
                if len(batch) == self.batch_size or not self.drop_last:
                    batches.append(batch)
        if self.shuffle:
            batches = [batches[i] for i in rng.permutation(len(batches))]
        if self.even:
            batches = batches[: len(batches) - len(batches) % self.world_size]
        return batches

    def __iter__(self) -> Iterator[list[int]]:
        return iter(self.all_batches()[self.rank :: self.world_size])

    def __len__(self) -> int:
        return len(self.all_batches()[self.rank :: self.world_size])
