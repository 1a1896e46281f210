"""A run's batches: a DataLoader with workers over global batches, prepared by accelerate."""

from __future__ import annotations

import itertools

import torch


def collate(samples: list[dict]) -> dict:
    """Dataset samples -> a batch: tensors stacked, everything else listed."""
    out = {}
    for key in samples[0]:
        values = [s[key] for s in samples]
        out[key] = torch.stack(values) if isinstance(values[0], torch.Tensor) else values
    return out


class RunBatches:
    """The batch sampler of a whole run: its first ``total`` global batches, epoch after epoch of
    ``epochs`` (a batch sampler with ``set_epoch`` and ``batch_size``), each index paired with its
    epoch as ``(epoch, index)``.

    The pair is the dataset's key: a DataLoader worker holds its own copy of the dataset, which a
    ``set_epoch`` in the main process never reaches, so the epoch travels with the index and a
    sample depends on (epoch, index) alone, not on the worker that loads it. Batch m is the run's
    micro-batch m, so a resumed run skips m lists of indices and decodes nothing it skips.
    """

    def __init__(self, epochs, total: int):
        if len(epochs) == 0:
            raise ValueError("the batch sampler has no batch in an epoch")
        self.epochs, self.total = epochs, int(total)
        self.batch_size = epochs.batch_size  # accelerate's split_batches slices batches of this size

    def __len__(self) -> int:
        return self.total

    def __iter__(self):
        batches = (
            [(epoch, int(i)) for i in batch]
            for epoch in itertools.count()
            for batch in self._epoch(epoch)
        )
        return itertools.islice(batches, self.total)

    def _epoch(self, epoch: int) -> list[list[int]]:
        self.epochs.set_epoch(epoch)
        return list(self.epochs)


def make_loader(accelerator, dataset, batch_sampler, workers: int, collate_fn=collate):
    """A DataLoader over ``batch_sampler``'s global batches, prepared by accelerate: process r gets
    slice r of every batch, on its device. ``workers`` processes load batches ahead of the step
    (torch prefetches 2 per worker); 0 loads them in this process."""
    from torch.utils.data import DataLoader

    # its own generator: starting an iterator draws a seed, which must not move the global torch RNG
    # (a resumed run starts one where an uninterrupted run does not)
    loader = DataLoader(dataset, batch_sampler=batch_sampler, num_workers=workers, collate_fn=collate_fn,
                        pin_memory=accelerator.device.type == "cuda", generator=torch.Generator().manual_seed(0))
    return accelerator.prepare(loader)


def batches_from(accelerator, loader, start: int):
    """``loader`` positioned at batch ``start``: the skipped batches' indices are drawn, not loaded."""
    return accelerator.skip_first_batches(loader, start) if start else loader
