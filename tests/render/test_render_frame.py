"""Framing, placement, camera, scenes, light and tracks of the renderer."""

import colorsys
import threading

import numpy as np
import pytest

from idvid.render import ControlTrack, FrameControls, PortraitRenderer, SceneSpec


def _box(face_analyzer, frame):
    """(cx, cy, height) of the detected face box."""
    x, y, w, h = face_analyzer.analyze(frame).detection.box
    return np.array([x + w / 2, y + h / 2, h])


@pytest.fixture(scope="module")
def neutral_box(face_analyzer, neutral_frame):
    return _box(face_analyzer, neutral_frame)


def test_framing_centres_the_face(neutral_observation, neutral_frame):
    v = neutral_observation.vertices
    assert neutral_frame.shape == (256, 256, 3) and neutral_frame.dtype == np.uint8
    assert abs(v[[10, 152], 0].mean() - 128) < 8
    assert 0.33 < np.linalg.norm(v[10, :2] - v[152, :2]) / 256 < 0.43


def test_photo_scene_keeps_the_background(photo_renderer, neutral_frame):
    import cv2

    p = photo_renderer.portrait
    framed = cv2.warpAffine(p.image, photo_renderer.stage_from_photo, (256, 256), flags=cv2.INTER_AREA)
    edge = np.zeros((256, 256), bool)
    edge[:, :20] = edge[:, -20:] = edge[:20, :] = True
    assert np.abs(neutral_frame[edge].astype(int) - framed[edge]).mean() < 4
    assert np.abs(neutral_frame.astype(int) - framed).mean() < 4  # neutral ~ the framed photo


@pytest.mark.parametrize(
    ("controls", "expected"),
    [
        ({"tx": 0.3}, (0.3, 0.0, 1.0)),
        ({"ty": -0.2}, (0.0, -0.2, 1.0)),
        ({"scale": 1.25}, (0.0, 0.0, 1.25)),
    ],
)
def test_placement_moves_and_scales_the_face(face_analyzer, photo_renderer, neutral_box, controls, expected):
    box = _box(face_analyzer, photo_renderer.render(FrameControls(**controls)))
    dx, dy, scale = expected
    face = photo_renderer.face_height
    assert box[0] - neutral_box[0] == pytest.approx(dx * face, abs=4)
    assert box[1] - neutral_box[1] == pytest.approx(dy * face, abs=6 if scale != 1 else 4)
    assert box[2] / neutral_box[2] == pytest.approx(scale, rel=0.06)


def test_camera_zoom_and_pan(face_analyzer, photo_renderer, neutral_box):
    zoomed = _box(face_analyzer, photo_renderer.render(FrameControls(zoom=1.3)))
    assert zoomed[2] / neutral_box[2] == pytest.approx(1.3, rel=0.06)
    panned = _box(face_analyzer, photo_renderer.render(FrameControls(pan_x=0.1, pan_y=-0.05)))
    assert panned[0] - neutral_box[0] == pytest.approx(-0.1 * 256, abs=4)  # camera right: content left
    assert panned[1] - neutral_box[1] == pytest.approx(0.05 * 256, abs=4)


def test_pan_moves_the_scene_too(astronaut_portrait):
    renderer = PortraitRenderer(astronaut_portrait, (128, 128), SceneSpec("checker"))
    still = renderer.render()
    panned = renderer.render(FrameControls(pan_x=0.125))
    # The checker's top-left corner (background) moved left by 16 px with the camera.
    np.testing.assert_allclose(panned[:12, :40].astype(float), still[:12, 16:56].astype(float), atol=2)


def test_solid_blue_scene_behind_the_person(astronaut_portrait):
    renderer = PortraitRenderer(astronaut_portrait, (256, 256), SceneSpec("solid", primary="blue"))
    frame = renderer.render(FrameControls(yaw=15))
    corners = np.concatenate([frame[:30, :30].reshape(-1, 3), frame[:30, -30:].reshape(-1, 3)])
    for rgb in corners[::37]:
        hue = 360 * colorsys.rgb_to_hsv(*(rgb / 255))[0]
        assert 205 < hue < 240, rgb


def test_light_controls(photo_renderer, neutral_frame, neutral_observation):
    face = neutral_observation.detection.box.astype(int)
    x, y, w, h = face
    region = (slice(y, y + h), slice(x, x + w))

    def mean(frame, part=region):
        return frame[part].reshape(-1, 3).astype(float).mean(axis=0)

    dark = photo_renderer.render(FrameControls(light_gain=0.5))
    assert mean(dark).sum() == pytest.approx(0.5 * mean(neutral_frame).sum(), rel=0.03)
    warm = mean(photo_renderer.render(FrameControls(light_warmth=1.0)))
    cool = mean(photo_renderer.render(FrameControls(light_warmth=-1.0)))
    base = mean(neutral_frame)
    assert warm[0] / warm[2] > 1.2 * base[0] / base[2] > 1.2 * cool[0] / cool[2]
    lit_right = photo_renderer.render(FrameControls(light_dir=1.0))
    left, right = (slice(y, y + h), slice(x, x + w // 3)), (slice(y, y + h), slice(x + 2 * w // 3, x + w))
    ratio = (mean(lit_right, right) / mean(neutral_frame, right)).mean() / (
        mean(lit_right, left) / mean(neutral_frame, left)
    ).mean()
    assert ratio > 1.05


def test_render_track_shape_determinism_and_progress(astronaut_portrait):
    renderer = PortraitRenderer(astronaut_portrait, (96, 128), SceneSpec("beach"))
    track = ControlTrack.from_controls([FrameControls(yaw=5.0 * i, smile=i / 4, blink=float(i == 2)) for i in range(5)])
    calls = []
    video = renderer.render_track(track, progress=lambda done, total: calls.append((done, total)))
    assert video.shape == (5, 96, 128, 3) and video.dtype == np.uint8
    assert calls == [(i, 5) for i in range(1, 6)]
    np.testing.assert_array_equal(video, renderer.render_track(track))
    assert np.abs(video[0].astype(int) - video[4]).mean() > 2  # it moves


def test_frames_drawn_in_parallel_equal_frames_drawn_one_by_one(astronaut_portrait, tmp_path):
    """Threads draw frames ahead of the reader; a video backdrop is still read in order, an
    animated scene (rain) still moves with time, and a reader that stops early leaves no thread."""
    from idvid.render.backdrop import open_backdrop
    from idvid.video import write_video

    greys = np.linspace(0, 250, 7).astype(np.uint8)
    clip = write_video(np.stack([np.full((48, 64, 3), g, np.uint8) for g in greys]), tmp_path / "bg.mp4", fps=8)
    track = ControlTrack.from_controls([FrameControls(yaw=3.0 * i, mouth_open=i / 12, light_dir=0.5) for i in range(12)])
    def renderer(scene, backdrop=None):
        return PortraitRenderer(astronaut_portrait, (64, 96), scene,
                                backdrop=None if backdrop is None else open_backdrop(backdrop, (64, 96)))

    calls = []
    for scene, backdrop in ((SceneSpec("city", weather="rain"), None), (SceneSpec("photo"), clip)):
        one = np.stack(list(renderer(scene, backdrop).iter_frames(track, threads=1)))
        calls.clear()
        several = renderer(scene, backdrop).iter_frames(track, progress=lambda done, _: calls.append(done), threads=3)
        np.testing.assert_array_equal(np.stack(list(several)), one)
        assert calls == list(range(1, 13))
        assert np.abs(one[0].astype(int) - one[-1]).mean() > 2
    stopped = renderer(SceneSpec("beach")).iter_frames(track, threads=3)
    next(stopped)
    stopped.close()
    assert not [t for t in threading.enumerate() if t.name.startswith("idvid-render")]


def test_rain_and_snow_fall_in_front_of_the_person(face_analyzer, astronaut_portrait):
    """The middle of the face changes from one moment to the next only by what falls over it."""
    def middle_of_face(renderer, t):
        x, y, w, h = (int(v) for v in face_analyzer.analyze(renderer.render()).detection.box)
        return renderer.render(t=t)[y + h // 4:y + 3 * h // 4, x + w // 4:x + 3 * w // 4].astype(int)

    for weather in ("rain", "snow"):
        renderer = PortraitRenderer(astronaut_portrait, (256, 256), SceneSpec("city", weather=weather))
        change = np.abs(middle_of_face(renderer, 0.0) - middle_of_face(renderer, 0.4)).max(axis=2)
        assert (change > 20).mean() > 0.002, weather  # unchanged (0) when it fell behind only
    clear = PortraitRenderer(astronaut_portrait, (256, 256), SceneSpec("city"))
    np.testing.assert_array_equal(middle_of_face(clear, 0.0), middle_of_face(clear, 0.4))


def test_portrait_aspect_output(face_analyzer, astronaut_portrait):
    renderer = PortraitRenderer(astronaut_portrait, (360, 240), SceneSpec("studio"))
    frame = renderer.render()
    assert frame.shape == (360, 240, 3)
    cx, _, h = _box(face_analyzer, frame)
    assert abs(cx - 120) < 10 and 0.25 < h / 360 < 0.5


def test_bad_input_raises(astronaut_portrait, photo_renderer):
    with pytest.raises(ValueError, match="at least 32"):
        PortraitRenderer(astronaut_portrait, (16, 256))
    with pytest.raises(ValueError, match="finite"):
        photo_renderer.render(FrameControls(yaw=float("nan")))


def test_extreme_controls_stay_in_range(photo_renderer):
    wild = FrameControls(yaw=90, pitch=-60, roll=45, smile=3, mouth_open=2, blink=5, brow_raise=-4, zoom=0.3, scale=3)
    frame = photo_renderer.render(wild)
    assert frame.shape == (256, 256, 3) and frame.dtype == np.uint8
    limit = FrameControls(yaw=35, pitch=-25, roll=30, smile=1, mouth_open=1, blink=1, brow_raise=-1, zoom=0.3, scale=3)
    np.testing.assert_array_equal(frame, photo_renderer.render(limit))  # clipped to the limits
