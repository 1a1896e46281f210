"""Scene colour agreement on constructed frames: a centred grey 'person' on a coloured backdrop."""

import numpy as np
import pytest

from idvid.eval.metrics.scene_colour import background_pixels, colour_matches, dominant_hue
from idvid.render.scene import NAMED_COLOURS


def _frames(rgb, size=128):
    frames = np.empty((4, size, size, 3), np.uint8)
    frames[:] = rgb
    frames[:, size // 4:, size // 4: 3 * size // 4] = (128, 110, 100)  # the person, centred
    return frames


@pytest.mark.parametrize("name", ["red", "orange", "yellow", "green", "cyan", "blue", "purple", "pink", "magenta"])
def test_each_chromatic_colour_matches_itself_and_not_the_opposite_hue(name):
    rgb = NAMED_COLOURS[name]
    hsv = background_pixels(_frames(rgb))
    assert colour_matches(name, rgb, hsv)
    opposite = tuple(255 - c for c in rgb)
    assert not colour_matches(name, rgb, background_pixels(_frames(opposite)))


@pytest.mark.parametrize("name", ["black", "white", "grey"])
def test_achromatic_colours_use_brightness(name):
    rgb = NAMED_COLOURS[name]
    assert colour_matches(name, rgb, background_pixels(_frames(rgb)))
    assert not colour_matches(name, rgb, background_pixels(_frames(NAMED_COLOURS["red"])))


def test_the_person_in_the_middle_does_not_count():
    hue, _ = dominant_hue(background_pixels(_frames(NAMED_COLOURS["blue"])))
    assert abs(hue - dominant_hue(background_pixels(_frames(NAMED_COLOURS["blue"], size=256)))[0]) < 1
    assert 200 < hue < 250


def test_metric_through_evaluate_video(eval_models, astronaut_obs):
    from idvid.eval import evaluate_video

    frames = _frames(NAMED_COLOURS["green"])
    result = evaluate_video(frames, [astronaut_obs], "a man in a red shirt in front of a green wall",
                            metrics="scene_colour", models=eval_models)
    assert result.values["scene_colour_match"] == 1.0
    none = evaluate_video(frames, [astronaut_obs], "a man turns left", metrics="scene_colour", models=eval_models)
    assert np.isnan(none.values["scene_colour_match"]) and "names no backdrop colour" in none.notes["scene_colour"]
