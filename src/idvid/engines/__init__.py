"""Engine selection: one entry point for every kind of generator.

Each engine is a package ``idvid.engines.<name>`` that keeps the contract of
:mod:`idvid.engines.base` and registers here with one line. The CLI, the API, the bench runner
(:mod:`idvid.eval.bench`) and the benchmarks only call :func:`plan_generation` and :func:`load_engine`.
"""

from __future__ import annotations

from importlib import import_module
from pathlib import Path

from idvid.engines.request import GenerationOptions, GenerationPlan, check_memory
from idvid.engines.runtime import RuntimeOptions
from idvid.errors import GenerationError, ModelFileError

# engine kind -> its package. A directory goes to the first engine that recognizes it, so the
# engines of one pipeline class come before "dit", which takes any diffusers directory.
ENGINES: dict[str, str] = {
    "nano": "idvid.engines.nano",
    "vace": "idvid.engines.vace",
    "fantasyid": "idvid.engines.fantasyid",  # before consisid: its release's index may name ConsisID's pipeline
    "consisid": "idvid.engines.consisid",
    "dit": "idvid.engines.dit",
}


def engine_package(kind: str):
    """The package of engine ``kind``: its light ``plan`` and ``recognizes``, its lazy ``Pipeline``."""
    return import_module(ENGINES[kind])


def engine_kind(model: str) -> str:
    """The engine kind that runs ``model``, a preset name or a model directory."""
    from idvid.presets import PRESETS, get_preset

    path = Path(model).expanduser()
    if model in PRESETS and not path.is_dir():
        return get_preset(model).engine
    if not path.exists():
        get_preset(model)  # raises the "unknown model" error listing the presets
    for kind in ENGINES:
        if engine_package(kind).recognizes(path):
            return kind
    raise ModelFileError(f"{path} is not a model directory of any engine ({', '.join(ENGINES)})")


def plan_generation(model: str, options: GenerationOptions, device: str | None = None,
                    runtime: RuntimeOptions = RuntimeOptions(), photos: int = 1) -> GenerationPlan:
    """Check ``options`` and the number of reference ``photos`` against ``model``'s limits and
    memory with ``runtime``'s precision, offloading and tiling, from its configs alone (no
    weights load): the resolved plan, or a GenerationError that says what would fit."""
    if device:
        check_device(device)
    runtime.check_device(device)
    plan = engine_package(engine_kind(model)).plan(model, options, runtime)
    plan.check_photos(photos)
    check_memory(plan, device)
    return plan


def load_engine(model: str, device: str | None = None, runtime: RuntimeOptions = RuntimeOptions()):
    """Load the engine for a preset name or a model directory, on ``device`` (default: CPU), run
    as ``runtime`` says (precision, offloading, VAE tiling, First Block Cache)."""
    if device:
        check_device(device)
    runtime.check_device(device)
    pipeline = engine_package(engine_kind(model)).Pipeline
    return pipeline.from_pretrained(model, **runtime.load_kwargs(pipeline)).set_runtime(runtime, device)


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


__all__ = ["ENGINES", "GenerationOptions", "GenerationPlan", "RuntimeOptions", "engine_kind", "engine_package", "load_engine",
           "plan_generation"]
