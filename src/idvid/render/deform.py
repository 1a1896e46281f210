"""The target face mesh of one frame: expressions, head rotation about the pivot, visibility.

Rotations and expressions are clamped to the renderer's ranges,
:data:`idvid.render.controls.CONTROL_RANGES` (past those head angles the far side folds over).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from idvid.render.controls import clamp_control
from idvid.render.expressions import expression_offsets
from idvid.render.headframe import HeadFrame

# A vertex is visible when its normal's z (z points away from the camera) is below these.
# The photo is lenient: silhouette vertices (normal side-on) are exactly the face's edge
# there and their pixels exist. The target is strict: a vertex turning away must not pull
# pixels onto the far side's fold.
SOURCE_FACING = 0.15
FACING = -0.05
OCCLUSION_CELL = 0.025  # z-buffer cell, fraction of face height
OCCLUSION_TOLERANCE = (
    0.2  # depth margin, fraction of face height: steep silhouettes pass, the cheek behind a nose does not
)


@dataclass(frozen=True)
class PosedMesh:
    """One frame's face.

    vertices: (478, 3) target mesh, photo pixels (before any framing).
    rigid: (478, 3) the same head motion without the expressions (what the neck follows).
    visible: (478,) bool, True where the vertex faces the camera and is not hidden behind
        another part of the face, in both the photo and the target (only such vertices may
        drive the warp).
    motion: (3, 3) rotation M applied about ``pivot``; centre: (3,) moved skull centre.
    roll: in-plane rotation of the head in the image, degrees (> 0 clockwise).
    """

    vertices: np.ndarray
    rigid: np.ndarray
    visible: np.ndarray
    motion: np.ndarray
    centre: np.ndarray
    roll: float


def pose_mesh(
    frame: HeadFrame,
    vertices: np.ndarray,
    yaw: float = 0.0,
    pitch: float = 0.0,
    roll: float = 0.0,
    smile: float = 0.0,
    mouth_open: float = 0.0,
    blink: float = 0.0,
    brow_raise: float = 0.0,
    source_visible: np.ndarray | None = None,
) -> PosedMesh:
    """frame: the photo's head frame; vertices: (478, 3) photo mesh -> the frame's PosedMesh.

    Steps: 1. expressions in the face frame; 2. rotate about the pivot by the relative
    rotation (composed in the head's frame); 3. visibility by normals and a coarse z-buffer.
    Rotations and expressions are clamped to CONTROL_RANGES.
    source_visible: (478,) bool from :func:`visible_vertices` on the photo (computed if None).
    """
    yaw, pitch, roll = (clamp_control(n, v) for n, v in (("yaw", yaw), ("pitch", pitch), ("roll", roll)))
    smile, mouth_open, blink, brow_raise = (
        clamp_control(n, v)
        for n, v in (("smile", smile), ("mouth_open", mouth_open), ("blink", blink), ("brow_raise", brow_raise))
    )
    v = np.asarray(vertices, dtype=np.float64)
    # 1. expressions
    face = frame.to_face(v)
    offsets = expression_offsets(frame, face, smile, mouth_open, blink, brow_raise)
    expressed = v + offsets @ frame.rotation.T
    # 2. rigid head motion about the pivot
    motion = frame.relative_rotation(yaw, pitch, roll)
    posed = (expressed - frame.pivot) @ motion.T + frame.pivot
    rigid = (v - frame.pivot) @ motion.T + frame.pivot
    centre = motion @ (frame.centre - frame.pivot) + frame.pivot
    # In-plane angle the face's x axis turns through in the image.
    x_before, x_after = frame.rotation[:2, 0], (motion @ frame.rotation)[:2, 0]
    in_plane = np.degrees(np.arctan2(x_after[1], x_after[0]) - np.arctan2(x_before[1], x_before[0]))
    in_plane = float((in_plane + 180.0) % 360.0 - 180.0)
    # 3. visibility: in the target, and in the photo (where the pixels come from)
    if source_visible is None:
        source_visible = visible_vertices(v, frame.normals, frame.face_height, SOURCE_FACING)
    target = visible_vertices(posed, frame.normals @ motion.T, frame.face_height, FACING)
    return PosedMesh(
        posed.astype(np.float32), rigid.astype(np.float32), target & source_visible, motion, centre, in_plane
    )


def visible_vertices(
    vertices: np.ndarray, normals: np.ndarray, face_height: float, facing_limit: float = SOURCE_FACING
) -> np.ndarray:
    """vertices, normals: (N, 3) camera frame -> (N, bool) visible from the camera.

    A vertex is visible when its normal's z is below facing_limit and no other facing vertex
    in its z-buffer cell is clearly nearer (e.g. the far cheek behind the nose on a turned
    head). Iris points (zero normals) count as facing; the warp never uses them.
    """
    v = np.asarray(vertices, dtype=np.float64)
    facing = normals[:, 2] < facing_limit
    cell = OCCLUSION_CELL * face_height
    ij = np.floor(v[:, :2] / cell).astype(np.int64)
    ij -= ij.min(axis=0)
    key = ij[:, 0] * (int(ij[:, 1].max()) + 1) + ij[:, 1]
    nearest = np.full(int(key.max()) + 1, np.inf)
    np.minimum.at(nearest, key[facing], v[facing, 2])
    unoccluded = v[:, 2] <= nearest[key] + OCCLUSION_TOLERANCE * face_height
    return facing & unoccluded
