"""Dense remap maps from a stage-space displacement spline, at one output size.

The spline is evaluated on a coarse grid (about 64 points along the long side) and
upsampled, except in small windows around the eyes and mouth, where it is evaluated at every
pixel so a blink really closes the lids and the lips part cleanly.
"""

from __future__ import annotations

import numpy as np

from idvid.face import landmarks as lm
from idvid.render.framing import apply_affine, compose_affine
from idvid.render.tps import ThinPlateSpline

EYE_WINDOWS = (
    lm.RIGHT_UPPER_LID + lm.RIGHT_LOWER_LID + lm.RIGHT_EYE_CORNERS + lm.RIGHT_LID_CREASE,
    lm.LEFT_UPPER_LID + lm.LEFT_LOWER_LID + lm.LEFT_EYE_CORNERS + lm.LEFT_LID_CREASE,
)
MOUTH_WINDOW = lm.UPPER_OUTER_LIP + lm.LOWER_OUTER_LIP + (152, 175, 199)
COARSE_POINTS = 64  # coarse grid points along the frame's long side


class DenseSampler:
    """Turns a stage-space field into full-resolution remap maps for one output size.

    Per-video state: the coarse grid and full-resolution identity grids. Per frame:
    :meth:`maps` with the output->stage affine, the field, the stage->source affine and the
    windows to refine.
    """

    def __init__(self, size: tuple[int, int], coarse_points: int = COARSE_POINTS):
        height, width = size
        self.size = (int(height), int(width))
        self.step = max(2, round(max(height, width) / coarse_points))
        # Feature windows: every pixel up to ~320 px frames, every other one above.
        self.fine_step = max(1, round(max(height, width) / 320))
        self.grid_x = np.arange(width, dtype=np.float32)[None, :]
        self.grid_y = np.arange(height, dtype=np.float32)[:, None]

    def maps(
        self,
        out_to_stage: np.ndarray,
        field: ThinPlateSpline,
        stage_to_source: np.ndarray,
        windows: list[tuple[int, int, int, int]] = (),
    ) -> tuple[np.ndarray, np.ndarray]:
        """out_to_stage, stage_to_source: (2, 3) affine matrices; windows: (x0, y0, x1, y1)
        output-pixel boxes evaluated finely -> (map_x, map_y), each (H, W) float32 source
        pixel coordinates for cv2.remap.

        source(q) = S(A(q) + d(A(q))) = (S o A)(q) + S_lin d(A(q)): the affine part is exact at
        full resolution and only the smooth displacement d is upsampled.
        """
        height, width = self.size
        # 1. displacement on the coarse grid, upsampled
        d = displacement_block(field, out_to_stage, (0, 0, width, height), self.step)
        # 2. finer displacement inside the feature windows (one spline evaluation for all)
        boxes = [(max(0, x0), max(0, y0), min(width, x1), min(height, y1)) for x0, y0, x1, y1 in windows]
        boxes = [b for b in boxes if b[2] - b[0] >= 2 and b[3] - b[1] >= 2]
        for box, block in zip(boxes, displacement_blocks(field, out_to_stage, boxes, self.fine_step)):
            x0, y0, x1, y1 = box
            d[y0:y1, x0:x1] = block
        # 3. compose: source = (S o A)(q) + S_lin d
        full = compose_affine(stage_to_source, out_to_stage).astype(np.float32)
        s = stage_to_source[:, :2].astype(np.float32)
        dx, dy = d[..., 0], d[..., 1]
        map_x = (full[0, 0] * self.grid_x + full[0, 1] * self.grid_y + full[0, 2]) + (s[0, 0] * dx + s[0, 1] * dy)
        map_y = (full[1, 0] * self.grid_x + full[1, 1] * self.grid_y + full[1, 2]) + (s[1, 0] * dx + s[1, 1] * dy)
        return map_x, map_y


def displacement_block(
    field: ThinPlateSpline, out_to_stage: np.ndarray, box: tuple[int, int, int, int], step: int
) -> np.ndarray:
    """The field over output pixels box = (x0, y0, x1, y1), sampled every `step` pixels and
    bilinearly upsampled -> (y1 - y0, x1 - x0, 2) float32 stage displacements."""
    return displacement_blocks(field, out_to_stage, [box], step)[0]


def displacement_blocks(
    field: ThinPlateSpline, out_to_stage: np.ndarray, boxes: list[tuple[int, int, int, int]], step: int
) -> list[np.ndarray]:
    """:func:`displacement_block` for several boxes with one spline evaluation.

    Samples sit at the centres of step x step blocks, (j + 0.5) * step - 0.5, which is where
    cv2.resize(INTER_LINEAR) by an integer factor expects them; the half block at the far
    edges is held constant (the field is smooth there).
    """
    import cv2

    if not boxes:
        return []
    grids, shapes = [], []
    for x0, y0, x1, y1 in boxes:
        rows, cols = -(-(y1 - y0) // step), -(-(x1 - x0) // step)
        xs = x0 + (np.arange(cols) + 0.5) * step - 0.5
        ys = y0 + (np.arange(rows) + 0.5) * step - 0.5
        grids.append(np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2))
        shapes.append((rows, cols))
    values = field(apply_affine(out_to_stage, np.concatenate(grids)))
    blocks, start = [], 0
    for (x0, y0, x1, y1), (rows, cols) in zip(boxes, shapes):
        coarse = values[start : start + rows * cols].reshape(rows, cols, 2)
        start += rows * cols
        if step > 1:
            coarse = cv2.resize(coarse, (cols * step, rows * step), interpolation=cv2.INTER_LINEAR)
        blocks.append(np.ascontiguousarray(coarse[: y1 - y0, : x1 - x0]))
    return blocks


def feature_windows(points_out: np.ndarray, face_height_out: float) -> list[tuple[int, int, int, int]]:
    """points_out: (478, 2) posed mesh in output pixels; face_height_out: face height there
    -> eye and mouth boxes (x0, y0, x1, y1) with a margin, for fine evaluation."""
    boxes = []
    for group, margin in ((EYE_WINDOWS[0], 0.05), (EYE_WINDOWS[1], 0.05), (MOUTH_WINDOW, 0.05)):
        p = points_out[list(group)]
        pad = margin * face_height_out + 2
        x0, y0 = np.floor(p.min(axis=0) - pad).astype(int)
        x1, y1 = np.ceil(p.max(axis=0) + pad).astype(int) + 1
        boxes.append((int(x0), int(y0), int(x1), int(y1)))
    return boxes
