"""Training throughput with DataLoader workers, in one process run: ``--workers 0`` (clips decoded
in the training process, between steps) against ``--workers N`` (decoded ahead of the step by N
worker processes), on an ``idvid synth`` store without a latent cache, so every sample decodes
its mp4 window. The ``tiny`` model trains its adapter, one process; samples/s covers the steps
(worker start-up included), not model loading or the final save.

    python benchmarks/train_workers.py [--steps 16] [--batch-size 2] [--size 128] [--frames 9] [--workers 2]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path


def samples_per_s(store: Path, out: Path, workers: int, args) -> float:
    from idvid.training.config import from_dict
    from idvid.training.trainer import Trainer

    config = from_dict({
        "model": "tiny",
        "data": {"root": str(store), "num_frames": args.frames, "workers": workers},
        "train": {"trainable": "adapter", "steps": args.steps, "batch_size": args.batch_size,
                  "checkpoint_every": 10 ** 9, "log_every": 10 ** 9},  # time the steps, not the saves
    })
    return Trainer(config, out).train(progress=False)["samples_per_s"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=2)
    parser.add_argument("--size", type=int, default=128, help="frame size of the synthetic clips")
    parser.add_argument("--frames", type=int, default=9, help="frames per training sample")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    from idvid.data.synth import synthesize

    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "clips"
        synthesize(store, identities=4, clips_per_identity=2, seed=0, size=args.size, num_frames=2 * args.frames,
                   heldout_fraction=0.0, progress=False)
        rates = {n: samples_per_s(store, Path(tmp) / f"run-{n}", n, args) for n in (0, args.workers)}
    print(f"{args.steps} steps x batch {args.batch_size}, {args.size} px, {args.frames} frames, no latent cache")
    for n, rate in rates.items():
        print(f"--workers {n}: {rate:.2f} samples/s")
    print(f"ratio (workers {args.workers} / workers 0): {rates[args.workers] / rates[0]:.2f}x")


if __name__ == "__main__":
    main()
