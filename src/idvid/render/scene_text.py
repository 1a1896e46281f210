"""Prompt -> SceneSpec: which place, which colours, which light.

Words decide, in this order of strength:
1. a place ("on a beach", "in a snowy forest", "at the office") picks a procedural scene;
2. a colour attached to a background noun ("a red wall", "blue background") or a pattern
   ("striped", "checkered", "polka dots", "gradient") picks a flat or patterned backdrop;
3. a time of day or light word ("at sunset", "at night", "warm light") sets the light; over a place,
   a time of day also paints its sky and grades it;
4. weather ("in the rain", "snowing", "in the fog") falls over any scene and dims its light.
Colours attached to clothing ("a red shirt") never colour the scene. A prompt that names no
place and no backdrop keeps the photo's own background.
"""

from __future__ import annotations

import re

from idvid.render.lighting import Light
from idvid.render.scene import NAMED_COLOURS, SCENE_DEFAULTS, SceneSpec

# Place words -> scene kind. Multi-word phrases are matched before single words.
PLACES: dict[str, tuple[str, ...]] = {
    "snow": ("snowy", "snow", "winter", "blizzard", "ski slope", "glacier", "arctic"),
    "beach": ("beach", "seaside", "sea", "ocean", "shore", "coast", "seashore", "surf", "sand"),
    "forest": ("forest", "woods", "woodland", "jungle", "trees", "park", "meadow", "garden"),
    "office": ("office", "desk", "workplace", "meeting room", "conference room", "classroom", "library"),
    "city": ("city", "street", "downtown", "skyline", "urban", "buildings", "sidewalk", "town"),
    "studio": ("studio", "stage", "photo shoot", "spotlight"),
    "mountains": ("mountain", "mountains", "hills", "hill", "alps", "peak", "peaks", "summit", "valley", "cliff",
                  "hiking"),
    "desert": ("desert", "dunes", "dune", "sahara", "canyon"),
    "home": ("home", "house", "living room", "kitchen", "bedroom", "apartment", "flat", "cafe", "coffee shop",
             "restaurant", "bar", "pub", "lounge", "indoors", "sofa", "couch", "hotel room"),
    "sunset": ("sunset", "dusk", "golden hour", "sundown", "sunrise", "dawn", "evening"),
    "night": ("night", "nighttime", "midnight", "moonlight", "moonlit", "starry", "stars", "after dark"),
}
WEATHER: dict[str, tuple[str, ...]] = {
    "rain": ("rain", "raining", "rainy", "rainstorm", "storm", "stormy", "drizzle", "downpour", "thunderstorm"),
    "snow": ("snowing", "snowfall", "snowflakes"),  # "snow" itself names the snowy place
    "fog": ("fog", "foggy", "mist", "misty", "haze", "hazy"),
}
WEATHER_LIGHT: dict[str, Light] = {"rain": Light(0.8, -0.3, 0.0), "snow": Light(1.0, -0.2, 0.0),
                                   "fog": Light(0.9, -0.1, 0.0)}
# When two places are named ("a snowy forest", "a beach at sunset") the earlier entry wins the
# scene and a time of day still sets the light.
TIME_OF_DAY_LIGHT: dict[str, Light] = {
    "sunset": SCENE_DEFAULTS["sunset"][2],
    "night": SCENE_DEFAULTS["night"][2],
}
LIGHT_WORDS: dict[str, Light] = {
    "warm light": Light(1.0, 0.6, 0.0),
    "candlelight": Light(0.8, 0.8, 0.0),
    "cool light": Light(1.0, -0.6, 0.0),
    "dim light": Light(0.7, 0.0, 0.0),
    "dimly lit": Light(0.7, 0.0, 0.0),
    "brightly lit": Light(1.15, 0.0, 0.0),
    "sunny": Light(1.12, 0.25, 0.2),
}
PATTERNS: dict[str, tuple[str, ...]] = {
    "stripes": ("striped", "stripes", "stripy", "pinstriped"),
    "checker": ("checkered", "checkerboard", "chequered", "checked", "plaid", "tiled"),
    "dots": ("polka dot", "polka dots", "polka-dot", "dotted", "spotted"),
    "gradient": ("gradient", "fading", "ombre"),
}
BACKDROP_NOUNS = ("wall", "background", "backdrop", "room", "curtain", "screen", "sky", "paper", "scene")
CLOTHING_NOUNS = ("shirt", "t-shirt", "dress", "jacket", "hat", "sweater", "coat", "tie", "scarf", "hoodie",
                  "suit", "blouse", "top", "cap", "uniform", "jumper", "glasses", "lipstick", "hair", "eyes")
# Colour words a prompt may use for the named colours' hues.
COLOUR_SYNONYMS = {"crimson": "red", "scarlet": "red", "azure": "blue", "sky blue": "blue", "turquoise": "cyan",
                   "lime": "green", "emerald": "green", "olive": "green", "lavender": "violet", "rose": "pink",
                   "maroon": "red", "golden": "gold", "tan": "beige", "cream": "beige", "charcoal": "grey"}


def scene_from_text(prompt: str) -> SceneSpec:
    """The scene a prompt describes (kind "photo" when it describes none)."""
    text = _normalise(prompt)
    place = _first_place(text)
    weather = _weather(text)
    light = _light(text, place, weather)
    if place is not None and place not in TIME_OF_DAY_LIGHT:
        return SceneSpec(kind=place, light=light, time=(_times(text) or [None])[0], weather=weather)
    colours, pattern = backdrop_colours(prompt), _find(text, PATTERNS)
    if pattern or colours:
        kind = pattern or ("solid" if len(colours) < 2 else "gradient")
        primary, secondary = (colours + [None, None])[:2]
        return SceneSpec(kind=kind, primary=primary, secondary=secondary, light=light, weather=weather)
    return SceneSpec(kind=place or "photo", light=light, weather=weather)


def _normalise(prompt: str) -> str:
    """Lower case, letters and hyphens only, padded with spaces for whole-word matching."""
    return " " + re.sub(r"[^a-z\- ]+", " ", prompt.lower()) + " "


def _phrase(text: str, phrase: str) -> int:
    """Position of a whole-word phrase in the padded text, or -1."""
    match = re.search(rf"(?<![a-z]){re.escape(phrase)}(?![a-z])", text)
    return match.start() if match else -1


def _find(text: str, table: dict[str, tuple[str, ...]]) -> str | None:
    """The key whose phrases occur earliest in the text."""
    hits = [(pos, key) for key, phrases in table.items() for p in phrases if (pos := _phrase(text, p)) >= 0]
    return min(hits)[1] if hits else None


_NEGATION = re.compile(r"(?<![a-z])(?:not|no|without|never|isn't|isnt|aren't|arent)(?:\s+[a-z\-]+){0,2}\s+$")


def _negated(text: str, position: int) -> bool:
    """Whether the phrase at ``position`` follows a negation within two words ("no rain", "it is
    not raining", "without fog")."""
    return _NEGATION.search(text[:position]) is not None


def _weather(text: str) -> str | None:
    """The weather the prompt asks for: its first weather phrase that is not negated."""
    hits = [(pos, key) for key, phrases in WEATHER.items() for p in phrases
            if (pos := _phrase(text, p)) >= 0 and not _negated(text, pos)]
    return min(hits)[1] if hits else None


def _times(text: str) -> list[str]:
    """The times of day the prompt names, the one that acts first."""
    return [k for k in TIME_OF_DAY_LIGHT if any(_phrase(text, p) >= 0 for p in PLACES[k])]


def _acting(text: str) -> set[str]:
    """The place that is the scene, and the one time of day that lights it (other places and
    times set nothing)."""
    place, times = _first_place(text), _times(text)
    return {place} | ({times[0]} if times and place not in TIME_OF_DAY_LIGHT else set())


def _first_place(text: str) -> str | None:
    """The strongest place: a real place beats a time of day ("a beach at sunset" is a beach)."""
    found = [key for key, phrases in PLACES.items() if any(_phrase(text, p) >= 0 for p in phrases)]
    real = [k for k in found if k not in TIME_OF_DAY_LIGHT]
    return (real or found or [None])[0]


def _colour_mentions(text: str) -> list[tuple[int, str, str]]:
    """(position, colour name, the word after it) for every colour word, in order."""
    names = {**{c: c for c in NAMED_COLOURS}, **COLOUR_SYNONYMS}
    mentions = []
    for word, colour in names.items():
        for match in re.finditer(rf"(?<![a-z]){re.escape(word)}(?![a-z])((?:\s+(?:and|[a-z\-]+))*)", text):
            following = match.group(1).split()
            mentions.append((match.start(), colour, following))
    return sorted((pos, colour, _noun_after(following)) for pos, colour, following in mentions)


def _noun_after(words: list[str]) -> str:
    """The first backdrop or clothing noun among the next few words, else ''."""
    for word in words[:4]:
        if word in BACKDROP_NOUNS or word in CLOTHING_NOUNS:
            return word
    return ""


def backdrop_colours(prompt: str) -> list[str]:
    """Names of the colours that describe the backdrop, in order (at most two); colours of
    clothing are dropped. A bare colour word ("in blue") counts as a backdrop colour."""
    mentions = [(c, noun) for _, c, noun in _colour_mentions(_normalise(prompt)) if noun not in CLOTHING_NOUNS]
    backdrop = [colour for colour, noun in mentions if noun in BACKDROP_NOUNS]
    chosen = backdrop or [colour for colour, _ in mentions]
    return list(dict.fromkeys(chosen))[:2]


def _light(text: str, place: str | None, weather: str | None = None) -> Light | None:
    """The light a time of day, light word or weather asks for; None keeps the scene's own preset."""
    light = None
    times = _times(text)
    if times and place not in TIME_OF_DAY_LIGHT:
        light = TIME_OF_DAY_LIGHT[times[0]]
    extras = [extra for phrase, extra in LIGHT_WORDS.items() if _phrase(text, phrase) >= 0]
    for extra in extras + ([WEATHER_LIGHT[weather]] if weather else []):
        light = (light or (SCENE_DEFAULTS[place][2] if place else Light())).then(extra)
    return light


def light_phrases(prompt: str) -> list[str]:
    """The time-of-day, light and weather phrases of the prompt, in order."""
    text = _normalise(prompt)
    acting = _acting(text)
    phrases = [p for key in TIME_OF_DAY_LIGHT if key in acting for p in PLACES[key]] + list(LIGHT_WORDS)
    weather = _weather(text)
    phrases += list(WEATHER[weather]) if weather else []
    found = [(pos, p) for p in phrases if (pos := _phrase(text, p)) >= 0 and not _negated(text, pos)]
    return [p for _, p in sorted(found)]


def scene_words(prompt: str) -> set[str]:
    """The words of the prompt that set its scene: the place that wins, its time of day, light,
    patterns, backdrop colours and the backdrop nouns they colour (a colour of clothing and a
    second place set nothing: "a snowy forest" is snow, and "forest" is not used)."""
    text = _normalise(prompt)
    acting = _acting(text)
    places = [p for key, ps in PLACES.items() if key in acting for p in ps]
    phrases = places + [p for ps in (*PATTERNS.values(), *WEATHER.values()) for p in ps] + list(LIGHT_WORDS)
    # weather a prompt rules out ("no rain") is understood, and so is the word that rules it out
    phrases += [m.group().strip() for ps in WEATHER.values() for p in ps if (pos := _phrase(text, p)) >= 0
                for m in [_NEGATION.search(text[:pos])] if m]
    colours = set(backdrop_colours(prompt))
    phrases += [w for w, c in {**{c: c for c in NAMED_COLOURS}, **COLOUR_SYNONYMS}.items() if c in colours]
    phrases += list(BACKDROP_NOUNS) if colours else []
    return {word for p in phrases if _phrase(text, p) >= 0 for word in p.split()}
