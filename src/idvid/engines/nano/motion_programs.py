"""Procedural motion programs: the `nano` motion model's training data.

A program is 0-3 actions over a clip plus background behaviour; realised, it is a
:class:`~idvid.render.controls.ControlTrack` of :data:`MODEL_FRAMES` frames spanning a nominal
:data:`CLIP_SECONDS` (8 fps), and a caption (:mod:`idvid.engines.nano.captions`) describes it.

Sign conventions (the one place they are spelled out for the motion model; they match
:mod:`idvid.render.controls` and :mod:`idvid.engines.nano.head_actions`). "Left" and "right" in a
prompt are the subject's OWN sides:

- "turns (to her) left", "glances over his left shoulder": yaw > 0 (the face turns towards image right);
- "looks up": pitch > 0 (chin up); "looks down", "bows her head": pitch < 0;
- "tilts her head to the left" (towards her left shoulder): roll > 0 (clockwise in the image);
- "the camera pans left": pan_x < 0 (the camera moves left; pan_x > 0 moves it right).

Head angles are relative to the photo's own pose (``reference_pose``, degrees). "Turns toward
the camera" starts turned away (on the side the photo already looks to) and ends at ``-yaw_ref``,
i.e. facing the camera. Turns are capped so the absolute yaw stays within about 50 degrees.

Every clip has background behaviour: small head sway, breathing, micro expressions and natural
blinks (every 2-5 s, about 150 ms, eyes fully closed on one frame). Transitions use quintic
easing, so every curve is smooth.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import NamedTuple

import numpy as np

from idvid.engines.nano.captions import write_caption
from idvid.engines.nano.motion_actions import CLIP_SECONDS, REALISERS, background
from idvid.render.controls import CONTROL_NAMES, NEUTRAL, ControlTrack, clamp_controls

MODEL_FRAMES = 49
_COL = {name: i for i, name in enumerate(CONTROL_NAMES)}


@dataclass(frozen=True)
class ActionKind:
    """group: head / face / body / camera / light. resources: what the action drives (two actions of
    one program never share one). min_seconds: shortest window it needs. weight: sampling weight."""

    group: str
    resources: frozenset[str]
    min_seconds: float
    weight: float


def _kind(group: str, resources: str, min_seconds: float, weight: float) -> ActionKind:
    return ActionKind(group, frozenset(resources.split()), min_seconds, weight)


ACTION_KINDS: dict[str, ActionKind] = {
    "turn_left": _kind("head", "yaw", 1.0, 3.0),
    "turn_right": _kind("head", "yaw", 1.0, 3.0),
    "face_camera": _kind("head", "yaw pitch", 1.0, 1.5),
    "look_up": _kind("head", "pitch", 1.0, 2.0),
    "look_down": _kind("head", "pitch", 1.0, 2.0),
    "nod": _kind("head", "pitch", 2.4, 2.5),
    "shake": _kind("head", "yaw", 2.2, 2.5),
    "tilt_left": _kind("head", "roll", 1.0, 1.5),
    "tilt_right": _kind("head", "roll", 1.0, 1.5),
    "look_around": _kind("head", "yaw pitch", 2.4, 1.0),
    "smile": _kind("face", "smile", 0.8, 3.0),
    "laugh": _kind("face", "smile mouth", 1.2, 1.5),
    "talk": _kind("face", "mouth", 1.5, 1.5),
    "open_mouth": _kind("face", "mouth", 0.8, 1.0),
    "surprise": _kind("face", "mouth brow", 0.8, 1.0),
    "frown": _kind("face", "brow smile", 0.8, 1.0),
    "raise_brows": _kind("face", "brow", 0.8, 1.0),
    "blink": _kind("face", "blink", 1.0, 0.7),
    "lean_in": _kind("body", "scale", 1.0, 1.0),
    "lean_out": _kind("body", "scale", 1.0, 1.0),
    "sway": _kind("body", "tx roll", 2.0, 1.0),
    "zoom_in": _kind("camera", "zoom", 1.5, 1.2),
    "zoom_out": _kind("camera", "zoom", 1.5, 1.0),
    "pan_left": _kind("camera", "pan", 1.5, 0.8),
    "pan_right": _kind("camera", "pan", 1.5, 0.8),
    "dim": _kind("light", "gain", 1.0, 0.8),
    "brighten": _kind("light", "gain", 1.0, 0.8),
    "warm": _kind("light", "warmth", 1.0, 0.8),
    "cool": _kind("light", "warmth", 1.0, 0.8),
    "light_shift": _kind("light", "light_dir", 1.5, 0.6),
}
_REACH = {"turn_left", "turn_right", "look_up", "look_down", "tilt_left", "tilt_right", "lean_in", "lean_out"}
_SPEED_ACTIONS = _REACH | {"face_camera", "nod", "shake"}
_STEP_COUNTS = (0.10, 0.45, 0.32, 0.13)  # P(0, 1, 2, 3 actions)


@dataclass(frozen=True)
class Step:
    """One action of a program.

    action: a key of :data:`ACTION_KINDS`.
    modifier: "slow" / "quick" (speed) or "big" / "small" (smile size) or None.
    returns: reach actions come back to the start pose (otherwise they hold).
    relation: "then" (after the step before) or "while" (at the same time).
    """

    action: str
    modifier: str | None = None
    returns: bool = False
    relation: str = "then"


class MotionClip(NamedTuple):
    """track: (MODEL_FRAMES, 16) controls; caption; program: the steps with their times (s) and amplitudes."""

    track: ControlTrack
    caption: str
    program: dict


# ---- plans ----------------------------------------------------------------------------------------


def _step_for(action: str, rng: np.random.Generator, relation: str) -> Step:
    modifier = None
    if action in _SPEED_ACTIONS and rng.random() < 0.3:
        # No quick nods or shakes: the video evaluation reads 16 frames, which would alias them.
        modifier = "slow" if rng.random() < 0.65 or action in ("nod", "shake") else "quick"
    elif action == "smile" and rng.random() < 0.4:
        modifier = "big" if rng.random() < 0.5 else "small"
    returns = action in _REACH and rng.random() < 0.4
    return Step(action, modifier, returns, relation)


def _fits(steps: Sequence[Step]) -> bool:
    """Sequential windows (a "while" step shares its predecessor's) fit in the clip."""
    slots: list[float] = []
    for step in steps:
        need = ACTION_KINDS[step.action].min_seconds
        if step.relation == "while" and slots:
            slots[-1] = max(slots[-1], need)
        else:
            slots.append(need)
    return sum(slots) <= CLIP_SECONDS - 1.0


def sample_steps(rng: np.random.Generator, actions: Sequence[str] | None = None) -> tuple[Step, ...]:
    """A program's steps: given ``actions`` (in order, "then"), or 0-3 random compatible ones."""
    if actions is not None:
        unknown = [a for a in actions if a not in ACTION_KINDS]
        if unknown:
            raise ValueError(f"unknown actions {unknown}; known: {sorted(ACTION_KINDS)}")
        return tuple(_step_for(a, rng, "then") for a in actions)
    names = list(ACTION_KINDS)
    weights = np.array([ACTION_KINDS[n].weight for n in names])
    count = int(rng.choice(len(_STEP_COUNTS), p=_STEP_COUNTS))
    steps: list[Step] = []
    used: set[str] = set()
    for _ in range(count * 4):  # a few tries to find compatible actions
        if len(steps) == count:
            break
        action = names[int(rng.choice(len(names), p=weights / weights.sum()))]
        kind = ACTION_KINDS[action]
        if kind.resources & used:
            continue
        previous = ACTION_KINDS[steps[-1].action] if steps else None
        simultaneous = previous is not None and not (previous.group == kind.group == "head") and rng.random() < 0.3
        step = _step_for(action, rng, "while" if simultaneous else "then")
        if _fits([*steps, step]):
            steps.append(step)
            used |= kind.resources
    return tuple(steps)


def sample_reference_pose(rng: np.random.Generator) -> np.ndarray:
    """(3,) yaw, pitch, roll of a plausible photo, degrees: mostly near frontal, sometimes turned."""
    yaw = rng.normal(0, 8) if rng.random() < 0.5 else rng.uniform(-30, 30)
    return np.array([np.clip(yaw, -30, 30), np.clip(rng.normal(0, 6), -15, 15), np.clip(rng.normal(0, 5), -12, 12)])


# ---- realisation ----------------------------------------------------------------------------------


def _windows(steps: Sequence[Step], rng: np.random.Generator) -> list[tuple[float, float]]:
    """Start and end (s) of each step.

    "then" steps get consecutive slots that share the clip in proportion to what each needs, so
    an action's timing follows from the caption up to a little jitter (a sharp target is far
    easier to learn than one smeared over the clip); a "while" step shares its predecessor's
    slot and starts up to 0.6 s later.
    """
    slots: list[list[int]] = []
    for i, step in enumerate(steps):
        if step.relation == "while" and slots:
            slots[-1].append(i)
        else:
            slots.append([i])
    lead, tail = rng.uniform(0.2, 0.5), rng.uniform(0.1, 0.3)
    need = np.array([max(ACTION_KINDS[steps[i].action].min_seconds for i in slot) for slot in slots])
    lengths = need * rng.uniform(0.9, 1.1, len(slots))
    lengths *= (CLIP_SECONDS - lead - tail) / max(lengths.sum(), 1e-6)
    windows: list[tuple[float, float]] = [(0.0, 0.0)] * len(steps)
    now = lead
    for slot, length in zip(slots, lengths):
        for k, i in enumerate(slot):
            windows[i] = (now + rng.uniform(0.0, 0.4) if k == 0 else now + rng.uniform(0.2, 0.6), now + length)
        now += length
    return windows


def realise(
    steps: Sequence[Step],
    rng: np.random.Generator,
    reference_pose: Sequence[float] = (0.0, 0.0, 0.0),
    frames: int = MODEL_FRAMES,
) -> tuple[np.ndarray, dict]:
    """Steps -> ((frames, 16) float32 controls, program dict with times in seconds and amplitudes)."""
    ref = np.asarray(reference_pose, dtype=np.float64)
    t = np.linspace(0.0, CLIP_SECONDS, frames)
    # 1. Background: sway, breathing, micro expressions, blinks.
    curves, blinks = background(rng, t)
    values = np.tile(NEUTRAL.to_array().astype(np.float64), (frames, 1))
    for name, curve in curves.items():
        values[:, _COL[name]] += curve
    # 2. Actions, each inside its window.
    program_steps = []
    for step, (start, end) in zip(steps, _windows(steps, rng)):
        deltas, params = REALISERS[step.action](rng, t, start, end, step, ref)
        for name, delta in deltas.items():
            column = values[:, _COL[name]]
            values[:, _COL[name]] = np.maximum(column, delta) if name == "blink" else column + delta
        program_steps.append({**asdict(step), "start": round(start, 3), "end": round(end, 3), **_rounded(params)})
    # 3. Keep every control in the renderer's range.
    values = clamp_controls(values)
    program = {"frames": frames, "seconds": CLIP_SECONDS, "reference_pose": [round(float(v), 3) for v in ref],
               "steps": program_steps, **blinks}
    return values.astype(np.float32), program


def _rounded(params: dict) -> dict:
    def clean(v):
        if isinstance(v, (list, tuple)):
            return [clean(x) for x in v]
        if isinstance(v, (float, np.floating)):
            return round(float(v), 3)
        if isinstance(v, np.integer):
            return int(v)
        return v

    return {k: clean(v) for k, v in params.items()}


def sample_clip(
    rng: np.random.Generator | int,
    actions: Sequence[str] | None = None,
    reference_pose: Sequence[float] | None = None,
    heldout: bool = False,
) -> MotionClip:
    """One training example: a realised track, its caption, and the program behind it.

    Args:
        rng: a numpy Generator or a seed; the same seed gives the same clip.
        actions: force these actions in this order ("then"); None samples 0-3 of them.
        reference_pose: the photo's (yaw, pitch, roll); None samples a plausible one.
        heldout: caption with the held-out paraphrases (never for training).
    """
    rng = np.random.default_rng(rng) if not isinstance(rng, np.random.Generator) else rng
    steps = sample_steps(rng, actions)
    caption = write_caption(steps, rng, heldout=heldout)
    ref = sample_reference_pose(rng) if reference_pose is None else np.asarray(reference_pose, dtype=np.float64)
    values, program = realise(steps, rng, ref)
    return MotionClip(ControlTrack(values), caption, {**program, "caption": caption})
