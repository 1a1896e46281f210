"""What trains: freezing, optional LoRA on the backbone, and the dtypes of frozen weights.

- ``trainable: adapter``: the face encoder and the identity adapter train; the backbone, VAE and
  text encoder are frozen (and, under mixed precision, stored in that precision to halve their
  memory). ``lora.rank > 0`` adds peft LoRA layers to the backbone's attention projections; only
  those train in the backbone.
- ``trainable: all``: the backbone trains whole too (the small from-scratch models).
- ``freeze_face_encoder``: with either, the face encoder stays as loaded. Small runs whose
  diffusion loss collapses a training face encoder's tokens to one output for everybody read its
  fixed features instead (the identity ablation).

Trainable parameters are always float32: the optimizer's updates are far below bf16's precision.
"""

from __future__ import annotations

import torch

from idvid.errors import ConfigError

_PRECISION = {"no": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def select_trainable(pipe, trainable: str, lora, mixed_precision: str, freeze_face_encoder: bool = False) -> None:
    """Freeze the pipeline, then unfreeze (and set dtypes for) what this run trains."""
    frozen_dtype = _PRECISION[mixed_precision]
    for module in pipe.components.values():
        if isinstance(module, torch.nn.Module):
            module.requires_grad_(False).eval()
    for name in ("transformer", "text_encoder", "image_encoder"):
        module = getattr(pipe, name, None)
        if module is not None and not (name == "transformer" and trainable == "all"):
            cast(module, frozen_dtype)  # the VAE stays float32: its decoder is sensitive to half precision
    trained = [pipe.id_adapter] if freeze_face_encoder else [pipe.face_encoder, pipe.id_adapter]
    if trainable == "all":
        trained.append(pipe.transformer)
    for module in trained:
        cast(module, torch.float32)
        module.requires_grad_(True).train()
    if lora.rank > 0:
        add_lora(pipe.transformer, lora)


def cast(module: torch.nn.Module, dtype: torch.dtype) -> None:
    """``module.to(dtype)``, keeping the submodules the model class keeps in float32 (diffusers'
    ``_keep_in_fp32_modules``: norms, time embeddings) in float32; nothing when already there."""
    if all(p.dtype == dtype for p in module.parameters()):
        return
    module.to(dtype)
    keep = getattr(module, "_keep_in_fp32_modules", None) or []
    for name, sub in module.named_modules():
        if any(part in keep for part in name.split(".")):
            sub.to(torch.float32)


def add_lora(transformer: torch.nn.Module, lora) -> None:
    """peft LoRA layers (float32, trainable) on ``lora.targets`` of every attention block."""
    try:
        from peft import LoraConfig
    except ImportError:
        raise ConfigError("LoRA needs peft: pip install 'idvid[train]'") from None
    config = LoraConfig(r=lora.rank, lora_alpha=lora.alpha or lora.rank, init_lora_weights="gaussian",
                        target_modules=list(lora.targets))
    try:
        transformer.add_adapter(config)
    except ValueError as e:  # peft: a target name matches no layer of this backbone
        raise ConfigError(f"lora.targets {lora.targets} do not fit {type(transformer).__name__}: "
                         f"{str(e).splitlines()[0]}") from None
    for name, param in transformer.named_parameters():
        if "lora_" in name:
            param.data = param.data.float()
            param.requires_grad_(True)
    transformer.train()


def merge_lora(transformer: torch.nn.Module) -> None:
    """Fold trained LoRA layers into the backbone's weights and remove them (for the final save)."""
    if getattr(transformer, "_hf_peft_config_loaded", False):
        transformer.fuse_lora()
        transformer.unload_lora()


def trainable_names(model: torch.nn.Module) -> list[str]:
    """Names of the parameters that train, in ``model.named_parameters()`` order."""
    return [name for name, param in model.named_parameters() if param.requires_grad]
