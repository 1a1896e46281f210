"""Anchor points for the rest of the person: hair and head outline, neck, body, background.

The face mesh drives the warp only on the face. Everything else follows the head's 2D motion
(a rotation about the moving skull centre) by a taper: 1 on and around the head, fading out
down the neck to 0 on the shoulders and far from the head, so the body and the background
stay put and nothing tears where the head meets the neck. The upper neck also follows part
of the chin's sideways swing on a head turn, so the shear spreads down the neck.

The head outline itself does not move on a turn (a turning ball keeps its silhouette): what
the turn reveals on the near side is stretched from the hair at the rim. A ring of points
on the hair just outside the face (the "shell", on an ellipsoid around the skull) turns in
3D with the head, so the face and its surrounding hair move together.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from idvid.face import landmarks as lm
from idvid.render.ramps import smoothstep

RING_RADII = (1.05, 1.35, 1.75)  # head-outline multiples for the rings of anchors
RING_POINTS = (18, 16, 14)
SHELL_RADIUS, SHELL_POINTS = 0.9, 28  # the hair ring that turns in 3D with the head
NECK_ROWS = (0.18, 0.4, 0.7, 1.1)  # below the chin, in face heights
NECK_COLUMNS = np.linspace(-1.5, 1.5, 7)  # across, in face heights
HEAD_FULL, HEAD_NONE = 1.35, 2.1  # elliptic radius where the head motion starts and stops fading
NECK_FADE = 0.65  # face heights below the chin at which the neck no longer follows the head
JAW_FADE = 0.5  # face heights below the chin at which the neck no longer follows the jaw (collars stay)
# The upper body goes along with the head a little, and breathes.
BODY_TILT = 0.2  # of the head's roll, about a point a face height below the frame (the waist)
BODY_SHIFT = 0.08  # face heights sideways at a 35-degree turn, towards where the head turns
BREATH_RISE, BREATH_PERIOD = 0.03, 4.2  # shoulder rise in face heights; seconds per breath
BODY_START = 0.25  # face heights below the chin where the body moves fully (the head rules above)


@dataclass(frozen=True)
class HeadRegion:
    """The head as an ellipse in some 2D frame (stage pixels): centre (2,), half-axes (2,)
    (hair and hat included), chin_y, mouth_y (mouth corners) and face_height (pixels)."""

    centre: np.ndarray
    axes: np.ndarray
    chin_y: float
    mouth_y: float
    face_height: float

    @classmethod
    def from_mesh(cls, mesh2d: np.ndarray, mask: np.ndarray | None = None) -> HeadRegion:
        """mesh2d: (478, 2) face mesh; mask: optional (H, W) person mask in the same frame,
        used to find the top of the hair or hat above the forehead."""
        oval = mesh2d[list(lm.FACE_OVAL)]
        chin_y = float(mesh2d[lm.CHIN_BOTTOM, 1])
        top_y = float(mesh2d[lm.FOREHEAD_TOP, 1])
        face_height = chin_y - top_y
        centre_x = float(oval[:, 0].mean())
        face_half_width = 0.5 * float(np.ptp(oval[:, 0]))
        half_width = 1.25 * face_half_width  # typical hair and ears, when there is no mask
        head_top = top_y - 0.25 * face_height
        if mask is not None:
            head_top = _mask_top(mask, centre_x, top_y, face_height, default=head_top)
            eye_y = float(mesh2d[[lm.RIGHT_FACE_SIDE, lm.LEFT_FACE_SIDE], 1].mean())
            half_width = _mask_half_width(mask, centre_x, eye_y, face_half_width, default=half_width)
        centre = np.array([centre_x, 0.5 * (head_top + chin_y)])
        axes = np.array([half_width, 0.5 * (chin_y - head_top)])
        mouth_y = float(mesh2d[lm.MOUTH_CORNERS, 1].mean())
        return cls(centre, axes, chin_y, mouth_y, face_height)

    def taper(self, points: np.ndarray) -> np.ndarray:
        """points: (K, 2) -> (K,) fraction of the head's motion each point follows: all of it
        on and around the head, none far away; downwards it fades over the neck, from the
        chin under the face and already from the mouth level beside it (where shoulders
        rise, a tilting head must not drag them)."""
        e = np.linalg.norm((points - self.centre) / self.axes, axis=1)
        near_head = 1.0 - smoothstep(HEAD_FULL, HEAD_NONE, e)
        side = smoothstep(0.8 * self.axes[0], 1.3 * self.axes[0], np.abs(points[:, 0] - self.centre[0]))
        start = self.chin_y - side * (self.chin_y - self.mouth_y)
        neck = 1.0 - smoothstep(0.0, NECK_FADE, (points[:, 1] - start) / self.face_height)
        return near_head * neck

    def jaw_taper(self, points: np.ndarray) -> np.ndarray:
        """points: (K, 2) -> (K,) fraction of the jaw's own sideways/up-down shift (beyond the
        head's outline motion) each point follows: the neck under a turning chin goes along
        part of the way, so the shear spreads down the neck instead of tearing under the jaw."""
        f = self.face_height
        below = (points[:, 1] - self.chin_y) / f
        rise = smoothstep(self.mouth_y, self.chin_y, points[:, 1])
        fall = 1.0 - smoothstep(0.0, JAW_FADE, below)
        across = 1.0 - smoothstep(0.8 * self.axes[0], 2.2 * self.axes[0], np.abs(points[:, 0] - self.centre[0]))
        return rise * fall * across


def anchor_points(region: HeadRegion, frame_size: tuple[int, int]) -> np.ndarray:
    """-> (K, 2) anchor positions around a head (rings), down the neck and body (grid) and on
    the border of a (H, W) frame."""
    rings = []
    for radius, count in zip(RING_RADII, RING_POINTS):
        angle = np.linspace(0, 2 * np.pi, count, endpoint=False) + radius  # staggered rings
        ring = region.centre + radius * region.axes * np.stack([np.cos(angle), np.sin(angle)], axis=1)
        rings.append(ring[ring[:, 1] < region.chin_y])  # below the chin the grid takes over
    f = region.face_height
    xs = region.centre[0] + NECK_COLUMNS * f
    ys = region.chin_y + np.asarray(NECK_ROWS) * f
    grid = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)
    height, width = frame_size
    t = np.linspace(0.0, 1.0, 7)
    border = np.concatenate(
        [
            np.stack([t * width, np.zeros_like(t)], 1),
            np.stack([t * width, np.full_like(t, height)], 1),
            np.stack([np.zeros_like(t[1:-1]), t[1:-1] * height], 1),
            np.stack([np.full_like(t[1:-1], width), t[1:-1] * height], 1),
        ]
    )
    points = np.concatenate(rings + [grid, border])
    # Drop anchors that crowd each other (the border and the grid can coincide).
    return _spread(points, 0.12 * f)


def head_shell(region: HeadRegion, centre_z: float) -> tuple[np.ndarray, np.ndarray]:
    """-> points (S, 3) and unit outward normals (S, 3) on the head's ellipsoid along the ring
    at SHELL_RADIUS of the head outline (hair and ears just outside the face).

    The ellipsoid has the head ellipse as its outline and a depth half-axis equal to its
    half-width, centred at depth centre_z (the skull centre).
    """
    angle = np.linspace(0, 2 * np.pi, SHELL_POINTS, endpoint=False)
    unit = np.stack([np.cos(angle), np.sin(angle)], axis=1)
    c = float(region.axes[0])  # depth half-axis = half-width
    xy = region.centre + SHELL_RADIUS * region.axes * unit
    dz = -c * np.sqrt(1.0 - SHELL_RADIUS**2)  # towards the camera (z grows away)
    points = np.concatenate([xy, np.full((SHELL_POINTS, 1), centre_z + dz)], axis=1)
    normals = np.concatenate([(xy - region.centre) / region.axes**2, np.full((SHELL_POINTS, 1), dz / c**2)], axis=1)
    return points, normals / np.linalg.norm(normals, axis=1, keepdims=True)


def head_motion(points: np.ndarray, centre_from: np.ndarray, centre_to: np.ndarray, roll_degrees: float) -> np.ndarray:
    """Where points (K, 2) go when the head's outline moves: rotated by the in-plane roll
    about the skull centre, which itself moves from centre_from (2,) to centre_to (2,)."""
    a = np.radians(roll_degrees)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])  # y down: clockwise on screen
    return centre_to + (points - centre_from) @ rot.T


@dataclass(frozen=True)
class BodyPose:
    """The upper body's own motion in one frame: tilt (degrees, clockwise in the image, like
    the head's roll), shift (pixels, > 0 image right) and rise (pixels, > 0 up)."""

    tilt: float = 0.0
    shift: float = 0.0
    rise: float = 0.0

    @classmethod
    def following(cls, yaw: float, roll: float, t: float, face_height: float) -> BodyPose:
        """The body of a head at ``yaw`` and ``roll`` degrees, ``t`` seconds into a take: a
        fraction of the tilt, a small lean into the turn, and a breath (none at t = 0)."""
        breath = 0.5 - 0.5 * np.cos(2.0 * np.pi * t / BREATH_PERIOD)
        return cls(BODY_TILT * roll, BODY_SHIFT * face_height * yaw / 35.0, BREATH_RISE * face_height * breath)

    def moved(self, points: np.ndarray, region: HeadRegion, frame_height: float) -> np.ndarray:
        """Where points (K, 2) go with the body: fully from BODY_START face heights under the
        chin down to the shoulders, not at all at the chin and above (the head's own motion
        rules there) nor at the bottom edge (the frame cuts the body there: it bends, so no
        gap opens at the corners)."""
        f = region.face_height
        a = np.radians(self.tilt)
        rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
        pivot = np.array([region.centre[0], frame_height + f])
        carried = pivot + (points - pivot) @ rot.T + [self.shift, -self.rise]
        y = points[:, 1]
        weight = smoothstep(region.chin_y, region.chin_y + BODY_START * f, y) * (1.0 - smoothstep(
            max(region.chin_y + BODY_START * f, frame_height - 0.5 * f), frame_height, y))
        return points + weight[:, None] * (carried - points)


def _mask_top(mask: np.ndarray, centre_x: float, top_y: float, face_height: float, default: float) -> float:
    """Topmost row above the forehead where the mask still covers the head's central column."""
    height, width = mask.shape
    x0, x1 = int(max(0, centre_x - 0.2 * face_height)), int(min(width, centre_x + 0.2 * face_height + 1))
    y1 = int(np.clip(top_y, 0, height - 1))
    if x1 <= x0 or y1 <= 0:
        return default
    # Rows above the forehead that still touch the head (max, not mean: hair and hat tops
    # are ragged in the mask).
    column = mask[:y1, x0:x1].max(axis=1) > 0.3
    rows = np.nonzero(~column)[0]
    top = (rows.max() + 1) if rows.size else 0  # first row of the last run reaching the forehead
    # Why clip: a hat can be tall, but an arm raised behind the head must not count as hair.
    return float(np.clip(top - 0.03 * face_height, top_y - 1.0 * face_height, top_y - 0.05 * face_height))


def _mask_half_width(mask: np.ndarray, centre_x: float, row_y: float, face_half_width: float, default: float) -> float:
    """Half the width of the mask run through the face centre on the given row (the head's
    width with hair at eye level), kept between 1.15 and 1.8 face half-widths."""
    height, width = mask.shape
    y = int(np.clip(round(row_y), 0, height - 1))
    x = int(np.clip(round(centre_x), 0, width - 1))
    row = mask[y] > 0.5
    if not row[x]:
        return default
    off = np.nonzero(~row)[0]
    left = off[off < x].max() + 1 if np.any(off < x) else 0
    right = off[off > x].min() if np.any(off > x) else width
    # Why symmetric: the head is; one side may run into a shoulder or the frame edge.
    half = min(x - left, right - x)
    return float(np.clip(half, 1.15 * face_half_width, 1.8 * face_half_width))


def _spread(points: np.ndarray, min_distance: float) -> np.ndarray:
    """Keep points in order, dropping any closer than min_distance to one already kept."""
    kept = []
    for p in points:  # O(K^2) on ~100 points, once per portrait
        if all(np.hypot(*(p - q)) >= min_distance for q in kept):
            kept.append(p)
    return np.array(kept, dtype=np.float64)

