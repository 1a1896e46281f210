"""Typed training config, loaded from YAML: ``model``, ``data`` and ``train`` sections.

Model dimensions are not here: they live in the model's saved config (``model`` is a preset
name or a diffusers-format directory). Relative paths resolve against the YAML file's folder.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from idvid.config_file import build, load_dataclass, naming_file
from idvid.errors import ConfigError

CONFIG_DIR = Path(__file__).resolve().parent / "configs"


@dataclass
class DataConfig:
    root: str = ""
    split: str = "train"
    num_frames: int = 5
    num_refs: int = 3
    caption_dropout: float = 0.1
    identity_dropout: float = 0.1
    synthesize_if_missing: bool = False  # make a tiny synthetic store at `root` when it does not exist
    workers: int = 0  # DataLoader worker processes that load batches ahead of the step; 0 = in the training process


@dataclass
class TrainSection:
    trainable: Literal["adapter", "all"] = "adapter"  # "adapter": face_encoder + id_adapter; "all": + transformer
    freeze_face_encoder: bool = False  # the face encoder keeps its loaded weights (its tokens cannot collapse)
    steps: int = 100
    batch_size: int = 1
    gradient_accumulation_steps: int = 1
    lr: float = 1e-4
    adapter_lr_scale: float = 1.0  # the face encoder's and identity adapter's LR is lr x this
    weight_decay: float = 0.0
    warmup_steps: int = 0
    max_grad_norm: float = 1.0
    checkpoint_every: int = 50
    seed: int = 0
    mixed_precision: Literal["no", "bf16", "fp16"] = "no"
    gradient_checkpointing: bool = False
    ema_decay: float = 0.0  # 0 disables EMA
    timestep_sampling: Literal["uniform", "logit_normal"] = "logit_normal"  # for flow backbones
    # clean-sample objectives: "velocity" weighs |x0_hat - x0|^2 by 1/sigma^2 (the velocity loss),
    # "uniform" by 1, which keeps high-noise steps (where only the reference shows the face) in play
    x0_loss_weighting: Literal["velocity", "uniform"] = "velocity"
    logit_mean: float = 0.0  # logit-normal flow times: sigmoid(N(mean, std)); mean > 0 favours noisier inputs
    logit_std: float = 1.0
    # loss weight of latent cells under a frame's face box (clips' ``face_boxes``) relative to 1
    # elsewhere, as ConsisID's face-emphasis loss; 1 = off. The loss stays a weighted mean.
    face_loss_weight: float = 1.0
    # weight of a loss that keeps the identity tokens as far apart as the people are: the batch's
    # pairwise cosines of the (pooled) tokens against those of the SFace embeddings;
    # without it small from-scratch runs collapse the tokens to one output for everybody. 0 = off.
    token_similarity_weight: float = 0.0
    log_every: int = 1


@dataclass
class LoraSection:
    """LoRA on the backbone's attention projections (peft); rank 0 = off."""

    rank: int = 0
    alpha: float = 0.0  # 0: same as rank (scale 1)
    targets: list[str] = field(default_factory=lambda: ["to_q", "to_k", "to_v", "to_out.0"])


@dataclass
class IdentityLossSection:
    """1 - cosine(SFace(decoded clean prediction), reference embedding), at low noise only; weight 0 = off."""

    weight: float = 0.0
    max_sigma: float = 0.4  # rows noisier than this (flow time, or t / T for DDPM schedulers) are skipped
    latent_frames: int = 1  # leading latent frames decoded (causal VAEs decode frame 0 from latent 0 alone)


@dataclass
class ValidationSection:
    """Samples on held-out identities every ``every`` steps, scored with the evaluation metrics; 0 = off."""

    every: int = 0
    split: str = "heldout"
    clips: int = 2
    num_frames: int = 0  # 0: data.num_frames
    num_inference_steps: int = 8
    guidance_scale: float = 3.0
    identity_guidance_scale: float = 2.0


@dataclass
class TrainConfig:
    model: str = "tiny"
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainSection = field(default_factory=TrainSection)
    lora: LoraSection = field(default_factory=LoraSection)
    identity_loss: IdentityLossSection = field(default_factory=IdentityLossSection)
    validation: ValidationSection = field(default_factory=ValidationSection)

    def validate(self) -> TrainConfig:
        t = self.train
        checks = [
            (not (t.freeze_face_encoder and t.token_similarity_weight),
             "train.token_similarity_weight shapes the face encoder's tokens, which train.freeze_face_encoder keeps fixed"),
            (min(t.steps, t.batch_size, t.checkpoint_every, t.log_every, t.gradient_accumulation_steps) >= 1,
             "train.steps, batch_size, checkpoint_every, log_every and gradient_accumulation_steps must be >= 1"),
            (0.0 <= t.ema_decay < 1.0, f"train.ema_decay must be in [0, 1), got {t.ema_decay}"),
            (t.logit_std > 0, f"train.logit_std must be > 0, got {t.logit_std}"),
            (t.adapter_lr_scale > 0, f"train.adapter_lr_scale must be > 0, got {t.adapter_lr_scale}"),
            (t.face_loss_weight >= 1, f"train.face_loss_weight must be >= 1, got {t.face_loss_weight}"),
            (t.token_similarity_weight >= 0,
             f"train.token_similarity_weight must be >= 0, got {t.token_similarity_weight}"),
            (bool(self.data.root), "data.root is required"),
            (self.data.workers >= 0, f"data.workers (--workers) must be >= 0, got {self.data.workers}"),
            (self.lora.rank >= 0 and self.lora.alpha >= 0, "lora.rank and lora.alpha must be >= 0"),
            (not (self.lora.rank and t.trainable == "all"),
             "lora trains a frozen backbone; with train.trainable: all the backbone trains whole"),
            (self.identity_loss.weight >= 0 and 0 < self.identity_loss.max_sigma <= 1
             and self.identity_loss.latent_frames >= 1,
             "identity_loss.weight must be >= 0, max_sigma in (0, 1], latent_frames >= 1"),
            (self.validation.every >= 0 and self.validation.clips >= 1 and self.validation.num_inference_steps >= 1,
             "validation.every must be >= 0, clips and num_inference_steps >= 1"),
            # validation videos are scored with video metrics, which need at least two frames
            (self.validation.every == 0 or (self.validation.num_frames or self.data.num_frames) >= 2,
             "validation videos need at least 2 frames (validation.num_frames, else data.num_frames)"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(message)
        return self


def from_dict(values: dict, base_dir: Path | None = None) -> TrainConfig:
    """Checked config from YAML-shaped ``values``; relative paths resolve against ``base_dir``."""
    return _resolve_paths(build(TrainConfig, values), base_dir).validate()


def _resolve_paths(config: TrainConfig, base_dir: Path | None) -> TrainConfig:
    root = Path(config.data.root).expanduser()
    if base_dir is not None and config.data.root and not root.is_absolute():
        root = base_dir / root
    config.data.root = str(root) if config.data.root else ""
    model = Path(config.model).expanduser()
    if base_dir is not None and not model.is_absolute() and (base_dir / model).is_dir():
        config.model = str(base_dir / model)
    return config


def load_config(path_or_name: str | Path) -> TrainConfig:
    """A YAML file, or the name of a shipped config (``tiny`` -> training/configs/tiny.yaml)."""
    path = Path(path_or_name).expanduser()
    if not path.is_file() and (CONFIG_DIR / f"{path_or_name}.yaml").is_file():
        path = CONFIG_DIR / f"{path_or_name}.yaml"
    if not path.is_file():
        shipped = ", ".join(sorted(p.stem for p in CONFIG_DIR.glob("*.yaml")))
        raise ConfigError(f"no training config {path_or_name} (a YAML file, or one of: {shipped})")
    config = _resolve_paths(load_dataclass(TrainConfig, path, "training config"), path.resolve().parent)
    with naming_file(path):
        return config.validate()
