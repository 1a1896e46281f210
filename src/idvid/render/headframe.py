"""The head as a rigid body: its frame, pivot, size and surface normals (fixed per photo).

Coordinates are photo pixels, x right, y down, z away from the camera (MediaPipe's
convention, z on the same scale as x). The face frame R0 (columns = the face's x, y, z axes
in camera coordinates) comes from :func:`idvid.face.pose.face_axes`. Relative rotations add to
the photo's own yaw, pitch and roll (:class:`HeadPose` angles), so a requested change is the
change the evaluator measures, whatever the photo's pose.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from idvid.face.landmarks import (
    CHIN_BOTTOM,
    FOREHEAD_TOP,
    LEFT_FACE_SIDE,
    RIGHT_FACE_SIDE,
    mesh_triangles,
)
from idvid.face.observation import HeadPose
from idvid.face.pose import face_axes, pose_to_rotation, rotation_to_pose

# Pivot of head rotations in the face frame, as fractions of face height (y) and width (z),
# from the midpoint of the face contour at eye level: down towards the top of the neck and
# back towards the spine. The skull's centre (what the hair outline follows) sits above it.
PIVOT_DOWN, PIVOT_BACK = 0.3, 0.12
CENTRE_DOWN, CENTRE_BACK = -0.05, 0.25


@dataclass(frozen=True)
class HeadFrame:
    """Rigid-head facts about one photo.

    rotation: (3, 3) face axes in camera coordinates (the photo's pose).
    origin: (3,) midpoint of the face contour at eye level (landmarks 234, 454).
    pivot: (3,) point the head rotates about (top of the neck, behind the face).
    centre: (3,) centre of the skull (the head outline moves with it).
    face_height: forehead-top (10) to chin (152), pixels; face_width: 234 to 454, pixels.
    normals: (478, 3) unit outward vertex normals in camera coordinates (irises: zeros).
    """

    rotation: np.ndarray
    origin: np.ndarray
    pivot: np.ndarray
    centre: np.ndarray
    face_height: float
    face_width: float
    normals: np.ndarray

    @classmethod
    def from_vertices(cls, vertices: np.ndarray) -> HeadFrame:
        """vertices: (478, 3) mesh in photo pixels."""
        v = np.asarray(vertices, dtype=np.float64)
        rotation = face_axes(v)
        origin = 0.5 * (v[RIGHT_FACE_SIDE] + v[LEFT_FACE_SIDE])
        height = float(np.linalg.norm(v[CHIN_BOTTOM] - v[FOREHEAD_TOP]))
        width = float(np.linalg.norm(v[LEFT_FACE_SIDE] - v[RIGHT_FACE_SIDE]))
        pivot = origin + rotation @ np.array([0.0, PIVOT_DOWN * height, PIVOT_BACK * width])
        centre = origin + rotation @ np.array([0.0, CENTRE_DOWN * height, CENTRE_BACK * width])
        return cls(rotation, origin, pivot, centre, height, width, vertex_normals(v, centre))

    def to_face(self, points: np.ndarray) -> np.ndarray:
        """(N, 3) camera-frame points -> (N, 3) face-frame coordinates about `origin`."""
        return (np.asarray(points, dtype=np.float64) - self.origin) @ self.rotation

    def from_face(self, points: np.ndarray) -> np.ndarray:
        """(N, 3) face-frame coordinates -> (N, 3) camera-frame points (inverse of to_face)."""
        return np.asarray(points, dtype=np.float64) @ self.rotation.T + self.origin

    def relative_rotation(self, yaw: float, pitch: float, roll: float) -> np.ndarray:
        """(3, 3) camera-frame rotation M adding (yaw, pitch, roll) degrees to the photo's head
        angles: the new head axes are R(pose0 + delta) = M @ R0.

        Why angles and not the head's own frame: roll is then an in-plane tilt, and a turn of a
        head that looks down swivels about the neck instead of sliding the face sideways and
        down, which exposed the far side the photo does not show."""
        pose = rotation_to_pose(self.rotation)
        target = HeadPose(yaw=pose.yaw + yaw, pitch=pose.pitch + pitch, roll=pose.roll + roll)
        return pose_to_rotation(target) @ self.rotation.T


def vertex_normals(vertices: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """vertices: (478, 3); centre: (3,) a point inside the head -> (478, 3) unit outward normals.

    Why orient by the centre: the tessellation's winding is not given, but the face is a
    convex-ish shell around the skull, so "outward" is "away from the centre".
    """
    v = np.asarray(vertices, dtype=np.float64)
    tri = mesh_triangles()
    a, b, c = v[tri[:, 0]], v[tri[:, 1]], v[tri[:, 2]]
    n = np.cross(b - a, c - a)  # length = 2 x area: big triangles weigh more
    outward = (a + b + c) / 3.0 - centre
    n *= np.sign(np.einsum("ij,ij->i", n, outward))[:, None]
    normals = np.zeros_like(v)
    for k in range(3):
        np.add.at(normals, tri[:, k], n)
    length = np.linalg.norm(normals, axis=1, keepdims=True)
    return np.where(length > 0, normals / np.maximum(length, 1e-12), 0.0)
