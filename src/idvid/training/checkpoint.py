"""Atomic training checkpoints ``OUT/ckpt-<step>/``.

Layout: ``<module>/`` (``save_pretrained``, safetensors) per trainable module; ``ema.safetensors``
(EMA shadow weights); ``rng.safetensors`` (torch CPU RNG state); ``optimizer.pt`` (optimizer
state via ``torch.save``, loaded with ``weights_only=True``, so no code is unpickled);
``state.json`` (step, LR scheduler, EMA counters, python/numpy RNG, data position = step).
A checkpoint is written into ``.ckpt-<step>.tmp-*`` and renamed when complete, so a run killed
mid-write leaves only a temp folder, which :func:`latest_checkpoint` ignores.
"""

from __future__ import annotations

import json
import random
import re
import secrets
import shutil
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from idvid.errors import ModelFileError

_NAME = re.compile(r"^ckpt-(\d+)$")


def latest_checkpoint(out: Path) -> Path | None:
    """The complete checkpoint with the highest step in ``out``, or None."""
    found = [(int(m.group(1)), p) for p in Path(out).glob("ckpt-*") if (m := _NAME.match(p.name)) and p.is_dir()]
    return max(found)[1] if found else None


def save_checkpoint(out: Path, step: int, modules: dict, ema, optimizer, lr_scheduler) -> Path:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    final = out / f"ckpt-{step}"
    tmp = out / f".ckpt-{step}.tmp-{secrets.token_hex(4)}"
    tmp.mkdir()
    try:
        for name, module in modules.items():
            module.save_pretrained(tmp / name, safe_serialization=True)
        ema_state = None
        if ema is not None:
            ema_state = {k: v for k, v in ema.state_dict().items() if k != "shadow_params"}
            save_file({f"p{i}": p.detach().contiguous().cpu() for i, p in enumerate(ema.shadow_params)},
                      str(tmp / "ema.safetensors"))
        save_file({"torch_cpu": torch.get_rng_state()}, str(tmp / "rng.safetensors"))
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
        if final.exists():
            shutil.rmtree(final)
        tmp.rename(final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def load_checkpoint(path: Path, modules: dict, ema, optimizer, lr_scheduler) -> int:
    """Restore everything saved by :func:`save_checkpoint`; returns the step. ModelFileError on damage."""
    path = Path(path)
    try:
        state = json.loads((path / "state.json").read_text())
        for name, module in modules.items():
            weights = load_file(str(path / name / "diffusion_pytorch_model.safetensors"))
            missing, unexpected = module.load_state_dict(weights, strict=False)
            if missing or unexpected:
                raise ValueError(f"{name}: missing {list(missing)[:3]}, unexpected {list(unexpected)[:3]}")
        if ema is not None:
            shadow = load_file(str(path / "ema.safetensors"))
            ema.load_state_dict({**state["ema"], "shadow_params": [shadow[f"p{i}"] for i in range(len(shadow))]})
        optimizer.load_state_dict(torch.load(path / "optimizer.pt", weights_only=True))
        lr_scheduler.load_state_dict(state["lr_scheduler"])
        torch.set_rng_state(load_file(str(path / "rng.safetensors"))["torch_cpu"])
        n = state["numpy_rng"]
        np.random.set_state((n[0], np.array(n[1], dtype=np.uint32), *n[2:]))
        p = state["python_rng"]
        random.setstate((p[0], tuple(p[1]), p[2]))
        return int(state["step"])
    except ModelFileError:
        raise
    except Exception as e:  # truncated / corrupt / missing files
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ModelFileError(f"checkpoint {path} is damaged or incomplete: {msg}") from None
