"""Atomic training checkpoints ``OUT/ckpt-<step>/``, written by ``accelerator.save_state``.

A checkpoint holds what accelerate saves: the model's trainable weights (``model.safetensors``;
frozen weights are left out, see :func:`save_trainable_weights_only`; FSDP and DeepSpeed write
their own sharded files), the optimizer (sharded under FSDP and DeepSpeed), the prepared LR
scheduler, every process's RNG states, and the objects registered with
``accelerator.register_for_checkpointing`` (an EMA). The step is the folder's name.

Every process writes into one hidden folder, ``.ckpt-<step>.part``; when all are done the main
process renames it (:func:`idvid.atomic.atomic_folder`), so a run killed mid-write leaves only a
hidden folder, which :func:`latest_checkpoint` ignores.
"""

from __future__ import annotations

import re
import shutil
from contextlib import nullcontext
from pathlib import Path

import torch

from idvid.atomic import atomic_folder
from idvid.errors import ConfigError, ModelFileError

_NAME = re.compile(r"^ckpt-(\d+)$")


def latest_checkpoint(out: str | Path) -> Path | None:
    """The complete checkpoint with the highest step in ``out``, or None."""
    found = [(int(m.group(1)), p) for p in Path(out).glob("ckpt-*") if (m := _NAME.match(p.name)) and p.is_dir()]
    return max(found)[1] if found else None


def check_run_folder(out: str | Path, resume: bool) -> None:
    """ConfigError when a fresh run would train over an earlier run's checkpoints in ``out``."""
    if not resume and (found := latest_checkpoint(out)) is not None:
        raise ConfigError(f"{out} holds an earlier run (up to {found.name}); add --resume to continue it, "
                          "or choose another --out")


def save_checkpoint(accelerator, out: str | Path, step: int) -> Path:
    """``accelerator.save_state`` into ``out/ckpt-<step>``; every process must call it."""
    final = Path(out) / f"ckpt-{step}"
    temp = final.with_name(f".{final.name}.part")  # one path all processes agree on
    if accelerator.is_main_process:
        shutil.rmtree(temp, ignore_errors=True)  # what a killed save left
    accelerator.wait_for_everyone()
    with atomic_folder(final, overwrite=True, temp=temp) if accelerator.is_main_process else nullcontext():
        accelerator.save_state(str(temp))
        accelerator.wait_for_everyone()  # every process's files are in before the rename
    accelerator.wait_for_everyone()  # and none goes on before it
    return final


def load_checkpoint(accelerator, path: str | Path) -> int:
    """``accelerator.load_state`` from ``path`` -> its step; ModelFileError (one line) on damage or
    a checkpoint of another setup."""
    path = Path(path)
    try:
        accelerator.load_state(str(path))
    except Exception as e:  # truncated / missing files, or another run's checkpoint
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ModelFileError(f"checkpoint {path} is damaged, incomplete or from another setup: {msg}") from None
    return int(_NAME.match(path.name).group(1))


def save_trainable_weights_only(accelerator) -> None:
    """Make checkpoints hold only the parameters that train (a frozen backbone would be most of
    each one), and make loading check that the file holds exactly those."""
    accelerator.register_save_state_pre_hook(lambda models, weights, _: _keep_trainable(accelerator, models, weights))
    accelerator.register_load_state_pre_hook(lambda models, folder: _load_trainable(accelerator, models, folder))


def _trainable(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {name: p.detach().contiguous() for name, p in model.named_parameters() if p.requires_grad}


def _weights_file(folder: str, index: int) -> Path:
    from accelerate.utils import SAFE_WEIGHTS_NAME

    return Path(folder) / (SAFE_WEIGHTS_NAME.replace(".", f"_{index}.") if index else SAFE_WEIGHTS_NAME)


def _keep_trainable(accelerator, models: list, weights: list) -> None:
    # weights: the state dicts accelerate is about to write (none for FSDP and DeepSpeed models)
    for i, model in enumerate(models[:len(weights)]):
        weights[i] = _trainable(accelerator.unwrap_model(model))


def _load_trainable(accelerator, models: list, folder: str) -> None:
    # models: those accelerate would load next; loaded here, so they are taken off its list
    from safetensors.torch import load_file

    for i, model in enumerate(models):
        module = accelerator.unwrap_model(model)
        weights, expected = load_file(str(_weights_file(folder, i))), set(_trainable(module))
        if set(weights) != expected:
            missing, unexpected = sorted(expected - set(weights)), sorted(set(weights) - expected)
            raise ValueError(f"it holds other parameters (missing {missing[:3]}, unexpected {unexpected[:3]})")
        module.load_state_dict(weights, strict=False)
    models.clear()
