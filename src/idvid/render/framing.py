"""Framing: where the photo sits in the output frame (a similarity, fixed per video)."""

from __future__ import annotations

import numpy as np

from idvid.face.landmarks import CHIN_BOTTOM, FOREHEAD_TOP

FACE_FRACTION = 0.38  # face (forehead top to chin) as a fraction of the frame height
FACE_CENTRE_Y = 0.42  # where the face's centre sits, as a fraction of the frame height
MAX_FACE_FRACTION = 0.6  # the most we zoom in to avoid showing outside the photo


def frame_photo(
    vertices: np.ndarray,
    photo_size: tuple[int, int],
    out_size: tuple[int, int],
    face_fraction: float = FACE_FRACTION,
    face_centre_y: float = FACE_CENTRE_Y,
) -> np.ndarray:
    """vertices: (478, 3) mesh in photo pixels; photo_size, out_size: (H, W)
    -> (2, 3) similarity from photo pixels to output ("stage") pixels.

    The face is centred horizontally with its centre at `face_centre_y` of the height and
    its height at `face_fraction` of the frame, so head and shoulders show. When that crop
    reaches outside the photo, it is shifted back inside and, if it is still too big, zoomed
    in (up to MAX_FACE_FRACTION); whatever still falls outside is filled by the renderer.
    """
    photo_h, photo_w = photo_size
    out_h, out_w = out_size
    v = np.asarray(vertices, dtype=np.float64)
    face_height = float(np.linalg.norm(v[CHIN_BOTTOM, :2] - v[FOREHEAD_TOP, :2]))
    centre = 0.5 * (v[CHIN_BOTTOM, :2] + v[FOREHEAD_TOP, :2])
    scale = face_fraction * out_h / face_height
    # 1. zoom in until the crop fits the photo (within the limit)
    fit = max(out_w / photo_w, out_h / photo_h)
    scale = min(max(scale, fit), MAX_FACE_FRACTION * out_h / face_height)
    # 2. crop origin (photo pixels) with the face placed, then shifted back inside the photo
    crop_w, crop_h = out_w / scale, out_h / scale
    x0 = centre[0] - 0.5 * crop_w
    y0 = centre[1] - face_centre_y * crop_h
    x0 = _inside(x0, crop_w, photo_w)
    y0 = _inside(y0, crop_h, photo_h)
    return np.array([[scale, 0.0, -scale * x0], [0.0, scale, -scale * y0]])


def _inside(start: float, length: float, limit: float) -> float:
    """Shift [start, start + length] into [0, limit] when it fits; centre it when it does not."""
    if length >= limit:
        return 0.5 * (limit - length)
    return float(np.clip(start, 0.0, limit - length))


def invert_affine(matrix: np.ndarray) -> np.ndarray:
    """(2, 3) affine -> its (2, 3) inverse."""
    full = np.vstack([matrix, [0.0, 0.0, 1.0]])
    return np.linalg.inv(full)[:2]


def compose_affine(outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """(2, 3) affines -> (2, 3) affine of outer(inner(p))."""
    return (np.vstack([outer, [0.0, 0.0, 1.0]]) @ np.vstack([inner, [0.0, 0.0, 1.0]]))[:2]


def apply_affine(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(2, 3) affine applied to (N, 2) points -> (N, 2)."""
    return np.asarray(points, dtype=np.float64) @ matrix[:, :2].T + matrix[:, 2]
