"""Appearance changes for synthetic identities (:mod:`idvid.data.identity_morph`): a random
"eigenface" shading, skin tone, hair colour, and colour matching of two textures.

All work on float32 RGB images (H, W, 3) in 0..255 and soft (H, W) float32 weights in [0, 1];
colour changes are made in OpenCV's 8-bit CIELAB.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from idvid.face import landmarks as lm

# Hair colours (RGB) a person may plausibly have, picked from uniformly.
HAIR_COLOURS = {
    "black": (25, 22, 20), "dark brown": (60, 40, 28), "brown": (105, 70, 45), "auburn": (130, 55, 35),
    "red": (165, 70, 40), "blond": (205, 170, 110), "grey": (150, 150, 150), "white": (225, 225, 220),
}
# Shading patterns combine LFW principal components 1..15. The first (0) is mostly overall
# brightness and light direction, which the skin tone and the scenes' light already vary; the
# later ones carry the light/dark structure of brows, eye sockets, cheeks and mouth that the
# recogniser reads as identity.
EIGEN_COMPONENTS = 16
EIGEN_SKIPPED = 1


@lru_cache(maxsize=1)
def _eigenfaces() -> tuple[np.ndarray, np.ndarray]:
    """Face-shading statistics from scikit-image's LFW subset (100 grayscale 25x25 faces): the
    components (K, 625) and their standard deviations (K,). Only these statistics are used: a
    sample is a random combination, never one of the people."""
    try:
        from skimage.data import lfw_subset
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("idvid synth needs scikit-image for its face-shading statistics; "
                          "pip install scikit-image") from exc

    faces = lfw_subset()[:100].reshape(100, -1).astype(np.float64)
    _, singular, components = np.linalg.svd(faces - faces.mean(axis=0), full_matrices=False)
    std = singular[:EIGEN_COMPONENTS] / np.sqrt(len(faces) - 1)
    return components[EIGEN_SKIPPED:EIGEN_COMPONENTS], std[EIGEN_SKIPPED:]


def eigenface_sample(rng: np.random.Generator) -> np.ndarray:
    """(25, 25) float zero-mean shading pattern: random PCA coefficients ~ N(0, std) (no mean face)."""
    components, std = _eigenfaces()
    coefficients = rng.normal(0.0, 1.0, len(std)) * std
    return (coefficients @ components).reshape(25, 25)


def _to_lab(image: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.cvtColor(np.clip(image + 0.5, 0, 255).astype(np.uint8), cv2.COLOR_RGB2LAB).astype(np.float32)


def _to_rgb(lab: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.cvtColor(np.clip(lab + 0.5, 0, 255).astype(np.uint8), cv2.COLOR_LAB2RGB).astype(np.float32)


def _place_pattern(pattern: np.ndarray, points: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(25, 25) pattern in the LFW crop frame (cheeks edge to edge, brows to chin) -> (H, W)
    float32, placed on the face by the mesh points (478, 2)."""
    import cv2

    left, right = points[lm.RIGHT_FACE_SIDE], points[lm.LEFT_FACE_SIDE]
    top, chin = points[lm.FOREHEAD_TOP], points[lm.CHIN_BOTTOM]
    x0, x1 = min(left[0], right[0]), max(left[0], right[0])
    y0 = top[1] + 0.12 * (chin[1] - top[1])
    y1 = chin[1] + 0.03 * (chin[1] - top[1])
    matrix = cv2.getAffineTransform(np.float32([[0, 0], [25, 0], [0, 25]]), np.float32([[x0, y0], [x1, y0], [x0, y1]]))
    height, width = size
    shade = cv2.warpAffine(pattern.astype(np.float32), matrix, (width, height), flags=cv2.INTER_CUBIC,
                           borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)
    return cv2.GaussianBlur(shade, (0, 0), max(0.5, 0.4 * (x1 - x0) / 25))


def shade_and_tint(image: np.ndarray, weight: np.ndarray, points: np.ndarray, pattern: np.ndarray,
                   strength: float, skin: tuple[float, float, float]) -> np.ndarray:
    """Inside ``weight``: add ``pattern`` x ``strength`` to the lightness and shift the skin tone
    by ``skin`` (L, a, b), in one CIELAB pass."""
    shade = _place_pattern(pattern, points, image.shape[:2])
    lab = _to_lab(image)
    lab[..., 0] += strength * 255.0 * weight * shade
    lab += weight[..., None] * np.float32(skin)
    return _to_rgb(lab)


def match_colour(image: np.ndarray, reference: np.ndarray, region: np.ndarray) -> np.ndarray:
    """uint8 RGB ``image`` with its LAB mean/std inside ``region`` moved halfway to ``reference``'s
    (softens seams where one face's texture is dissolved into another's)."""
    import cv2

    if region.sum() < 16:
        return image
    a = cv2.cvtColor(image, cv2.COLOR_RGB2LAB).astype(np.float32)
    b = cv2.cvtColor(reference, cv2.COLOR_RGB2LAB).astype(np.float32)
    ma, sa = a[region].mean(0), a[region].std(0) + 1e-3
    mb, sb = b[region].mean(0), b[region].std(0) + 1e-3
    out = (a - ma) * (0.5 * (sa + sb) / sa) + 0.5 * (ma + mb)
    return cv2.cvtColor(np.clip(out, 0, 255).astype(np.uint8), cv2.COLOR_LAB2RGB)


def recolour_hair(image: np.ndarray, person: np.ndarray, vertices: np.ndarray, colour) -> np.ndarray:
    """Hair (person mask minus a generous face hull, above the chin) recoloured to ``colour``
    (RGB), keeping the hair's own light/dark texture. vertices: (478, 3) mesh of ``image``."""
    from idvid.render.person import head_hull_mask

    height = image.shape[0]
    face = head_hull_mask(image.shape[:2], vertices, solid=0.0, fade=0.05, rise=0.0)
    chin_y = float(vertices[lm.CHIN_BOTTOM, 1])
    rows = np.clip((chin_y - np.arange(height, dtype=np.float32)) / 10.0, 0, 1)[:, None]
    hair = np.clip(person, 0, 1) * (1 - face) * rows
    region = hair > 0.5
    if region.sum() < 16:
        return image
    lab = _to_lab(image)
    target = _to_lab(np.float32([[colour]]))[0, 0]
    new = lab.copy()
    new[..., 0] = np.clip(target[0] + 0.8 * (lab[..., 0] - float(lab[..., 0][region].mean())), 0, 255)
    new[..., 1:] = target[1:]
    return image + hair[..., None] * (_to_rgb(new) - image)
