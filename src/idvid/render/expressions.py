"""Hand-designed, smooth, local expression deformations of the face mesh.

Each expression is a displacement field on the 478 vertices, computed in the face frame
(x towards the subject's left, y down the face, z into the head; pixels) and scaled by the
face height, so it works for any photo size and head pose. Amplitudes are at control = 1.
"""

from __future__ import annotations

import numpy as np

from idvid.face import landmarks as lm
from idvid.render.headframe import HeadFrame
from idvid.render.ramps import smoothstep

# Amplitudes, as fractions of face height.
SMILE_CORNER_OUT, SMILE_CORNER_UP, SMILE_CHEEK_UP = 0.05, 0.035, 0.02
JAW_OPEN_DEGREES = 13.0  # jaw rotation at mouth_open = 1 (chin drops ~0.14 face heights)
BROW_UP, BROW_DOWN, BROW_IN = 0.05, 0.025, 0.012
BLINK_GAP = 0.15  # closed: the upper lid stops this fraction of the opening above the lower lid
BLINK_RISE = 0.1  # the lower lid rises this fraction of the opening


def expression_offsets(
    frame: HeadFrame,
    face: np.ndarray,
    smile: float = 0.0,
    mouth_open: float = 0.0,
    blink: float = 0.0,
    brow_raise: float = 0.0,
) -> np.ndarray:
    """frame: the head frame; face: (478, 3) vertices in face-frame coordinates
    (``frame.to_face(vertices)``) -> (478, 3) face-frame displacements for these controls."""
    h = frame.face_height
    offsets = np.zeros_like(face, dtype=np.float64)
    if smile:
        offsets += smile * _smile(face, h)
    if mouth_open:
        offsets += _jaw(face, h, mouth_open)
    if brow_raise:
        offsets += _brows(face, h, brow_raise)
    if blink:
        offsets += _blink(face + offsets, blink)  # lids close over the already-moved face
    return offsets


def _gauss(face: np.ndarray, centre: np.ndarray, sigma: float) -> np.ndarray:
    """(N,) Gaussian weight of each vertex's (x, y) distance to centre (2,) or (3,)."""
    d2 = np.sum((face[:, :2] - centre[:2]) ** 2, axis=1)
    return np.exp(-0.5 * d2 / sigma**2)


def _smile(face: np.ndarray, h: float) -> np.ndarray:
    """Mouth corners out and up, cheeks up (per unit smile)."""
    out = np.zeros_like(face)
    for corner, side in ((lm.MOUTH_CORNERS[0], -1.0), (lm.MOUTH_CORNERS[1], 1.0)):
        w = _gauss(face, face[corner], 0.09 * h)[:, None]
        out += w * np.array([side * SMILE_CORNER_OUT * h, -SMILE_CORNER_UP * h, 0.0])
    for cheek in (205, 425):  # cheek apples under the eyes
        w = _gauss(face, face[cheek], 0.09 * h)[:, None]
        out += w * np.array([0.0, -SMILE_CHEEK_UP * h, -0.005 * h])
    return out


def _jaw(face: np.ndarray, h: float, amount: float) -> np.ndarray:
    """Jaw rotation about the ear-to-ear hinge, weighted onto the lower face."""
    mouth_y = 0.5 * (face[13, 1] + face[14, 1])  # inner-lip midline
    corner_x = 0.5 * abs(face[lm.MOUTH_CORNERS[1], 0] - face[lm.MOUTH_CORNERS[0], 0])
    hinge = np.array([0.0, 0.02 * h, face[lm.LEFT_FACE_SIDE, 2]])  # in front of the ears
    # Weight: 1 below the mouth line, which bends up towards the hinge beyond the corners.
    excess = np.clip((np.abs(face[:, 0]) - corner_x) / max(np.ptp(face[:, 0]) / 2 - corner_x, 1e-6), 0, 1)
    boundary = mouth_y + excess * (hinge[1] + 0.12 * h - mouth_y)
    weight = smoothstep(boundary, boundary + 0.04 * h, face[:, 1])
    weight[list(lm.UPPER_INNER_LIP + lm.UPPER_OUTER_LIP)] = 0.0
    weight[list(lm.LOWER_INNER_LIP + lm.LOWER_OUTER_LIP)] = 1.0
    weight[list(lm.MOUTH_CORNERS + lm.INNER_MOUTH_CORNERS)] = 0.5
    angle = np.radians(JAW_OPEN_DEGREES * amount)
    c, s = np.cos(angle), np.sin(angle)
    rel = face - hinge
    # Rotate (y, z) so points below and in front of the hinge go down and back.
    rotated_y = c * rel[:, 1] - s * rel[:, 2]
    rotated_z = s * rel[:, 1] + c * rel[:, 2]
    delta = np.stack([np.zeros(len(face)), rotated_y - rel[:, 1], rotated_z - rel[:, 2]], axis=1)
    out = weight[:, None] * delta
    # The upper lip lifts a little as the mouth opens.
    lift = _gauss(face, face[13], 0.06 * h) * (face[:, 1] < mouth_y + 1e-6)
    out[:, 1] -= 0.12 * lift * max(delta[14, 1], 0.0)
    return out


def _brows(face: np.ndarray, h: float, amount: float) -> np.ndarray:
    """Brows up (amount > 0) with the forehead and lid skin, or down and in (frown)."""
    out = np.zeros_like(face)
    for brow, upper_lid, side in ((lm.RIGHT_BROW, lm.RIGHT_UPPER_LID, -1.0), (lm.LEFT_BROW, lm.LEFT_UPPER_LID, 1.0)):
        points = face[list(brow)]
        d2 = np.min(np.sum((face[:, None, :2] - points[None, :, :2]) ** 2, axis=2), axis=1)
        weight = np.exp(-0.5 * d2 / (0.06 * h) ** 2)
        # Only skin above the upper lid follows (the eye itself stays).
        lid_y = float(face[list(upper_lid), 1].min())
        weight *= smoothstep(lid_y - 0.005 * h, lid_y - 0.03 * h, face[:, 1])
        if amount >= 0:
            move = np.array([0.0, -BROW_UP * h * amount, 0.0])
        else:
            move = np.array([-side * BROW_IN * h * -amount, BROW_DOWN * h * -amount, 0.0])
        out += weight[:, None] * move
    return out


def _blink(face: np.ndarray, amount: float) -> np.ndarray:
    """Upper lids (and their skin up to the crease) down onto the lower lids, which rise a bit.

    Why the gap: the closed upper lid stops BLINK_GAP of the opening above the lower lid; the
    warp squeezes the whole eye into that thin band, which reads as the dark lash line. Lids
    meeting exactly would give the warp coincident controls pulling apart, and it rings.
    """
    out = np.zeros_like(face)
    amount = float(np.clip(amount, 0.0, 1.0))
    for upper, lower, corners, crease in (
        (lm.RIGHT_UPPER_LID, lm.RIGHT_LOWER_LID, lm.RIGHT_EYE_CORNERS, lm.RIGHT_LID_CREASE),
        (lm.LEFT_UPPER_LID, lm.LEFT_LOWER_LID, lm.LEFT_EYE_CORNERS, lm.LEFT_LID_CREASE),
    ):
        u = face[list(upper)]
        # The lower lid as a curve from corner to corner, read at each upper vertex's x.
        lid = face[[corners[0]] + list(lower) + [corners[1]]]
        order = np.argsort(lid[:, 0])
        lower_y = np.interp(u[:, 0], lid[order, 0], lid[order, 1])
        lower_z = np.interp(u[:, 0], lid[order, 0], lid[order, 2])
        opening = np.maximum(lower_y - u[:, 1], 0.0)
        rise = BLINK_RISE * opening
        closed_y = lower_y - rise - BLINK_GAP * opening
        upper_move = np.stack([np.zeros(len(u)), closed_y - u[:, 1], 0.5 * (lower_z - u[:, 2])], axis=1) * amount
        out[list(upper)] = upper_move
        out[list(lower), 1] = -amount * BLINK_RISE * float(opening.mean())
        out[list(crease)] = 0.7 * upper_move  # the lid skin slides down with the lid
    return out

