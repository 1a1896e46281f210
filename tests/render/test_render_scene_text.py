import pytest

from idvid.render.scene import NAMED_COLOURS, SCENE_DEFAULTS
from idvid.render.scene_text import scene_from_text


@pytest.mark.parametrize(
    "prompt, kind",
    [("a woman walks along a beach at sunset and smiles", "beach"),
     ("he stands in a snowy forest and looks up", "snow"),
     ("a man at his office desk nods", "office"),
     ("she turns her head on a busy city street", "city"),
     ("a person in a photo studio smiles", "studio"),
     ("a person under the stars at night", "night"),
     ("the astronaut waves at sunset", "sunset"),
     ("in the woods, he shakes his head", "forest"),
     ("she hikes in the mountains and looks up", "mountains"),
     ("a man crosses the desert dunes", "desert"),
     ("he smiles in his kitchen", "home"),
     ("she laughs with a friend in a cafe", "home"),
     ("a person turns to the left and smiles", "photo")],
)
def test_places(prompt, kind):
    assert scene_from_text(prompt).kind == kind


def test_time_of_day_lights_a_place():
    beach = scene_from_text("a woman on a beach at sunset")
    assert beach.kind == "beach" and beach.lighting == SCENE_DEFAULTS["sunset"][2]
    assert scene_from_text("on a beach").lighting == SCENE_DEFAULTS["beach"][2]


@pytest.mark.parametrize(
    "prompt, kind, primary, secondary",
    [("a person in front of a red wall", "solid", "red", None),
     ("she nods against a blue background", "solid", "blue", None),
     ("a man in a red shirt in front of a green wall turns left", "solid", "green", None),
     ("a striped blue and white wall behind him", "stripes", "blue", "white"),
     ("a checkered black and yellow backdrop", "checker", "black", "yellow"),
     ("a purple to orange gradient background", "gradient", "purple", "orange"),
     ("polka dots, pink and navy", "dots", "pink", "navy"),
     ("a crimson backdrop", "solid", "red", None)],
)
def test_backdrop_colours_and_patterns(prompt, kind, primary, secondary):
    scene = scene_from_text(prompt)
    assert scene.kind == kind
    assert scene.primary == NAMED_COLOURS[primary]
    assert scene.secondary == (NAMED_COLOURS[secondary] if secondary else None)


def test_clothing_colour_alone_keeps_the_photo_background():
    assert scene_from_text("a woman in a yellow dress smiles").kind == "photo"


def test_light_words_modify_the_light():
    warm = scene_from_text("a person in an office, warm light").lighting
    assert warm.warmth > SCENE_DEFAULTS["office"][2].warmth
    assert scene_from_text("a dimly lit room, a man nods").lighting.gain < 1


@pytest.mark.parametrize("prompt, kind, time, weather", [
    ("a woman on a beach at sunset", "beach", "sunset", None),
    ("he walks down a city street at night in the rain", "city", "night", "rain"),
    ("a foggy forest", "forest", None, "fog"),
    ("she smiles, snowing, at the office at dawn", "office", "sunset", "snow"),
    ("he nods in the rain", "photo", None, "rain"),
    ("at night", "night", None, None),
])
def test_time_of_day_and_weather_reach_the_scene(prompt, kind, time, weather):
    spec = scene_from_text(prompt)
    assert (spec.kind, spec.time, spec.weather) == (kind, time, weather)


def test_weather_dims_and_cools_the_light():
    clear, rainy = scene_from_text("on a beach").lighting, scene_from_text("on a beach in the rain").lighting
    assert rainy.gain < clear.gain and rainy.warmth < clear.warmth


@pytest.mark.parametrize("prompt", ["it is not raining on the beach", "she smiles, no rain, on the beach",
                                    "without fog on the beach"])
def test_weather_the_prompt_rules_out_stays_out(prompt):
    assert scene_from_text(prompt).weather is None
