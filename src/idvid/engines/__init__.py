"""Engine selection: one entry point for every kind of generator.

An engine is a pipeline class with ``from_pretrained(name_or_dir)``,
``plan(name_or_dir, GenerationOptions) -> GenerationPlan`` (limits and memory, before loading)
and ``__call__(prompt=..., faces=..., **GenerationOptions) -> VideoOutput``. Each kind registers
here once; the CLI, the API and the benchmarks only call :func:`load_engine`.
"""

from __future__ import annotations

from importlib import import_module
from pathlib import Path

from idvid.engines.request import GenerationOptions, GenerationPlan, check_memory
from idvid.errors import GenerationError, ModelFileError

# engine kind -> "module:Class"
ENGINES: dict[str, str] = {
    "nano": "idvid.engines.nano:NanoPipeline",
    "dit": "idvid.pipelines.pipeline_idvideo:IDVideoPipeline",
}
# engine kind -> "module:function" of its plan (the class's ``plan``), in a module that imports
# as little as it can, so a bad request is refused before the engine's libraries load.
PLANNERS: dict[str, str] = {
    "nano": "idvid.engines.nano.limits:plan",
    "dit": "idvid.pipelines.dit_plan:plan",
}


def engine_class(kind: str):
    return _resolve(ENGINES[kind])


def _resolve(spec: str):
    module, name = spec.split(":")
    return getattr(import_module(module), name)


def engine_kind(model: str) -> str:
    """The engine kind that runs ``model``, a preset name or a model directory."""
    from idvid.presets import PRESETS, get_preset

    path = Path(model).expanduser()
    if model in PRESETS and not path.is_dir():
        return get_preset(model).engine
    if not path.exists():
        get_preset(model)  # raises the "unknown model" error listing the presets
    for kind in ENGINES:
        if engine_class(kind).recognizes(path):
            return kind
    raise ModelFileError(f"{path} is not a model directory of any engine ({', '.join(ENGINES)})")


def plan_generation(model: str, options: GenerationOptions, device: str | None = None) -> GenerationPlan:
    """Check ``options`` against ``model``'s limits and memory, from its configs alone (no weights
    load): the resolved plan, or a GenerationError that says what would fit."""
    if device:
        check_device(device)
    plan = _resolve(PLANNERS[engine_kind(model)])(model, options)
    check_memory(plan, device)
    return plan


def load_engine(model: str, device: str | None = None):
    """Load the engine for a preset name or a model directory, on ``device`` (default: CPU)."""
    if device:
        check_device(device)
    engine = engine_class(engine_kind(model)).from_pretrained(model)
    return engine.to(device) if device else engine


def check_device(device: str) -> None:
    """GenerationError for a device torch does not know or this machine does not have."""
    import torch

    try:
        chosen = torch.device(device)
    except RuntimeError:
        chosen = None
    if chosen is None or chosen.type not in ("cpu", "cuda"):
        raise GenerationError(f"unknown device {device!r}; use cpu, cuda or cuda:N")
    if chosen.type == "cuda" and not torch.cuda.is_available():
        raise GenerationError(f"device {device!r} asked for, but torch sees no CUDA GPU here")
    if chosen.type == "cuda" and (chosen.index or 0) >= torch.cuda.device_count():
        raise GenerationError(f"device {device!r} asked for, but torch sees {torch.cuda.device_count()} GPU(s)")


__all__ = ["ENGINES", "GenerationOptions", "GenerationPlan", "engine_class", "engine_kind", "load_engine",
           "plan_generation"]
