"""Train the `nano` motion model on procedurally generated motion programs (and, optionally, on
the motion of real clips).

    python -m idvid.training.motion --out DIR --minutes 25 --seed 0
    python -m idvid.training.motion --out DIR --minutes 25 --clips PREPARED [MORE ...] --real-fraction 0.25

Each batch mixes fresh programs (new captions, encoded once by MiniLM and cached) with programs
whose caption was seen before, re-realised with new timing, amplitudes, reference pose and
background, so the text encoder is not the bottleneck. The denoiser predicts the clean sample
(x0) under a cosine-schedule DDPM; 10% of the rows see the null text (classifier-free guidance).
AdamW, warm-up then cosine learning rate, an EMA of the weights (diffusers ``EMAModel``), which is
what gets saved. The loss curve goes to ``DIR/train_log.csv``; the end prints an evaluation.

``--clips``: clip stores (``idvid prepare`` output, or ``idvid synth``'s) whose ``train`` clips give
control tracks measured from their faces (:mod:`idvid.data.tracks`; cached beside each clip, so
only the first run analyses the frames). ``real_fraction`` of every batch's rows are drawn from
them, with their captions encoded by the same :class:`CaptionBank`. A clip without a caption is
trained with the null text (the unconditional row of classifier-free guidance): it still shows
how people move when nothing is asked, which is what unguided sampling should produce. Clips whose
faces cannot be tracked are left out with a reason; channel statistics come from the programs.
"""

from __future__ import annotations

import argparse
import csv
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from diffusers import DDIMScheduler, DDPMScheduler
from diffusers.training_utils import EMAModel
from tqdm.auto import tqdm

from idvid.data.captions import write_caption
from idvid.data.motion_programs import MODEL_FRAMES, Step, realise, sample_clip, sample_reference_pose, sample_steps
from idvid.data.tracks import ClipTrack, store_tracks
from idvid.engines.nano.motion import MotionGenerator
from idvid.engines.nano.motion_dit import MotionDiT
from idvid.errors import IdvidError
from idvid.models.text_encoder import TextEncoder, get_text_encoder
from idvid.render.controls import CONTROL_NAMES

MODEL_CONFIG = dict(width=128, num_layers=4, num_heads=4, num_frames=MODEL_FRAMES)
SCHEDULER_CONFIG = dict(num_train_timesteps=1000, beta_schedule="squaredcos_cap_v2", prediction_type="sample",
                        clip_sample=False)


@dataclass
class TrainConfig:
    """Optimisation settings (model hyper-parameters live in the model config)."""

    batch_size: int = 64
    fresh_per_batch: int = 8  # rows per batch with a never-seen program and caption
    real_fraction: float = 0.25  # share of each batch's rows from clip tracks, when clips are given
    learning_rate: float = 8e-4
    warmup_steps: int = 150
    weight_decay: float = 0.01
    text_dropout: float = 0.1
    head_weight: float = 3.0  # loss weight of yaw, pitch, roll (the prompt's head actions) vs other controls
    ema_decay: float = 0.999
    stats_clips: int = 4096
    log_every: int = 10
    save_every_minutes: float = 5.0
    model_config: dict = field(default_factory=lambda: dict(MODEL_CONFIG))

    def __post_init__(self) -> None:
        if not 0.0 <= self.real_fraction < 1.0:  # programs stay in every batch: they carry the vocabulary
            raise IdvidError(f"real_fraction must be in [0, 1), got {self.real_fraction}")


def make_schedulers() -> tuple[DDPMScheduler, DDIMScheduler]:
    """Training noise (DDPM) and sampling (DDIM, trailing spacing), both predicting the clean sample."""
    train = DDPMScheduler(**SCHEDULER_CONFIG)
    return train, DDIMScheduler.from_config(train.config, timestep_spacing="trailing")


def channel_statistics(seed: int, count: int) -> tuple[list[float], list[float]]:
    """Per-control mean and std (floored at 1e-3) over ``count`` sampled clips."""
    rng = np.random.default_rng([seed, 1])
    values = np.concatenate([sample_clip(rng).track.values for _ in range(count)])
    return values.mean(0).tolist(), np.maximum(values.std(0), 1e-3).tolist()


class CaptionBank:
    """MiniLM token features per caption string, computed once and kept as float16."""

    def __init__(self, encoder: TextEncoder) -> None:
        self.encoder = encoder
        self.features: dict[str, torch.Tensor] = {}

    def add(self, captions: Sequence[str]) -> None:
        new = list(dict.fromkeys(c for c in captions if c not in self.features))
        if new:
            tokens, mask, _ = self.encoder.encode(new)
            for caption, row, keep in zip(new, tokens, mask):
                self.features[caption] = row[keep].half()

    def batch(self, captions: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """-> tokens (B, L, 384) float32 padded with zeros, mask (B, L) bool."""
        self.add(captions)
        rows = [self.features[c] for c in captions]
        length = max(len(r) for r in rows)
        tokens = torch.zeros(len(rows), length, rows[0].shape[-1])
        mask = torch.zeros(len(rows), length, dtype=torch.bool)
        for i, row in enumerate(rows):
            tokens[i, : len(row)] = row.float()
            mask[i, : len(row)] = True
        return tokens, mask


Rows = tuple[list[np.ndarray], list[str], list[np.ndarray]]  # controls (T, 16), captions, reference poses (3,)


class ProgramSource:
    """Fresh (steps, caption) programs plus re-realised ones from a growing pool."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng([seed, 2])
        self.pool: list[tuple[tuple[Step, ...], str]] = []

    def rows(self, size: int, fresh: int) -> Rows:
        fresh = size if len(self.pool) < size else fresh
        plans = []
        for _ in range(fresh):
            steps = sample_steps(self.rng)
            plans.append((steps, write_caption(steps, self.rng)))
        self.pool.extend(plans)
        plans += [self.pool[i] for i in self.rng.integers(len(self.pool), size=size - fresh)]
        poses = [sample_reference_pose(self.rng) for _ in plans]
        controls = [realise(steps, self.rng, pose)[0] for (steps, _), pose in zip(plans, poses)]
        return controls, [caption for _, caption in plans], poses


class TrackSource:
    """Rows from clip tracks (real motion), drawn uniformly with replacement."""

    def __init__(self, tracks: Sequence[ClipTrack], seed: int) -> None:
        self.tracks = list(tracks)
        self.rng = np.random.default_rng([seed, 5])

    def rows(self, size: int) -> Rows:
        picks = [self.tracks[i] for i in self.rng.integers(len(self.tracks), size=size)] if self.tracks else []
        return [t.values for t in picks], [t.caption for t in picks], [t.reference_pose for t in picks]


class MixedSource:
    """Training batches: ``real_fraction`` of the rows (rounded) from clip tracks, the rest programs."""

    def __init__(self, bank: CaptionBank, seed: int, tracks: Sequence[ClipTrack] = (), real_fraction: float = 0.0):
        self.bank = bank
        self.programs = ProgramSource(seed)
        self.tracks = TrackSource(tracks, seed)
        self.real_fraction = real_fraction if tracks else 0.0

    def batch(self, size: int, fresh: int) -> dict[str, torch.Tensor]:
        """-> controls (B, T, 16), tokens (B, L, 384), mask (B, L), reference_pose (B, 3), and
        null_text (B,) bool: rows without a caption, trained with the null text. Real rows come last."""
        real = round(size * self.real_fraction)
        programs = self.programs.rows(size - real, min(fresh, size - real))
        tracks = self.tracks.rows(real)
        controls, captions, poses = (a + b for a, b in zip(programs, tracks))
        tokens, mask = self.bank.batch(captions)
        return {"controls": torch.from_numpy(np.stack(controls)), "tokens": tokens, "mask": mask,
                "reference_pose": torch.tensor(np.stack(poses), dtype=torch.float32),
                "null_text": torch.tensor([not c for c in captions])}


def channel_weights(head_weight: float) -> torch.Tensor:
    """(16,) loss weights: ``head_weight`` for yaw, pitch, roll, 1 for the others; mean 1."""
    weights = torch.ones(len(CONTROL_NAMES))
    weights[[CONTROL_NAMES.index(axis) for axis in ("yaw", "pitch", "roll")]] = head_weight
    return weights / weights.mean()


def diffusion_loss(model: MotionDiT, scheduler: DDPMScheduler, batch: dict, generator: torch.Generator,
                   text_dropout: float, head_weight: float = 1.0) -> torch.Tensor:
    """x0-prediction MSE at uniformly drawn timesteps (head channels weighted), with text dropout."""
    # 1. Normalise, draw timesteps and noise, noise the clean controls.
    x0 = model.normalize(batch["controls"])
    size = x0.shape[0]
    t = torch.randint(0, scheduler.config.num_train_timesteps, (size,), generator=generator)
    noise = torch.randn(x0.shape, generator=generator)
    noisy = scheduler.add_noise(x0, noise, t)
    # 2. Drop the text of some rows (always of those without a caption), predict, compare.
    dropped = torch.rand(size, generator=generator) < text_dropout
    if "null_text" in batch:
        dropped |= batch["null_text"]
    pred = model(noisy, t, batch["tokens"], batch["reference_pose"], batch["mask"], text_dropped=dropped).sample
    return ((pred - x0).square() * channel_weights(head_weight)).mean()


def learning_rate(config: TrainConfig, step: int, progress: float) -> float:
    """Linear warm-up over ``warmup_steps``, then cosine decay to 0 as ``progress`` goes 0 -> 1."""
    warmup = min(1.0, (step + 1) / config.warmup_steps)
    return config.learning_rate * warmup * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))


def train(
    out: str | Path,
    minutes: float | None = None,
    steps: int | None = None,
    seed: int = 0,
    config: TrainConfig | None = None,
    text_encoder: TextEncoder | None = None,
    evaluate_at_end: bool = True,
    clips: Sequence[str | Path] = (),
) -> dict:
    """Train a MotionGenerator into ``out``; stops after ``minutes`` or ``steps`` (whichever first).

    clips: clip stores whose train clips' tracks make ``config.real_fraction`` of each batch.
    Returns a summary: steps, seconds, final (smoothed) loss, validation loss, evaluation numbers,
    and with clips how many clip tracks were used and left out.
    """
    if minutes is None and steps is None:
        raise ValueError("give minutes or steps")
    config = config or TrainConfig()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    encoder = text_encoder or get_text_encoder()
    tracks, rejected = load_tracks(clips)  # first: a bad --clips fails before anything slow
    # 1. Normalisation statistics, model, schedulers, optimiser, EMA.
    mean, std = channel_statistics(seed, config.stats_clips)
    model = MotionDiT(**config.model_config, channel_mean=mean, channel_std=std).train()
    train_scheduler, sample_scheduler = make_schedulers()
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay,
                                  betas=(0.9, 0.99))
    ema = EMAModel(model.parameters(), decay=config.ema_decay, use_ema_warmup=True, power=0.75)
    bank = CaptionBank(encoder)
    source = MixedSource(bank, seed, tracks, config.real_fraction)
    validation = _validation_batch(bank, seed)
    budget = None if minutes is None else minutes * 60.0
    # 2. The loop.
    log = (out / "train_log.csv").open("w", newline="")
    writer = csv.writer(log)
    writer.writerow(["step", "seconds", "learning_rate", "loss", "loss_smooth"])
    start = last_save = time.monotonic()
    smooth, step = None, 0
    bar = tqdm(total=steps, desc="motion", unit="step", dynamic_ncols=True, mininterval=2.0)
    try:
        while True:
            elapsed = time.monotonic() - start
            progress = max(step / steps if steps else 0.0, elapsed / budget if budget else 0.0)
            if progress >= 1.0:
                break
            for group in optimizer.param_groups:
                group["lr"] = learning_rate(config, step, progress)
            batch = source.batch(config.batch_size, config.fresh_per_batch)
            loss = diffusion_loss(model, train_scheduler, batch, generator, config.text_dropout, config.head_weight)
            _optimise(model, optimizer, ema, loss)
            step += 1
            smooth = loss.item() if smooth is None else 0.98 * smooth + 0.02 * loss.item()
            if step % config.log_every == 0:
                writer.writerow([step, f"{elapsed:.1f}", f"{optimizer.param_groups[0]['lr']:.3e}",
                                 f"{loss.item():.5f}", f"{smooth:.5f}"])
                log.flush()
            eta = (budget - elapsed) if budget else (steps - step) * elapsed / max(step, 1)
            bar.update(1)
            bar.set_postfix(loss=f"{smooth:.4f}", captions=len(bank.features), eta=f"{eta / 60:.1f}min")
            if time.monotonic() - last_save > config.save_every_minutes * 60:
                _save_ema(model, ema, sample_scheduler, encoder, out)
                last_save = time.monotonic()
    finally:
        bar.close()
        log.close()
    # 3. Save the EMA weights and evaluate them.
    trained = _save_ema(model, ema, sample_scheduler, encoder, out)
    summary = {"steps": step, "seconds": round(time.monotonic() - start, 1), "loss_smooth": smooth,
               "captions_seen": len(bank.features),
               "params": sum(p.numel() for p in model.parameters())}
    if clips:
        summary.update(real_clips=len(tracks), real_clips_left_out=len(rejected),
                       real_rows_per_batch=round(config.batch_size * source.real_fraction))
    summary["validation_loss"] = validation_loss(trained.motion_model, train_scheduler, validation, seed)
    if evaluate_at_end:
        summary.update(evaluate_heldout(trained, seed))
    return summary


def load_tracks(clips: Sequence[str | Path]) -> tuple[list[ClipTrack], list[str]]:
    """(usable train-clip tracks of the clip stores ``clips``, why the others were left out), both
    also printed. Raises IdvidError when clips are given but none is usable."""
    if not clips:
        return [], []
    tracks, rejected = store_tracks(clips)
    for reason in rejected:
        tqdm.write(f"left out {reason}")
    if not tracks:
        raise IdvidError(f"no usable train clip in {', '.join(map(str, clips))} ({len(rejected)} left out)")
    tqdm.write(f"{len(tracks)} clip tracks from {len(clips)} store(s); {len(rejected)} left out")
    return tracks, rejected


def _optimise(model: MotionDiT, optimizer: torch.optim.Optimizer, ema: EMAModel, loss: torch.Tensor) -> None:
    """One AdamW step with gradient clipping, then the EMA update."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    ema.step(model.parameters())


def _save_ema(model: MotionDiT, ema: EMAModel, scheduler: DDIMScheduler, encoder: TextEncoder, out: Path):
    """Save a MotionGenerator holding a copy of the EMA weights; the training weights stay as they are."""
    ema.store(model.parameters())
    ema.copy_to(model.parameters())
    try:
        snapshot = MotionDiT.from_config(model.config)
        snapshot.load_state_dict(model.state_dict())
    finally:
        ema.restore(model.parameters())
    generator = MotionGenerator(snapshot.eval(), scheduler, encoder)
    generator.save_pretrained(out)
    return generator


def _validation_batch(bank: CaptionBank, seed: int, size: int = 256) -> dict:
    rng = np.random.default_rng([seed, 3])
    clips = [sample_clip(rng) for _ in range(size)]
    tokens, mask = bank.batch([c.caption for c in clips])
    poses = torch.tensor([c.program["reference_pose"] for c in clips], dtype=torch.float32)
    controls = torch.from_numpy(np.stack([c.track.values for c in clips]))
    return {"controls": controls, "tokens": tokens, "mask": mask, "reference_pose": poses}


@torch.no_grad()
def validation_loss(model: MotionDiT, scheduler: DDPMScheduler, batch: dict, seed: int) -> float:
    """x0 MSE on a fixed validation batch with fixed timesteps and noise (no text dropout)."""
    return float(diffusion_loss(model.eval(), scheduler, batch, torch.Generator().manual_seed(seed), 0.0))


def evaluate_heldout(generator: MotionGenerator, seed: int, per_action: int = 3) -> dict:
    """Head-action agreement of generated tracks on held-out paraphrase captions (one seed each).

    Judged with the evaluation's checker (:func:`idvid.engines.nano.motion_check.check_prompt_motion`) on
    the generated yaw / pitch / roll directly (no rendering).
    """
    from idvid.engines.nano.head_actions import ACTIONS
    from idvid.engines.nano.motion_check import check_prompt_motion

    rng = np.random.default_rng([seed, 4])
    passed, total = 0, 0
    for action in ACTIONS:
        for _ in range(per_action):
            caption = sample_clip(rng, actions=[action.value], heldout=True).caption
            pose = sample_reference_pose(rng)
            track = generator(caption, reference_pose=pose, seed=int(rng.integers(1 << 30)))
            checks = check_prompt_motion(caption, track.column("yaw"), track.column("pitch"), track.column("roll"))
            passed += sum(c.passed for c in checks)
            total += len(checks)
    return {"heldout_action_agreement": passed / max(total, 1), "heldout_actions_checked": total}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m idvid.training.motion", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="output directory of the MotionGenerator")
    parser.add_argument("--minutes", type=float, help="wall-clock training budget")
    parser.add_argument("--steps", type=int, help="optimiser steps (deterministic schedule)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1, to share the CPU)")
    parser.add_argument("--clips", nargs="+", default=[], metavar="DIR",
                        help="clip stores (idvid prepare / synth output) whose train clips' motion is mixed in")
    parser.add_argument("--real-fraction", type=float, default=TrainConfig.real_fraction,
                        help="share of each batch's rows from --clips (default %(default)s)")
    args = parser.parse_args(argv)
    if args.minutes is None and args.steps is None:
        parser.error("give --minutes or --steps")
    torch.set_num_threads(args.threads)
    try:
        config = TrainConfig(real_fraction=args.real_fraction)
        summary = train(args.out, minutes=args.minutes, steps=args.steps, seed=args.seed, config=config,
                        clips=args.clips)
    except IdvidError as e:
        parser.exit(1, f"error: {e}\n")
    width = max(len(k) for k in summary)
    print("\n".join(f"{k:<{width}}  {v:.4f}" if isinstance(v, float) else f"{k:<{width}}  {v}"
                    for k, v in summary.items()))


if __name__ == "__main__":
    main()
