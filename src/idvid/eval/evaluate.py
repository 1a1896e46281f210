"""Evaluate one generated video against its reference face(s) and prompt."""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from idvid.errors import ConfigError, VideoError
from idvid.eval.context import NUM_SAMPLED_FRAMES, EvalContext, Series
from idvid.eval.models import EvalModels, ModelPaths
from idvid.eval.registry import METRICS, resolve_metrics


@dataclass
class EvalResult:
    """What ``evaluate_video`` measured.

    values: output key -> number (NaN when it could not be measured; see ``notes``).
    skipped: metric name -> why it did not run (a missing model, no prompt, ...).
    notes: metric name -> caveats for values it did produce (e.g. why one is NaN).
    series: per-frame curves for plots (FaceSim, pose, motion, flicker, ...).
    directions: output key -> True (higher is better), False (lower), None (informational).
    info: facts about the run (frame count, fps, sampled frames, prompt actions, ...).
    timings: seconds per step: "decode", "references", shared stages ("face_analysis" with
        the meshes, "optical_flow") and each metric's own work.
    features: arrays for benchmark-level pooling (FID features); not part of the JSON.
    """

    values: dict[str, float] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    series: dict[str, Series] = field(default_factory=dict)
    directions: dict[str, bool | None] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    features: dict[str, np.ndarray] = field(default_factory=dict)

    def to_dict(self) -> dict:
        """JSON-ready dict (NaN becomes null; features are left out)."""
        return {
            "values": {k: _finite_or_none(v) for k, v in self.values.items()},
            "directions": dict(self.directions),
            "skipped": dict(self.skipped),
            "notes": dict(self.notes),
            "info": _jsonable(self.info),
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
            "series": {k: s.to_dict() for k, s in self.series.items()},
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    @classmethod
    def from_dict(cls, data: dict) -> EvalResult:
        """Inverse of :meth:`to_dict` (null values become NaN)."""
        return cls(
            values={k: math.nan if v is None else float(v) for k, v in data.get("values", {}).items()},
            skipped=dict(data.get("skipped", {})),
            notes=dict(data.get("notes", {})),
            series={
                k: Series(list(s["frames"]), [math.nan if v is None else float(v) for v in s["values"]])
                for k, s in data.get("series", {}).items()
            },
            directions=dict(data.get("directions", {})),
            info=dict(data.get("info", {})),
            timings=dict(data.get("timings", {})),
        )


def evaluate_video(
    video,
    reference_photos,
    prompt: str = "",
    metrics: Sequence[str] | str | None = None,
    models: ModelPaths | EvalModels | None = None,
    *,
    num_samples: int = NUM_SAMPLED_FRAMES,
    fps: float | None = None,
    face_index: int | None = None,
) -> EvalResult:
    """Run metrics on one video.

    Args:
        video: a video file path (any format PyAV reads), a :class:`idvid.video.VideoClip`,
            or a (T, H, W, 3) uint8 RGB array (see :func:`idvid.video.to_uint8`).
        reference_photos: one or several photos of the person (paths, arrays, PIL images) or
            already analysed :class:`idvid.face.FaceObservation` objects. Several photos must
            show one person. The first is the primary reference for geometry.
        prompt: the generation prompt ("" when unknown: text metrics are skipped).
        metrics: metric names (list or comma-separated); None runs the default set. Metrics
            whose models are unavailable are skipped with the reason in ``result.skipped``.
        models: model paths, or an :class:`EvalModels` to share loaded models over many calls.
        num_samples: frames sampled uniformly for the face and CLIP metrics (ConsisID: 16).
        fps: frame rate of an array input (informational).
        face_index: which face of the reference photos to use when they hold several.

    Raises:
        VideoError: the video file cannot be read. FaceError / ImageError: a reference photo
        has no usable face or cannot be read. ValueError: unknown metric names or bad input.
    """
    start = time.perf_counter()
    selected = resolve_metrics(metrics)  # 1. fail fast on unknown names
    if not isinstance(prompt, str):
        raise ConfigError(f"prompt must be a string, got {type(prompt).__name__}")
    if models is None or isinstance(models, ModelPaths):
        models = EvalModels(models)
    timings: dict[str, float] = {}

    frames, video_fps, source = _load_frames(video, fps)  # 2. frames
    if len(frames) < 2:  # a photo read as a one-frame video would score as a perfect copy
        raise VideoError(f"{source or 'the video'} is not a video: it has {len(frames)} frame; "
                         "video metrics need at least 2")
    timings["decode"] = time.perf_counter() - start

    start = time.perf_counter()  # 3. references
    references = _analyze_references(reference_photos, models, face_index)
    timings["references"] = time.perf_counter() - start

    ctx = EvalContext(frames, video_fps, references, prompt, models, num_samples=num_samples)
    result = EvalResult()
    for metric in selected:  # 4. metrics, each skipped with a reason or run once
        reason = metric.skip_reason(ctx)
        if reason is not None:
            result.skipped[metric.name] = reason
            continue
        staged = sum(ctx.stage_seconds.values())
        begin = time.perf_counter()
        values = metric.compute(ctx)
        elapsed = time.perf_counter() - begin
        timings[metric.name] = elapsed - (sum(ctx.stage_seconds.values()) - staged)
        for key, value in values.items():
            if key in result.values:
                raise RuntimeError(f"metric {metric.name!r} repeats output {key!r}")
            result.values[key] = float(value)
            result.directions[key] = metric.direction(key)

    timings.update(ctx.stage_seconds)
    result.timings = timings
    result.series = ctx.series
    result.notes = ctx.notes
    result.features = ctx.features
    result.info = {
        "video": source,
        "num_frames": ctx.num_frames,
        "fps": video_fps,
        "size": [int(frames.shape[1]), int(frames.shape[2])],
        "sampled_frames": [int(i) for i in ctx.sample_indices],
        "references": [r.source or f"reference {i}" for i, r in enumerate(references)],
        "prompt": prompt,
        **ctx.info,
    }
    return result


def format_result(result: EvalResult, timings: bool = False) -> str:
    """Human-readable summary: one line per value (with its direction), then notes and skips."""
    lines = []
    info = result.info
    if info:
        head = f"{info.get('video') or 'video'}: {info.get('num_frames', '?')} frames"
        if info.get("size"):
            head += f", {info['size'][1]}x{info['size'][0]}"
        if info.get("fps"):
            head += f", {info['fps']:g} fps"
        lines.append(head)
    width = max((len(k) for k in result.values), default=10)
    arrows = {True: "(higher is better)", False: "(lower is better)", None: ""}
    for key, value in result.values.items():
        shown = "n/a" if not math.isfinite(value) else f"{value:.4f}"
        lines.append(f"  {key:<{width}}  {shown:>9}  {arrows[result.directions.get(key)]}".rstrip())
    for name, note in result.notes.items():
        lines.append(f"  note [{name}]: {note}")
    if result.info.get("prompt_motion"):
        for action, verdict in result.info["prompt_motion"].items():
            lines.append(f"  prompt action {action}: {verdict}")
    for name, reason in result.skipped.items():
        lines.append(f"  skipped {name}: {reason}")
    if timings and result.timings:
        total = sum(result.timings.values())
        parts = ", ".join(f"{k} {v:.2f}s" for k, v in result.timings.items())
        lines.append(f"  time {total:.2f}s: {parts}")
    return "\n".join(lines)


def metric_definitions() -> dict[str, str]:
    """Metric name -> its exact definition (docstring), for reports and ``--help``."""
    resolve_metrics(None)  # loads the built-in metrics
    return {name: cls.definition() for name, cls in METRICS.items()}


# ---- inputs --------------------------------------------------------------------------------


def _load_frames(video, fps: float | None) -> tuple[np.ndarray, float | None, str | None]:
    """-> (frames (T, H, W, 3) uint8, fps, source path or None)."""
    from idvid.video import VideoClip, read_video

    if isinstance(video, (str, os.PathLike)):
        clip = read_video(video)
        return clip.frames, clip.fps, str(Path(video))
    if isinstance(video, VideoClip):
        return video.frames, video.fps, None
    frames = np.asarray(video) if not hasattr(video, "detach") else video
    if isinstance(frames, np.ndarray) and frames.dtype == np.uint8 and frames.ndim == 4 and frames.shape[-1] == 3:
        return np.ascontiguousarray(frames), fps, None
    shape = getattr(frames, "shape", None)
    raise VideoError(
        f"video must be a file path, a VideoClip or (T, H, W, 3) uint8 frames, got "
        f"{type(video).__name__} {shape}; convert model outputs with idvid.video.to_uint8"
    )


def _analyze_references(photos, models: EvalModels, face_index: int | None) -> list:
    return models.analyzer.references(photos, face_index)


def _finite_or_none(value: float):
    return float(value) if value is not None and math.isfinite(value) else None


def _jsonable(value):
    """Plain JSON types from info values (numpy scalars and arrays, tuples, NaN)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, (np.floating, float)):
        return _finite_or_none(float(value))
    if isinstance(value, np.integer):
        return int(value)
    return value
