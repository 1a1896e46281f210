"""The training loop (accelerate): clip store -> identity adapter (and optionally backbone) weights.

Per step: video -> latents (VAE, no grad), captions -> text embeds (no grad), reference faces ->
identity tokens -> per-layer keys/values (with grad), noise -> loss (see ``losses``), backward
inside ``id_adapter.attach`` (required, see ``idvid.models.injection``), clip, step, EMA.

Determinism: batch ``step`` is batch ``step % n`` of epoch ``step // n`` of the seeded
BucketBatchSampler, and the noise/timesteps of step ``step`` come from a generator seeded with
``(seed, step)``; so the data position is the step, and resume reproduces an uninterrupted run.
"""

from __future__ import annotations

import csv
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from idvid.training.checkpoint import latest_checkpoint, load_checkpoint, save_checkpoint
from idvid.training.config import TrainConfig
from idvid.training.losses import diffusion_loss, noisy_inputs


def _collate(samples: list[dict]) -> dict:
    out = {}
    for key in samples[0]:
        values = [s[key] for s in samples]
        out[key] = torch.stack(values) if isinstance(values[0], torch.Tensor) else values
    return out


class Trainer:
    def __init__(self, config: TrainConfig, out: str | Path):
        from accelerate import Accelerator
        from diffusers.optimization import get_scheduler
        from diffusers.training_utils import EMAModel

        from idvid.data.buckets import BucketBatchSampler
        from idvid.data.dataset import ClipDataset
        from idvid.pipelines.pipeline_idvideo import IDVideoPipeline

        self.config, self.out = config, Path(out)
        t, d = config.train, config.data
        from accelerate.state import AcceleratorState

        state = AcceleratorState._shared_state
        if state and state.get("_mixed_precision") not in (None, t.mixed_precision) \
                and state.get("num_processes", 1) == 1:
            AcceleratorState._reset_state()  # a second Trainer in one process, other precision
        self.accelerator = Accelerator(mixed_precision=t.mixed_precision,
                                       gradient_accumulation_steps=t.gradient_accumulation_steps)
        if self.accelerator.num_processes > 1:
            from idvid.errors import IdvidError

            raise IdvidError("multi-process training is not supported yet (the trainable modules are not DDP-wrapped)")
        if not Path(d.root).exists() and d.synthesize_if_missing:
            from idvid.data.synth import synthesize

            synthesize(d.root, identities=2, clips_per_identity=2, seed=t.seed, size=64,
                       num_frames=max(9, d.num_frames), progress=False)
        self.dataset = ClipDataset(d.root, split=d.split, num_frames=d.num_frames, num_refs=d.num_refs,
                                   caption_dropout=d.caption_dropout, identity_dropout=d.identity_dropout, seed=t.seed)
        self.sampler = BucketBatchSampler(self.dataset.buckets, t.batch_size, rank=self.accelerator.process_index,
                                          world_size=self.accelerator.num_processes, seed=t.seed)
        self.pipe = pipe = IDVideoPipeline.from_pretrained(config.model)
        pipe.to(self.accelerator.device)
        names = ["face_encoder", "id_adapter"] + (["transformer"] if t.trainable == "all" else [])
        self.modules = {n: getattr(pipe, n) for n in names}
        for module in pipe.components.values():
            if isinstance(module, torch.nn.Module):
                module.requires_grad_(False).eval()
        for module in self.modules.values():
            module.requires_grad_(True).train()
        if t.gradient_checkpointing and getattr(pipe.transformer, "_supports_gradient_checkpointing", False):
            pipe.transformer.enable_gradient_checkpointing()
        self.params = [p for m in self.modules.values() for p in m.parameters()]
        optimizer = torch.optim.AdamW(self.params, lr=t.lr, weight_decay=t.weight_decay)
        lr_scheduler = get_scheduler("constant_with_warmup", optimizer, num_warmup_steps=t.warmup_steps)
        self.optimizer, self.lr_scheduler = self.accelerator.prepare(optimizer, lr_scheduler)
        self.ema = EMAModel(self.params, decay=t.ema_decay) if t.ema_decay > 0 else None
        self.step = 0

    # ---- data ------------------------------------------------------------------------------------

    def batch(self, step: int) -> dict:
        epoch_batches = len(self.sampler)
        epoch, index = divmod(step, epoch_batches)
        self.sampler.set_epoch(epoch)
        self.dataset.set_epoch(epoch)
        indices = list(self.sampler)[index]
        return _collate([self.dataset[i] for i in indices])

    # ---- one step --------------------------------------------------------------------------------

    def train_step(self, batch: dict, generator: torch.Generator) -> float:
        pipe, t, device = self.pipe, self.config.train, self.accelerator.device
        family = pipe.family
        video = batch["video"].to(device).permute(0, 2, 1, 3, 4)  # (B, T, 3, H, W) -> (B, 3, T, H, W)
        with torch.no_grad():
            x0 = family.encode(pipe.vae, video, generator=generator).float()
            text = pipe.encode_prompt(list(batch["caption"]))
            condition = None
            if family.condition_channels(pipe.vae, pipe.transformer) > 0:
                condition = family.image_condition(pipe.vae, video[:, :, 0], x0.shape[2], generator)
        x_t, timestep, target = noisy_inputs(pipe.scheduler, x0, t.timestep_sampling, generator)
        # Identity: rows without identity get one zero view (the encoder needs one) and weight 0.
        dropped = batch["identity_dropped"] if isinstance(batch["identity_dropped"], torch.Tensor) \
            else torch.tensor(batch["identity_dropped"])
        mask = batch["ref_mask"].clone()
        mask[:, 0] |= ~mask.any(dim=1)
        identity_weight = (~dropped & batch["ref_mask"].any(dim=1)).float().to(device)
        size = pipe.face_encoder.config.crop_size
        crops = batch["ref_crops"]
        b, v = crops.shape[:2]
        crops = F.interpolate(crops.flatten(0, 1), size=(size, size), mode="bilinear", antialias=True,
                              align_corners=False).view(b, v, 3, size, size)
        with self.accelerator.accumulate(*self.modules.values()), self.accelerator.autocast():
            tokens = pipe.face_encoder(embeddings=batch["ref_embeddings"].to(device),
                                       vertices=batch["ref_vertices"].to(device), view_mask=mask.to(device),
                                       crops=crops.to(device))
            kv = pipe.id_adapter.precompute(tokens)
            with pipe.id_adapter.attach(pipe.transformer, kv, identity_weight):
                prediction = family.predict(pipe.transformer, x_t, timestep.to(device), text, condition)
                loss = diffusion_loss(prediction, target)
                self.accelerator.backward(loss)  # inside attach: recomputed blocks need the hooks
            if self.accelerator.sync_gradients and t.max_grad_norm > 0:
                self.accelerator.clip_grad_norm_(self.params, t.max_grad_norm)
            self.optimizer.step()
            self.lr_scheduler.step()
            self.optimizer.zero_grad(set_to_none=True)
        if self.ema is not None and self.accelerator.sync_gradients:
            self.ema.step(self.params)
        return loss.detach().item()

    # ---- checkpoints -----------------------------------------------------------------------------

    def save(self) -> Path:
        return save_checkpoint(self.out, self.step, self.modules, self.ema, self.optimizer, self.lr_scheduler)

    def resume(self) -> bool:
        path = latest_checkpoint(self.out)
        if path is None:
            return False
        self.step = load_checkpoint(path, self.modules, self.ema, self.optimizer, self.lr_scheduler)
        return True

    def save_final(self) -> Path:
        """The whole pipeline, with EMA weights when EMA is on, marked ``weights_trained``."""
        if self.ema is not None:
            self.ema.store(self.params)
            self.ema.copy_to(self.params)
        try:
            for module in self.modules.values():
                module.eval()
            self.pipe.register_to_config(weights_trained=True)
            final = self.out / "final"
            self.pipe.save_pretrained(final, safe_serialization=True)
        finally:
            if self.ema is not None:
                self.ema.restore(self.params)
            for module in self.modules.values():
                module.train()
        return final

    # ---- loop ------------------------------------------------------------------------------------

    def train(self, until: int | None = None, progress: bool = True) -> dict:
        """Train to step ``until`` (default: config steps); checkpoints, logs, final save at the end."""
        from tqdm.auto import tqdm

        t = self.config.train
        until = t.steps if until is None else until
        log = self._logger()
        bar = tqdm(total=until, initial=self.step, disable=not progress, desc="train", unit="step")
        losses, started = [], time.perf_counter()
        while self.step < until:
            generator = torch.Generator().manual_seed(t.seed * 1_000_003 + self.step)
            loss = self.train_step(self.batch(self.step), generator)
            self.step += 1
            losses.append(loss)
            bar.update(1)
            bar.set_postfix(loss=f"{loss:.4f}")  # tqdm shows it/s and ETA
            if self.step % t.log_every == 0:
                log(self.step, loss, self.lr_scheduler.get_last_lr()[0])
            if self.step % t.checkpoint_every == 0 and self.accelerator.is_main_process:
                self.save()
        bar.close()
        final = self.save_final() if self.step >= t.steps and self.accelerator.is_main_process else None
        return {"step": self.step, "losses": losses, "seconds": time.perf_counter() - started, "final": final}

    def _logger(self):
        self.out.mkdir(parents=True, exist_ok=True)
        try:
            from torch.utils.tensorboard import SummaryWriter

            writer = SummaryWriter(str(self.out / "logs"))

            def log(step, loss, lr):
                writer.add_scalar("train/loss", loss, step)
                writer.add_scalar("train/lr", lr, step)
            return log
        except ImportError:
            path = self.out / "train_log.csv"

            def log(step, loss, lr):
                new = not path.exists()
                with path.open("a", newline="") as f:
                    w = csv.writer(f)
                    if new:
                        w.writerow(["step", "loss", "lr"])
                    w.writerow([step, f"{loss:.6g}", f"{lr:.6g}"])
            return log


def train(config: TrainConfig, out: str | Path, resume: bool = False, progress: bool = True) -> dict:
    trainer = Trainer(config, out)
    if resume:
        trainer.resume()
    return trainer.train(progress=progress)
