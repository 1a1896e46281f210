"""Head pose from the mesh: conventions (HeadPose docstring) checked on real photos and meshes."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from idvid.face import HeadPose
from idvid.face.pose import head_pose, pose_to_rotation, rotation_to_pose


def _rotate_clockwise(image: np.ndarray, degrees: float) -> np.ndarray:
    """Rotate the photo about its centre, clockwise as seen on screen (OpenCV's angle is CCW)."""
    h, w = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), -degrees, 1.0)
    return cv2.warpAffine(image, matrix, (w, h), borderMode=cv2.BORDER_REFLECT)


def _rotate_mesh(vertices: np.ndarray, pose: HeadPose) -> np.ndarray:
    """Turn a mesh about its centroid by the rotation that `pose` describes."""
    centre = vertices.mean(0)
    return (vertices - centre) @ pose_to_rotation(pose).T + centre


@pytest.mark.parametrize(
    "pose", [HeadPose(0, 0, 0), HeadPose(30, -10, 5), HeadPose(-50, 25, -40), HeadPose(10, 60, 170)]
)
def test_rotation_round_trip(pose):
    back = rotation_to_pose(pose_to_rotation(pose))
    np.testing.assert_allclose([back.yaw, back.pitch, back.roll], [pose.yaw, pose.pitch, pose.roll], atol=1e-9)


@pytest.mark.parametrize("which", ["astronaut", "grace"])
def test_mirror_flips_yaw_and_roll(which, analyzer, request):
    image = request.getfixturevalue(which)
    # Tilt first so roll is large enough for its sign to mean something.
    tilted = _rotate_clockwise(image, 15)
    pose = analyzer.analyze(tilted).pose
    mirrored = analyzer.analyze(np.ascontiguousarray(tilted[:, ::-1])).pose
    assert pose.roll > 10 and mirrored.roll < -10
    assert abs(pose.roll + mirrored.roll) < 3
    assert abs(pose.yaw + mirrored.yaw) < 4
    assert abs(pose.pitch - mirrored.pitch) < 4  # nodding is mirror-symmetric


@pytest.mark.parametrize("which", ["astronaut", "grace"])
@pytest.mark.parametrize("degrees", [20, -20])
def test_in_plane_rotation_changes_roll(which, degrees, analyzer, request):
    image = request.getfixturevalue(which)
    base = request.getfixturevalue(f"{which}_obs").pose
    turned = analyzer.analyze(_rotate_clockwise(image, degrees)).pose
    assert turned.roll - base.roll == pytest.approx(degrees, abs=3.5)
    assert abs(turned.yaw - base.yaw) < 3 and abs(turned.pitch - base.pitch) < 4


def test_yaw_and_pitch_signs_on_a_turned_mesh(astronaut_obs):
    vertices = astronaut_obs.vertices.astype(np.float64)
    base = head_pose(vertices)
    nose = 1

    left = _rotate_mesh(vertices, HeadPose(yaw=25, pitch=0, roll=0))
    assert head_pose(left).yaw - base.yaw == pytest.approx(25, abs=2)
    assert left[nose, 0] > vertices[nose, 0]  # turning to its own left moves the nose to image right

    up = _rotate_mesh(vertices, HeadPose(yaw=0, pitch=20, roll=0))
    assert head_pose(up).pitch - base.pitch == pytest.approx(20, abs=2)
    assert up[nose, 1] < vertices[nose, 1]  # tilting up moves the nose up the image


def test_pose_ignores_translation_and_scale(astronaut_obs):
    vertices = astronaut_obs.vertices.astype(np.float64)
    moved = 2.5 * vertices + np.array([300.0, -40.0, 7.0])
    a, b = head_pose(vertices), head_pose(moved)
    np.testing.assert_allclose([a.yaw, a.pitch, a.roll], [b.yaw, b.pitch, b.roll], atol=1e-9)
