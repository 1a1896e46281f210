"""Atomic training checkpoints ``OUT/ckpt-<step>/``.

Layout: ``trainable.safetensors`` (every trainable parameter by its name in the training model:
``face_encoder.*``, ``id_adapter.*``, and ``transformer.*`` for LoRA layers or a backbone that
trains whole); ``ema.safetensors`` (EMA shadow weights, same order as the trainable parameters);
``rng.safetensors`` (torch CPU RNG state); ``optimizer.pt`` (optimizer state via ``torch.save``,
loaded with ``weights_only=True``, so no code is unpickled; left out of sharded runs, whose
optimizer state is split over processes); ``state.json`` (step, LR scheduler,
EMA counters, python/numpy RNG; the data position is the step).

A checkpoint is written into a hidden temporary folder and renamed when complete
(:func:`idvid.atomic.atomic_folder`), so a run killed mid-write leaves only a hidden folder,
which :func:`latest_checkpoint` ignores.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from idvid.atomic import atomic_folder
from idvid.errors import ModelFileError

_NAME = re.compile(r"^ckpt-(\d+)$")
WEIGHTS = "trainable.safetensors"


def latest_checkpoint(out: Path) -> Path | None:
    """The complete checkpoint with the highest step in ``out``, or None."""
    found = [(int(m.group(1)), p) for p in Path(out).glob("ckpt-*") if (m := _NAME.match(p.name)) and p.is_dir()]
    return max(found)[1] if found else None


def save_checkpoint(out: Path, step: int, weights: dict[str, torch.Tensor], ema, optimizer, lr_scheduler) -> Path:
    """weights: trainable parameter name -> tensor (full, not sharded); optimizer: None to leave it out."""
    final = Path(out) / f"ckpt-{step}"
    with atomic_folder(final, overwrite=True) as tmp:
        save_file({k: v.detach().contiguous().cpu() for k, v in weights.items()}, str(tmp / WEIGHTS))
        ema_state = None
        if ema is not None:
            ema_state = {k: v for k, v in ema.state_dict().items() if k != "shadow_params"}
            save_file({f"p{i}": p.detach().contiguous().cpu() for i, p in enumerate(ema.shadow_params)},
                      str(tmp / "ema.safetensors"))
        save_file({"torch_cpu": torch.get_rng_state()}, str(tmp / "rng.safetensors"))
        if optimizer is not None:
            torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
        np_state = np.random.get_state()
        py_state = random.getstate()
        state = {
            "step": step,
            "lr_scheduler": lr_scheduler.state_dict(),
            "ema": ema_state,
            "numpy_rng": [np_state[0], np_state[1].tolist(), *np_state[2:]],
            "python_rng": [py_state[0], list(py_state[1]), py_state[2]],
        }
        (tmp / "state.json").write_text(json.dumps(state))
    return final


def load_checkpoint(path: Path, model: torch.nn.Module, expected: set[str], ema, optimizer, lr_scheduler) -> int:
    """Restore everything saved by :func:`save_checkpoint` into ``model`` (whose trainable
    parameters are named ``expected``) and the rest; ``optimizer`` None keeps the optimizer as it
    is. Returns the step. ModelFileError on damage or a mismatch."""
    path = Path(path)
    try:
        state = json.loads((path / "state.json").read_text())
        weights = load_file(str(path / WEIGHTS))
        if set(weights) != expected:
            missing, unexpected = sorted(expected - set(weights)), sorted(set(weights) - expected)
            raise ValueError(f"it holds other parameters (missing {missing[:3]}, unexpected {unexpected[:3]})")
        model.load_state_dict(weights, strict=False)
        if ema is not None:
            shadow = load_file(str(path / "ema.safetensors"))
            ema.load_state_dict({**state["ema"], "shadow_params": [shadow[f"p{i}"] for i in range(len(shadow))]})
        if optimizer is not None:
            optimizer.load_state_dict(torch.load(path / "optimizer.pt", weights_only=True))
        lr_scheduler.load_state_dict(state["lr_scheduler"])
        torch.set_rng_state(load_file(str(path / "rng.safetensors"))["torch_cpu"])
        n = state["numpy_rng"]
        np.random.set_state((n[0], np.array(n[1], dtype=np.uint32), *n[2:]))
        p = state["python_rng"]
        random.setstate((p[0], tuple(p[1]), p[2]))
        return int(state["step"])
    except Exception as e:  # truncated / corrupt / missing files, or another run's checkpoint
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ModelFileError(f"checkpoint {path} is damaged, incomplete or from another setup: {msg}") from None
