"""Head pose in rendered frames, measured by the real face stack (SFace identity, mesh pose)."""

import pytest

from idvid.face import cosine
from idvid.render import FrameControls


def _measure(face_analyzer, renderer, **controls):
    return face_analyzer.analyze(renderer.render(FrameControls(**controls)))


def test_neutral_is_the_same_person_and_pose(neutral_observation, astronaut_face):
    assert cosine(neutral_observation.embedding, astronaut_face.embedding) > 0.8
    for axis in ("yaw", "pitch", "roll"):
        assert abs(getattr(neutral_observation.pose, axis) - getattr(astronaut_face.pose, axis)) < 3.0, axis


@pytest.mark.parametrize("yaw", [20.0, -20.0])
def test_yaw_turns_the_head(face_analyzer, photo_renderer, neutral_observation, astronaut_face, yaw):
    turned = _measure(face_analyzer, photo_renderer, yaw=yaw)
    change = turned.pose.yaw - neutral_observation.pose.yaw
    assert change * yaw > 0 and abs(change) >= 10.0, change
    assert cosine(turned.embedding, astronaut_face.embedding) >= 0.5


@pytest.mark.parametrize("pitch", [15.0, -15.0])
def test_pitch_nods_the_head(face_analyzer, photo_renderer, neutral_observation, astronaut_face, pitch):
    nodded = _measure(face_analyzer, photo_renderer, pitch=pitch)
    change = nodded.pose.pitch - neutral_observation.pose.pitch
    assert change * pitch > 0 and abs(change) >= 8.0, change
    assert abs(nodded.pose.yaw - neutral_observation.pose.yaw) < 5.0
    assert cosine(nodded.embedding, astronaut_face.embedding) >= 0.5


@pytest.mark.parametrize("roll", [20.0, -20.0])
def test_roll_tilts_the_head_by_that_angle(face_analyzer, photo_renderer, neutral_observation, roll):
    tilted = _measure(face_analyzer, photo_renderer, roll=roll)
    assert tilted.pose.roll - neutral_observation.pose.roll == pytest.approx(roll, abs=4.0)


def test_rotation_is_clipped(photo_renderer):
    import numpy as np

    far = photo_renderer.render(FrameControls(yaw=80.0))
    limit = photo_renderer.render(FrameControls(yaw=35.0))
    np.testing.assert_array_equal(far, limit)


def test_second_photo_glasses_and_hat(face_analyzer):
    """Grace Hopper (glasses, a tall hat, her own photo's background): same person, turns."""
    from pathlib import Path

    from idvid.face import load_photo
    from idvid.render import Portrait, PortraitRenderer

    image = load_photo(Path(__file__).resolve().parents[2] / "assets" / "grace_hopper.jpg")
    reference = face_analyzer.analyze(image)
    renderer = PortraitRenderer(Portrait.from_observation(image, reference), (256, 256))
    neutral = face_analyzer.analyze(renderer.render())
    assert cosine(neutral.embedding, reference.embedding) > 0.8
    for yaw in (20.0, -20.0):
        turned = face_analyzer.analyze(renderer.render(FrameControls(yaw=yaw)))
        change = turned.pose.yaw - neutral.pose.yaw
        assert change * yaw > 0 and abs(change) >= 10.0, (yaw, change)
        assert cosine(turned.embedding, reference.embedding) >= 0.5


@pytest.mark.parametrize("delta", [(20.0, 0.0, 0.0), (0.0, 0.0, 15.0), (-15.0, 10.0, -10.0)])
def test_controls_add_to_the_head_angles_of_a_head_looking_down(astronaut_face, delta):
    """For a photo not facing the camera (here the astronaut's mesh pitched 25 degrees down and
    rolled 20), controls change yaw, pitch and roll by exactly their values, and a pure roll is
    an in-plane tilt (the camera's z axis stays put): what the evaluator measures and what keeps
    the face recognisable."""
    import numpy as np

    from idvid.face.pose import HeadPose, head_pose, pose_to_rotation
    from idvid.render.deform import pose_mesh
    from idvid.render.headframe import HeadFrame

    v = astronaut_face.vertices.astype(np.float64)
    centre = v.mean(axis=0)
    photo_pose = head_pose(v)
    tilt = pose_to_rotation(HeadPose(yaw=0.0, pitch=-25.0, roll=20.0)) @ pose_to_rotation(photo_pose).T
    looking_down = (v - centre) @ tilt.T + centre
    frame = HeadFrame.from_vertices(looking_down)
    before = head_pose(looking_down)
    yaw, pitch, roll = delta
    after = head_pose(pose_mesh(frame, looking_down, yaw, pitch, roll).rigid)
    assert after.yaw - before.yaw == pytest.approx(yaw, abs=0.5)
    assert after.pitch - before.pitch == pytest.approx(pitch, abs=0.5)
    assert after.roll - before.roll == pytest.approx(roll, abs=0.5)
    if delta == (0.0, 0.0, 15.0):
        np.testing.assert_allclose(frame.relative_rotation(*delta)[2], [0.0, 0.0, 1.0], atol=1e-9)


def test_shoulders_breathe_lean_into_a_turn_and_tilt_with_the_head(face_analyzer, astronaut_portrait):
    """Measured on a solid backdrop: the top of the shoulders on both sides of the neck, and the
    middle of the body below the chin."""
    import numpy as np

    from idvid.render import PortraitRenderer, SceneSpec
    from idvid.render.anchors import BREATH_PERIOD

    renderer = PortraitRenderer(astronaut_portrait, (256, 256), SceneSpec("solid", primary="blue"))
    neutral = renderer.render()
    x, y, w, h = face_analyzer.analyze(neutral).detection.box
    chin = int(y + h)

    def body(frame):
        person = np.abs(frame.astype(int) - neutral[2, 2]).sum(axis=2)[chin:] > 60
        tops = [chin + np.argmax(person[:, int(x + a * w):int(x + b * w)], axis=0).mean() for a, b in ((-0.9, -0.3), (1.3, 1.9))]
        middle = (person * np.arange(person.shape[1])).sum() / person.sum()
        return np.array(tops), middle

    (left, right), middle = body(neutral)
    (b_left, b_right), b_middle = body(renderer.render(t=BREATH_PERIOD / 2))  # a full breath in
    assert (b_left + b_right) / 2 < (left + right) / 2 - 1.0 and abs(b_middle - middle) < 1.0
    assert np.abs(face_analyzer.analyze(renderer.render(t=BREATH_PERIOD / 2)).detection.box - (x, y, w, h)).max() < 1.0
    for yaw in (35.0, -35.0):
        assert (body(renderer.render(FrameControls(yaw=yaw)))[1] - middle) * yaw > 3.0 * abs(yaw) / 35.0
    tilts = [np.subtract(*body(renderer.render(FrameControls(roll=roll)))[0][::-1]) - (right - left) for roll in (25.0, -25.0)]
    assert tilts[0] * tilts[1] < 0 and min(map(abs, tilts)) > 3.0
