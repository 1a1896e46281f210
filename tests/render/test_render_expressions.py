"""Expressions in rendered frames, measured on the re-detected face mesh."""

import numpy as np
import pytest
from render_helpers import eye_aspect, face_height

from idvid.render import FrameControls


@pytest.fixture(scope="module")
def measure(face_analyzer, photo_renderer):
    def run(**controls):
        return face_analyzer.analyze(photo_renderer.render(FrameControls(**controls))).vertices

    return run


def test_blink_closes_the_eyes(measure, neutral_observation):
    neutral = eye_aspect(neutral_observation.vertices)
    half = eye_aspect(measure(blink=0.5))
    closed = eye_aspect(measure(blink=1.0))
    assert closed < 0.7 * neutral, (neutral, closed)
    assert closed < half < neutral


def test_mouth_open_parts_the_lips(measure, neutral_observation):
    def gap(v):
        return float(np.linalg.norm(v[13, :2] - v[14, :2])) / face_height(v)

    opened = measure(mouth_open=1.0)
    assert gap(opened) > gap(neutral_observation.vertices) + 0.04


def test_smile_widens_the_mouth(measure, neutral_observation):
    def width(v):
        return float(np.linalg.norm(v[61, :2] - v[291, :2])) / face_height(v)

    assert width(measure(smile=1.0)) > 1.08 * width(neutral_observation.vertices)


def test_brow_raise_lifts_the_brows(measure, neutral_observation):
    def brow_height(v):
        return float(v[[33, 133, 263, 362], 1].mean() - v[[105, 66, 334, 296], 1].mean()) / face_height(v)

    neutral = brow_height(neutral_observation.vertices)
    assert brow_height(measure(brow_raise=1.0)) > neutral + 0.015
    assert brow_height(measure(brow_raise=-1.0)) < neutral - 0.005


def test_open_mouth_is_dark_inside(photo_renderer):
    from idvid.render.deform import pose_mesh
    from idvid.render.framing import apply_affine

    frame = photo_renderer.render(FrameControls(mouth_open=1.0)).astype(float)
    p = photo_renderer.portrait
    posed = pose_mesh(p.head, p.vertices, mouth_open=1.0)
    centre = apply_affine(photo_renderer.stage_from_photo, posed.vertices[[13, 14], :2]).mean(axis=0)
    x, y = np.round(centre).astype(int)
    assert frame[y - 1 : y + 2, x - 2 : x + 3].mean() < 80  # the cavity, not teeth or lips
