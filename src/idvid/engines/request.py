"""A generation request, checked before any model loads.

The limits every engine shares live here. Each engine resolves its own defaults and limits
(sizes, frame grid) and estimates the memory a request needs in ``plan``, from configs alone;
:func:`check_memory` refuses a request the machine cannot hold and says what would fit.
Every problem is one ``GenerationError`` line naming the option.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields

from idvid.errors import GenerationError

MAX_SEED = 2**64 - 1  # what torch.Generator.manual_seed and numpy's default_rng both take
# Classifier-free guidance past this saturates every sampler shipped here (1e9 gave pure
# black and white frames); published models use 1-12.
MAX_GUIDANCE = 20.0
MIN_FPS, MAX_FPS = 1, 120
MAX_STEPS = 1000  # the schedulers here are trained on 1000 timesteps


@dataclass
class GenerationOptions:
    """Options every engine accepts; None means the model's default."""

    num_frames: int | None = None
    height: int | None = None
    width: int | None = None
    num_inference_steps: int | None = None
    guidance_scale: float | None = None
    identity_guidance_scale: float | None = None
    seed: int | None = None
    face_index: int | None = None
    fps: float | None = None
    negative_prompt: str = ""

    def __post_init__(self) -> None:
        self.check()

    def check(self) -> None:
        """The engine-independent limits; raises GenerationError."""
        _check_int("frames", self.num_frames, low=1)
        _check_int("height", self.height, low=1)
        _check_int("width", self.width, low=1)
        _check_int("steps", self.num_inference_steps, low=1, high=MAX_STEPS)
        _check_int("seed", self.seed, low=0, high=MAX_SEED)
        _check_int("face index", self.face_index, low=0)
        _check_number("guidance", self.guidance_scale, 0.0, MAX_GUIDANCE)
        _check_number("identity guidance", self.identity_guidance_scale, 0.0, MAX_GUIDANCE)
        _check_number("fps", self.fps, MIN_FPS, MAX_FPS)
        if not isinstance(self.negative_prompt, str):
            raise GenerationError(f"the negative prompt must be text, got {self.negative_prompt!r}")

    def given(self) -> list[str]:
        """Names of the options set to something other than 'the model's default'."""
        return [f.name for f in fields(self) if getattr(self, f.name) not in (None, "")]

    def with_defaults(self, defaults: dict) -> dict:
        """The options ``defaults`` names, each as given or else its default; GenerationError when
        neither exists."""
        resolved = {name: getattr(self, name) if getattr(self, name) is not None else default
                    for name, default in defaults.items()}
        missing = [name for name, value in resolved.items() if value is None]
        if missing:
            raise GenerationError(f"this model has no default for {', '.join(missing)}; pass a value")
        return resolved

    def as_kwargs(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class GenerationPlan:
    """What an engine will do with a request, known before it loads.

    options: every option resolved (the model's defaults filled in); memory_bytes: the
    estimated peak memory of the process; resident_bytes: the part of it a loaded engine
    already holds (libraries and weights); ignored: options the user set that this engine
    does not use, each with the reason; estimate: bytes for other (frames, height, width), to say what would fit;
    frame_step / size_step: the engine's grid, so suggestions are valid requests;
    max_photos: how many reference photos the engine takes (None: any number).
    """

    options: dict
    memory_bytes: int
    resident_bytes: int
    ignored: dict[str, str]
    estimate: Callable[[int, int, int], int]
    frame_step: int = 1
    size_step: int = 2
    max_photos: int | None = None

    def check_photos(self, count: int) -> None:
        """GenerationError when ``count`` reference photos are more than the engine takes."""
        if self.max_photos is not None and count > self.max_photos:
            takes = "one reference photo" if self.max_photos == 1 else f"at most {self.max_photos} reference photos"
            raise GenerationError(f"this model takes {takes}, got {count}")


def check_prompt(prompt) -> None:
    if not isinstance(prompt, str) or not prompt.strip():
        raise GenerationError("the prompt is empty; describe what should happen in the video")


def check_memory(plan: GenerationPlan, device: str | None = None, loaded: bool = False) -> None:
    """GenerationError when the plan needs more memory than ``device`` has free now; ``loaded``:
    the engine is in memory already, so its resident part is not free memory it still needs."""
    available = available_memory(device)
    held = plan.resident_bytes if loaded else 0
    if plan.memory_bytes - held <= available:
        return
    raise GenerationError(
        f"this video needs about {_gib(plan.memory_bytes - held)} of memory and {device or 'cpu'} has "
        f"{_gib(available)} free; {_what_fits(plan, available + held)}"
    )


def available_memory(device: str | None = None) -> int:
    """Bytes a new allocation can take now: free GPU memory for a CUDA device, else the
    kernel's MemAvailable (physical memory where /proc is missing)."""
    if device and device.startswith("cuda"):
        import torch

        gpu = torch.device(device)
        # torch's cache is free to this process, though not to the driver
        cached = torch.cuda.memory_reserved(gpu) - torch.cuda.memory_allocated(gpu)
        return int(torch.cuda.mem_get_info(gpu)[0] + cached)
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def _what_fits(plan: GenerationPlan, available: int) -> str:
    """'at most N frames fit at this size', or the largest size at this aspect that fits."""
    frames, height, width = (plan.options[k] for k in ("num_frames", "height", "width"))
    steps = _largest(lambda k: plan.estimate(k * plan.frame_step + 1, height, width) <= available,
                     (frames - 1) // plan.frame_step)
    if steps is not None and steps > 0:
        return f"at most {steps * plan.frame_step + 1} frames fit at {width}x{height}"

    def size(k: int) -> tuple[int, int]:  # k-th size step along the longer side, same aspect
        longer = max(height, width)
        return (max(plan.size_step, round(height * k / longer) * plan.size_step),
                max(plan.size_step, round(width * k / longer) * plan.size_step))

    k = _largest(lambda k: plan.estimate(frames, *size(k)) <= available, max(height, width) // plan.size_step)
    if k is None:
        return "even the smallest video does not fit; close other programs or use a machine with more memory"
    h, w = size(k)
    return f"{frames} frames fit at up to {w}x{h}"


def _largest(fits: Callable[[int], bool], high: int) -> int | None:
    """The largest k in 1..high with fits(k) (fits is monotone: true up to some k), else None."""
    if high < 1 or not fits(1):
        return None
    low = 1
    while low < high:
        middle = (low + high + 1) // 2
        low, high = (middle, high) if fits(middle) else (low, middle - 1)
    return low


def _check_int(name: str, value, low: int, high: int | None = None) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise GenerationError(f"{name} must be a whole number, got {value!r}")
    if value < low or (high is not None and value > high):
        bound = f"from {low} to {high}" if high is not None else f"at least {low}"
        raise GenerationError(f"{name} must be {bound} (got {value})")


def _check_number(name: str, value, low: float, high: float) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise GenerationError(f"{name} must be a finite number, got {value!r}")
    if not low <= value <= high:
        raise GenerationError(f"{name} must be from {low:g} to {high:g} (got {value:g})")


def _gib(count: int) -> str:
    return f"{count / 2**30:.1f} GiB"
