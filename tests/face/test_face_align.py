"""Five-point similarity alignment and the cosine helper."""

from __future__ import annotations

import numpy as np
import pytest

from idvid.face import cosine
from idvid.face.align import ALIGNED_CROP_SIZE, ARCFACE_TEMPLATE_112, align_face, similarity_matrix, template


def _similarity(angle_deg: float, scale: float, shift) -> np.ndarray:
    a = np.radians(angle_deg)
    rot = scale * np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return np.hstack([rot, np.asarray(shift, float)[:, None]])


def test_template_scales():
    np.testing.assert_allclose(template(112), ARCFACE_TEMPLATE_112)
    np.testing.assert_allclose(template(224), 2 * ARCFACE_TEMPLATE_112)


def test_similarity_matrix_recovers_a_known_transform():
    src = template(112)
    truth = _similarity(30.0, 2.5, (40.0, -7.0))
    dst = src @ truth[:, :2].T + truth[:, 2]
    np.testing.assert_allclose(similarity_matrix(src, dst), truth, atol=1e-9)


def test_align_face_puts_landmarks_on_the_template():
    # Photo: five bright dots where a rotated, scaled face's landmarks would be.
    to_photo = _similarity(-25.0, 1.7, (120.0, 60.0))
    landmarks = template(112) @ to_photo[:, :2].T + to_photo[:, 2]
    photo = np.zeros((400, 400, 3), np.uint8)
    for x, y in np.rint(landmarks).astype(int):
        photo[y - 1 : y + 2, x - 1 : x + 2] = 255
    crop, matrix = align_face(photo, landmarks, ALIGNED_CROP_SIZE)
    assert crop.shape == (ALIGNED_CROP_SIZE, ALIGNED_CROP_SIZE, 3) and matrix.shape == (2, 3)
    for x, y in np.rint(template(ALIGNED_CROP_SIZE)).astype(int):
        assert crop[y - 2 : y + 3, x - 2 : x + 3].max() > 100
    np.testing.assert_allclose(landmarks @ matrix[:, :2].T + matrix[:, 2], template(ALIGNED_CROP_SIZE), atol=1e-6)


def test_align_real_face_is_close_to_template(astronaut_obs):
    lm = astronaut_obs.detection.landmarks
    _, matrix = align_face(np.zeros((512, 512, 3), np.uint8), lm, 112)
    mapped = lm @ matrix[:, :2].T + matrix[:, 2]
    assert np.abs(mapped - template(112)).max() < 5  # a real face fits the template to a few px


@pytest.mark.parametrize("a, b, expected", [([1, 0], [1, 0], 1.0), ([1, 0], [0, 2], 0.0), ([1, 1], [-2, -2], -1.0)])
def test_cosine(a, b, expected):
    assert cosine(np.array(a, float), np.array(b, float)) == pytest.approx(expected)
