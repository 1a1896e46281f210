"""Per-clip randomness of ``idvid synth`` that is not motion: the scene, its light, the clothing
colour, and the words for them in the caption (scene and action only, never identity).

The scene phrases are written so that :func:`idvid.render.scene_text.scene_from_text` reads
them back to the same scene kind (and colours for backdrops).
"""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np

from idvid.engines.nano.captions import SCENES
from idvid.face import landmarks as lm
from idvid.render.lighting import Light
from idvid.render.scene import SceneSpec

# Clean, unambiguous colour names for captions (no grey/gray duplicates, no near-synonyms).
CAPTION_COLOURS = ("red", "orange", "yellow", "green", "teal", "blue", "navy", "purple", "pink", "brown",
                   "beige", "black", "white", "grey")
PATTERN_KINDS = ("solid", "gradient", "stripes", "checker", "dots")
PLACE_PHRASES = {
    "beach": "on a beach", "forest": "in a forest", "snow": "in a snowy landscape", "office": "in an office",
    "city": "on a city street", "studio": "in a studio", "sunset": "outdoors at sunset", "night": "outdoors at night",
}
# The kinds synthetic clips are drawn on, in a fixed order: the stores (and the models and tests
# calibrated on them) stay the same when the renderer learns new places.
SYNTH_KINDS = PATTERN_KINDS + tuple(PLACE_PHRASES)
CLOTHING_PROBABILITY = 0.7


def sample_scene(rng: np.random.Generator) -> tuple[SceneSpec, str]:
    """-> (scene, phrase): a random scene kind (the photo's own background 10% of the time),
    colours for backdrops, a jittered light; the phrase is "" for the photo background."""
    if rng.random() < 0.1:
        return SceneSpec("photo", light=_jitter(Light(), rng)), ""
    kind = SYNTH_KINDS[int(rng.integers(len(SYNTH_KINDS)))]
    if kind in PATTERN_KINDS:
        a, b = rng.choice(len(CAPTION_COLOURS), size=2, replace=False)
        c1, c2 = CAPTION_COLOURS[a], CAPTION_COLOURS[b]
        phrase = {
            "solid": f"in front of a plain {c1} wall",
            "gradient": f"in front of a {c1} and {c2} gradient background",
            "stripes": f"in front of a {c1} and {c2} striped wall",
            "checker": f"in front of a {c1} and {c2} checkered wall",
            "dots": f"in front of a {c1} wall with {c2} polka dots",
        }[kind]
        scene = SceneSpec(kind, c1, c2 if kind != "solid" else c1)
    else:
        scene, phrase = SceneSpec(kind), PLACE_PHRASES[kind]
    return replace(scene, light=_jitter(scene.lighting, rng)), phrase


def _jitter(light: Light, rng: np.random.Generator) -> Light:
    """The scene's light preset, a little brighter/darker, warmer/cooler, from one side or the other."""
    return Light(
        float(np.clip(light.gain * rng.uniform(0.85, 1.15), 0.4, 1.6)),
        float(np.clip(light.warmth + rng.uniform(-0.25, 0.25), -1, 1)),
        float(np.clip(light.direction + rng.uniform(-0.3, 0.3), -1, 1)),
    )


def sample_clothing(rng: np.random.Generator) -> str | None:
    """A clothing colour name, or None (keep the photo's clothes)."""
    if rng.random() >= CLOTHING_PROBABILITY:
        return None
    return CAPTION_COLOURS[int(rng.integers(len(CAPTION_COLOURS)))]


def recolour_clothing(portrait, colour: str):
    """A copy of ``portrait`` whose torso (person mask below the chin and neck) is ``colour``,
    keeping the clothes' own light/dark texture. Cheap: one LAB conversion of the foreground."""
    import cv2

    from idvid.render.scene import NAMED_COLOURS

    fg = portrait.foreground
    v = np.asarray(portrait.vertices, np.float32)
    chin = float(v[lm.CHIN_BOTTOM, 1])
    start = chin + 0.2 * float(portrait.face_height)
    rows = np.clip((np.arange(fg.shape[0], dtype=np.float32) - start) / (0.1 * portrait.face_height), 0, 1)
    weight = np.clip(portrait.mask, 0, 1) * rows[:, None]
    region = weight > 0.5
    if region.sum() < 16:
        return portrait
    lab = cv2.cvtColor(fg, cv2.COLOR_RGB2LAB).astype(np.float32)
    target = cv2.cvtColor(np.uint8([[NAMED_COLOURS[colour]]]), cv2.COLOR_RGB2LAB)[0, 0].astype(np.float32)
    new = lab.copy()
    new[..., 0] = np.clip(target[0] + 0.6 * (lab[..., 0] - float(lab[..., 0][region].mean())), 0, 255)
    new[..., 1:] = target[1:]
    rgb = cv2.cvtColor(np.clip(new + 0.5, 0, 255).astype(np.uint8), cv2.COLOR_LAB2RGB).astype(np.float32)
    out = fg.astype(np.float32) + weight[..., None] * (rgb - fg.astype(np.float32))
    return replace(portrait, foreground=np.clip(out + 0.5, 0, 255).astype(np.uint8))


_SCENE_PATTERN = re.compile("|".join(re.escape(s) for s in sorted(SCENES, key=len, reverse=True)), re.IGNORECASE)


def strip_scene_words(caption: str) -> str:
    """Remove the motion captioner's random scene clause (the clip's real scene replaces it)."""
    text = _SCENE_PATTERN.sub("", caption)
    text = re.sub(r"\s*,\s*,", ",", text)
    text = re.sub(r"\s+", " ", text).strip(" ,")
    text = re.sub(r"\s+([,.])", r"\1", text)
    return text.lstrip(", ")


def compose_caption(motion: str, scene_phrase: str, clothing: str | None) -> str:
    """Motion sentence + clothing + scene: "a person nods, wearing a red top, in front of a ..."."""
    motion = strip_scene_words(motion).rstrip(".")
    parts = [motion] if motion else ["a person"]
    if clothing:
        article = "an" if clothing[0] in "aeiou" else "a"
        parts.append(f"wearing {article} {clothing} top")
    if scene_phrase:
        parts.append(scene_phrase)
    return ", ".join(parts)
