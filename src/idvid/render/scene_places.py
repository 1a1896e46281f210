"""More places for the procedural scenes: mountains, desert, a home interior. Same contract as
:mod:`.scene_kinds`: ``paint_<kind>(H, W, rng, primary, secondary)`` -> (H, W, 3) float32 RGB."""

from __future__ import annotations

import numpy as np

from idvid.render.scene_kinds import WHITE, _blend, _coords, _disc, _glow, _noise, _polygons, _vertical


def _ridge(h: int, w: int, rng: np.random.Generator, base: float, height: float, bumps: int) -> np.ndarray:
    """(H, W) coverage below a jagged ridge line around ``base`` (fractions of the height)."""
    xs = np.linspace(0, 1, bumps + 1)
    peaks = base - height * np.abs(rng.normal(0.6, 0.35, bumps + 1))
    line = np.interp((np.arange(w) + 0.5) / w, xs, peaks) * h
    line += 0.012 * h * _noise(1, w, rng, 3 * bumps)[0]  # rough edges on the straight segments
    _, y = _coords(h, w)
    return np.clip(y - line[None, :] + 0.5, 0, 1), line


def paint_mountains(h, w, rng, primary, secondary):
    """Sky, far snow-capped peaks, nearer blue-grey ridges, green hills at the bottom."""
    image = _vertical(h, w, [(0.0, primary * 0.8), (0.55, primary + 0.5 * (WHITE - primary)), (1.0, WHITE * 0.9)])
    far, _ = _ridge(h, w, rng, 0.45, 0.25, 7)
    _blend(image, far, np.float32([120, 135, 160]))
    _, y = _coords(h, w)
    snow_line = (0.33 + 0.025 * _noise(1, w, rng, 20)[0])[None, :] * h  # ragged, above a height: tall peaks only
    caps = far * np.clip((snow_line - y) / (0.01 * h), 0, 1)
    _blend(image, 0.92 * caps, np.float32([240, 244, 250]))
    middle, _ = _ridge(h, w, rng, 0.6, 0.14, 5)
    _blend(image, middle, np.float32([80, 100, 125]))
    near, _ = _ridge(h, w, rng, 0.8, 0.1, 4)
    grass = secondary * (1.0 + 0.08 * _noise(h, w, rng, 16)[..., None])
    image += near[..., None] * (grass - image)
    return image


def paint_desert(h, w, rng, primary, secondary):
    """Hot pale sky with the sun, rolling dunes in sand colours, lit on one side."""
    image = _vertical(h, w, [(0.0, secondary * 0.85), (0.5, secondary + 0.55 * (WHITE - secondary)),
                             (1.0, WHITE * 0.95)])
    _blend(image, 0.45 * _glow(h, w, 0.2 * w, 0.14 * h, 0.1 * h), [255, 245, 215])
    _blend(image, _disc(h, w, 0.2 * w, 0.14 * h, 0.04 * h), [255, 250, 235])
    x, y = _coords(h, w)
    for base, height, shade in ((0.5, 0.08, 0.9), (0.64, 0.1, 1.0), (0.8, 0.12, 1.08)):
        dune, line = _ridge(h, w, rng, base, height, 3)
        slope = np.gradient(line)[None, :]  # faces that rise to the right catch the light
        lit = shade * (1.0 + 0.12 * np.tanh(-slope / max(1e-3, 0.004 * h)))
        sand = primary * lit[..., None] * (1.0 + 0.03 * _noise(h, w, rng, 30)[..., None])
        image += dune[..., None] * (sand - image)
    return image


def paint_home(h, w, rng, primary, secondary):
    """A warm room: painted wall, a curtained window, a framed picture, a lamp's glow, a sofa."""
    image = _vertical(h, w, [(0.0, primary * 0.9), (0.6, primary), (1.0, primary * 0.85)])
    x, y = _coords(h, w)
    glass = _vertical(h, w, [(0.0, np.float32([170, 205, 235])), (1.0, np.float32([220, 232, 242]))])
    x0, x1, y0, y1 = 0.06 * w, 0.34 * w, 0.12 * h, 0.55 * h
    window = np.clip(x - x0 + 0.5, 0, 1) * np.clip(x1 - x + 0.5, 0, 1) * np.clip(y - y0 + 0.5, 0, 1) \
        * np.clip(y1 - y + 0.5, 0, 1)
    image += window[..., None] * (glass - image)
    curtain = secondary * 0.9 + np.float32([40, 40, 40])
    for left in (x0 - 0.04 * w, x1 - 0.03 * w):
        folds = 0.85 + 0.15 * np.sin((x - left) / (0.012 * w))
        drape = np.clip(x - left + 0.5, 0, 1) * np.clip(left + 0.07 * w - x, 0, 1) * np.clip(y - 0.08 * h, 0, 1) \
            * np.clip(0.62 * h - y, 0, 1)
        image += drape[..., None] * (curtain * folds[..., None] - image)
    frame = _polygons(h, w, [np.float32([[0.7 * w, 0.14 * h], [0.92 * w, 0.14 * h], [0.92 * w, 0.36 * h],
                                         [0.7 * w, 0.36 * h]])])
    _blend(image, frame, np.float32([95, 70, 45]))
    art = _polygons(h, w, [np.float32([[0.72 * w, 0.16 * h], [0.9 * w, 0.16 * h], [0.9 * w, 0.34 * h],
                                       [0.72 * w, 0.34 * h]])])
    _blend(image, art, _vertical(h, w, [(0.0, np.float32([90, 140, 180])), (0.3, np.float32([200, 150, 90])),
                                       (1.0, np.float32([200, 150, 90]))]))
    _blend(image, 0.35 * _glow(h, w, 0.95 * w, 0.45 * h, 0.12 * h), [255, 225, 170])  # a lamp off to the side
    sofa = np.clip(y - 0.74 * h + 0.5, 0, 1) * np.ones_like(x)
    _blend(image, sofa, secondary)
    _blend(image, np.exp(-(((y - 0.745 * h) / (0.006 * h + 0.5)) ** 2)) * np.ones_like(x), secondary * 1.3)
    _blend(image, np.clip(y - 0.9 * h + 0.5, 0, 1) * np.ones_like(x), np.float32([120, 85, 55]))  # floor
    return image
