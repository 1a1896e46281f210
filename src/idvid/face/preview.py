"""Annotated preview of a face analysis (for ``idvid faces --preview out.png``)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from idvid.face.model_files import import_cv2
from idvid.face.observation import FaceDetection, FaceObservation

CHOSEN = (40, 220, 60)  # RGB
OTHER = (255, 170, 0)
MESH = (0, 200, 255)
# right eye, left eye, nose, right mouth corner, left mouth corner
LANDMARK_COLOURS = ((255, 0, 0), (0, 0, 255), (0, 255, 0), (255, 0, 255), (255, 255, 0))


def draw_faces(
    image: np.ndarray,
    detections: Sequence[FaceDetection],
    chosen: FaceDetection | None = None,
    observation: FaceObservation | None = None,
) -> np.ndarray:
    """image: (H, W, 3) uint8 RGB -> annotated copy (H, W, 3) uint8 RGB.

    Boxes are numbered left to right (the --face-index numbering); the chosen face gets a
    green box, its mesh points and a pose/quality label.
    """
    cv2 = import_cv2()
    out = np.ascontiguousarray(image.copy())
    if chosen is None and observation is not None:
        chosen = observation.detection
    unit = max(1, round(max(out.shape[:2]) / 500))  # line width that stays visible on big photos
    faces = sorted(detections, key=lambda f: float(f.box[0] + f.box[2] / 2))
    if observation is not None:
        for x, y in np.rint(observation.vertices[:, :2]).astype(int):
            cv2.circle(out, (int(x), int(y)), unit, MESH, -1, cv2.LINE_AA)
    for index, face in enumerate(faces):
        is_chosen = chosen is not None and np.allclose(face.box, chosen.box)
        colour = CHOSEN if is_chosen else OTHER
        x, y, w, h = np.rint(face.box).astype(int)
        cv2.rectangle(out, (int(x), int(y)), (int(x + w), int(y + h)), colour, 2 * unit, cv2.LINE_AA)
        for (px, py), dot in zip(np.rint(face.landmarks).astype(int), LANDMARK_COLOURS, strict=True):
            cv2.circle(out, (int(px), int(py)), 2 * unit, dot, -1, cv2.LINE_AA)
        label = f"{index}"
        if is_chosen and observation is not None:
            p = observation.pose
            label += f"  yaw {p.yaw:+.0f} pitch {p.pitch:+.0f} roll {p.roll:+.0f}  q {observation.quality:.2f}"
        _label(out, label, (int(x), int(y)), colour, unit)
    return out


def _label(image: np.ndarray, text: str, corner: tuple[int, int], colour, unit: int) -> None:
    """Text on a filled box just above `corner` (below it when there is no room)."""
    cv2 = import_cv2()
    scale = 0.5 * unit
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, unit)
    x, y = corner
    top = y - th - base - 4 * unit
    if top < 0:
        top = y
    cv2.rectangle(image, (x, top), (x + tw + 4 * unit, top + th + base + 4 * unit), colour, -1)
    cv2.putText(
        image, text, (x + 2 * unit, top + th + 2 * unit), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), unit, cv2.LINE_AA
    )
