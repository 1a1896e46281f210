"""Train the `nano` motion model on procedurally generated motion programs (and, optionally, on
the motion of real clips).

    idvid train-motion --out DIR --minutes 25 --seed 0
    idvid train-motion --out DIR --minutes 25 --clips PREPARED [MORE ...] --real-fraction 0.25

Each batch mixes fresh programs (new captions, encoded once by MiniLM and cached) with programs
whose caption was seen before, re-realised with new timing, amplitudes, reference pose and
background, so the text encoder is not the bottleneck. The denoiser predicts the clean sample
(x0) under a cosine-schedule DDPM; 10% of the rows see the null text (classifier-free guidance).
AdamW, warm-up then cosine learning rate, an EMA of the weights (diffusers ``EMAModel``), which is
what gets saved. The loop's pieces are :mod:`idvid.loop`'s: the Accelerator, the log
(``DIR/train_log.csv``, TensorBoard), the progress bar, and checkpoints ``DIR/ckpt-N`` every
``checkpoint_every`` steps (``accelerator.save_state``: weights, optimizer, EMA, the batch
source's, caption bank's and noise generator's state, RNG), from which ``--resume`` continues; batches are
made in the training process (they are cheap, and the program pool is a running state). The end
prints an evaluation.

``--clips``: clip stores (``idvid prepare`` output, or ``idvid synth``'s) whose ``train`` clips give
control tracks measured from their faces (:mod:`idvid.data.tracks`; cached beside each clip, so
only the first run analyses the frames). ``real_fraction`` of every batch's rows are drawn from
them, with their captions encoded by the same :class:`CaptionBank`. A clip without a caption is
trained with the null text (the unconditional row of classifier-free guidance): it still shows
how people move when nothing is asked, which is what unguided sampling should produce. Clips whose
faces cannot be tracked are left out with a reason; channel statistics come from the programs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from diffusers import DDIMScheduler, DDPMScheduler
from diffusers.training_utils import EMAModel

from idvid.engines.nano.captions import write_caption
from idvid.engines.nano.motion import MotionGenerator
from idvid.engines.nano.motion_dit import MotionDiT
from idvid.engines.nano.motion_programs import (
    MODEL_FRAMES,
    Step,
    realise,
    sample_clip,
    sample_reference_pose,
    sample_steps,
)
from idvid.errors import ConfigError
from idvid.loop.accelerator import make_accelerator
from idvid.loop.checkpoints import check_run_folder, latest_checkpoint, load_checkpoint, save_checkpoint
from idvid.loop.logs import Progress, TrainLog
from idvid.models.text_encoder import TextEncoder, get_text_encoder
from idvid.render.controls import CONTROL_NAMES

if TYPE_CHECKING:  # the tracks come from the data layer, which sits above the engines
    from idvid.data.tracks import ClipTrack

MODEL_CONFIG = dict(width=128, num_layers=4, num_heads=4, num_frames=MODEL_FRAMES)
SCHEDULER_CONFIG = dict(num_train_timesteps=1000, beta_schedule="squaredcos_cap_v2", prediction_type="sample",
                        clip_sample=False)


@dataclass
class MotionTrainConfig:
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
    checkpoint_every: int = 500  # steps between checkpoints (and saves of the EMA generator)
    model_config: dict = field(default_factory=lambda: dict(MODEL_CONFIG))

    def __post_init__(self) -> None:
        if not 0.0 <= self.real_fraction < 1.0:  # programs stay in every batch: they carry the vocabulary
            raise ConfigError(f"real_fraction must be in [0, 1), got {self.real_fraction}")
        if self.log_every < 1 or self.checkpoint_every < 1:
            raise ConfigError("log_every and checkpoint_every must be >= 1")


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
        self.groups: list[list[str]] = []  # the captions of each encoder call, in order

    def add(self, captions: Sequence[str]) -> None:
        new = list(dict.fromkeys(c for c in captions if c not in self.features))
        if new:
            tokens, mask, _ = self.encoder.encode(new)
            for caption, row, keep in zip(new, tokens, mask):
                self.features[caption] = row[keep].half()
            self.groups.append(new)

    def state_dict(self) -> dict:
        return {"groups": self.groups}

    def load_state_dict(self, state: dict) -> None:
        """Encode the captions again in the groups they were first encoded in: a caption's
        features depend (by ~1e-4) on the others in its batch, and a resumed run must read the same."""
        self.features, self.groups = {}, []
        for group in state["groups"]:
            self.add(group)

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

    def state_dict(self) -> dict:
        return {"rng": self.rng.bit_generator.state, "pool": list(self.pool)}

    def load_state_dict(self, state: dict) -> None:
        self.rng.bit_generator.state = state["rng"]
        self.pool = list(state["pool"])


class TrackSource:
    """Rows from clip tracks (real motion), drawn uniformly with replacement."""

    def __init__(self, tracks: Sequence[ClipTrack], seed: int) -> None:
        self.tracks = list(tracks)
        self.rng = np.random.default_rng([seed, 5])

    def rows(self, size: int) -> Rows:
        picks = [self.tracks[i] for i in self.rng.integers(len(self.tracks), size=size)] if self.tracks else []
        return [t.values for t in picks], [t.caption for t in picks], [t.reference_pose for t in picks]

    def state_dict(self) -> dict:
        return {"rng": self.rng.bit_generator.state}

    def load_state_dict(self, state: dict) -> None:
        self.rng.bit_generator.state = state["rng"]


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

    def state_dict(self) -> dict:
        """Where the batches are (for checkpoints); the caption features are recomputed."""
        return {"programs": self.programs.state_dict(), "tracks": self.tracks.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.programs.load_state_dict(state["programs"])
        self.tracks.load_state_dict(state["tracks"])


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


def learning_rate(config: MotionTrainConfig, step: int, progress: float) -> float:
    """Linear warm-up over ``warmup_steps``, then cosine decay to 0 as ``progress`` goes 0 -> 1."""
    warmup = min(1.0, (step + 1) / config.warmup_steps)
    return config.learning_rate * warmup * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))


class GeneratorState:
    """A torch.Generator as an object accelerate can checkpoint (``register_for_checkpointing``)."""

    def __init__(self, generator: torch.Generator) -> None:
        self.generator = generator

    def state_dict(self) -> dict:
        return {"state": self.generator.get_state()}

    def load_state_dict(self, state: dict) -> None:
        self.generator.set_state(state["state"])


def train(
    out: str | Path,
    minutes: float | None = None,
    steps: int | None = None,
    seed: int = 0,
    config: MotionTrainConfig | None = None,
    text_encoder: TextEncoder | None = None,
    evaluate_at_end: bool = True,
    tracks: Sequence[ClipTrack] = (),
    tracks_left_out: int = 0,
    resume: bool = False,
    progress: bool = True,
) -> dict:
    """Train a MotionGenerator into ``out``; stops after ``minutes`` or ``steps`` (whichever first).

    tracks: real clips' control tracks (``idvid.data.tracks.load_tracks``), which make
    ``config.real_fraction`` of each batch; tracks_left_out: how many clips gave none (summary).
    resume: continue from the latest checkpoint in ``out`` (exactly with ``steps``; ``minutes``
    then budgets this session and the LR schedule restarts its clock).
    Returns a summary: steps, seconds, final (smoothed) loss, validation loss, evaluation numbers,
    and with tracks how many were used and left out.
    """
    check_budget(minutes, steps)
    check_run_folder(out, resume)
    config = config or MotionTrainConfig()
    out = Path(out)
    accelerator = make_accelerator(cpu=True)  # a small model whose batches are made on the CPU
    if accelerator.num_processes > 1:  # every process would draw the same programs
        raise ConfigError("the motion model trains in one process; run it without accelerate launch")
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    encoder = text_encoder or get_text_encoder()
    # 1. Normalisation statistics, model, schedulers, optimiser, EMA, batches; what a checkpoint holds.
    mean, std = channel_statistics(seed, config.stats_clips)
    model = MotionDiT(**config.model_config, channel_mean=mean, channel_std=std).train()
    train_scheduler, sample_scheduler = make_schedulers()
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay,
                                  betas=(0.9, 0.99))
    model, optimizer = accelerator.prepare(model, optimizer)
    ema = EMAModel(model.parameters(), decay=config.ema_decay, use_ema_warmup=True, power=0.75)
    bank = CaptionBank(encoder)
    source = MixedSource(bank, seed, tracks, config.real_fraction)
    for state in (ema, bank, source, GeneratorState(generator)):
        accelerator.register_for_checkpointing(state)
    latest = latest_checkpoint(out) if resume else None
    step = load_checkpoint(accelerator, latest) if latest else 0
    validation = _validation_batch(bank, seed)
    budget = None if minutes is None else minutes * 60.0
    # 2. The loop.
    log = TrainLog(out)
    log.first_step = step
    bar = Progress(steps, step, config.batch_size, enabled=progress, desc="motion")
    smooth = None
    try:
        while (done := max(step / steps if steps else 0.0, bar.seconds / budget if budget else 0.0)) < 1.0:
            lr = learning_rate(config, step, done)
            for group in optimizer.param_groups:
                group["lr"] = lr
            batch = source.batch(config.batch_size, config.fresh_per_batch)
            loss = diffusion_loss(model, train_scheduler, batch, generator, config.text_dropout, config.head_weight)
            _optimise(accelerator, model, optimizer, ema, loss)
            step += 1
            smooth = loss.item() if smooth is None else 0.98 * smooth + 0.02 * loss.item()
            if step % config.log_every == 0:
                log.scalars(step, {"seconds": bar.seconds, "learning_rate": lr, "loss": loss.item(),
                                   "loss_smooth": smooth})
            bar.update(loss=smooth, captions=len(bank.features))
            if step % config.checkpoint_every == 0:
                _save_ema(model, ema, sample_scheduler, encoder, out)
                save_checkpoint(accelerator, out, step)
    finally:
        bar.close()
        log.close()
    # 3. Save the EMA weights and evaluate them.
    trained = _save_ema(model, ema, sample_scheduler, encoder, out)
    summary = {"steps": step, "seconds": round(bar.seconds, 1), "loss_smooth": smooth,
               "captions_seen": len(bank.features),
               "params": sum(p.numel() for p in model.parameters())}
    if tracks:
        summary.update(real_clips=len(tracks), real_clips_left_out=tracks_left_out,
                       real_rows_per_batch=round(config.batch_size * source.real_fraction))
    summary["validation_loss"] = validation_loss(trained.motion_model, train_scheduler, validation, seed)
    if evaluate_at_end:
        summary.update(evaluate_heldout(trained, seed))
    return summary


def check_budget(minutes: float | None, steps: int | None) -> None:
    """ConfigError unless the run has a budget, and a positive one."""
    if minutes is None and steps is None:
        raise ConfigError("give a budget: --steps or --minutes")
    if (steps is not None and steps < 1) or (minutes is not None and not minutes > 0):
        raise ConfigError(f"--steps must be >= 1 and --minutes > 0, got {steps} and {minutes}")


def format_summary(summary: dict) -> str:
    """The summary of :func:`train`, one ``name  value`` line each."""
    width = max(len(k) for k in summary)
    return "\n".join(f"{k:<{width}}  {v:.4f}" if isinstance(v, float) else f"{k:<{width}}  {v}"
                     for k, v in summary.items())


def _optimise(accelerator, model: MotionDiT, optimizer, ema: EMAModel, loss: torch.Tensor) -> None:
    """One AdamW step with gradient clipping, then the EMA update."""
    optimizer.zero_grad(set_to_none=True)
    accelerator.backward(loss)
    accelerator.clip_grad_norm_(model.parameters(), 1.0)
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
