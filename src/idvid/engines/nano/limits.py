"""nano's limits, defaults and memory: what a request may ask, known without loading anything,
and the file that marks a nano model directory.

Kept apart from the pipeline (and its torch, diffusers and face-stack imports) so the CLI
checks a request in a fraction of a second.
"""

from __future__ import annotations

from pathlib import Path

from idvid.engines.request import GenerationOptions, GenerationPlan
from idvid.engines.runtime import RuntimeOptions
from idvid.errors import GenerationError

INDEX_FILE = "motion_generator.json"
# 6 s of motion (the motion model's span) at 24 fps, a rate that looks like video.
DEFAULTS = dict(num_frames=145, height=256, width=256, fps=24)
# Frames are streamed to the encoder, so length costs time, not memory: up to ten minutes at 24 fps.
MIN_SIZE, MAX_SIZE, MAX_FRAMES = 64, 2048, 14400
# Memory model of nano_memory (bytes), from measured peaks.
NANO_BASE_BYTES = 900 * 2**20
RENDER_BYTES_PER_PIXEL = 60
ENCODER_BYTES_PER_PIXEL = 3
X264_FRAMES_IN_FLIGHT = 50
# Accepted for the common engine interface, unused here, and why.
IGNORED_OPTIONS = {"negative_prompt": "the motion model has no negative prompt",
                   "identity_guidance_scale": "the identity is the photo itself, not guided"}


def options_lasting(options: GenerationOptions, seconds: float, fps: float, what: str) -> GenerationOptions:
    """``options`` lasting ``seconds`` at ``options.fps`` or else ``fps``: a driving video or a
    sound sets the length, so a length given too is refused."""
    import dataclasses

    from idvid.errors import ConfigError

    if options.num_frames is not None:
        raise ConfigError(f"{what} sets the length: leave out --frames and --seconds")
    fps = options.fps or fps
    frames = round(seconds * fps)
    if not 2 <= frames <= MAX_FRAMES:
        raise GenerationError(f"{what} lasts {seconds:.2f} s: {frames} frames at {fps:g} fps; nano makes 2 to "
                              f"{MAX_FRAMES}")
    return dataclasses.replace(options, num_frames=frames, fps=fps)


def check_nano(model: str, flag: str, why: str) -> None:
    """ConfigError saying that ``flag`` is nano's when ``model`` is another engine's."""
    from idvid.engines import engine_kind
    from idvid.errors import ConfigError

    if engine_kind(model) != "nano":
        raise ConfigError(f"{flag} works with nano only; {model} {why}")


def recognizes(path: Path) -> bool:
    """Whether ``path`` is a nano model directory."""
    return (Path(path) / INDEX_FILE).is_file()


def plan(model: str | Path, options: GenerationOptions, runtime: RuntimeOptions = RuntimeOptions()) -> GenerationPlan:
    """The request's frames, size and fps (defaults filled in), checked, and its memory.
    ``runtime``: nano has no diffusion models, so none of it changes the memory."""
    opt = options.with_defaults(DEFAULTS)
    if not 2 <= opt["num_frames"] <= MAX_FRAMES:
        raise GenerationError(f"frames must be between 2 and {MAX_FRAMES} (got {opt['num_frames']})")
    for side in ("height", "width"):
        value = opt[side]
        if not MIN_SIZE <= value <= MAX_SIZE or value % 2:
            nearest = min(max(value + value % 2, MIN_SIZE), MAX_SIZE)
            raise GenerationError(f"{side} must be even and between {MIN_SIZE} and {MAX_SIZE} "
                                  f"(got {value}; nearest valid: {nearest})")
    ignored = {name: IGNORED_OPTIONS[name] for name in options.given() if name in IGNORED_OPTIONS}
    memory = nano_memory(opt["num_frames"], opt["height"], opt["width"])
    return GenerationPlan(opt, memory, NANO_BASE_BYTES, ignored, nano_memory)


def nano_memory(num_frames: int, height: int, width: int) -> int:
    """Estimated peak bytes of a nano generation streamed to the encoder.

    Calibrated on measured peaks (see the README's bad-input section): the loaded models and
    libraries, the renderer's per-pixel working set, and the frames x264 keeps in flight (up
    to ~50 for its lookahead and B-frames, in YUV 4:2:0 with its own copies). ``num_frames``
    only matters up to that window: the video is never held whole.
    """
    pixels = height * width
    in_flight = min(num_frames, X264_FRAMES_IN_FLIGHT)
    return int(NANO_BASE_BYTES + RENDER_BYTES_PER_PIXEL * pixels + ENCODER_BYTES_PER_PIXEL * in_flight * pixels)
