"""Scenes: what stands behind the person, described by a small spec and drawn procedurally.

A :class:`SceneSpec` is what text picks: a kind, optional colours and a light preset that
matches the scene (a sunset lights the person warm from the side, a night scene dark and
cool). :func:`render_scene` draws it, deterministic per seed and cached per size.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from idvid.render.lighting import Light

RGB = tuple[int, int, int]

# RGB values chosen so that each colour's HSV hue (and, for neutrals, its value and
# saturation) is unmistakably that colour.
NAMED_COLOURS: dict[str, RGB] = {
    "red": (215, 30, 35),
    "orange": (245, 135, 20),
    "yellow": (245, 215, 35),
    "gold": (212, 172, 50),
    "green": (45, 160, 65),
    "teal": (0, 128, 128),
    "cyan": (20, 205, 225),
    "blue": (35, 85, 215),
    "navy": (20, 30, 100),
    "purple": (125, 40, 160),
    "violet": (140, 85, 220),
    "magenta": (220, 30, 185),
    "pink": (245, 145, 185),
    "brown": (125, 75, 35),
    "beige": (225, 205, 165),
    "black": (15, 15, 15),
    "white": (245, 245, 245),
    "grey": (128, 128, 128),
    "gray": (128, 128, 128),
    "silver": (192, 192, 195),
}

# kind -> (primary, secondary, light). Colours are the kind's own palette; the light is how
# that place lights a person standing in it.
SCENE_DEFAULTS: dict[str, tuple[RGB, RGB, Light]] = {
    "photo": ((128, 128, 128), (128, 128, 128), Light()),
    "solid": ((70, 110, 170), (70, 110, 170), Light()),
    "gradient": ((60, 90, 160), (200, 215, 235), Light()),
    "stripes": ((35, 85, 215), (245, 245, 245), Light()),
    "checker": ((40, 40, 40), (230, 230, 230), Light()),
    "dots": ((245, 215, 35), (35, 85, 215), Light()),
    "beach": ((95, 165, 230), (232, 208, 160), Light(1.08, 0.25, 0.3)),
    "forest": ((40, 95, 45), (205, 225, 230), Light(0.9, -0.05, -0.2)),
    "snow": ((245, 248, 252), (25, 70, 45), Light(1.1, -0.35, 0.0)),
    "office": ((222, 218, 208), (120, 85, 55), Light(1.0, 0.0, -0.35)),
    "city": ((150, 190, 230), (95, 100, 115), Light(1.0, -0.05, 0.2)),
    "studio": ((95, 105, 120), (30, 32, 38), Light(1.05, 0.05, -0.35)),
    "sunset": ((250, 150, 60), (70, 40, 100), Light(0.95, 0.75, 0.55)),
    "night": ((15, 22, 60), (5, 8, 20), Light(0.6, -0.55, 0.0)),
    "mountains": ((120, 170, 225), (70, 115, 60), Light(1.05, -0.1, 0.25)),
    "desert": ((222, 170, 105), (150, 190, 230), Light(1.15, 0.35, -0.3)),
    "home": ((226, 206, 178), (125, 70, 60), Light(0.95, 0.3, 0.35)),
}
SCENE_KINDS: tuple[str, ...] = tuple(SCENE_DEFAULTS)
ANIMATED_KINDS = frozenset({"beach", "snow", "sunset"})


@dataclass(frozen=True)
class SceneSpec:
    """What stands behind the person.

    kind: one of SCENE_KINDS ("photo" keeps the photo's own background, filled where the
        person moves away).
    primary, secondary: RGB 0..255 triples or NAMED_COLOURS names; None = the kind's palette
        (solid uses primary; gradient goes primary (top) to secondary (bottom); stripes,
        checker and dots alternate the two; named places tint their main surface).
    light: how the scene lights the person; None = the kind's preset.
    time: "sunset" or "night" over a place (its sky and grade); None: the place's own daylight.
    weather: "rain", "snow" (falling) or "fog", over any kind; None: clear.
    """

    kind: str = "photo"
    primary: RGB | str | None = None
    secondary: RGB | str | None = None
    light: Light | None = None
    time: str | None = None
    weather: str | None = None

    def __post_init__(self):
        from idvid.render.scene_weather import TIMES, WEATHERS

        if self.kind not in SCENE_DEFAULTS:
            raise ValueError(f"unknown scene kind {self.kind!r}; choose one of {', '.join(SCENE_KINDS)}")
        if self.time not in (None, *TIMES):
            raise ValueError(f"unknown time of day {self.time!r}; choose one of {', '.join(TIMES)}")
        if self.weather not in (None, *WEATHERS):
            raise ValueError(f"unknown weather {self.weather!r}; choose one of {', '.join(WEATHERS)}")
        for name in ("primary", "secondary"):
            object.__setattr__(self, name, _colour(getattr(self, name), name))

    @property
    def colours(self) -> tuple[RGB, RGB]:
        """(primary, secondary) with the kind's defaults filled in."""
        default_primary, default_secondary, _ = SCENE_DEFAULTS[self.kind]
        return (self.primary or default_primary, self.secondary or default_secondary)

    @property
    def lighting(self) -> Light:
        """The light preset in effect (the explicit one, or the kind's)."""
        return self.light if self.light is not None else SCENE_DEFAULTS[self.kind][2]

    @property
    def falling(self) -> str | None:
        """The rain or snow drawn falling over this scene: none in rooms, and a snowy place
        already snows."""
        from idvid.render.scene_weather import INDOOR_KINDS, MOVING_WEATHER

        falls = self.weather in MOVING_WEATHER and self.kind not in INDOOR_KINDS
        return self.weather if falls and (self.kind, self.weather) != ("snow", "snow") else None

    @property
    def moves(self) -> bool:
        """Whether the place itself moves (waves, a shimmering sun), rain and snow aside."""
        return self.kind in ANIMATED_KINDS


def render_scene(
    spec: SceneSpec, size: tuple[int, int], t: float = 0.0, seed: int = 0, plate: np.ndarray | None = None,
    falling: bool = True,
) -> np.ndarray:
    """spec: the scene; size: (H, W); t: seconds (waves, falling snow and a shimmering sun
    move gently); seed: layout randomness (trees, stars, buildings); plate: (h, w, 3) uint8
    background for kind "photo" (resized to fill the frame); falling: draw the spec's rain or
    snow (False: the caller draws it over the person too, with :func:`scene_weather.overlay`).
    -> (H, W, 3) uint8 RGB, identical for identical arguments."""
    from idvid.render import scene_kinds, scene_weather

    height, width = int(size[0]), int(size[1])
    if height < 1 or width < 1:
        raise ValueError(f"scene size must be positive, got {size}")
    if spec.kind == "photo":
        if plate is None:
            raise ValueError('scene kind "photo" is the portrait\'s own background; pass plate=')
        import cv2

        base = cv2.resize(np.asarray(plate, dtype=np.uint8), (width, height), interpolation=cv2.INTER_AREA)
        base = _graded(base, spec, int(seed)) if spec.time or spec.weather else base
    else:
        base = _static_scene(spec, height, width, int(seed))
    frame = scene_kinds.animate(spec.kind, base, float(t), int(seed), spec.colours) if spec.moves else base
    if falling and spec.falling is not None:
        frame = scene_weather.overlay(frame, spec.falling, float(t), int(seed))
    return frame


@lru_cache(maxsize=16)
def _static_scene(spec: SceneSpec, height: int, width: int, seed: int) -> np.ndarray:
    """Cached still part of a scene, (H, W, 3) uint8, read-only (shared between callers)."""
    from idvid.render import scene_kinds, scene_places

    primary, secondary = spec.colours
    painter = getattr(scene_kinds, f"paint_{spec.kind}", None) or getattr(scene_places, f"paint_{spec.kind}")
    image = painter(height, width, np.random.default_rng(seed), np.float32(primary), np.float32(secondary))
    return _graded(image, spec, seed)


def _graded(image: np.ndarray, spec: SceneSpec, seed: int) -> np.ndarray:
    """``image`` at the spec's time of day and in its weather's air, as read-only uint8."""
    from idvid.render.scene_weather import INDOOR_KINDS, grade

    out = np.clip(grade(image, spec.time, spec.weather, seed, spec.kind in INDOOR_KINDS) + 0.5, 0, 255).astype(np.uint8)
    out.setflags(write=False)
    return out


def _colour(value, name: str) -> RGB | None:
    """A colour given as a name or an RGB triple -> an (r, g, b) int tuple, or None."""
    if value is None:
        return None
    if isinstance(value, str):
        key = value.strip().lower()
        if key not in NAMED_COLOURS:
            raise ValueError(f"unknown colour {value!r} for {name}; known: {', '.join(sorted(NAMED_COLOURS))}")
        return NAMED_COLOURS[key]
    rgb = tuple(round(float(c)) for c in value)
    if len(rgb) != 3 or not all(0 <= c <= 255 for c in rgb):
        raise ValueError(f"{name} must be a colour name or three 0..255 values, got {value!r}")
    return rgb
