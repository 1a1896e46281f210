"""Head pose (yaw, pitch, roll) read from the dense mesh itself.

MediaPipe's canonical face model is not shipped offline, so there is no reference shape to
fit. Instead the face's own axes are built from landmark groups:

- x (the face's right-to-left ear direction, image left to right when frontal): the mean of
  the vectors between bilaterally symmetric landmark pairs. This is the normal of the face's
  plane of symmetry and uses many rigid points, so it barely moves with expression.
- y (down the face): from the forehead (10, 151, 9, 8) to the nose base (2, 164), made
  orthogonal to x. This line is close to vertical in the natural head position (nasion and
  subnasale sit on the same vertical); forehead-to-chin is not (it reads ~10 degrees
  nose-down on frontal photos) and the chin moves with the jaw.
- z = x cross y, into the head.

The rotation R = [x | y | z] (camera frame: x right, y down, z away) is split as
R = Rz(roll) @ Ry(-yaw) @ Rx(-pitch); roll is the last, in-plane factor, so rotating the
photo by an angle adds exactly that angle to roll.
"""

from __future__ import annotations

import numpy as np

from idvid.face.landmarks import FOREHEAD_MIDLINE, NOSE_BASE, SYMMETRIC_PAIRS
from idvid.face.observation import HeadPose


def face_axes(vertices: np.ndarray) -> np.ndarray:
    """vertices: (478, 3) or (468, 3) mesh (x, y, z with z away from the camera)
    -> (3, 3) rotation whose columns are the face's x, y, z axes in camera coordinates."""
    v = np.asarray(vertices, dtype=np.float64)
    pairs = np.array(SYMMETRIC_PAIRS)
    right, left = v[pairs[:, 0]], v[pairs[:, 1]]
    x = (left - right).mean(axis=0)
    x /= np.linalg.norm(x)
    down = v[list(NOSE_BASE)].mean(axis=0) - v[list(FOREHEAD_MIDLINE)].mean(axis=0)
    y = down - (down @ x) * x  # Gram-Schmidt: keep only the part orthogonal to x
    y /= np.linalg.norm(y)
    z = np.cross(x, y)
    return np.stack([x, y, z], axis=1)


def rotation_to_pose(rotation: np.ndarray) -> HeadPose:
    """(3, 3) head rotation (columns = face axes in camera coordinates) -> HeadPose in degrees."""
    r = np.asarray(rotation, dtype=np.float64)
    yaw = np.degrees(np.arcsin(np.clip(r[2, 0], -1.0, 1.0)))
    pitch = -np.degrees(np.arctan2(r[2, 1], r[2, 2]))
    roll = np.degrees(np.arctan2(r[1, 0], r[0, 0]))
    return HeadPose(yaw=float(yaw), pitch=float(pitch), roll=float(roll))


def pose_to_rotation(pose: HeadPose) -> np.ndarray:
    """HeadPose -> (3, 3) rotation, the inverse of :func:`rotation_to_pose`."""
    yaw, pitch, roll = np.radians([pose.yaw, pose.pitch, pose.roll])
    return _rz(roll) @ _ry(-yaw) @ _rx(-pitch)


def head_pose(vertices: np.ndarray) -> HeadPose:
    """(478, 3) mesh in photo pixels -> head yaw, pitch, roll in degrees (see HeadPose)."""
    return rotation_to_pose(face_axes(vertices))


def _rx(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def _ry(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def _rz(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
