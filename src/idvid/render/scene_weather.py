"""Time of day and weather laid over any scene: a sunset or night sky and grade, rain, falling
snow, fog. Still parts (:func:`grade`) are cached with the scene; moving ones (:func:`overlay`)
are drawn per frame.

Sky is found by colour, not by each painter's layout: blue-leaning, bright pixels in the upper
part of the frame, so the same grade works on every place and on the user's photo.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from idvid.render.scene_kinds import _blend, _dots_layer, _flake_layer, _vertical

TIMES = ("sunset", "night")
WEATHERS = ("rain", "snow", "fog")
MOVING_WEATHER = frozenset({"rain", "snow"})
# Rooms: weather shows as the light and in the window's sky, nothing falls and no fog fills them.
INDOOR_KINDS = frozenset({"office", "home", "studio"})
# (top, horizon) sky colours and the tint of everything that is not sky
SUNSET_SKY = (np.float32([80, 55, 130]), np.float32([252, 145, 70]))
SUNSET_TINT = np.float32([0.95, 0.72, 0.55])
NIGHT_SKY = (np.float32([6, 9, 28]), np.float32([28, 38, 80]))
NIGHT_TINT = np.float32([0.22, 0.26, 0.42])
RAIN_GREY, FOG_GREY = np.float32([178, 184, 192]), np.float32([206, 209, 214])


def sky_weight(image: np.ndarray) -> np.ndarray:
    """(H, W) in [0, 1]: how much each pixel looks like open sky (bluish, bright, high up)."""
    h = image.shape[0]
    r, b = image[..., 0], image[..., 2]
    value = image.max(axis=2)
    height = np.clip((0.75 - (np.arange(h, dtype=np.float32)[:, None] + 0.5) / h) / 0.15, 0, 1)
    return np.clip((b - r + 5) / 30, 0, 1) * np.clip((value - 90) / 60, 0, 1) * height


def grade(image: np.ndarray, time: str | None, weather: str | None, seed: int, indoor: bool = False) -> np.ndarray:
    """A still scene (H, W, 3) float32 0..255 at ``time`` and in ``weather``'s light and air
    (``indoor``: a room, which fog does not fill)."""
    h, w = image.shape[:2]
    out = image.astype(np.float32, copy=True)
    if time is not None:
        sky = sky_weight(out)
        top, horizon = SUNSET_SKY if time == "sunset" else NIGHT_SKY
        painted = _vertical(h, w, [(0.0, top), (0.62, horizon), (1.0, horizon)])
        out *= SUNSET_TINT if time == "sunset" else NIGHT_TINT
        out += sky[..., None] * (painted - out)
        if time == "night":
            _blend(out, _dots_layer(h, w, np.random.default_rng(seed + 104729), int(0.0004 * h * w) + 8,
                                    (0.5, 1.2)) * sky, np.float32([235, 235, 255]))
    if weather == "rain":  # overcast: darker, greyer, the sky a flat grey
        grey = out.mean(axis=2, keepdims=True)
        out = 0.75 * (0.55 * out + 0.45 * grey)
        out += sky_weight(image)[..., None] * 0.6 * (RAIN_GREY * (0.45 if time == "night" else 0.8) - out)
    elif weather == "fog" and not indoor:  # thicker with distance: the top of the frame is further away
        depth = _vertical(h, w, [(0.0, np.float32([0.7] * 3)), (1.0, np.float32([0.4] * 3))])[..., 0]
        _blend(out, depth, FOG_GREY * (0.35 if time == "night" else 1.0))
    return out


def overlay(frame: np.ndarray, weather: str, t: float, seed: int) -> np.ndarray:
    """frame (H, W, 3) uint8 with falling rain or snow at time ``t`` (seconds)."""
    h, w = frame.shape[:2]
    out = frame.astype(np.float32)
    if weather == "rain":
        streaks = _streak_layer(h, w, seed)
        alpha = np.roll(streaks, (round(t * 1.6 * h) % h, round(t * 0.25 * w) % w), axis=(0, 1))
        _blend(out, 0.55 * alpha, np.float32([215, 220, 228]))
    else:
        flakes = _flake_layer(h, w, seed)
        alpha = np.roll(flakes, (round(t * 0.06 * h) % h, round(0.01 * w * float(np.sin(0.8 * t)))), axis=(0, 1))
        _blend(out, alpha, np.float32([255, 255, 255]))
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


@lru_cache(maxsize=4)
def _streak_layer(h: int, w: int, seed: int) -> np.ndarray:
    """(H, W) alpha of slanted rain streaks, tileable by rolling (cached per size and seed)."""
    import cv2

    rng = np.random.default_rng(seed + 7927)
    layer = np.zeros((h, w), dtype=np.float32)
    length = max(4.0, 0.05 * h)
    dx, dy = 0.18 * length, length
    for _ in range(int(0.0006 * h * w) + 20):  # set-up only, cached
        x, y, strength = rng.uniform(0, w), rng.uniform(0, h), float(rng.uniform(0.4, 0.9))
        for ox, oy in ((0, 0), (-w, 0), (0, -h), (-w, -h)):  # drawn again across the wrap, so it tiles
            start = (int((x + ox) * 16), int((y + oy) * 16))
            end = (int((x + ox + dx) * 16), int((y + oy + dy) * 16))
            cv2.line(layer, start, end, strength, 1, cv2.LINE_AA, 4)
    layer.setflags(write=False)
    return layer
