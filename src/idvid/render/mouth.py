"""The inside of an open mouth: a dark, soft-edged cavity between the parted lips.

The warp can only stretch the lip (and teeth) pixels of the photo when the jaw drops; a
dark cavity inside the inner-lip polygon makes it read as an open mouth. Teeth that the
photo shows stay visible along the lips (the cavity covers only the newly opened gap).
"""

from __future__ import annotations

import numpy as np

from idvid.face.landmarks import INNER_LIP_LOOP, INNER_MOUTH_CORNERS

CAVITY_TOP = np.array([28.0, 10.0, 12.0], dtype=np.float32)  # throat shadow
CAVITY_BOTTOM = np.array([105.0, 40.0, 45.0], dtype=np.float32)  # a hint of tongue


def draw_cavity(rgb: np.ndarray, target: np.ndarray, source_gap: float, amount: float) -> None:
    """Paint the cavity into rgb in place.

    rgb: (H, W, 3) float32 person colours in output pixels; target: (478, 2) posed mesh in
    output pixels; source_gap: the photo's inner-lip gap (13 to 14) at output scale;
    amount: mouth_open in [0, 1].
    """
    import cv2

    if amount <= 0.0:
        return
    height, width = rgb.shape[:2]
    loop = target[list(INNER_LIP_LOOP)]
    right, left = target[INNER_MOUTH_CORNERS[0]], target[INNER_MOUTH_CORNERS[1]]
    upper, lower = target[13], target[14]
    gap = float(np.linalg.norm(lower - upper))
    # Only the newly opened part is cavity: teeth/lips the photo showed stay at the edges.
    open_part = gap - 0.6 * source_gap
    if open_part <= 0.5:
        return
    # 1. window around the inner lips
    pad = 3
    x0, y0 = np.maximum(np.floor(loop.min(axis=0)).astype(int) - pad, 0)
    x1, y1 = np.minimum(np.ceil(loop.max(axis=0)).astype(int) + pad + 1, [width, height])
    if x1 - x0 < 3 or y1 - y0 < 3:
        return
    # 2. inside the inner-lip polygon (sub-pixel fill, slightly softened)
    inside = np.zeros((y1 - y0, x1 - x0), dtype=np.float32)
    shifted = np.round((loop - [x0, y0]) * 4).astype(np.int32)
    cv2.fillPoly(inside, [shifted], 1.0, lineType=cv2.LINE_AA, shift=2)
    inside = cv2.GaussianBlur(inside, (3, 3), 0.8)
    # 3. a soft ellipse along the mouth axis, as tall as the new opening
    ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    axis = (left - right) / max(float(np.linalg.norm(left - right)), 1e-6)
    centre = 0.5 * (upper + lower)
    du, dv = xs - centre[0], ys - centre[1]
    u = du * axis[0] + dv * axis[1]
    v = -du * axis[1] + dv * axis[0]
    half_u = 0.45 * float(np.linalg.norm(left - right))
    half_v = max(0.5 * open_part, 0.5)
    r = np.sqrt((u / half_u) ** 2 + (v / half_v) ** 2)
    ellipse = np.clip((1.15 - r) / 0.45, 0.0, 1.0)
    alpha = inside * ellipse * min(1.0, 3.0 * amount)
    # 4. colour: dark at the top (throat), warmer below (tongue)
    depth = np.clip(0.5 + v / (2 * half_v), 0.0, 1.0)[..., None]
    colour = CAVITY_TOP + depth**2 * (CAVITY_BOTTOM - CAVITY_TOP)
    patch = rgb[y0:y1, x0:x1]
    patch += alpha[..., None] * (colour - patch)
