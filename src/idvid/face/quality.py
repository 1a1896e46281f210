"""A 0..1 score of how good a face is as a reference: size, detector confidence, sharpness."""

from __future__ import annotations

import numpy as np

from idvid.face.model_files import import_cv2

GOOD_FACE_SIZE = 160.0  # px box side at which size stops limiting detail (crops are 224 px)
MIN_USABLE_SIZE = 32.0
SHARPNESS_SCALE = 100.0  # Laplacian variance (on a 112 px grey crop) that counts as half-sharp
SHARPNESS_SIDE = 112  # measure at one fixed scale so the score does not depend on crop size


def sharpness(crop: np.ndarray) -> float:
    """Variance of the Laplacian of the aligned crop (S, S, 3) uint8 RGB, measured at 112 px."""
    cv2 = import_cv2()
    grey = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)
    if grey.shape[0] != SHARPNESS_SIDE:
        grey = cv2.resize(grey, (SHARPNESS_SIDE, SHARPNESS_SIDE), interpolation=cv2.INTER_AREA)
    # Only the inner face: the template's corners hold background and black warp borders.
    m = SHARPNESS_SIDE // 8
    inner = grey[m:-m, m:-m]
    return float(cv2.Laplacian(inner, cv2.CV_64F).var())


def face_quality(face_size: float, score: float, sharpness_value: float) -> float:
    """Geometric mean of three 0..1 terms, so any one poor factor pulls the score down.

    face_size: box side in px; score: detector confidence; sharpness_value: from :func:`sharpness`.
    """
    size_term = np.clip((face_size - MIN_USABLE_SIZE) / (GOOD_FACE_SIZE - MIN_USABLE_SIZE), 0.0, 1.0)
    score_term = np.clip(score, 0.0, 1.0)
    sharp_term = sharpness_value / (sharpness_value + SHARPNESS_SCALE)
    return float((size_term * score_term * sharp_term) ** (1.0 / 3.0))
