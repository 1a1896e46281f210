"""Painters for the procedural scenes (see scene.py). Each ``paint_<kind>(H, W, rng, primary,
secondary)`` returns (H, W, 3) float32 RGB in 0..255; :func:`animate` adds the moving part.

Layouts are fractions of the frame so they read the same at any size; the person covers the
middle, so each scene puts its tell-tale features (sea and sand, trees, windows, skyline)
where they show: the top, the sides and the bottom corners.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

BEACH_HORIZON, BEACH_SHORE = 0.5, 0.67
SUNSET_HORIZON = 0.6
WHITE = np.float32([255, 255, 255])


# ---- helpers -----------------------------------------------------------------------------


def _coords(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) pixel-centre coordinates, (1, W) and (H, 1) float32."""
    return np.arange(w, dtype=np.float32)[None, :] + 0.5, np.arange(h, dtype=np.float32)[:, None] + 0.5


def _vertical(h: int, w: int, stops: list[tuple[float, np.ndarray]]) -> np.ndarray:
    """(H, W, 3) vertical gradient through (fraction of height, RGB) stops."""
    v = (np.arange(h, dtype=np.float32) + 0.5) / h
    pos = [s for s, _ in stops]
    column = np.stack([np.interp(v, pos, [float(c[k]) for _, c in stops]) for k in range(3)], axis=1)
    return np.ascontiguousarray(np.broadcast_to(column[:, None, :], (h, w, 3)), dtype=np.float32)


def _noise(h: int, w: int, rng: np.random.Generator, cells: int) -> np.ndarray:
    """(H, W) float32 smooth value noise in about [-1, 1] with `cells` blobs across."""
    import cv2

    small = rng.uniform(-1, 1, (max(2, cells * h // max(w, 1) + 2), cells + 2)).astype(np.float32)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


def _blend(image: np.ndarray, alpha: np.ndarray, colour) -> None:
    """image (H, W, 3) += alpha (H, W) * (colour - image), in place."""
    image += alpha[..., None] * (np.asarray(colour, dtype=np.float32) - image)


def _disc(h: int, w: int, cx: float, cy: float, r: float, soft: float = 1.0) -> np.ndarray:
    """(H, W) anti-aliased disc alpha."""
    x, y = _coords(h, w)
    return np.clip((r - np.hypot(x - cx, y - cy)) / max(soft, 1e-3) + 0.5, 0, 1)


def _glow(h: int, w: int, cx: float, cy: float, r: float) -> np.ndarray:
    x, y = _coords(h, w)
    return np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * r * r))


def _polygons(h: int, w: int, polys: list[np.ndarray]) -> np.ndarray:
    """(H, W) float32 anti-aliased coverage of polygons given in pixels (one fillPoly call)."""
    import cv2

    layer = np.zeros((h, w), dtype=np.float32)
    if polys:
        cv2.fillPoly(layer, [np.round(p * 16).astype(np.int32) for p in polys], 1.0, lineType=cv2.LINE_AA, shift=4)
    return layer


def _dots_layer(h: int, w: int, rng: np.random.Generator, count: int, radius: tuple[float, float]) -> np.ndarray:
    """(H, W) float32 alpha of `count` soft dots at random places (drawn once, then cached)."""
    import cv2

    layer = np.zeros((h, w), dtype=np.float32)
    xs, ys = rng.uniform(0, w, count), rng.uniform(0, h, count)
    rs = rng.uniform(*radius, count)
    for x, y, r in zip(xs, ys, rs):  # scene set-up only, cached: not in the per-frame path
        cv2.circle(layer, (int(x * 16), int(y * 16)), max(1, int(r * 16)), 1.0, -1, cv2.LINE_AA, 4)
    return layer


# ---- patterns ----------------------------------------------------------------------------


def paint_solid(h, w, rng, primary, secondary):
    return np.ascontiguousarray(np.broadcast_to(primary, (h, w, 3)), dtype=np.float32)


def paint_gradient(h, w, rng, primary, secondary):
    return _vertical(h, w, [(0.0, primary), (1.0, secondary)])


def paint_stripes(h, w, rng, primary, secondary):
    x, y = _coords(h, w)
    period = max(8.0, w / 7.0)
    phase = ((x + 0.5 * y) / period) % 1.0  # gently slanted
    band = np.clip((np.abs(phase - 0.5) - 0.25) * period + 0.5, 0, 1)  # 1-px anti-aliased edges
    return secondary + np.broadcast_to(band, (h, w))[..., None] * (primary - secondary)


def paint_checker(h, w, rng, primary, secondary):
    x, y = _coords(h, w)
    cell = max(4.0, h / 8.0)
    square = ((np.floor(x / cell) + np.floor(y / cell)) % 2).astype(np.float32)
    return secondary + square[..., None] * (primary - secondary)


def paint_dots(h, w, rng, primary, secondary):
    x, y = _coords(h, w)
    spacing = max(8.0, h / 7.0)
    row = np.floor(y / spacing)
    fx = (x / spacing + 0.5 * (row % 2)) % 1.0 - 0.5  # staggered rows
    fy = (y / spacing) % 1.0 - 0.5
    dot = np.clip((0.3 - np.hypot(fx, fy)) * spacing + 0.5, 0, 1)
    return secondary + dot[..., None] * (primary - secondary)


# ---- places ------------------------------------------------------------------------------


def paint_beach(h, w, rng, primary, secondary):
    """Blue sky with clouds and sun, sea band with a foam line, sand."""
    sky_top = primary * 0.8
    sky_low = primary + 0.6 * (WHITE - primary)
    image = _vertical(h, w, [(0.0, sky_top), (BEACH_HORIZON, sky_low), (1.0, sky_low)])
    x, y = _coords(h, w)
    # clouds: soft white blobs in the upper sky
    clouds = np.clip(_noise(h, w, rng, 5) * 1.6 - 0.35, 0, 1) * np.clip((BEACH_HORIZON * h - y) / (0.3 * h), 0, 1)
    _blend(image, 0.75 * clouds, WHITE)
    _blend(image, 0.35 * _glow(h, w, 0.85 * w, 0.12 * h, 0.08 * h), [255, 250, 220])
    _blend(image, _disc(h, w, 0.85 * w, 0.12 * h, 0.035 * h), [255, 250, 230])
    # sea: darker at the horizon, turquoise towards the shore
    horizon, shore = BEACH_HORIZON * h, BEACH_SHORE * h
    depth = np.clip((y - horizon) / (shore - horizon), 0, 1)
    sea = np.float32([25, 85, 150]) + depth[..., None] * np.float32([35, 85, 35])
    shoreline = shore + 0.012 * h * np.sin(x / w * 9.0 + rng.uniform(0, 6))
    in_sea = np.clip(y - horizon + 0.5, 0, 1) * np.clip(shoreline - y + 0.5, 0, 1)
    _blend(image, in_sea, np.broadcast_to(sea, (h, w, 3)))
    # sand, with wet sand and foam at the water line
    sand = secondary * (1.0 + 0.05 * _noise(h, w, rng, 40)[..., None])
    below = np.clip(y - shoreline + 0.5, 0, 1)
    image += below[..., None] * (sand - image)
    wet = np.exp(-(((y - shoreline - 0.02 * h) / (0.015 * h)) ** 2))
    _blend(image, 0.3 * wet * below, secondary * 0.75)
    foam = np.exp(-(((y - shoreline) / (0.007 * h + 0.5)) ** 2))
    _blend(image, 0.9 * foam, [250, 252, 255])
    return image


def paint_forest(h, w, rng, primary, secondary):
    """Pale sky, a far row of blue-green conifers, a near row of dark green ones with trunks, grass."""
    image = _vertical(h, w, [(0.0, secondary * 0.9), (0.6, secondary), (1.0, secondary)])
    far_colour = 0.55 * primary + 0.45 * np.float32([120, 150, 160])
    _, y = _coords(h, w)
    for base, count, size, colour in ((0.6, 22, (0.16, 0.28), far_colour), (0.76, 9, (0.36, 0.6), primary * 0.8)):
        trees = _tree_shapes(h, w, rng, base, count, size, spread=0.3)
        trunks = [
            np.float32(
                [
                    [t[0, 0] - 0.012 * w, t[1, 1] - 2],
                    [t[0, 0] + 0.012 * w, t[1, 1] - 2],
                    [t[0, 0] + 0.012 * w, t[1, 1] + 0.05 * h],
                    [t[0, 0] - 0.012 * w, t[1, 1] + 0.05 * h],
                ]
            )
            for t in trees
        ]
        _blend(image, _polygons(h, w, trunks), np.float32([85, 60, 40]))
        _blend(image, _polygons(h, w, trees), colour)
    ground = np.clip(y - 0.74 * h, 0, 1)
    grass = primary * 0.9 + np.float32([20, 10, -5]) + 5 * _noise(h, w, rng, 12)[..., None]
    image += ground[..., None] * (grass - image)
    return image


def paint_snow(h, w, rng, primary, secondary):
    """Pale cool sky, white ground, dark green conifers with snow on their tiers, snowflakes."""
    import cv2

    sky = np.float32([214, 224, 236])
    image = _vertical(h, w, [(0.0, sky), (0.6, np.float32([236, 240, 246])), (1.0, np.float32([236, 240, 246]))])
    x, y = _coords(h, w)
    hills = 0.6 * h + 0.03 * h * np.sin(x / w * 5.0 + rng.uniform(0, 6))
    _blend(image, np.clip(y - hills + 0.5, 0, 1), primary * 0.97)
    # Trees drawn back to front, tier by tier: each tier is snow, then green shifted down,
    # which leaves a white band along its upper edges (snow lying on the branches).
    canvas = np.ascontiguousarray(np.clip(image + 0.5, 0, 255).astype(np.uint8))
    far_green = tuple(int(c) for c in 0.6 * secondary + 0.4 * np.float32([150, 170, 180]))
    for base, count, size, green in (
        (0.63, 11, (0.18, 0.28), far_green),
        (0.75, 7, (0.32, 0.46), tuple(int(c) for c in secondary)),
    ):
        for tree in _tree_shapes(h, w, rng, base, count, size, spread=0.3):
            top, right = tree[0], tree[1]
            height, half = right[1] - top[1], right[0] - top[0]
            snow_depth = max(1.0, 0.035 * height)
            for k in range(3):
                t_top = top[1] + k * 0.27 * height
                t_bot = top[1] + (0.46 + k * 0.27) * height
                t_half = half * (0.5 + 0.25 * k)
                tier = np.float32([[top[0], t_top], [top[0] + t_half, t_bot], [top[0] - t_half, t_bot]])
                cv2.fillPoly(canvas, [np.round(tier * 16).astype(np.int32)], (250, 252, 255), cv2.LINE_AA, 4)
                cv2.fillPoly(canvas, [np.round((tier + [0, snow_depth]) * 16).astype(np.int32)], green, cv2.LINE_AA, 4)
    image = canvas.astype(np.float32)
    ground = np.clip(y - 0.73 * h, 0, 1)
    shade = 1.0 - 0.05 * np.clip(_noise(h, w, rng, 12), 0, 1)[..., None] * np.float32([1.0, 0.6, 0.0])
    image += ground[..., None] * (primary * shade - image)
    _blend(
        image, 0.9 * _dots_layer(h, w, rng, int(0.004 * h * w / 16) + 40, (0.6, 1.6) if h < 400 else (1.0, 2.5)), WHITE
    )
    return image


def paint_office(h, w, rng, primary, secondary):
    """Wall, two windows with mullions showing sky, a desk along the bottom."""
    image = _vertical(h, w, [(0.0, primary * 0.92), (0.5, primary), (1.0, primary * 0.96)])
    x, y = _coords(h, w)
    glass = _vertical(
        h,
        w,
        [(0.0, np.float32([165, 200, 235])), (0.6, np.float32([215, 230, 245])), (1.0, np.float32([215, 230, 245]))],
    )
    frame_colour = np.float32([245, 245, 242])
    bar = max(1.5, 0.012 * w)
    for left, right in ((0.04, 0.38), (0.62, 0.96)):
        x0, x1, y0, y1 = left * w, right * w, 0.1 * h, 0.62 * h
        inside = (
            np.clip(x - x0 + 0.5, 0, 1)
            * np.clip(x1 - x + 0.5, 0, 1)
            * np.clip(y - y0 + 0.5, 0, 1)
            * np.clip(y1 - y + 0.5, 0, 1)
        )
        image += inside[..., None] * (frame_colour - image)
        fx = (x - x0) / (x1 - x0) * 2.0  # 2 columns, 3 rows of panes
        fy = (y - y0) / (y1 - y0) * 3.0
        pane = np.clip(np.abs(fx - np.round(fx)) * (x1 - x0) / 2.0 - bar + 0.5, 0, 1) * np.clip(
            np.abs(fy - np.round(fy)) * (y1 - y0) / 3.0 - bar + 0.5, 0, 1
        )
        image += (inside * pane)[..., None] * (glass - image)
    desk_top = 0.8 * h
    _blend(image, np.clip(y - desk_top + 0.5, 0, 1) * np.ones_like(x), secondary)
    _blend(image, np.exp(-(((y - desk_top - 0.006 * h) / (0.004 * h + 0.5)) ** 2)) * np.ones_like(x), secondary * 1.35)
    _blend(image, np.clip(y - 0.86 * h + 0.5, 0, 1) * np.ones_like(x), secondary * 0.7)
    return image


def paint_city(h, w, rng, primary, secondary):
    """Sky over a three-layer skyline of buildings with window grids."""
    image = _vertical(
        h,
        w,
        [(0.0, primary * 0.85), (0.7, primary + 0.5 * (WHITE - primary)), (1.0, primary + 0.5 * (WHITE - primary))],
    )
    x, y = _coords(h, w)
    window = ((x % max(4.0, w / 60)) < max(2.0, w / 120)) & ((y % max(5.0, h / 45)) < max(2.5, h / 90))
    for layer, (tone, heights) in enumerate(((1.35, (0.35, 0.6)), (1.1, (0.45, 0.75)), (0.8, (0.6, 0.95)))):
        colour = secondary * tone
        polys, left = [], -rng.uniform(0, 0.05) * w
        while left < w:
            width = rng.uniform(0.07, 0.16) * w
            top = h * (1.0 - rng.uniform(*heights) * (0.75 if layer < 2 else 0.6))
            polys.append(np.float32([[left, top], [left + width, top], [left + width, h], [left, h]]))
            left += width + rng.uniform(0.0, 0.02) * w
        cover = _polygons(h, w, polys)
        _blend(image, cover, colour)
        lit = window * (_noise(h, w, rng, 25) > -0.2)
        _blend(image, cover * lit * 0.55, colour * 1.5 + 30)
    return image


def paint_studio(h, w, rng, primary, secondary):
    """A seamless backdrop: bright behind the subject, falling off to the corners."""
    x, y = _coords(h, w)
    r = np.hypot((x - 0.5 * w) / w, (y - 0.4 * h) / h) / 0.75
    t = np.clip(r, 0, 1) ** 1.5
    bright = np.minimum(primary * 1.35, 255)
    return bright + t[..., None] * (secondary - bright)


def paint_sunset(h, w, rng, primary, secondary):
    """Purple-to-orange sky, a low sun on the right, dark sea with the sun's reflection."""
    horizon = SUNSET_HORIZON
    pink = np.float32([205, 85, 95])
    image = _vertical(
        h,
        w,
        [
            (0.0, secondary),
            (0.32, pink),
            (horizon - 0.02, primary),
            (horizon, np.minimum(primary * 1.15 + 20, 255)),
            (1.0, primary),
        ],
    )
    sun_x, sun_y = 0.72 * w, (horizon - 0.035) * h
    _blend(image, 0.6 * _glow(h, w, sun_x, sun_y, 0.12 * h), [255, 200, 120])
    _blend(image, _disc(h, w, sun_x, sun_y, 0.06 * h), [255, 232, 160])
    x, y = _coords(h, w)
    sea = _vertical(h, w, [(horizon, secondary * 0.9 + 10), (1.0, secondary * 0.45)])
    image += np.clip(y - horizon * h + 0.5, 0, 1)[..., None] * (sea - image)
    # a dark headland sloping into the sea on the left
    land = 0.5 * h + 0.35 * h * (x / w) ** 1.5 + 0.01 * h * np.sin(x / w * 23)
    _blend(image, np.clip(y - land + 0.5, 0, 1) * np.clip(horizon * h - y + 2, 0, 1), secondary * 0.35)
    return image


def paint_night(h, w, rng, primary, secondary):
    """Dark blue sky with stars and a moon, dark hills with a few distant lights."""
    image = _vertical(h, w, [(0.0, secondary), (0.65, primary), (1.0, primary)])
    stars = _dots_layer(h, w, rng, int(0.0025 * h * w) + 30, (0.35, 0.9) if h < 400 else (0.5, 1.3))
    x, y = _coords(h, w)
    _blend(image, stars * rng.uniform(0.5, 1.0) * np.clip((0.7 * h - y) / (0.2 * h), 0, 1), [240, 240, 255])
    _blend(image, 0.25 * _glow(h, w, 0.82 * w, 0.17 * h, 0.09 * h), [200, 210, 255])
    _blend(image, _disc(h, w, 0.82 * w, 0.17 * h, 0.05 * h), [238, 236, 215])
    hills = 0.66 * h + 0.05 * h * np.sin(x / w * 4 + rng.uniform(0, 6)) + 0.02 * h * np.sin(x / w * 13)
    ground = np.clip(y - hills + 0.5, 0, 1)
    _blend(image, ground, [8, 10, 20])
    lights = _dots_layer(h, w, rng, int(0.0008 * h * w) + 10, (0.4, 0.9)) * ground * (y < hills + 0.12 * h)
    _blend(image, lights, [255, 205, 120])
    return image


# ---- shapes ------------------------------------------------------------------------------


def _tree_shapes(
    h, w, rng, base: float, count: int, size: tuple[float, float], spread: float = 0.24
) -> list[np.ndarray]:
    """Triangular conifers standing on the line y = base * h, spread across the width;
    spread: half-width over height."""
    xs = (np.arange(count) + rng.uniform(0.1, 0.9, count)) / count * 1.1 - 0.05
    trees = []
    for x in xs * w:
        height = rng.uniform(*size) * h
        half = spread * height
        foot = base * h + rng.uniform(-0.02, 0.02) * h
        trees.append(np.float32([[x, foot - height], [x + half, foot], [x - half, foot]]))
    return trees


# ---- animation ---------------------------------------------------------------------------


def animate(kind: str, base: np.ndarray, t: float, seed: int, colours) -> np.ndarray:
    """base: (H, W, 3) uint8 still scene -> (H, W, 3) uint8 frame at time t (seconds)."""
    h, w = base.shape[:2]
    if kind == "snow":
        flakes = _flake_layer(h, w, seed)
        fall = round(t * 0.06 * h) % h  # one frame height every ~17 s
        sway = round(0.01 * w * float(np.sin(0.8 * t)))
        alpha = np.roll(flakes, (fall, sway), axis=(0, 1))
        out = base.astype(np.float32)
        _blend(out, alpha, WHITE)
        return np.clip(out + 0.5, 0, 255).astype(np.uint8)
    if kind == "beach":
        y0, y1 = int(BEACH_HORIZON * h), int((BEACH_SHORE - 0.01) * h)
        return _shimmer(base, y0, y1, t, (0, w), strength=35.0, speed=0.3)
    if kind == "sunset":
        y0 = int(SUNSET_HORIZON * h) + 1
        return _shimmer(
            base, y0, h, t, (int(0.62 * w), int(0.82 * w)), strength=70.0, speed=0.5, colour=(255, 190, 110)
        )
    return base


def _shimmer(base, y0, y1, t, columns, strength, speed, colour=(255, 255, 255)) -> np.ndarray:
    """Moving wave highlights on rows y0..y1 and the given column range of a copy of base."""
    out = base.copy()
    if y1 - y0 < 2:
        return out
    w = base.shape[1]
    c0, c1 = columns
    x = np.arange(c0, c1, dtype=np.float32)[None, :]
    y = np.arange(y0, y1, dtype=np.float32)[:, None]
    depth = (y - y0) / (y1 - y0)  # waves grow and slow towards the viewer
    wavelength = (0.03 + 0.12 * depth) * w
    crest = np.sin(2 * np.pi * (x / wavelength + speed * t) + 37.0 * np.sqrt(y)) * np.sin(0.9 * y + 3 * t)
    light = strength * np.clip(crest - 0.55, 0, None) / 0.45
    band = out[y0:y1, c0:c1].astype(np.float32)
    band += light[..., None] * (np.float32(colour) - band) / 255.0
    out[y0:y1, c0:c1] = np.clip(band + 0.5, 0, 255).astype(np.uint8)
    return out


@lru_cache(maxsize=4)
def _flake_layer(h: int, w: int, seed: int) -> np.ndarray:
    """(H, W) alpha of falling snowflakes, tileable by rolling (cached per size and seed)."""
    rng = np.random.default_rng(seed + 7919)
    layer = _dots_layer(h, w, rng, int(0.0012 * h * w) + 20, (0.8, 1.8) if h < 400 else (1.2, 3.0))
    layer.setflags(write=False)
    return layer
