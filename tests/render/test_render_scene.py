"""Procedural scenes: colours, kinds, determinism, light presets."""

import colorsys

import numpy as np
import pytest

from idvid.render import NAMED_COLOURS, SCENE_KINDS, SceneSpec, render_scene
from idvid.render.lighting import Light

# Expected HSV hue ranges in degrees (chromatic colours).
HUES = {
    "red": (345, 10),
    "orange": (20, 40),
    "yellow": (45, 60),
    "gold": (40, 52),
    "green": (100, 150),
    "teal": (170, 190),
    "cyan": (180, 195),
    "blue": (210, 235),
    "navy": (220, 245),
    "purple": (270, 295),
    "violet": (255, 275),
    "magenta": (295, 325),
    "pink": (320, 350),
    "brown": (20, 35),
    "beige": (30, 50),
}


def _hsv(rgb):
    h, s, v = colorsys.rgb_to_hsv(*(c / 255 for c in rgb))
    return 360 * h, s, v


@pytest.mark.parametrize("name", sorted(HUES))
def test_named_colour_hues(name):
    hue, saturation, _ = _hsv(NAMED_COLOURS[name])
    low, high = HUES[name]
    inside = low <= hue <= high if low < high else (hue >= low or hue <= high)
    assert inside, f"{name} hue {hue:.0f} not in {HUES[name]}"
    assert saturation > 0.2


def test_named_neutrals():
    for name in ("black", "white", "grey", "gray", "silver"):
        _, saturation, _ = _hsv(NAMED_COLOURS[name])
        assert saturation < 0.05, name
    assert _hsv(NAMED_COLOURS["black"])[2] < 0.1 < _hsv(NAMED_COLOURS["grey"])[2] < _hsv(NAMED_COLOURS["silver"])[2]
    assert _hsv(NAMED_COLOURS["white"])[2] > 0.9
    assert NAMED_COLOURS["grey"] == NAMED_COLOURS["gray"]


def test_solid_blue_by_name():
    image = render_scene(SceneSpec("solid", primary="blue"), (40, 60))
    assert image.shape == (40, 60, 3) and image.dtype == np.uint8
    assert np.all(image == NAMED_COLOURS["blue"])


@pytest.mark.parametrize("kind", [k for k in SCENE_KINDS if k != "photo"])
def test_every_kind_renders_deterministically(kind):
    spec = SceneSpec(kind)
    a = render_scene(spec, (96, 128), t=0.7, seed=3)
    b = render_scene(spec, (96, 128), t=0.7, seed=3)
    assert a.shape == (96, 128, 3) and a.dtype == np.uint8
    np.testing.assert_array_equal(a, b)
    assert a.std() > 3 or kind == "solid"  # something is drawn


@pytest.mark.parametrize("kind", ["forest", "snow", "city", "night", "mountains", "desert"])
def test_seed_changes_the_layout(kind):
    a = render_scene(SceneSpec(kind), (96, 128), seed=0)
    b = render_scene(SceneSpec(kind), (96, 128), seed=1)
    assert np.abs(a.astype(int) - b).mean() > 1.0


def test_animation_moves_only_animated_kinds():
    for kind in ("beach", "snow", "sunset"):
        a, b = (render_scene(SceneSpec(kind), (96, 128), t=t) for t in (0.0, 1.3))
        assert np.abs(a.astype(int) - b).mean() > 0.05, kind
    a, b = (render_scene(SceneSpec("office"), (96, 128), t=t) for t in (0.0, 1.3))
    np.testing.assert_array_equal(a, b)


def test_places_look_like_themselves():
    h, w = 200, 200
    beach = render_scene(SceneSpec("beach"), (h, w)).astype(float)
    assert beach[5, :, 2].mean() > beach[5, :, 0].mean() + 60  # blue sky on top
    assert beach[-5, :, 0].mean() > beach[-5, :, 2].mean() + 40  # sand at the bottom
    snow = render_scene(SceneSpec("snow"), (h, w)).astype(float)
    assert snow[-10:].mean() > 225  # white ground
    trees = snow[int(0.45 * h) : int(0.7 * h)]
    assert ((trees[..., 1] > trees[..., 0] + 15) & (trees.mean(-1) < 110)).mean() > 0.1  # dark green trees
    night = render_scene(SceneSpec("night"), (h, w)).astype(float)
    assert night.mean() < 50
    sunset = render_scene(SceneSpec("sunset"), (h, w)).astype(float)
    band = sunset[int(0.5 * h) : int(0.58 * h)]
    assert band[..., 0].mean() > band[..., 2].mean() + 60  # orange glow at the horizon


def test_new_places_look_like_themselves():
    h, w = 200, 200
    mountains = render_scene(SceneSpec("mountains"), (h, w)).astype(float)
    assert mountains[5, :, 2].mean() > mountains[5, :, 0].mean() + 30  # sky above
    assert (mountains[: h // 2].min(axis=2) > 225).mean() > 0.01  # snow on the tall peaks
    assert mountains[-5, :, 1].mean() > mountains[-5, :, 0].mean() + 20  # green hills below
    desert = render_scene(SceneSpec("desert"), (h, w)).astype(float)
    sand = desert[int(0.75 * h):]
    assert sand[..., 0].mean() > sand[..., 2].mean() + 60 and desert[5, :, 2].mean() > desert[5, :, 0].mean()
    home = render_scene(SceneSpec("home"), (h, w)).astype(float)
    wall, window = home[int(0.6 * h), int(0.5 * w)], home[int(0.3 * h), int(0.2 * w)]
    assert wall[0] > wall[2] + 25 and window[2] > window[0] + 25  # a warm wall, a window on the sky


def test_rooms_show_weather_in_their_light_not_falling_inside():
    rainy_room = SceneSpec("home", weather="rain")
    assert not rainy_room.moves and rainy_room.falling is None
    clear = render_scene(SceneSpec("home"), (120, 120)).astype(float)
    assert render_scene(rainy_room, (120, 120)).astype(float).mean() < clear.mean() - 10
    assert SceneSpec("beach", weather="rain").falling == "rain" and SceneSpec("snow", weather="snow").falling is None


def test_light_presets_match_the_place():
    assert SceneSpec("sunset").lighting.warmth > 0.4
    night = SceneSpec("night").lighting
    assert night.gain < 0.8 and night.warmth < 0
    snow = SceneSpec("snow").lighting
    assert snow.gain > 1 and snow.warmth < 0
    assert abs(SceneSpec("office").lighting.warmth) < 0.1
    assert SceneSpec("photo").lighting == Light()
    custom = Light(0.5, 0.1, -1.0)
    assert SceneSpec("beach", light=custom).lighting == custom


def test_spec_validation():
    with pytest.raises(ValueError, match="unknown scene kind"):
        SceneSpec("moon")
    with pytest.raises(ValueError, match="unknown colour"):
        SceneSpec("solid", primary="blurple")
    with pytest.raises(ValueError, match="three 0..255"):
        SceneSpec("solid", primary=(0, 300, 0))
    assert SceneSpec("solid", primary=(1.2, 2, 3)).primary == (1, 2, 3)
    with pytest.raises(ValueError, match="plate"):
        render_scene(SceneSpec("photo"), (10, 10))


@pytest.mark.parametrize("kind", ["beach", "city", "forest", "snow"])
def test_a_time_of_day_repaints_the_sky_and_grades_the_place(kind):
    h, w = 200, 200
    day, sunset, night = (render_scene(SceneSpec(kind, time=time), (h, w)).astype(float) for time in (None, "sunset",
                                                                                                     "night"))
    sky = day[:20]
    assert sky[..., 2].mean() > sky[..., 0].mean()  # the daylight sky is blue-leaning
    horizon = sunset[int(0.45 * h): int(0.6 * h)]
    assert horizon[..., 0].mean() > horizon[..., 2].mean() + 20  # a warm sky over the same place
    assert night.mean() < 0.45 * day.mean() and night[:20, :, 2].mean() > night[:20, :, 0].mean()  # dark, blue


def test_weather_falls_over_any_outdoor_scene():
    h, w = 160, 160
    for kind in ("city", "beach"):
        clear = render_scene(SceneSpec(kind), (h, w), t=0.0).astype(float)
        rain = [render_scene(SceneSpec(kind, weather="rain"), (h, w), t=t).astype(float) for t in (0.0, 0.4)]
        assert np.abs(rain[0] - rain[1]).mean() > 0.5  # it falls
        assert rain[0].mean() < clear.mean() - 10  # and darkens the day
        fog = render_scene(SceneSpec(kind, weather="fog"), (h, w)).astype(float)
        assert fog.std() < 0.7 * clear.std()  # fog washes contrast out
        snowing = [render_scene(SceneSpec(kind, weather="snow"), (h, w), t=t) for t in (0.0, 0.4)]
        assert not np.array_equal(*snowing)
    plate = np.full((40, 40, 3), 90, np.uint8)
    photo = render_scene(SceneSpec("photo", weather="rain"), (h, w), t=0.2, plate=plate)
    assert photo.shape == (h, w, 3) and photo.std() > 0  # the photo's own background gets rain too
    with pytest.raises(ValueError, match="unknown weather 'hail'"):
        SceneSpec("beach", weather="hail")
    with pytest.raises(ValueError, match="unknown time of day 'noon'"):
        SceneSpec("beach", time="noon")
