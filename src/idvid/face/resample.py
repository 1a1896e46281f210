"""Alias-free shrinking of the part of a photo that a warp will read."""

from __future__ import annotations

import numpy as np

from idvid.face.model_files import import_cv2

# A bilinear warp that shrinks by more than 2x skips pixels (aliasing); below this scale we
# area-average the region down to twice the target resolution first.
MAX_WARP_SHRINK = 0.5


def shrink_region(
    image: np.ndarray, bounds: tuple[float, float, float, float], scale: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Area-resize the part of `image` inside `bounds` by about 2 * scale.

    image: (H, W, C); bounds: x0, y0, x1, y1 in photo pixels (clipped to the photo);
    scale: how much the later warp shrinks (< MAX_WARP_SHRINK).
    Returns (region (h, w, C), factor (2,) = region px per photo px in x and y, offset (2,)),
    where a region pixel q sits at photo pixel q / factor + offset (pixel centres kept exact).
    """
    cv2 = import_cv2()
    height, width = image.shape[:2]
    x0 = int(np.clip(np.floor(bounds[0]), 0, width - 1))
    y0 = int(np.clip(np.floor(bounds[1]), 0, height - 1))
    x1 = int(np.clip(np.ceil(bounds[2]), x0 + 1, width))
    y1 = int(np.clip(np.ceil(bounds[3]), y0 + 1, height))
    region = image[y0:y1, x0:x1]
    small = cv2.resize(region, None, fx=2 * scale, fy=2 * scale, interpolation=cv2.INTER_AREA)
    factor = np.array([small.shape[1] / region.shape[1], small.shape[0] / region.shape[0]])
    offset = 0.5 / factor - 0.5 + np.array([x0, y0])
    return small, factor, offset


def warp_affine(image: np.ndarray, matrix: np.ndarray, size: tuple[int, int], border: int | None = None, value=0):
    """cv2.warpAffine(image, matrix, size) that area-averages first when the warp shrinks > 2x.

    image: (H, W, C) uint8; matrix: (2, 3) photo -> output pixels; size: (width, height).
    Returns (height, width, C) uint8.
    """
    cv2 = import_cv2()
    border = cv2.BORDER_CONSTANT if border is None else border
    matrix = np.asarray(matrix, dtype=np.float64)
    scale = float(np.sqrt(abs(np.linalg.det(matrix[:, :2]))))
    if scale < MAX_WARP_SHRINK:
        inverse = cv2.invertAffineTransform(matrix)
        w, h = size
        corners = np.array([[0, 0], [w, 0], [0, h], [w, h]], np.float64) @ inverse[:, :2].T + inverse[:, 2]
        bounds = (*(corners.min(0) - 2), *(corners.max(0) + 2))
        image, factor, offset = shrink_region(image, bounds, scale)
        # output = M @ photo = M @ (q / factor + offset)
        matrix = np.hstack([matrix[:, :2] / factor, (matrix[:, :2] @ offset + matrix[:, 2])[:, None]])
    return cv2.warpAffine(image, matrix, size, flags=cv2.INTER_LINEAR, borderMode=border, borderValue=value)
