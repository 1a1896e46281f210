"""One new face photo from the real source photos (for :mod:`idvid.data.identities`).

1. **Morph.** A base photo's face takes a shape between its own mesh and another source's
   mesh (similarity-aligned onto the base), region by region (eyes and brows, nose, mouth,
   outline), and its skin texture is cross-dissolved with the other photo's face warped onto
   that shape (inside the soft face hull only; hair, body and background stay the base photo's).
2. **Face-shape warps** on the mesh (:data:`WARP_RANGES`): jaw width, face length, eye spacing,
   size and height, brow height, nose length, mouth width, lip thickness, chin length. Both 1
   and 2 move pixels with one thin-plate spline (:mod:`idvid.render.tps`) fitted on mesh
   vertices plus fixed points on the photo border, applied with one ``cv2.remap``.
3. **Appearance** (:mod:`idvid.data.identity_appearance`): a random eigenface shading and a
   skin tone shift inside the face hull, and a hair colour.

A photo is a pure function of the sources and the random generator.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from idvid.data.identity_appearance import (
    HAIR_COLOURS,
    eigenface_sample,
    match_colour,
    recolour_hair,
    shade_and_tint,
)
from idvid.face import landmarks as lm

# Largest amount of each face-shape warp (sampled uniformly in [-a, a]), as fractions of the face
# width (jaw_width, eye_spacing), of the face height (face_length and the moves), or of the part's
# own size (eye_size, mouth_width, lip_thickness). Large enough that the recogniser sees a
# different face shape, small enough to stay a plausible face.
WARP_RANGES = {
    "jaw_width": 0.32, "face_length": 0.24, "eye_spacing": 0.14, "nose_length": 0.20, "eye_size": 0.20,
    "eye_height": 0.04, "brow_height": 0.03, "mouth_width": 0.20, "lip_thickness": 0.30, "chin_length": 0.05,
}
_REGIONS = {
    "eyes": lm.RIGHT_BROW + lm.LEFT_BROW + lm.RIGHT_UPPER_LID + lm.LEFT_UPPER_LID + lm.RIGHT_LOWER_LID
    + lm.LEFT_LOWER_LID + lm.RIGHT_EYE_CORNERS + lm.LEFT_EYE_CORNERS,
    "nose": lm.NOSE,
    "mouth": lm.UPPER_OUTER_LIP + lm.LOWER_OUTER_LIP + lm.CHIN,
    "outline": lm.FACE_OVAL + lm.CHEEKS + lm.FOREHEAD,
}


@dataclass
class SourcePhoto:
    """A real photo analysed once. image: (H, W, 3) uint8; vertices: (478, 3) mesh in its pixels;
    mask: (H, W) float32 person probability; name: the file's stem."""

    image: np.ndarray
    vertices: np.ndarray
    mask: np.ndarray
    name: str


def sample_photo(sources: list[SourcePhoto], rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """One new face photo from the sources -> ((H, W, 3) uint8 in the base source's size, recipe dict)."""
    import cv2

    from idvid.render.person import head_hull_mask

    b = int(rng.integers(len(sources)))
    base = sources[b]
    others = [s for k, s in enumerate(sources) if k != b]
    other = others[int(rng.integers(len(others)))] if others else base
    size = base.image.shape[:2]
    # Per-region blend weights near 0 or 1: the corners of the region cube are the most distinct faces.
    regions = {name: float(rng.uniform(0.0, 0.2) if rng.random() < 0.5 else rng.uniform(0.75, 1.0))
               if other is not base else 0.0 for name in _REGIONS}
    weights = _vertex_weights(base.vertices[:, :2], regions)
    warps = {name: float(rng.uniform(-limit, limit)) for name, limit in WARP_RANGES.items()}
    # 1. target shape: the base mesh blended towards the other's (aligned to the base), then warped
    other_aligned = _align(other.vertices[:, :2], base.vertices[:, :2])
    target = shape_warp(base.vertices[:, :2] + weights[:, None] * (other_aligned - base.vertices[:, :2]), **warps)
    target3 = np.concatenate([target, base.vertices[:, 2:]], axis=1)
    # 2. both textures onto the target shape; dissolve inside the face hull
    base_warped = _warp_to(base.image, base.vertices[:, :2], target, size)
    hull = cv2.GaussianBlur(head_hull_mask(size, target3, solid=0.0, fade=0.03, rise=0.0), (0, 0), 3)
    image = base_warped.astype(np.float32)
    if other is not base:
        other_on_base = match_colour(_warp_to(other.image, other.vertices[:, :2], target, size), base_warped, hull > 0.5)
        weight_map = hull * _weight_map(target, weights, size)
        image += weight_map[..., None] * (other_on_base.astype(np.float32) - image)
    # 3. eigenface shading (not any real person's) and skin tone, then hair colour
    detail = float(rng.uniform(1.5, 2.5))
    pattern = eigenface_sample(rng)
    skin = (float(rng.uniform(-18, 14)), float(rng.uniform(-4, 8)), float(rng.uniform(-4, 10)))
    image = shade_and_tint(image, hull, target, pattern, detail, skin)
    hair_name = list(HAIR_COLOURS)[int(rng.integers(len(HAIR_COLOURS)))]
    mask = _warp_to(base.mask, base.vertices[:, :2], target, size)
    image = recolour_hair(image, mask, target3, HAIR_COLOURS[hair_name])
    photo = np.clip(image + 0.5, 0, 255).astype(np.uint8)
    recipe = {"base": base.name, "other": other.name, "blend": round(float(weights.mean()), 4),
              "shading": round(detail, 4), "region_blend": {k: round(v, 4) for k, v in regions.items()},
              "warps": {k: round(v, 4) for k, v in warps.items()}, "skin_lab_shift": [round(v, 3) for v in skin],
              "hair": hair_name}
    return photo, recipe


def _vertex_weights(points: np.ndarray, regions: dict[str, float]) -> np.ndarray:
    """(478,) blend weight per vertex: a Gaussian-weighted mix of the region weights by distance
    to each region's centre (smooth across the face)."""
    height = float(np.linalg.norm(points[lm.CHIN_BOTTOM] - points[lm.FOREHEAD_TOP])) or 1.0
    num = np.zeros(len(points))
    den = np.full(len(points), 1e-6)
    for name, value in regions.items():
        centre_pts = points[list(_REGIONS[name])]
        d2 = np.min(np.sum((points[:, None] - centre_pts[None]) ** 2, axis=2), axis=1)
        w = np.exp(-d2 / (2 * (0.08 * height) ** 2))
        num += w * value
        den += w
    return num / den


def _coarse_field(spline, size: tuple[int, int], step: int = 8) -> np.ndarray:
    """A fitted spline evaluated every ``step`` px and resized up -> (H, W, D) float32 (a smooth field
    costs a fraction of evaluating every pixel)."""
    import cv2

    height, width = size
    gy, gx = np.mgrid[0:height + step:step, 0:width + step:step].astype(np.float32)
    values = spline(np.stack([gx.ravel(), gy.ravel()], axis=1)).reshape(gy.shape + (-1,))
    values = cv2.resize(values, (gx.shape[1] * step, gx.shape[0] * step), interpolation=cv2.INTER_LINEAR)
    return values.reshape(values.shape[0], values.shape[1], -1)[:height, :width]


def _weight_map(points: np.ndarray, weights: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(H, W) float32 per-pixel blend weight interpolated from the per-vertex weights."""
    from idvid.render.tps import ThinPlateSpline

    sub = np.arange(0, 478, 3)
    spline = ThinPlateSpline.fit(points[sub], weights[sub, None], smoothing=1e-2)
    return np.clip(_coarse_field(spline, size)[..., 0], 0.0, 1.0).astype(np.float32)


def _bump(points: np.ndarray, centre: np.ndarray, radius: float) -> np.ndarray:
    """(N,) Gaussian falloff of the points' distance to ``centre``: how much of a local warp each point takes."""
    return np.exp(-np.sum((points - centre) ** 2, axis=1) / (2 * radius ** 2))


def shape_warp(points: np.ndarray, **amounts: float) -> np.ndarray:
    """(478, 2) mesh points -> warped copy; ``amounts`` by :data:`WARP_RANGES` name (missing = 0).

    jaw_width widens the lower face, face_length stretches below the eyes, eye_spacing moves the
    eyes apart, eye_size scales the eyes, eye_height and brow_height move eyes and brows up,
    nose_length moves the nose tip down, mouth_width and lip_thickness scale the mouth across and
    up-down, chin_length moves the chin down."""
    unknown = set(amounts) - set(WARP_RANGES)
    assert not unknown, f"unknown warps {unknown}"
    a = {name: float(amounts.get(name, 0.0)) for name in WARP_RANGES}
    p = np.array(points, dtype=np.float64)
    height = float(np.linalg.norm(p[lm.CHIN_BOTTOM] - p[lm.FOREHEAD_TOP])) or 1.0
    width = float(np.linalg.norm(p[lm.LEFT_FACE_SIDE] - p[lm.RIGHT_FACE_SIDE])) or 1.0
    cx = 0.5 * (p[lm.LEFT_FACE_SIDE, 0] + p[lm.RIGHT_FACE_SIDE, 0])
    eye_y = 0.5 * (p[lm.LEFT_FACE_SIDE, 1] + p[lm.RIGHT_FACE_SIDE, 1])
    chin, nose_tip = p[lm.CHIN_BOTTOM], p[lm.NOSE_TIP]
    mouth = p[list(lm.MOUTH_CORNERS)].mean(axis=0)
    out = p.copy()
    # jaw: x scaled about the centre, ramping from 0 at the nose tip to full at the chin
    ramp = np.clip((p[:, 1] - nose_tip[1]) / max(chin[1] - nose_tip[1], 1e-6), 0, 1)
    out[:, 0] = cx + (p[:, 0] - cx) * (1 + a["jaw_width"] * ramp)
    # face length: below eye level, y stretched away from the eyes
    below = p[:, 1] > eye_y
    out[below, 1] = eye_y + (p[below, 1] - eye_y) * (1 + a["face_length"])
    for corners in (lm.RIGHT_EYE_CORNERS, lm.LEFT_EYE_CORNERS):
        eye = p[list(corners)].mean(axis=0)
        side = 1.0 if eye[0] > cx else -1.0
        out[:, 0] += side * a["eye_spacing"] * width * 0.5 * _bump(p, eye, 0.12 * height)
        out[:, 1] -= a["eye_height"] * height * _bump(p, eye, 0.10 * height)
        out += a["eye_size"] * (p - eye) * _bump(p, eye, 0.10 * height)[:, None]
    for brow in (lm.RIGHT_BROW, lm.LEFT_BROW):
        out[:, 1] -= a["brow_height"] * height * _bump(p, p[list(brow)].mean(axis=0), 0.06 * height)
    out[:, 1] += a["nose_length"] * height * _bump(p, nose_tip, 0.10 * height)
    out[:, 0] += a["mouth_width"] * (p[:, 0] - mouth[0]) * _bump(p, mouth, 0.20 * height)
    out[:, 1] += a["lip_thickness"] * (p[:, 1] - mouth[1]) * _bump(p, mouth, 0.12 * height)
    out[:, 1] += a["chin_length"] * height * _bump(p, chin, 0.15 * height)
    return out


def _align(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """(N, 2) src points mapped onto dst by the least-squares similarity transform."""
    import cv2

    matrix, _ = cv2.estimateAffinePartial2D(src.astype(np.float32), dst.astype(np.float32), method=cv2.LMEDS)
    return src @ matrix[:, :2].T + matrix[:, 2]


def _warp_to(image: np.ndarray, source_pts: np.ndarray, target_pts: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Warp ``image`` so that its ``source_pts`` land on ``target_pts`` in an output of ``size`` (H, W)
    (backward TPS on every 4th mesh vertex plus the output border, evaluated on a coarse grid)."""
    import cv2

    from idvid.render.tps import ThinPlateSpline

    height, width = size
    sub = np.arange(0, 478, 4)
    border = np.array([(x, y) for x in np.linspace(0, width - 1, 5) for y in (0, height - 1)]
                      + [(x, y) for y in np.linspace(0, height - 1, 5)[1:-1] for x in (0, width - 1)])
    targets = np.concatenate([target_pts[sub], border])
    # Border points: where the source's border would be in the target frame keeps a smooth field
    # (the source's own border sits at the same coordinates when the image sizes match).
    sources = np.concatenate([source_pts[sub], border * [image.shape[1] / width, image.shape[0] / height]])
    offset = _coarse_field(ThinPlateSpline.fit(targets, sources - targets, smoothing=1e-4), size)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    return cv2.remap(image, xs + offset[..., 0], ys + offset[..., 1], cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REFLECT_101)
