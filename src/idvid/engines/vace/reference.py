"""The reference image Wan-VACE is given for a person: the person alone, on white, at the
video's size.

VACE was trained to take subjects cut out of their photos onto a plain canvas (diffusers pads
references with white), so a photo's own background would be read as part of the subject.
Here the person mask (:mod:`idvid.render.person`) cuts out head, hair and upper body; the cut
fades out across the chest, and the result is letterboxed onto white at the video's size.
"""

from __future__ import annotations

import numpy as np

from idvid.face.observation import FaceObservation
from idvid.render.person import person_mask
from idvid.render.ramps import smoothstep

# Down to where the reference reaches, in face heights below the top of the face box: head,
# neck, shoulders and chest; the cut fades over the last FADE of them.
BODY_DEPTH, FADE = 3.0, 0.4
WHITE = 255


def subject_reference(photo: np.ndarray, observation: FaceObservation, height: int, width: int) -> np.ndarray:
    """photo: (H, W, 3) uint8 RGB holding the analysed face -> (height, width, 3) uint8 RGB."""
    _, top, _, face_height = (float(v) for v in observation.detection.box)
    bottom = top + BODY_DEPTH * face_height
    rows = np.arange(photo.shape[0], dtype=np.float32)[:, None]
    mask = person_mask(photo, observation.vertices) * smoothstep(bottom, bottom - FADE * face_height, rows)
    cut = photo * mask[..., None] + WHITE * (1.0 - mask[..., None])
    ys, xs = np.nonzero(mask > 0.02)
    subject = cut[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
    return letterbox(np.rint(subject).astype(np.uint8), height, width)


def letterbox(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """``image`` scaled to fit (height, width) whole, centred on white."""
    import cv2

    scale = min(height / image.shape[0], width / image.shape[1])
    size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
    scaled = cv2.resize(image, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    canvas = np.full((height, width, 3), WHITE, np.uint8)
    top, left = (height - size[1]) // 2, (width - size[0]) // 2
    canvas[top:top + size[1], left:left + size[0]] = scaled
    return canvas
