"""Five-point similarity alignment of a face to the ArcFace template."""

from __future__ import annotations

import numpy as np

from idvid.face.resample import warp_affine

ALIGNED_CROP_SIZE = 224

# The standard ArcFace/InsightFace 112x112 template: right eye, left eye, nose tip,
# right mouth corner, left mouth corner (same order as YuNet's landmarks).
ARCFACE_TEMPLATE_112 = np.array(
    [
        [38.2946, 51.6963],
        [73.5318, 51.5014],
        [56.0252, 71.7366],
        [41.5493, 92.3655],
        [70.7299, 92.2041],
    ],
    dtype=np.float64,
)


def template(size: int) -> np.ndarray:
    """(5, 2) template landmarks for an S x S crop (the 112 template scaled by S / 112)."""
    return ARCFACE_TEMPLATE_112 * (size / 112.0)


def similarity_matrix(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """(2, 3) least-squares similarity (rotation, uniform scale, shift) mapping src (N, 2) to dst (N, 2).

    Umeyama's closed form: deterministic, unlike RANSAC/LMEDS fits, and exact for 5 points.
    """
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    src_mean, dst_mean = src.mean(0), dst.mean(0)
    src_c, dst_c = src - src_mean, dst - dst_mean
    cov = dst_c.T @ src_c / len(src)
    u, s, vt = np.linalg.svd(cov)
    d = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:  # no reflections
        d[1, 1] = -1.0
    rotation = u @ d @ vt
    scale = np.trace(np.diag(s) @ d) / max(src_c.var(0).sum(), 1e-12)
    matrix = np.zeros((2, 3))
    matrix[:, :2] = scale * rotation
    matrix[:, 2] = dst_mean - scale * rotation @ src_mean
    return matrix


def align_face(
    image: np.ndarray, landmarks: np.ndarray, size: int = ALIGNED_CROP_SIZE
) -> tuple[np.ndarray, np.ndarray]:
    """Warp the face to the template.

    image: (H, W, 3) uint8; landmarks: (5, 2) pixels.
    Returns crop (S, S, 3) uint8 and the (2, 3) float64 matrix mapping photo pixels to crop pixels.
    """
    matrix = similarity_matrix(landmarks, template(size))
    # Black outside the photo, as the ArcFace-style crops the models expect.
    return warp_affine(image, matrix, (size, size)), matrix
