"""Long takes: a video longer than one motion clip is several clips in a row, each at the motion
model's own pace, overlapped and cross-faded, so the motion is never stretched.

The prompt's sequence ("turns to her left, then nods") is spread over the clips in order. A step
whose action goes on (talking, laughing, swaying) fills its share of the take; any other step is
done once, and the rest of its share is idle life (sway, breathing, blinks).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from idvid.engines.nano.motion_actions import CLIP_SECONDS
from idvid.engines.nano.understanding import understand

OVERLAP_SECONDS = 1.0  # consecutive clips cross-fade over this long
LONGEST_SINGLE_CLIP = 1.25 * CLIP_SECONDS  # up to here one clip is resampled to the take, as before
IDLE_PROMPT = "a person"  # an idle caption of the motion model's training set
ONGOING_ACTIONS = frozenset({"talk", "laugh", "sway", "look_around"})
_JOINS = re.compile(r"\s*(?:,\s*|\s)(?:and\s+)?then\s+|\s*,?\s*after that,?\s+|[.;]\s+(?:then\s+)?", re.IGNORECASE)


@dataclass(frozen=True)
class Clip:
    prompt: str
    start: int  # first frame of the take it covers
    frames: int


def sequence(prompt: str) -> list[str]:
    """The prompt's steps in order: split at "then", "and then", "after that" and sentence ends."""
    return [part.strip(" ,.;") for part in _JOINS.split(prompt) if part.strip(" ,.;")] or [prompt]


def plan_clips(prompt: str, num_frames: int, fps: float) -> list[Clip]:
    """The clips that make a take of ``num_frames`` at ``fps``: one when it is at most about one
    clip long (a share per step when the prompt has several), else clips of CLIP_SECONDS that
    overlap by OVERLAP_SECONDS."""
    steps = sequence(prompt)
    if num_frames / fps <= LONGEST_SINGLE_CLIP:
        return [Clip(prompt, 0, num_frames)] if len(steps) == 1 else _shared(steps, num_frames, fps)
    clip, step = round(CLIP_SECONDS * fps), round((CLIP_SECONDS - OVERLAP_SECONDS) * fps)
    count = math.ceil((num_frames - clip) / step) + 1
    ongoing = [bool(set(understand(text).actions) & ONGOING_ACTIONS) for text in steps]
    clips = []
    for i in range(count):
        part = min(i * len(steps) // count, len(steps) - 1)
        first_of_part = i == 0 or min((i - 1) * len(steps) // count, len(steps) - 1) != part
        text = steps[part] if first_of_part or ongoing[part] else IDLE_PROMPT
        start = min(i * step, num_frames - clip)
        clips.append(Clip(text, start, clip))
    return clips


def _shared(steps: list[str], num_frames: int, fps: float) -> list[Clip]:
    """A short take of several steps: an equal share each, overlapping by OVERLAP_SECONDS (each
    step's clip keeps the model's pace and is cut to its share: its action comes early in it)."""
    share, half = num_frames / len(steps), round(OVERLAP_SECONDS * fps / 2)
    clips = []
    for i, text in enumerate(steps):
        start, end = max(0, round(i * share) - half), min(num_frames, round((i + 1) * share) + half)
        clips.append(Clip(text, start, end - start))
    return clips


def cross_fade(tracks: list[np.ndarray], clips: list[Clip], num_frames: int) -> np.ndarray:
    """Clip tracks (frames, controls) -> one take: overlaps blended with linear ramps."""
    total = np.zeros((num_frames, tracks[0].shape[1]), np.float64)
    weight = np.zeros((num_frames, 1), np.float64)
    for i, (track, clip) in enumerate(zip(tracks, clips)):
        ramp = np.ones(clip.frames)
        fade = min(clip.frames // 2, max(1, clips[i - 1].start + clips[i - 1].frames - clip.start)) if i else 0
        if fade:
            ramp[:fade] = np.linspace(0, 1, fade + 2)[1:-1]
        if i + 1 < len(clips):
            out = clip.start + clip.frames - clips[i + 1].start
            if out > 0:
                ramp[-out:] = np.minimum(ramp[-out:], np.linspace(1, 0, out + 2)[1:-1])
        total[clip.start:clip.start + clip.frames] += ramp[:, None] * track
        weight[clip.start:clip.start + clip.frames] += ramp[:, None]
    return (total / np.maximum(weight, 1e-9)).astype(np.float32)


def long_take(make: Callable[[str, int, int], np.ndarray], prompt: str, num_frames: int, fps: float,
              seed: int) -> np.ndarray:
    """``make(prompt, frames, seed) -> (frames, controls)`` for each clip of the take, cross-faded."""
    clips = plan_clips(prompt, num_frames, fps)
    if len(clips) == 1:  # one clip: the model's motion resampled to the take
        return make(clips[0].prompt, clips[0].frames, seed)
    natural = round(CLIP_SECONDS * fps)  # several: each at the model's pace, cut to its place
    tracks = [make(clip.prompt, max(clip.frames, natural), seed + i)[:clip.frames] for i, clip in enumerate(clips)]
    return cross_fade(tracks, clips, num_frames)
