"""Synthetic identities for ``idvid synth``, made from the two clear-licence real photos.

Only two real faces ship with the project (the astronaut, Grace Hopper), so new people are
made by changing those photos enough that the face recogniser (SFace) no longer calls them
the same person:

1. **Morph.** A base photo's face takes a shape between its own mesh and the other photo's
   mesh (similarity-aligned onto the base), and its skin texture is cross-dissolved with the
   other photo's face warped onto that shape (inside the soft face hull only; hair, body and
   background stay the base photo's).
2. **Face-shape warps** on the mesh: jaw width, face length, eye spacing, nose length. Both
   1 and 2 move pixels with one thin-plate spline (:mod:`idvid.render.tps`) fitted on mesh
   vertices plus fixed points on the photo border, applied with one ``cv2.remap``.
3. **Appearance**: skin tone shift in CIELAB inside the face hull, and a hair colour change
   inside the hair region (person mask minus face hull, above the chin).
4. **Check.** The new photo is re-analysed with :class:`~idvid.face.FaceAnalyzer` (it must
   still show exactly one usable face). It is kept only if its SFace cosine to every identity
   already kept is below :data:`~idvid.face.SAME_PERSON_THRESHOLD`; otherwise a new one is
   sampled (at most ``max_tries`` per identity; :class:`IdentityBudgetError` says how many were
   feasible).

Deterministic per seed: identity ``i`` is sampled from ``np.random.default_rng([seed, i, try])``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from idvid.errors import FaceError, IdvidError
from idvid.render import landmarks as lm

_PACKAGE = Path(__file__).resolve().parents[1]
SOURCE_PHOTOS = ("astronaut.jpg", "grace_hopper.jpg")
# Hair colours (RGB) a person may plausibly have, picked from uniformly.
HAIR_COLOURS = {
    "black": (25, 22, 20), "dark brown": (60, 40, 28), "brown": (105, 70, 45), "auburn": (130, 55, 35),
    "red": (165, 70, 40), "blond": (205, 170, 110), "grey": (150, 150, 150), "white": (225, 225, 220),
}


class IdentityBudgetError(IdvidError):
    """Not enough mutually distinct identities could be made within the tries allowed."""


@dataclass(frozen=True)
class Identity:
    """One synthetic person.

    id: "id-0003"; photo: (H, W, 3) uint8 RGB; observation: its FaceObservation (embedding (128,),
    mesh (478, 3), crop (224, 224, 3)); recipe: how it was made (JSON-able, for the report)."""

    id: str
    photo: np.ndarray
    observation: object
    recipe: dict = field(default_factory=dict)


@dataclass
class _Source:
    image: np.ndarray
    vertices: np.ndarray  # (478, 3)
    mask: np.ndarray  # (H, W) person probability
    name: str


def _asset(name: str) -> Path:
    """A sample photo: ``idvid/assets/`` when installed, ``<checkout>/assets/`` in a source tree."""
    for candidate in (_PACKAGE / "assets" / name, _PACKAGE.parents[1] / "assets" / name):
        if candidate.is_file():
            return candidate
    raise IdvidError(f"sample photo {name} not found in the package or the checkout's assets/")


def load_sources(analyzer, photos: tuple[str | Path, ...] | None = None) -> list[_Source]:
    """The real photos, analysed once (their mesh and person mask)."""
    from idvid.face import load_photo
    from idvid.render.person import person_mask

    paths = [Path(p) for p in photos] if photos else [_asset(name) for name in SOURCE_PHOTOS]
    sources = []
    for path in paths:
        image = load_photo(path)
        obs = analyzer.analyze(image)
        vertices = np.asarray(obs.vertices, np.float32)
        sources.append(_Source(image, vertices, person_mask(image, vertices), path.stem))
    return sources


def make_identities(
    count: int, seed: int = 0, analyzer=None, sources: list[_Source] | None = None, max_tries: int = 40,
    candidates: int = 6,
) -> list[Identity]:
    """``count`` mutually distinct synthetic identities (pairwise SFace cosine below 0.363).

    Raises IdentityBudgetError when identity ``i`` cannot be made distinct from the first ``i``
    within ``max_tries`` samples (the message says how many were feasible)."""
    from idvid.face import SAME_PERSON_THRESHOLD, FaceAnalyzer

    analyzer = analyzer or FaceAnalyzer(min_face_size=32)
    sources = sources or load_sources(analyzer)
    kept: list[Identity] = []
    for i in range(count):
        best = None  # (max similarity to kept, attempt, photo, obs, recipe)
        tried = 0
        for attempt in range(max_tries):
            rng = np.random.default_rng([seed, i, attempt])
            photo, recipe = sample_photo(sources, rng)
            try:
                obs = analyzer.analyze(photo)
            except FaceError:
                continue
            tried += 1
            sims = [float(np.dot(obs.embedding, k.observation.embedding)) for k in kept]
            worst = max(sims) if sims else -1.0
            if worst < SAME_PERSON_THRESHOLD and (best is None or worst < best[0]):
                best = (worst, attempt, photo, obs, recipe)
            # Keep looking a little for a more distinct candidate (better packing of the few
            # identities two source photos allow), then take the most distinct one.
            if best is not None and tried >= candidates:
                break
        if best is None:
            raise IdentityBudgetError(
                f"only {len(kept)} mutually distinct identities could be made from the source photos "
                f"(seed {seed}, {max_tries} tries for identity {i}); ask for fewer identities"
            )
        worst, attempt, photo, obs, recipe = best
        recipe = {**recipe, "attempt": attempt, "max_similarity_to_kept": round(worst, 4) if kept else None}
        kept.append(Identity(f"id-{i:04d}", photo, obs, recipe))
    return kept


def sample_photo(sources: list[_Source], rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """One new face photo from the sources -> ((H, W, 3) uint8, recipe dict)."""
    import cv2

    b = int(rng.integers(len(sources)))
    base = sources[b]
    other = sources[(b + 1) % len(sources)] if len(sources) > 1 else base
    # Per-region blend weights (eyes+brows, nose, mouth, outline): a many-dimensional space of
    # faces between the two sources instead of a single line.
    # Weights near 0 or 1 (the corners of the region cube are the most distinct faces).
    regions = {name: float(rng.uniform(0.0, 0.2) if rng.random() < 0.5 else rng.uniform(0.75, 1.0))
               if other is not base else 0.0 for name in _REGIONS}
    weights = _vertex_weights(base.vertices[:, :2], regions)
    blend = float(weights.mean())
    warps = {
        "jaw_width": float(rng.uniform(-0.16, 0.16)),
        "face_length": float(rng.uniform(-0.12, 0.12)),
        "eye_spacing": float(rng.uniform(-0.07, 0.07)),
        "nose_length": float(rng.uniform(-0.10, 0.10)),
    }
    # 1. target shape: the base mesh blended towards the other's (aligned to the base), then warped
    other_aligned = _align(other.vertices[:, :2], base.vertices[:, :2])
    target = base.vertices[:, :2] + weights[:, None] * (other_aligned - base.vertices[:, :2])
    target = shape_warp(target, **warps)
    # 2. both textures onto the target shape; dissolve inside the face hull
    base_warped = _warp_to(base.image, base.vertices[:, :2], target, base.image.shape[:2])
    from idvid.render.person import head_hull_mask

    target3 = np.concatenate([target, base.vertices[:, 2:]], axis=1)
    hull = head_hull_mask(base.image.shape[:2], target3, solid=0.0, fade=0.03, rise=0.0)
    hull = cv2.GaussianBlur(hull, (0, 0), 3)[..., None]
    image = base_warped.astype(np.float32)
    if blend > 0:
        other_on_base = _warp_to(other.image, other.vertices[:, :2], target, base.image.shape[:2])
        other_on_base = _match_colour(other_on_base, base_warped, hull[..., 0] > 0.5)
        weight_map = hull * _weight_map(target, weights, base.image.shape[:2])[..., None]
        image = image + weight_map * (other_on_base.astype(np.float32) - image)
    # 3. a random "eigenface" shading (not any real person's): low-frequency light/dark structure
    detail = float(rng.uniform(1.5, 2.5))
    image = _add_shading(image, hull[..., 0], target, eigenface_sample(rng), detail)
    # 4. skin tone, then hair colour
    skin = (float(rng.uniform(-18, 14)), float(rng.uniform(-4, 8)), float(rng.uniform(-4, 10)))
    image = _lab_shift(image, hull[..., 0], skin)
    hair_name = list(HAIR_COLOURS)[int(rng.integers(len(HAIR_COLOURS)))]
    mask = _warp_to(base.mask, base.vertices[:, :2], target, base.image.shape[:2])
    image = _recolour_hair(image, mask, target3, HAIR_COLOURS[hair_name])
    photo = np.clip(image + 0.5, 0, 255).astype(np.uint8)
    recipe = {"base": base.name, "other": other.name, "blend": round(blend, 4), "shading": round(detail, 4),
              "region_blend": {k: round(v, 4) for k, v in regions.items()},
              "warps": {k: round(v, 4) for k, v in warps.items()}, "skin_lab_shift": [round(v, 3) for v in skin],
              "hair": hair_name}
    return photo, recipe


_REGIONS = {
    "eyes": lm.RIGHT_BROW + lm.LEFT_BROW + lm.RIGHT_UPPER_LID + lm.LEFT_UPPER_LID + lm.RIGHT_LOWER_LID
    + lm.LEFT_LOWER_LID + lm.RIGHT_EYE_CORNERS + lm.LEFT_EYE_CORNERS,
    "nose": lm.NOSE,
    "mouth": lm.UPPER_OUTER_LIP + lm.LOWER_OUTER_LIP + lm.CHIN,
    "outline": lm.FACE_OVAL + lm.CHEEKS + lm.FOREHEAD,
}


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


def _weight_map(points: np.ndarray, weights: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(H, W) float32 per-pixel blend weight interpolated from the per-vertex weights."""
    import cv2

    from idvid.render.tps import ThinPlateSpline

    sub = np.arange(0, 478, 3)
    spline = ThinPlateSpline.fit(points[sub], weights[sub, None], smoothing=1e-2)
    height, width = size
    step = 8
    gy, gx = np.mgrid[0:height + step:step, 0:width + step:step].astype(np.float32)
    values = spline(np.stack([gx.ravel(), gy.ravel()], axis=1)).reshape(gy.shape)
    values = cv2.resize(values, (gx.shape[1] * step, gx.shape[0] * step), interpolation=cv2.INTER_LINEAR)
    return np.clip(values[:height, :width], 0.0, 1.0).astype(np.float32)


def shape_warp(
    points: np.ndarray, jaw_width: float = 0.0, face_length: float = 0.0, eye_spacing: float = 0.0,
    nose_length: float = 0.0,
) -> np.ndarray:
    """(478, 2) mesh points -> warped copy. Amounts are fractions: jaw_width widens the lower face,
    face_length stretches below the eyes, eye_spacing moves the eyes apart (fraction of face
    width), nose_length moves the nose tip and nostrils down (fraction of face height)."""
    p = np.array(points, dtype=np.float64)
    top, chin = p[lm.FOREHEAD_TOP], p[lm.CHIN_BOTTOM]
    height = float(np.linalg.norm(chin - top)) or 1.0
    width = float(np.linalg.norm(p[lm.LEFT_FACE_SIDE] - p[lm.RIGHT_FACE_SIDE])) or 1.0
    cx = 0.5 * (p[lm.LEFT_FACE_SIDE, 0] + p[lm.RIGHT_FACE_SIDE, 0])
    eye_y = 0.5 * (p[lm.LEFT_FACE_SIDE, 1] + p[lm.RIGHT_FACE_SIDE, 1])
    nose_y = p[lm.NOSE_TIP, 1]
    out = p.copy()
    # jaw: x scaled about the centre, ramping from 0 at the nose tip to full at the chin
    ramp = np.clip((p[:, 1] - nose_y) / max(chin[1] - nose_y, 1e-6), 0, 1)
    out[:, 0] = cx + (p[:, 0] - cx) * (1 + jaw_width * ramp)
    # face length: below eye level, y stretched away from the eyes
    below = p[:, 1] > eye_y
    out[below, 1] = eye_y + (p[below, 1] - eye_y) * (1 + face_length)
    # eye spacing: a gaussian bump around each eye pushes sideways
    for corners, sign in ((lm.RIGHT_EYE_CORNERS, -1.0), (lm.LEFT_EYE_CORNERS, 1.0)):
        centre = p[list(corners)].mean(axis=0)
        side = 1.0 if centre[0] > cx else -1.0
        w = np.exp(-np.sum((p - centre) ** 2, axis=1) / (2 * (0.12 * height) ** 2))
        out[:, 0] += side * eye_spacing * width * 0.5 * w
        del sign
    # nose: tip region moves down, bridge top fixed
    tip = p[lm.NOSE_TIP]
    w = np.exp(-np.sum((p - tip) ** 2, axis=1) / (2 * (0.1 * height) ** 2))
    out[:, 1] += nose_length * height * w
    return out


_EIGEN_COMPONENTS = 8


@lru_cache(maxsize=1)
def _eigenfaces() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Face-shading statistics from scikit-image's LFW subset (100 grayscale 25x25 faces): the mean
    face (625,), the first components (K, 625) and their standard deviations (K,). Only these
    statistics are used: a sample is a random combination, never one of the people."""
    try:
        from skimage.data import lfw_subset
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("idvid synth needs scikit-image for its face-shading statistics; "
                          "pip install scikit-image") from exc

    faces = lfw_subset()[:100].reshape(100, -1).astype(np.float64)
    mean = faces.mean(axis=0)
    _, singular, components = np.linalg.svd(faces - mean, full_matrices=False)
    std = singular[:_EIGEN_COMPONENTS] / np.sqrt(len(faces) - 1)
    return mean, components[:_EIGEN_COMPONENTS], std


def eigenface_sample(rng: np.random.Generator) -> np.ndarray:
    """(25, 25) float zero-mean shading pattern: random PCA coefficients ~ N(0, std) (no mean face)."""
    _, components, std = _eigenfaces()
    coefficients = rng.normal(0.0, 1.0, len(std)) * std
    return (coefficients @ components).reshape(25, 25)


def _add_shading(image: np.ndarray, weight: np.ndarray, points: np.ndarray, pattern: np.ndarray,
                 strength: float) -> np.ndarray:
    """Float RGB image; add ``pattern`` (LFW crop frame: cheeks edge to edge, brows to chin) to the
    lightness inside ``weight``, placed on the face by the mesh."""
    import cv2

    left, right = points[lm.RIGHT_FACE_SIDE], points[lm.LEFT_FACE_SIDE]
    top, chin = points[lm.FOREHEAD_TOP], points[lm.CHIN_BOTTOM]
    x0, x1 = min(left[0], right[0]), max(left[0], right[0])
    y0 = top[1] + 0.12 * (chin[1] - top[1])
    y1 = chin[1] + 0.03 * (chin[1] - top[1])
    src = np.float32([[0, 0], [25, 0], [0, 25]])
    dst = np.float32([[x0, y0], [x1, y0], [x0, y1]])
    matrix = cv2.getAffineTransform(src, dst)
    height, width = image.shape[:2]
    shade = cv2.warpAffine(pattern.astype(np.float32), matrix, (width, height), flags=cv2.INTER_CUBIC,
                           borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)
    shade = cv2.GaussianBlur(shade, (0, 0), max(0.5, 0.4 * (x1 - x0) / 25))
    lab = cv2.cvtColor(np.clip(image, 0, 255).astype(np.uint8), cv2.COLOR_RGB2LAB).astype(np.float32)
    lab[..., 0] += strength * 255.0 * weight * shade
    return cv2.cvtColor(np.clip(lab + 0.5, 0, 255).astype(np.uint8), cv2.COLOR_LAB2RGB).astype(np.float32)


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
    spline = ThinPlateSpline.fit(targets, sources - targets, smoothing=1e-4)
    step = 8
    gy, gx = np.mgrid[0:height + step:step, 0:width + step:step].astype(np.float32)
    grid = np.stack([gx.ravel(), gy.ravel()], axis=1)
    offset = spline(grid).reshape(gy.shape + (2,))
    offset = cv2.resize(offset, (gx.shape[1] * step, gx.shape[0] * step), interpolation=cv2.INTER_LINEAR)
    offset = offset[:height, :width]
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    return cv2.remap(image, xs + offset[..., 0], ys + offset[..., 1], cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REFLECT_101)


def _match_colour(image: np.ndarray, reference: np.ndarray, region: np.ndarray) -> np.ndarray:
    """Shift ``image``'s LAB mean/std inside ``region`` halfway to ``reference``'s (softens seams)."""
    import cv2

    a = cv2.cvtColor(image, cv2.COLOR_RGB2LAB).astype(np.float32)
    b = cv2.cvtColor(reference, cv2.COLOR_RGB2LAB).astype(np.float32)
    if region.sum() < 16:
        return image
    ma, sa = a[region].mean(0), a[region].std(0) + 1e-3
    mb, sb = b[region].mean(0), b[region].std(0) + 1e-3
    target_m, target_s = 0.5 * (ma + mb), 0.5 * (sa + sb)
    out = (a - ma) * (target_s / sa) + target_m
    return cv2.cvtColor(np.clip(out, 0, 255).astype(np.uint8), cv2.COLOR_LAB2RGB)


def _lab_shift(image: np.ndarray, weight: np.ndarray, shift: tuple[float, float, float]) -> np.ndarray:
    """Float RGB image; add ``shift`` (L, a, b in OpenCV's 8-bit LAB units) where weight is 1."""
    import cv2

    lab = cv2.cvtColor(np.clip(image, 0, 255).astype(np.uint8), cv2.COLOR_RGB2LAB).astype(np.float32)
    lab += weight[..., None] * np.float32(shift)
    return cv2.cvtColor(np.clip(lab + 0.5, 0, 255).astype(np.uint8), cv2.COLOR_LAB2RGB).astype(np.float32)


def _recolour_hair(image: np.ndarray, person: np.ndarray, vertices: np.ndarray, colour) -> np.ndarray:
    """Float RGB image -> hair (person mask minus a generous face hull, above the chin) recoloured
    to ``colour`` keeping the hair's own light/dark texture."""
    import cv2

    from idvid.render.person import head_hull_mask

    height = image.shape[0]
    face = head_hull_mask(image.shape[:2], vertices, solid=0.0, fade=0.05, rise=0.0)
    chin_y = float(vertices[lm.CHIN_BOTTOM, 1])
    rows = np.clip((chin_y - np.arange(height, dtype=np.float32)) / 10.0, 0, 1)[:, None]
    hair = np.clip(person, 0, 1) * (1 - face) * rows
    lab = cv2.cvtColor(np.clip(image, 0, 255).astype(np.uint8), cv2.COLOR_RGB2LAB).astype(np.float32)
    target = cv2.cvtColor(np.uint8([[colour]]), cv2.COLOR_RGB2LAB)[0, 0].astype(np.float32)
    region = hair > 0.5
    if region.sum() < 16:
        return image
    mean_l = float(lab[..., 0][region].mean())
    new = lab.copy()
    new[..., 0] = np.clip(target[0] + 0.8 * (lab[..., 0] - mean_l), 0, 255)
    new[..., 1:] = target[1:]
    recoloured = cv2.cvtColor(np.clip(new + 0.5, 0, 255).astype(np.uint8), cv2.COLOR_LAB2RGB).astype(np.float32)
    return image + hair[..., None] * (recoloured - image)
