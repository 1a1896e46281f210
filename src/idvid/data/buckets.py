"""Size-bucketed global batches over a clip store.

Clips of different frame sizes cannot share a batch, so batches are formed inside each
``bucket`` ("HxW"). :class:`BucketBatchSampler` is a batch sampler for ``torch.utils.data.
DataLoader(dataset, batch_sampler=...)``:

1. per bucket, the clip indices are shuffled with ``(seed, epoch)`` and cut into batches of
   ``batch_size``;
2. all batches are shuffled together with ``(seed, epoch)``.

In training the batches are *global*: ``batch_size`` is the per-process batch times the process
count, and accelerate's ``split_batches`` gives process r slice r of every batch
(:func:`idvid.loop.data.make_loader`). Ranks never share a sample, and together they see exactly
the global batch, so 2 processes with batch 1 see what 1 process with batch 2 sees. A bucket's
last batch may be short; ``drop_last`` drops it (training does: a short batch cannot be split
evenly, and accelerate skips it on some process counts but not on others).

The batches hold dataset indices only; per-sample randomness comes from the dataset's
``(seed, epoch, index)``, so it does not depend on the process or DataLoader worker.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np


class BucketBatchSampler:
    """buckets: one bucket key per dataset index (e.g. ``ClipDataset.buckets``); batch_size: samples
    per batch (in training: the global batch); drop_last: drop each bucket's short last batch."""

    def __init__(self, buckets: Sequence[str], batch_size: int, seed: int = 0, shuffle: bool = True,
                 drop_last: bool = False):
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.buckets = list(buckets)
        self.batch_size = int(batch_size)
        self.seed, self.shuffle, self.drop_last = int(seed), shuffle, drop_last
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """A new shuffle per epoch (call before iterating)."""
        self.epoch = int(epoch)

    def batches(self) -> list[list[int]]:
        """Every batch of this epoch, in order."""
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
        return batches

    def unused_buckets(self) -> dict[str, int]:
        """Bucket -> clip count, for the buckets too small for one batch, which drop_last never
        yields at all (a short last batch of a larger bucket is only deferred: the shuffle differs
        by epoch)."""
        if not self.drop_last:
            return {}
        counts: dict[str, int] = {}
        for key in self.buckets:
            counts[key] = counts.get(key, 0) + 1
        return {key: n for key, n in sorted(counts.items()) if n < self.batch_size}

    def __iter__(self) -> Iterator[list[int]]:
        return iter(self.batches())

    def __len__(self) -> int:
        return len(self.batches())
