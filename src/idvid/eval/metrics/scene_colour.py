"""Scene colour agreement: is the background the colour the prompt names?"""

from __future__ import annotations

import numpy as np

from idvid.eval.registry import Metric, register_metric

NAN = float("nan")
BORDER = 0.14  # fraction of the width (left/right bands) and height (top band) read as background
HUE_TOLERANCE = 25.0  # degrees
ACHROMATIC = {"black": (0.0, 0.25), "grey": (0.3, 0.75), "gray": (0.3, 0.75), "silver": (0.55, 0.9),
              "white": (0.8, 1.01)}  # value (brightness) range of low-saturation colours


def background_pixels(frames: np.ndarray) -> np.ndarray:
    """(N, H, W, 3) uint8 -> (M, 3) float32 HSV in [0, 1]: the left, right and top bands, where a
    centred portrait leaves the scene visible."""
    import cv2

    _, h, w, _ = frames.shape
    bw, bh = max(1, int(w * BORDER)), max(1, int(h * BORDER))
    bands = [frames[:, :, :bw], frames[:, :, w - bw:], frames[:, :bh, bw:w - bw]]
    pixels = np.concatenate([b.reshape(-1, 3) for b in bands])
    hsv = cv2.cvtColor(pixels[None], cv2.COLOR_RGB2HSV_FULL)[0].astype(np.float32) / 255.0
    return hsv


def dominant_hue(hsv: np.ndarray) -> tuple[float, float]:
    """(M, 3) HSV in [0, 1] -> (hue in degrees, mean saturation): the saturation-weighted
    circular mean hue of the coloured pixels."""
    angles = hsv[:, 0] * 2 * np.pi
    weights = hsv[:, 1] * (hsv[:, 2] > 0.15)
    if weights.sum() < 1e-6:
        return NAN, float(hsv[:, 1].mean())
    x, y = (weights * np.cos(angles)).sum(), (weights * np.sin(angles)).sum()
    return float(np.degrees(np.arctan2(y, x)) % 360.0), float(hsv[:, 1].mean())


def colour_matches(colour: str, rgb: tuple[int, int, int], hsv: np.ndarray) -> bool:
    """Whether background pixels read as the named colour."""
    hue, saturation = dominant_hue(hsv)
    if colour in ACHROMATIC:
        low, high = ACHROMATIC[colour]
        return saturation < 0.25 and low <= float(np.median(hsv[:, 2])) < high
    target = dominant_hue(_rgb_hsv(rgb))[0]
    distance = abs((hue - target + 180.0) % 360.0 - 180.0)
    return saturation >= 0.2 and distance <= HUE_TOLERANCE


def _rgb_hsv(rgb) -> np.ndarray:
    import cv2

    return cv2.cvtColor(np.uint8([[rgb]]), cv2.COLOR_RGB2HSV_FULL)[0].astype(np.float32) / 255.0


@register_metric
class SceneColour(Metric):
    """Scene colour agreement, for prompts that name a backdrop colour ("a red wall").

    The named colour is the first backdrop colour the prompt names, read by the same parser
    the nano engine uses (colours of clothing do not count). Background pixels are the left,
    right and top bands of the 16 sampled frames (14% of the width / height), where a centred
    portrait leaves the scene visible. ``background_hue`` = the saturation-weighted circular
    mean hue of those pixels (degrees). ``scene_colour_match`` = 1 when, for a chromatic
    colour, the mean saturation is >= 0.2 and the hue is within 25 degrees of the named
    colour's hue; for black / grey / silver / white, when the mean saturation is < 0.25 and
    the median brightness is in that colour's range. NaN when the prompt names no colour.
    """

    name = "scene_colour"
    higher_is_better = True
    output_directions = {"background_hue": None}
    requires = frozenset({"opencv"})
    outputs = ("scene_colour_match", "background_hue")

    def compute(self, ctx):
        from idvid.render.scene import NAMED_COLOURS
        from idvid.render.scene_text import backdrop_colours

        hsv = background_pixels(ctx.sampled_frames)
        hue = dominant_hue(hsv)[0]
        colours = backdrop_colours(ctx.prompt)
        if not colours:
            ctx.note(self.name, "the prompt names no backdrop colour")
            return {"scene_colour_match": NAN, "background_hue": hue}
        ctx.info["scene_colour"] = colours[0]
        match = colour_matches(colours[0], NAMED_COLOURS[colours[0]], hsv)
        return {"scene_colour_match": float(match), "background_hue": hue}
