"""Dense optical flow between consecutive frames (OpenCV DIS, medium preset) and the two
per-pair numbers the motion and flicker metrics read from it.

For each pair (t, t+1) one flow is computed, from frame t+1 back to frame t:
``frame[t](p + flow(p)) ~ frame[t+1](p)``. Its magnitude is the motion; warping frame t
with it gives frame t+1's prediction, whose error is the flicker.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Frames are downscaled (area) so their longer side is at most this before the flow. Both
# numbers are normalised (by the diagonal, and per pixel), so they barely depend on it;
# it caps the cost for large videos (DIS medium: ~30 ms per 512 x 342 pair on 2 cores).
FLOW_MAX_SIDE = 512


@dataclass(frozen=True)
class FlowStats:
    """Per consecutive pair t = 0 .. T-2.

    motion: (T-1,) mean flow magnitude over all pixels, divided by the frame diagonal
        (both at the flow resolution).
    flicker: (T-1,) mean absolute difference, over RGB channels and the pixels whose flow
        lands inside frame t, between frame t+1 and frame t warped by the flow, with
        pixel values in [0, 1].
    size: (height, width) at which the flow was computed.
    """

    motion: np.ndarray
    flicker: np.ndarray
    size: tuple[int, int]


def flow_stats(frames: np.ndarray, max_side: int = FLOW_MAX_SIDE) -> FlowStats:
    """frames: (T, H, W, 3) uint8 RGB, T >= 2 -> :class:`FlowStats`."""
    import cv2

    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[0] < 2:
        raise ValueError(f"flow needs (T >= 2, H, W, 3) frames, got shape {frames.shape}")
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    height, width = frames.shape[1:3]
    scale = min(1.0, max_side / max(height, width))
    size = (max(8, round(width * scale)), max(8, round(height * scale)))  # cv2 order (w, h)
    grid_x, grid_y = np.meshgrid(np.arange(size[0], dtype=np.float32), np.arange(size[1], dtype=np.float32))
    diagonal = float(np.hypot(*size))

    def prepare(frame):
        small = frame if scale == 1.0 else cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
        return small, cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)

    motion, flicker = [], []
    previous, previous_grey = prepare(frames[0])
    for t in range(1, frames.shape[0]):
        current, current_grey = prepare(frames[t])
        flow = dis.calc(current_grey, previous_grey, None)  # (h, w, 2): current -> previous
        motion.append(float(np.linalg.norm(flow, axis=2).mean()) / diagonal)
        map_x, map_y = grid_x + flow[..., 0], grid_y + flow[..., 1]
        warped = cv2.remap(previous, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        inside = (map_x >= 0) & (map_x <= size[0] - 1) & (map_y >= 0) & (map_y <= size[1] - 1)
        error = np.abs(current.astype(np.float32) - warped.astype(np.float32)).mean(axis=2) / 255.0
        flicker.append(float(error[inside].mean()) if inside.any() else float("nan"))
        previous, previous_grey = current, current_grey
    return FlowStats(motion=np.array(motion), flicker=np.array(flicker), size=(size[1], size[0]))
