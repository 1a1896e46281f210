"""The training loop (accelerate): clip store -> identity adapter (and optionally backbone) weights.

Per optimizer step, for each of ``gradient_accumulation_steps`` micro-batches: video -> latents
(VAE, no grad), captions -> text embeddings (no grad), noise -> :class:`IdentityTrainingModel`
(face encoder -> identity tokens -> backbone with the adapter's hooks) -> loss (``losses``,
plus the optional identity loss) -> backward. Gradients sync across processes on the last
micro-batch; then clipping, the optimizer, the LR schedule and the EMA.

Data: a DataLoader (``data.workers`` processes decode clips ahead of the step) over the run's
global batches (``BucketBatchSampler`` epoch after epoch, :class:`~idvid.loop.data.RunBatches`),
prepared by accelerate.

Processes: one, or many under ``accelerate launch`` (DDP; FSDP and DeepSpeed through accelerate
configs). Each process takes its slice of every global batch (accelerate's ``split_batches``),
and each row's noise comes from a generator seeded with (seed, micro-batch, clip index), so N
processes with batch b train as one process with batch N * b does.

Determinism: micro-batch m is batch m of the run, so the data position is the step; checkpoints
(``accelerator.save_state``: trainable weights, optimizer, LR schedule, EMA, RNG) and a loader
that skips to the step make a resumed run equal an uninterrupted one.
"""

from __future__ import annotations

import logging
import math
from contextlib import nullcontext
from pathlib import Path

import torch

from idvid.atomic import atomic_folder
from idvid.errors import ConfigError, DataError
from idvid.loop.accelerator import make_accelerator
from idvid.loop.checkpoints import (
    check_run_folder,
    latest_checkpoint,
    load_checkpoint,
    save_checkpoint,
    save_trainable_weights_only,
)
from idvid.loop.data import RunBatches, batches_from, make_loader
from idvid.loop.logs import Progress, TrainLog
from idvid.training.config import TrainConfig
from idvid.training.identity_loss import reference_embeddings
from idvid.training.losses import (
    diffusion_loss,
    face_region_weights,
    noisy_inputs,
    row_generators,
    token_similarity_loss,
)
from idvid.training.methods import training_method
from idvid.training.trainable import merge_lora, trainable_names

logger = logging.getLogger("idvid")
SHARDED_ENGINES = ("FSDP", "DEEPSPEED")  # accelerate distributed types that split weights and optimizer
TEXT_CACHE_BYTES = 2 << 30  # encoded captions kept in memory (~500 T5-XXL captions, ~100k MiniLM ones)


def param_groups(model: torch.nn.Module, lr: float, adapter_lr_scale: float) -> list[dict]:
    """AdamW groups: the backbone's trainable weights at ``lr``, the face encoder's and the
    identity adapter's at ``lr * adapter_lr_scale``."""
    adapter, backbone = [], []
    for name, param in model.named_parameters():
        if param.requires_grad:
            (backbone if name.startswith("transformer.") else adapter).append(param)
    groups = [{"params": adapter, "lr": lr * adapter_lr_scale}]
    return groups + ([{"params": backbone, "lr": lr}] if backbone else [])


def check_engine(distributed_type, train) -> None:
    """What this trainer cannot do under sharded engines, as one error line."""
    if distributed_type == "DEEPSPEED" and train.gradient_accumulation_steps > 1:
        raise ConfigError("under DeepSpeed, set gradient_accumulation_steps in the accelerate DeepSpeed config "
                         "and keep train.gradient_accumulation_steps at 1")
    if distributed_type in SHARDED_ENGINES and train.ema_decay > 0:
        raise ConfigError(f"EMA of sharded weights is not supported under {distributed_type}; set train.ema_decay: 0")


def open_dataset(config: TrainConfig, accelerator, pipe, use_cache: bool = True):
    """The training ClipDataset, reading the store's latent cache for this model when there is one
    (``idvid cache-latents``); a tiny synthetic store is made first when asked (main process)."""
    from idvid.data.dataset import ClipDataset
    from idvid.data.latent_cache import cache_identity, find_latent_cache

    d, seed = config.data, config.train.seed
    if not Path(d.root).exists() and d.synthesize_if_missing and accelerator.is_main_process:
        from idvid.data.synth import synthesize

        synthesize(d.root, identities=3, clips_per_identity=2, seed=seed, size=64,
                   num_frames=max(9, d.num_frames), progress=False)
    accelerator.wait_for_everyone()
    cache = find_latent_cache(d.root, cache_identity(pipe, config.model, d.num_frames)) if use_cache else None
    return ClipDataset(d.root, split=d.split, num_frames=d.num_frames, num_refs=d.num_refs,
                       caption_dropout=d.caption_dropout, identity_dropout=d.identity_dropout, seed=seed,
                       latent_cache=cache)


class Trainer:
    def __init__(self, config: TrainConfig, out: str | Path):
        from diffusers.optimization import get_scheduler
        from diffusers.training_utils import EMAModel

        from idvid.data.buckets import BucketBatchSampler

        self.config, self.out = config, Path(out)
        t = config.train
        self.method = method = training_method(config.model)
        method.check(config)
        self.accelerator = accelerator = make_accelerator(t.mixed_precision)
        check_engine(accelerator.distributed_type, t)
        self.pipe = pipe = method.load(config.model)
        self.dataset = open_dataset(config, accelerator, pipe, getattr(method, "uses_latent_cache", True))
        # Global batches, whole: a bucket's short last one cannot be split evenly over processes.
        sampler = BucketBatchSampler(self.dataset.buckets, t.batch_size * accelerator.num_processes, seed=t.seed,
                                     drop_last=True)
        if len(sampler) == 0:
            raise DataError(f"{config.data.root} has too few clips for a global batch of "
                            f"{t.batch_size} x {accelerator.num_processes} processes")
        for bucket, clips in sampler.unused_buckets().items():
            logger.warning("the %s clips (%d) are fewer than a global batch of %d and are never trained on",
                           bucket, clips, sampler.batch_size)
        self.loader = make_loader(accelerator, self.dataset, RunBatches(sampler, t.steps * t.gradient_accumulation_steps),
                                  config.data.workers)
        self._batches = None  # the loader's iterator, from the current step on
        # 1. What of the pipeline trains, and the one module the engines wrap.
        method.select_trainable(pipe, config)
        if t.gradient_checkpointing and getattr(pipe.transformer, "_supports_gradient_checkpointing", False):
            pipe.transformer.enable_gradient_checkpointing()
        # With a latent cache the text encoder (UMT5-XXL: 11 GB) is only needed for validation.
        needs_text = self.dataset.latent_cache is None or config.validation.every > 0
        for name, module in pipe.components.items():
            if isinstance(module, torch.nn.Module) and (name != "text_encoder" or needs_text):
                module.to(accelerator.device)
        model = method.training_model(pipe)
        # 2. Optimizer and LR schedule, prepared with the model in one call (DeepSpeed needs that;
        # accelerate re-points the optimizer at FSDP's sharded parameters). Under split_batches the
        # prepared schedule steps once per optimizer step. Checkpoints hold what trains, the EMA too.
        self.param_names = trainable_names(model)
        self.trained_modules = sorted({name.split(".")[0] for name in self.param_names})
        optimizer = torch.optim.AdamW(param_groups(model, t.lr, t.adapter_lr_scale), weight_decay=t.weight_decay)
        lr_scheduler = get_scheduler("constant_with_warmup", optimizer, num_warmup_steps=t.warmup_steps)
        self.model, self.optimizer, self.lr_scheduler = accelerator.prepare(model, optimizer, lr_scheduler)
        self.params = [p for p in self.model.parameters() if p.requires_grad]
        self.ema = EMAModel(self.params, decay=t.ema_decay) if t.ema_decay > 0 else None
        save_trainable_weights_only(accelerator)
        if self.ema is not None:
            accelerator.register_for_checkpointing(self.ema)
        self.identity_loss = self._identity_loss()
        self.validator = self._validator()
        self.log = TrainLog(self.out, enabled=accelerator.is_main_process)
        self._text_cache: dict[str, torch.Tensor] = {}
        self.step = 0

    @property
    def unwrapped(self):
        return self.accelerator.unwrap_model(self.model)

    def _identity_loss(self):
        if self.config.identity_loss.weight <= 0:
            return None
        from idvid.training.identity_loss import IdentityLoss

        return IdentityLoss(self.config.identity_loss).to(self.accelerator.device)

    def _validator(self):
        if self.config.validation.every <= 0:
            return None
        from idvid.training.validation import Validator

        return Validator(self.config, self.out / "validation")

    # ---- data ------------------------------------------------------------------------------------

    def batch(self, micro: int) -> dict:
        """This process's part of global micro-batch ``micro`` (on its own, outside the run)."""
        return next(iter(batches_from(self.accelerator, self.loader, micro)))

    def next_batch(self) -> dict:
        """This process's part of the run's next micro-batch."""
        if self._batches is None:
            start = self.step * self.config.train.gradient_accumulation_steps
            self._batches = iter(batches_from(self.accelerator, self.loader, start))
        return next(self._batches)

    @torch.no_grad()
    def encode(self, batch: dict, generators: list[torch.Generator]) -> dict:
        """-> latents (B, C, f, h, w), text (B, L, D), condition (B, Cc, f, h, w) or None (frozen
        parts), from the latent cache's entries when the batch has them, else by encoding."""
        pipe, device = self.pipe, self.accelerator.device
        if "latents" in batch:
            condition = batch["condition"].to(device) if "condition" in batch else None
            return {"latents": batch["latents"].to(device), "text": batch["text_embeds"].to(device),
                    "condition": condition}
        family = self.unwrapped.family
        video = batch["video"].to(device).permute(0, 2, 1, 3, 4)  # (B, T, 3, H, W) -> (B, 3, T, H, W)
        latents = family.encode(pipe.vae, video, generator=generators).float()
        condition = None
        if family.condition_channels(pipe.vae, pipe.transformer) > 0:
            image = self.method.condition_image(batch, video)
            condition = family.image_condition(pipe.vae, image, latents.shape[2], generators)
        return {"latents": latents, "text": self.text_embeddings(batch["caption"]), "condition": condition}

    def text_embeddings(self, captions: list[str]) -> torch.Tensor:
        """(B, L, D) caption embeddings; the text encoder is frozen, so each caption is encoded once."""
        missing = [c for c in dict.fromkeys(captions) if c not in self._text_cache]
        if missing:
            encoded = self.method.encode_prompt(self.pipe, missing).cpu()
            if (len(self._text_cache) + len(missing)) * encoded[0].nbytes > TEXT_CACHE_BYTES:
                self._text_cache.clear()
            self._text_cache.update(zip(missing, encoded))
        return torch.stack([self._text_cache[c] for c in captions]).to(self.accelerator.device)

    # ---- one step --------------------------------------------------------------------------------

    def face_region(self, batch: dict, latents: torch.Tensor) -> torch.Tensor | None:
        """Per-cell loss weights from the clips' face boxes, or None when face weighting is off."""
        weight = self.config.train.face_loss_weight
        if weight == 1:
            return None
        return face_region_weights(batch["face_boxes"], latents.shape, weight).to(latents.device)

    def micro_step(self, batch: dict, micro: int, scale: float) -> dict[str, float]:
        """Forward and backward of one micro-batch (loss scaled by ``scale``) -> its loss terms."""
        t = self.config.train
        generators = row_generators(t.seed, micro, batch["index"].tolist())
        inputs = self.encode(batch, generators)
        noised = noisy_inputs(self.pipe.scheduler, inputs["latents"], t.timestep_sampling, generators, t.logit_mean,
                              t.logit_std, t.x0_loss_weighting)
        faces, identity_weight = self.method.face_inputs(self.pipe, batch, self.accelerator.device)
        with self.accelerator.autocast():
            prediction = self.model(noised.x_t, noised.timestep, inputs["text"], faces, identity_weight,
                                    inputs["condition"])
            loss = diffusion_loss(prediction, noised.target, noised.weight, self.face_region(batch, noised.x_t))
            terms = {"diffusion_loss": loss.detach()}
            if t.token_similarity_weight > 0:
                references = reference_embeddings(batch).to(prediction.device)
                similarity = token_similarity_loss(self.unwrapped.tokens, references, identity_weight)
                terms["token_similarity_loss"] = similarity.detach()
                loss = loss + t.token_similarity_weight * similarity
            if self.identity_loss is not None:
                identity = self.identity_loss(self.pipe, noised, prediction, batch, identity_weight, inputs["latents"])
                terms["identity_loss"] = identity.detach()
                loss = loss + self.config.identity_loss.weight * identity
        self.accelerator.backward(loss * scale)
        terms["loss"] = loss.detach()
        return {k: float(v) for k, v in terms.items()}

    def train_step(self) -> dict[str, float]:
        """One optimizer step (``gradient_accumulation_steps`` micro-batches) -> mean loss terms."""
        t = self.config.train
        accumulation = t.gradient_accumulation_steps
        totals: dict[str, float] = {}
        for k in range(accumulation):
            last = k == accumulation - 1
            with nullcontext() if last else self.accelerator.no_sync(self.model):
                terms = self.micro_step(self.next_batch(), self.step * accumulation + k, 1.0 / accumulation)
            for name, value in terms.items():
                totals[name] = totals.get(name, 0.0) + value / accumulation
        if t.max_grad_norm > 0:
            totals["grad_norm"] = float(self.accelerator.clip_grad_norm_(self.params, t.max_grad_norm))
        self.optimizer.step()
        self.lr_scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        if self.ema is not None:
            self.ema.step(self.params)
        self.step += 1
        return totals

    # ---- checkpoints -----------------------------------------------------------------------------

    def trainable_state(self) -> dict[str, torch.Tensor]:
        """Full (gathered) trainable weights by name; every process must call it (FSDP gathers)."""
        state = self.accelerator.get_state_dict(self.model)
        return {name: state[name] for name in self.param_names if name in state}  # FSDP: rank 0 only

    def save(self) -> Path:
        """``OUT/ckpt-<step>``; every process must call it."""
        return save_checkpoint(self.accelerator, self.out, self.step)

    def resume(self) -> bool:
        """Continue from the latest checkpoint in ``out``, if any."""
        path = latest_checkpoint(self.out)
        if path is None:
            return False
        self.step = load_checkpoint(self.accelerator, path)
        self.log.first_step = self.step
        if self.ema is not None:
            self.ema.to(self.accelerator.device)  # accelerate loads registered objects on the CPU
        self._batches = None
        return True

    def save_final(self) -> Path:
        """The whole pipeline with EMA weights (when EMA is on) and LoRA folded in, marked
        ``weights_trained``. This ends training: the modules keep those weights afterwards."""
        if self.ema is not None:
            self.ema.copy_to(self.params)
        model = self.unwrapped
        model.release()
        merge_lora(self.pipe.transformer)
        model.eval()
        final = self.out / "final"
        if self.accelerator.is_main_process:
            self.pipe.register_to_config(weights_trained=True)
            with atomic_folder(final, overwrite=True) as tmp:  # a killed save leaves no half pipeline
                self.pipe.save_pretrained(tmp, safe_serialization=True)
        self.accelerator.wait_for_everyone()
        return final

    # ---- loop ------------------------------------------------------------------------------------

    def validate(self) -> dict[str, float]:
        """Held-out samples and scores, with the EMA weights when EMA is on; training mode after."""
        model = self.unwrapped
        if self.ema is not None:
            self.ema.store(self.params)
            self.ema.copy_to(self.params)
        try:
            with torch.no_grad():
                model.eval()
                return self.validator.run(self.pipe, self.step, is_main=self.accelerator.is_main_process)
        finally:
            if self.ema is not None:
                self.ema.restore(self.params)
            for name in self.trained_modules:
                getattr(model, name).train()
            self.accelerator.wait_for_everyone()

    def train(self, until: int | None = None, progress: bool = True) -> dict:
        """Train to step ``until`` (default: config steps); checkpoints, logs, final save at the end."""
        t = self.config.train
        until = t.steps if until is None else until
        samples_per_step = t.batch_size * t.gradient_accumulation_steps * self.accelerator.num_processes
        bar = Progress(until, self.step, samples_per_step, enabled=progress and self.accelerator.is_main_process)
        losses = []
        while self.step < until:
            terms = self.train_step()
            losses.append(terms["loss"])
            bar.update(loss=terms["loss"])
            if self.step % t.log_every == 0:
                self.log.scalars(self.step, {**terms, "lr": self.lr_scheduler.get_last_lr()[0],
                                             "samples_per_s": bar.samples_per_s})
            if self.validator is not None and self.step % self.config.validation.every == 0:
                self.log.scalars(self.step, self.validate(), prefix="validation")
            if self.step % t.checkpoint_every == 0:
                self.save()
        bar.close()
        final = self.save_final() if self.step >= t.steps else None
        self.log.close()
        return {"step": self.step, "losses": losses, "seconds": bar.seconds, "final": final,
                "samples_per_s": bar.samples_per_s if bar.steps else math.nan}


def train(config: TrainConfig, out: str | Path, resume: bool = False, progress: bool = True) -> dict:
    check_run_folder(out, resume)
    trainer = Trainer(config, out)
    if resume:
        trainer.resume()
    return trainer.train(progress=progress)
