"""Does a measured head-pose trajectory perform the head action a prompt asks for?

Angles are degrees per frame (frames in time order, those without a face left out), read
relative to the first frame. The rules, per :data:`idvid.engines.nano.head_actions.ACTIONS`:

- reach (turn / look / tilt): ``sign x (angle_t - angle_0)`` reaches at least ``degrees``
  (10) at some frame, and further than the angle goes the other way.
- nod: the pitch has at least one down-then-up cycle: a downward swing followed by an upward
  swing, each >= ``degrees`` (5). Swings are the moves between turning points of the pitch
  after hysteresis of ``degrees``, so jitter smaller than that makes no swing.
- shake: the yaw has at least two swings (one back-and-forth), each >= ``degrees``.

The pose axis of one action is checked alone: a nod with some yaw still counts as a nod.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from idvid.engines.nano.head_actions import ACTIONS, HeadAction, classify_actions


@dataclass(frozen=True)
class ActionCheck:
    """The verdict for one action.

    measured: for reach actions the largest move in the asked direction (degrees, may be
        negative); for oscillations the size of the best cycle (the smaller of its two
        swings, degrees; 0 when there is none).
    """

    action: HeadAction
    passed: bool
    measured: float
    detail: str


def swings(angles: Sequence[float], hysteresis: float) -> list[float]:
    """Signed sizes of the moves between turning points of ``angles``, each >= ``hysteresis``.

    A turning point is confirmed once the angle has come back from it by ``hysteresis``
    (a zig-zag filter); the last move counts when it is large enough. Positive = increasing.
    Consecutive swings alternate in sign.
    """
    x = np.asarray(angles, dtype=np.float64)
    if x.size < 2:
        return []
    result: list[float] = []
    low = high = x[0]  # running extremes before the first swing
    direction, pivot, extreme = 0, x[0], x[0]
    for value in x[1:]:
        if direction == 0:
            low, high = min(low, value), max(high, value)
            if value - low >= hysteresis:
                direction, pivot, extreme = +1, low, value
            elif high - value >= hysteresis:
                direction, pivot, extreme = -1, high, value
        elif direction * (value - extreme) > 0:  # still going the same way
            extreme = value
        elif direction * (extreme - value) >= hysteresis:  # turned back far enough
            result.append(extreme - pivot)
            direction, pivot, extreme = -direction, extreme, value
    if direction != 0 and abs(extreme - pivot) >= hysteresis:
        result.append(extreme - pivot)
    return result


def check_action(
    action: HeadAction | str, yaw: Sequence[float], pitch: Sequence[float], roll: Sequence[float]
) -> ActionCheck:
    """Check one action against per-frame yaw, pitch, roll (degrees, HeadPose conventions)."""
    action = HeadAction(action)
    if action is HeadAction.NONE:
        raise ValueError("HeadAction.NONE asks for nothing to check")
    spec = ACTIONS[action]
    series = {"yaw": yaw, "pitch": pitch, "roll": roll}[spec.axis]
    angles = np.asarray(series, dtype=np.float64)
    if angles.ndim != 1 or angles.size < 2 or not np.isfinite(angles).all():
        raise ValueError(f"need >= 2 finite {spec.axis} angles to check {action.value}, got {angles.shape}")
    relative = angles - angles[0]
    if spec.kind == "reach":
        toward = float((spec.sign * relative).max()) + 0.0  # + 0.0: no "-0.0" in messages
        away = float((-spec.sign * relative).max()) + 0.0
        passed = toward >= spec.degrees and toward > away
        detail = f"{spec.axis} moved {toward:+.1f} deg towards {action.value} (needs {spec.degrees:g}), {away:.1f} away"
        return ActionCheck(action, passed, toward, detail)
    moves = swings(relative, spec.degrees)
    if action is HeadAction.NOD:
        cycles = [min(-a, b) for a, b in zip(moves, moves[1:]) if a < 0 < b]  # down, then up
        needed = "a down-up cycle"
    else:
        cycles = [min(abs(a), abs(b)) for a, b in zip(moves, moves[1:])]
        needed = "a back-and-forth"
    best = max(cycles, default=0.0)
    detail = (
        f"{spec.axis} swings {', '.join(f'{m:+.1f}' for m in moves) or 'none'} deg "
        f"(needs {needed} of >= {spec.degrees:g} deg swings)"
    )
    return ActionCheck(action, bool(cycles), float(best), detail)


def check_prompt_motion(
    prompt: str, yaw: Sequence[float], pitch: Sequence[float], roll: Sequence[float]
) -> list[ActionCheck]:
    """Check every head action the prompt names (none: an empty list)."""
    return [check_action(a, yaw, pitch, roll) for a in classify_actions(prompt)]
