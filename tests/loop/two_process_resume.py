"""Run under ``accelerate launch --num_processes 2``: train a toy model through idvid.loop's pieces
straight to step 4 (checkpoints at 2 and 4) in OUT/straight, then resume a copy of its step-2
checkpoint in OUT/resumed and train to step 4 again. The test compares the two step-4 checkpoints."""

import shutil
import sys
from pathlib import Path

import torch
from diffusers.training_utils import EMAModel

from idvid.data.buckets import BucketBatchSampler
from idvid.loop.accelerator import make_accelerator
from idvid.loop.checkpoints import latest_checkpoint, load_checkpoint, save_checkpoint, save_trainable_weights_only
from idvid.loop.data import RunBatches, batches_from, make_loader

STEPS, SAMPLES, GLOBAL_BATCH = 4, 8, 4


class Toy:
    """Sample (epoch, index) -> a fixed random input; the target depends on the index only."""

    def __len__(self):
        return SAMPLES

    def __getitem__(self, key):
        epoch, index = key
        x = torch.randn(6, generator=torch.Generator().manual_seed(100 * epoch + index))
        return {"x": x, "y": torch.full((2,), float(index))}


def run(out: Path, resume: bool) -> None:
    accelerator = make_accelerator()
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2))
    model[0].requires_grad_(False)  # a frozen part, which checkpoints leave out
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=1e-2)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0 / (1 + step))
    sampler = BucketBatchSampler(["a"] * SAMPLES, GLOBAL_BATCH, seed=0, drop_last=True)
    loader = make_loader(accelerator, Toy(), RunBatches(sampler, STEPS), workers=0)
    model, optimizer, scheduler = accelerator.prepare(model, optimizer, scheduler)
    ema = EMAModel(params, decay=0.9)
    save_trainable_weights_only(accelerator)
    accelerator.register_for_checkpointing(ema)
    step = load_checkpoint(accelerator, latest_checkpoint(out)) if resume else 0
    for batch in batches_from(accelerator, loader, step):
        assert len(batch["x"]) == GLOBAL_BATCH // accelerator.num_processes
        # dropout draws from each process's torch RNG, which the checkpoint must restore
        prediction = model(torch.nn.functional.dropout(batch["x"], 0.5))
        accelerator.backward((prediction - batch["y"]).square().mean())
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
        ema.step(params)
        step += 1
        if step % 2 == 0:
            save_checkpoint(accelerator, out, step)


def main(out: Path) -> None:
    run(out / "straight", resume=False)
    state = make_accelerator().state
    if state.is_main_process:
        shutil.copytree(out / "straight" / "ckpt-2", out / "resumed" / "ckpt-2")
    state.wait_for_everyone()
    run(out / "resumed", resume=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
