"""Turn a tilted face upright before embedding it.

YuNet's five landmarks, and with them the 5-point alignment SFace relies on, break down on
strongly tilted faces: a portrait turned 30 degrees in the image plane fell to cosine 0.08
against itself. YuNet's own eye points cannot say so (on the astronaut turned 45 degrees they
were level to 4 degrees); the dense mesh's roll can (within 2 degrees). So a face whose head roll
is more than :data:`LEVEL_ROLL` degrees is rotated level around its box and detected again, and
the embedding is taken from that view.
"""

from __future__ import annotations

import numpy as np

from idvid.face.model_files import import_cv2
from idvid.face.observation import FaceDetection

LEVEL_ROLL = 10.0  # degrees of head roll below which alignment copes on its own
REGION = 3.0  # side of the re-detected region, in face-box sides (room for the turned box)


def upright_face(detector, image: np.ndarray, face: FaceDetection, roll: float) -> tuple[np.ndarray, FaceDetection]:
    """roll: the head's roll in degrees (> 0 clockwise, :class:`HeadPose`) -> (image, face) to
    embed: the inputs when the head is about level, else a region around the face rotated level
    with the face detected again there (the inputs if it is not found)."""
    if abs(roll) < LEVEL_ROLL:
        return image, face
    cv2 = import_cv2()
    x, y, w, h = (float(v) for v in face.box)
    centre = np.array([x + w / 2, y + h / 2])
    side = int(round(REGION * max(w, h)))
    turn = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), roll, 1.0)  # counter-clockwise by roll
    turn[:, 2] += side / 2 - centre
    region = cv2.warpAffine(image, turn, (side, side), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
    found = detector(region)
    if not found:
        return image, face
    middle = min(found, key=lambda f: float(np.hypot(*(f.box[:2] + f.box[2:] / 2 - side / 2))))
    return region, middle
