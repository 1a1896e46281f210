"""What each action of a motion program does to the controls over time, and the background
behaviour every clip has (sway, breathing, micro expressions, blinks).

A realiser is ``fn(rng, t, start, end, step, reference_pose) -> ({control: delta (T,)}, params)``:
``t`` (T,) frame times in seconds, [start, end] the action's window, ``step`` its
:class:`~idvid.engines.nano.motion_programs.Step`. Deltas add to the neutral controls, except blink curves,
which combine with the background's by maximum. Sign conventions: see
:mod:`idvid.engines.nano.motion_programs`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from idvid.render.controls import clamp_control

CLIP_SECONDS = 6.0  # the nominal length of a model clip
_SPEED = {"slow": 1.7, "quick": 0.5}


# ---- curve helpers --------------------------------------------------------------------------------


def ease(t: np.ndarray, t0: float, t1: float) -> np.ndarray:
    """Quintic smoothstep from 0 (t <= t0) to 1 (t >= t1); C2-continuous."""
    x = np.clip((t - t0) / max(t1 - t0, 1e-6), 0.0, 1.0)
    return x * x * x * (x * (6 * x - 15) + 10)


def _oscillation(t: np.ndarray, start: float, period: float, cycles: int) -> np.ndarray:
    """sin(2 pi (t - start) / period) over ``cycles`` periods, faded in and out over a quarter period."""
    end = start + cycles * period
    window = ease(t, start, start + period / 4) * (1 - ease(t, end - period / 4, end))
    return np.sin(2 * np.pi * (t - start) / period) * window


def _reach(t, rng, start, end, amplitude, returns, speed):
    """Ease to ``amplitude`` (and back when ``returns``) inside [start, end]; hold afterwards."""
    ease_in = rng.uniform(0.5, 1.0) * speed
    if not returns:
        ease_in = min(ease_in, max(end - start, 0.3))
        return amplitude * ease(t, start, start + ease_in), {"ease_in": ease_in}
    hold, ease_out = rng.uniform(0.5, 1.3), rng.uniform(0.5, 1.0) * speed
    fit = min(1.0, (end - start) / (ease_in + hold + ease_out))
    ease_in, hold, ease_out = ease_in * fit, hold * fit, ease_out * fit
    back = start + ease_in + hold
    curve = amplitude * (ease(t, start, start + ease_in) - ease(t, back, back + ease_out))
    return curve, {"ease_in": ease_in, "hold": hold, "ease_out": ease_out}


def _capped(amplitude: float, sign: int, reference: float, limit: float, floor: float) -> float:
    """Keep |reference + sign * amplitude| <= limit where possible, but at least ``floor``."""
    return max(floor, min(amplitude, limit - sign * reference))


# ---- actions ---------------------------------------------------------------------------------------

Realiser = Callable[..., tuple[dict[str, np.ndarray], dict]]


# action -> (control, reference-pose axis, sign, amplitude range, |absolute| cap, floor), degrees
_HOLDS = {
    "turn_left": ("yaw", 0, 1, (24, 32), 50.0, 22.0), "turn_right": ("yaw", 0, -1, (24, 32), 50.0, 22.0),
    "look_up": ("pitch", 1, 1, (16, 22), 35.0, 15.0), "look_down": ("pitch", 1, -1, (16, 22), 35.0, 15.0),
    "tilt_left": ("roll", 2, 1, (13, 20), 35.0, 13.0), "tilt_right": ("roll", 2, -1, (13, 20), 35.0, 13.0),
}


def _hold(rng, t, start, end, step, ref):
    """Turn, look or tilt: ease to a capped angle on one axis, hold, maybe come back."""
    control, axis, sign, (low, high), cap, floor = _HOLDS[step.action]
    amplitude = _capped(rng.uniform(low, high), sign, ref[axis], cap, floor)
    curve, params = _reach(t, rng, start, end, sign * amplitude, step.returns, _SPEED.get(step.modifier, 1.0))
    return {control: curve}, {"amplitude": sign * amplitude, **params}


def _face_camera(rng, t, start, end, step, ref):
    side = np.sign(ref[0]) if abs(ref[0]) > 3 else rng.choice([-1.0, 1.0])
    from_yaw = clamp_control("yaw", -ref[0] + side * rng.uniform(18, 28))
    to_yaw, to_pitch = float(-ref[0]), float(-0.7 * ref[1])
    duration = min(rng.uniform(0.8, 1.5) * _SPEED.get(step.modifier, 1.0), max(end - start, 0.5))
    progress = ease(t, start, start + duration)
    curves = {"yaw": from_yaw + (to_yaw - from_yaw) * progress, "pitch": to_pitch * progress}
    return curves, {"from_yaw": from_yaw, "to_yaw": to_yaw, "to_pitch": to_pitch, "ease_in": duration}


def _oscillate(rng, t, start, end, step, axis, amplitude, period, min_period):
    """2-3 cycles of ``amplitude`` on ``axis``, each at least ``min_period`` s (the window may overrun)."""
    period *= 1.3 if step.modifier == "slow" else 1.0
    cycles = int(np.clip(np.floor((end - start) / period), 2, 3))
    period = min(period, max(min_period, (end - start) / cycles))
    return {axis: amplitude * _oscillation(t, start, period, cycles)}, {
        "amplitude": amplitude, "period": period, "cycles": cycles}


def _nod(rng, t, start, end, step, ref):
    # -sin: the first move is down (chin down, then up), as the evaluation expects of a nod.
    return _oscillate(rng, t, start, end, step, "pitch", -rng.uniform(8, 12), rng.uniform(1.2, 1.7), 1.2)


def _shake(rng, t, start, end, step, ref):
    # Mostly to the head's own left first: a consistent phase is far easier to learn than a random one.
    amplitude = (1 if rng.random() < 0.8 else -1) * rng.uniform(12, 18)
    return _oscillate(rng, t, start, end, step, "yaw", amplitude, rng.uniform(1.1, 1.5), 1.1)


def _look_around(rng, t, start, end, step, ref):
    count, side = int(rng.integers(2, 4)), rng.choice([-1.0, 1.0])
    keys = [(side * (-1) ** k * rng.uniform(15, 28), rng.uniform(-6, 6)) for k in range(count)] + [(0.0, 0.0)]
    moves = rng.uniform(0.6, 1.0, len(keys))
    dwells = rng.uniform(0.3, 0.8, len(keys))
    fit = min(1.0, (end - start) / (moves.sum() + dwells[:-1].sum()))
    yaw, pitch, now, last = np.zeros_like(t), np.zeros_like(t), start, (0.0, 0.0)
    for (y, p), move, dwell in zip(keys, moves * fit, dwells * fit):
        step_curve = ease(t, now, now + move)
        yaw, pitch = yaw + (y - last[0]) * step_curve, pitch + (p - last[1]) * step_curve
        now, last = now + move + dwell, (y, p)
    return {"yaw": yaw, "pitch": pitch}, {"waypoints": [list(k) for k in keys]}


def _level(t, rng, start, level, ease_range, hold_then_release: float | None = None):
    """Ease to ``level``; with ``hold_then_release`` (seconds) ease back to 0 after holding."""
    rise = rng.uniform(*ease_range)
    curve = level * ease(t, start, start + rise)
    if hold_then_release is not None:
        back = start + rise + hold_then_release
        curve = curve - level * ease(t, back, back + rise)
    return curve


def _smile(rng, t, start, end, step, ref):
    low, high = {"big": (0.85, 1.0), "small": (0.3, 0.5)}.get(step.modifier, (0.55, 0.95))
    level = rng.uniform(low, high)
    return {"smile": _level(t, rng, start, level, (0.4, 0.9))}, {"level": level}


def _pulses(t, rng, start, duration, rate, low, high):
    """Smooth mouth pulses at ``rate`` Hz with random heights in [low, high], inside [start, start + duration]."""
    phase = (t - start) * rate
    heights = rng.uniform(low, high, int(duration * rate) + 2)
    height = np.interp(phase, np.arange(len(heights)), heights)
    window = ease(t, start, start + 0.2) * (1 - ease(t, start + duration - 0.2, start + duration))
    return height * (0.5 - 0.5 * np.cos(2 * np.pi * phase)) * window, window


def _laugh(rng, t, start, end, step, ref):
    duration = min(end - start, rng.uniform(1.5, 3.0))
    rate = rng.uniform(2.0, 3.0)
    mouth, window = _pulses(t, rng, start, duration, rate, 0.3, 0.7)
    peak, after = rng.uniform(0.85, 1.0), rng.uniform(0.45, 0.8)
    smile = peak * ease(t, start, start + 0.3) - (peak - after) * ease(t, start + duration, start + duration + 0.5)
    curves = {"smile": smile, "mouth_open": mouth + 0.1 * window, "brow_raise": 0.2 * window,
              "pitch": 2.0 * window}
    return curves, {"duration": duration, "rate": rate, "smile": peak}


def _talk(rng, t, start, end, step, ref):
    gaps = rng.uniform(0.15, 0.32, 40)
    times = start + np.concatenate([[0.0], np.cumsum(gaps)])
    heights = np.where(rng.random(len(times)) < 0.15, 0.0, rng.uniform(0.1, 0.5, len(times)))
    window = ease(t, start, start + 0.15) * (1 - ease(t, end - 0.15, end))
    mouth = np.interp(t, times, heights) * window
    brow = 0.15 * np.sin(2 * np.pi * rng.uniform(0.5, 1.2) * t + rng.uniform(0, 2 * np.pi)) * window
    pitch = 1.5 * np.sin(2 * np.pi * rng.uniform(0.5, 0.9) * t + rng.uniform(0, 2 * np.pi)) * window
    return {"mouth_open": mouth, "brow_raise": brow, "pitch": pitch}, {"duration": end - start}


def _open_mouth(rng, t, start, end, step, ref):
    level = rng.uniform(0.5, 0.9)
    release = rng.uniform(1.0, 2.0) if rng.random() < 0.5 else None
    return {"mouth_open": _level(t, rng, start, level, (0.3, 0.6), release)}, {"level": level, "release": release}


def _surprise(rng, t, start, end, step, ref):
    mouth, brow = rng.uniform(0.35, 0.7), rng.uniform(0.7, 1.0)
    rise = rng.uniform(0.15, 0.35)
    relax = 0.7 * ease(t, start + rise + 1.5, start + rise + 2.2) if rng.random() < 0.5 else 0.0
    shape = ease(t, start, start + rise) * (1 - relax)
    return {"mouth_open": mouth * shape, "brow_raise": brow * shape, "pitch": 2.0 * shape}, {
        "mouth": mouth, "brow": brow}


def _frown(rng, t, start, end, step, ref):
    level = rng.uniform(0.5, 0.9)
    shape = ease(t, start, start + rng.uniform(0.4, 0.8))
    return {"brow_raise": -level * shape, "smile": -0.2 * shape}, {"level": -level}


def _raise_brows(rng, t, start, end, step, ref):
    level = rng.uniform(0.6, 1.0)
    release = rng.uniform(0.8, 2.0) if rng.random() < 0.5 else None
    return {"brow_raise": _level(t, rng, start, level, (0.3, 0.6), release)}, {"level": level, "release": release}


def _blink(rng, t, start, end, step, ref):
    count = int(rng.integers(2, 4))
    centres = _snap(start + (np.arange(count) + rng.uniform(0.3, 0.7, count)) * (end - start) / count, t)
    return {"blink": blink_curve(t, centres, rng.uniform(0.2, 0.3, count))}, {"blinks": centres.tolist()}


def _lean(rng, t, start, end, step, ref):
    amount = rng.uniform(0.12, 0.25) if step.action == "lean_in" else -rng.uniform(0.1, 0.18)
    curve, params = _reach(t, rng, start, end, 1.0, step.returns, 1.3 * _SPEED.get(step.modifier, 1.0))
    return {"scale": amount * curve, "ty": 0.1 * amount * curve}, {"amount": amount, **params}


def _sway(rng, t, start, end, step, ref):
    shift, period, roll = rng.uniform(0.04, 0.08), rng.uniform(2.0, 3.5), rng.uniform(2.0, 4.0)
    window = ease(t, start, start + 0.5) * (1 - ease(t, end - 0.5, end))
    wave = np.sin(2 * np.pi * (t - start) / period) * window
    return {"tx": shift * wave, "roll": roll * wave}, {"shift": shift, "period": period, "roll": roll}


def _camera_or_light(control: str, low: float, high: float, sign: float):
    def realise(rng, t, start, end, step, ref):
        amount = sign * rng.uniform(low, high)
        duration = min(rng.uniform(1.5, 3.5), CLIP_SECONDS - start)
        return {control: amount * ease(t, start, start + duration)}, {"amount": amount, "duration": duration}

    return realise


def _light_shift(rng, t, start, end, step, ref):
    side = rng.choice([-1.0, 1.0]) * rng.uniform(0.4, 0.8)
    duration = min(rng.uniform(1.5, 3.5), CLIP_SECONDS - start)
    return {"light_dir": side - 2 * side * ease(t, start, start + duration)}, {"from": side, "to": -side}


REALISERS: dict[str, Realiser] = {
    **dict.fromkeys(_HOLDS, _hold), "face_camera": _face_camera,
    "nod": _nod, "shake": _shake, "look_around": _look_around,
    "smile": _smile, "laugh": _laugh, "talk": _talk, "open_mouth": _open_mouth, "surprise": _surprise,
    "frown": _frown, "raise_brows": _raise_brows, "blink": _blink, "lean_in": _lean, "lean_out": _lean,
    "sway": _sway,
    "zoom_in": _camera_or_light("zoom", 0.2, 0.5, 1.0), "zoom_out": _camera_or_light("zoom", 0.15, 0.28, -1.0),
    "pan_left": _camera_or_light("pan_x", 0.06, 0.15, -1.0), "pan_right": _camera_or_light("pan_x", 0.06, 0.15, 1.0),
    "dim": _camera_or_light("light_gain", 0.25, 0.5, -1.0), "brighten": _camera_or_light("light_gain", 0.25, 0.5, 1.0),
    "warm": _camera_or_light("light_warmth", 0.5, 0.9, 1.0), "cool": _camera_or_light("light_warmth", 0.5, 0.9, -1.0),
    "light_shift": _light_shift,
}

# ---- background -----------------------------------------------------------------------------------


def _drift(rng, t, amplitude: float, low_hz: float = 0.08, high_hz: float = 0.35) -> np.ndarray:
    """Two slow random sinusoids with total amplitude ``amplitude``."""
    weights = rng.dirichlet([2.0, 2.0]) * amplitude
    freqs, phases = rng.uniform(low_hz, high_hz, 2), rng.uniform(0, 2 * np.pi, 2)
    return sum(w * np.sin(2 * np.pi * f * t + p) for w, f, p in zip(weights, freqs, phases))


def head_sway(rng: np.random.Generator, t: np.ndarray, amplitudes=(1.5, 1.0, 0.8)) -> np.ndarray:
    """(T,) times -> (T, 3) slow yaw / pitch / roll drift in degrees, like every clip's background."""
    return np.stack([_drift(rng, t, a) for a in amplitudes], axis=1)


def blink_curve(t: np.ndarray, centres: Sequence[float], half_widths: Sequence[float]) -> np.ndarray:
    """Raised-cosine eyelid closures (1 = closed) at ``centres`` (s), each ``half_width`` (s) each side."""
    curve = np.zeros_like(t)
    for centre, half in zip(centres, half_widths):
        x = np.clip(np.abs(t - centre) / half, 0.0, 1.0)
        curve = np.maximum(curve, 0.5 + 0.5 * np.cos(np.pi * x))
    return curve


def _snap(times: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Move times onto the nearest frame, so every blink closes the eyes fully on one frame."""
    return t[np.abs(times[:, None] - t[None]).argmin(axis=1)] if len(times) else times


def background(rng: np.random.Generator, t: np.ndarray) -> tuple[dict[str, np.ndarray], dict]:
    """Behaviour of every clip, also idle ones: (T,) times -> ({control: delta (T,)}, {"blinks": centres}).

    Head sway of 1-2 degrees, a little body drift, breathing, a faint smile and brow drift, and
    blinks every 2-5 s that close the eyes fully on one frame (about 150 ms).
    """
    curves = {
        "yaw": _drift(rng, t, rng.uniform(0.6, 2.0)),
        "pitch": _drift(rng, t, rng.uniform(0.5, 1.5)),
        "roll": _drift(rng, t, rng.uniform(0.4, 1.2)),
        "tx": _drift(rng, t, rng.uniform(0.003, 0.012)),
        "ty": _drift(rng, t, rng.uniform(0.002, 0.008)),
        "scale": 0.004 * np.sin(2 * np.pi * rng.uniform(0.2, 0.3) * t + rng.uniform(0, 2 * np.pi)),
        "smile": rng.uniform(0.0, 0.12) + _drift(rng, t, 0.04),
        "brow_raise": rng.uniform(-0.05, 0.1) + _drift(rng, t, 0.04),
    }
    centres = [rng.uniform(0.3, 2.5)]
    while centres[-1] < CLIP_SECONDS:
        centres.append(centres[-1] + rng.uniform(2.0, 5.0))
    centres = _snap(np.array([c for c in centres if c <= CLIP_SECONDS]), t)
    widths = rng.uniform(0.1, 0.16, len(centres))
    curves["blink"] = blink_curve(t, centres, widths)
    return curves, {"blinks": [round(float(c), 3) for c in centres]}
