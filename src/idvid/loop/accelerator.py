"""The Accelerator every idvid trainer runs under."""

from __future__ import annotations

import torch


def make_accelerator(mixed_precision: str = "no", cpu: bool = False):
    """An Accelerator; a CPU one (gloo under ``accelerate launch``) when ``cpu`` is asked for or the
    machine has no accelerator.

    ``split_batches``: the batch sampler yields *global* batches and process r trains on slice r of
    each, so N processes with batch b see what one process with batch N * b sees; the LR scheduler,
    prepared too, then steps once per optimizer step whatever the process count.
    """
    from accelerate import Accelerator, DataLoaderConfiguration
    from accelerate.state import AcceleratorState

    state = AcceleratorState._shared_state
    if state and state.get("_mixed_precision") not in (None, mixed_precision) and state.get("num_processes", 1) == 1:
        AcceleratorState._reset_state()  # a second trainer in one process, other precision
    has_accelerator = torch.cuda.is_available() or (hasattr(torch, "xpu") and torch.xpu.is_available())
    return Accelerator(mixed_precision=mixed_precision, cpu=cpu or not has_accelerator,
                       dataloader_config=DataLoaderConfiguration(split_batches=True))
