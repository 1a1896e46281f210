"""FaceAnalyzer on the real photos with the real models: observations, choosing a face, sets."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image

from idvid.errors import FaceError
from idvid.face import SAME_PERSON_THRESHOLD, FaceObservation, cosine
from idvid.face.align import ALIGNED_CROP_SIZE


def assert_near_frontal(pose) -> None:
    assert abs(pose.yaw) < 15, pose
    assert abs(pose.pitch) < 20, pose
    assert abs(pose.roll) < 15, pose


def _resize(image: np.ndarray, scale: float) -> np.ndarray:
    h, w = image.shape[:2]
    return cv2.resize(image, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)


def _canvas(height: int, width: int) -> np.ndarray:
    return np.full((height, width, 3), 128, np.uint8)


@pytest.mark.parametrize("which", ["astronaut", "grace"])
def test_one_frontal_face(which, analyzer, request, astronaut_path, grace_path):
    path = astronaut_path if which == "astronaut" else grace_path
    image = request.getfixturevalue(which)
    obs: FaceObservation = request.getfixturevalue(f"{which}_obs")

    assert len(analyzer.detect(path)) == 1
    assert obs.source == str(path)
    assert obs.image_size == image.shape[:2]
    assert_near_frontal(obs.pose)
    assert obs.crop.shape == (ALIGNED_CROP_SIZE, ALIGNED_CROP_SIZE, 3) and obs.crop.dtype == np.uint8
    assert obs.embedding.shape == (128,) and obs.embedding.dtype == np.float32
    assert abs(np.linalg.norm(obs.embedding) - 1.0) < 1e-5
    assert 0.5 < obs.quality <= 1.0

    # The mesh lies on the face: all 478 points inside the (slightly grown) detection box.
    assert obs.vertices.shape == (478, 3) and obs.vertices.dtype == np.float32
    x, y, w, h = obs.detection.box
    pad = 0.15 * max(w, h)
    xy = obs.vertices[:, :2]
    assert np.all((xy[:, 0] > x - pad) & (xy[:, 0] < x + w + pad))
    assert np.all((xy[:, 1] > y - pad) & (xy[:, 1] < y + h + pad))
    # Its nose tip (mesh 1) is YuNet's nose landmark.
    assert np.linalg.norm(xy[1] - obs.detection.landmarks[2]) < 0.1 * w
    # z shares x's pixel scale: face depth is a fraction of face width, not ~1 or ~1000.
    depth = np.ptp(obs.vertices[:, 2])
    assert 0.3 * w < depth < 1.5 * w


def test_mirror_is_same_person_and_others_differ(analyzer, astronaut, astronaut_obs, grace_obs):
    mirrored = analyzer.analyze(astronaut[:, ::-1])
    assert mirrored.source is None
    assert cosine(astronaut_obs.embedding, mirrored.embedding) > SAME_PERSON_THRESHOLD
    assert cosine(astronaut_obs.embedding, grace_obs.embedding) < SAME_PERSON_THRESHOLD


def test_analyze_set_same_person(analyzer, astronaut_path, astronaut):
    observations = analyzer.analyze_set([astronaut_path, astronaut[:, ::-1]])
    assert len(observations) == 2
    assert observations[0].source == str(astronaut_path) and observations[1].source is None


def test_analyze_set_names_the_photo_without_a_face(analyzer, astronaut):
    with pytest.raises(FaceError, match=r"no face found in photos\[1\]"):
        analyzer.analyze_set([astronaut, _canvas(200, 200)])


def test_analyze_set_different_people(analyzer, astronaut_path, grace_path):
    with pytest.raises(FaceError) as info:
        analyzer.analyze_set([astronaut_path, grace_path])
    message = str(info.value)
    assert f"photos {astronaut_path} and {grace_path} do not look like the same person" in message
    assert f"< {SAME_PERSON_THRESHOLD}" in message and "\n" not in message


def test_two_similar_faces_need_an_index(analyzer, side_by_side):
    faces = analyzer.detect(side_by_side)
    assert len(faces) == 2
    assert faces[0].box[0] < faces[1].box[0]
    expected = r"found 2 faces of similar size in the photo; pick one with --face-index 0\.\.1 \(numbered left"
    with pytest.raises(FaceError, match=expected):
        analyzer.analyze(side_by_side)


def test_face_index_picks_left_and_right(analyzer, side_by_side, astronaut_obs, grace_obs):
    left = analyzer.analyze(side_by_side, face_index=0)
    right = analyzer.analyze(side_by_side, face_index=1)
    assert cosine(left.embedding, astronaut_obs.embedding) > SAME_PERSON_THRESHOLD
    assert cosine(left.embedding, grace_obs.embedding) < SAME_PERSON_THRESHOLD
    assert cosine(right.embedding, grace_obs.embedding) > SAME_PERSON_THRESHOLD
    assert cosine(right.embedding, astronaut_obs.embedding) < SAME_PERSON_THRESHOLD
    assert right.vertices[:, 0].min() > 256  # the mesh followed the chosen face


@pytest.mark.parametrize("index", [2, -1])
def test_face_index_out_of_range(analyzer, side_by_side, index):
    with pytest.raises(FaceError, match=r"--face-index .* out of range .* 2 face\(s\), numbered 0\.\.1 left to right"):
        analyzer.analyze(side_by_side, face_index=index)


def test_big_face_wins_over_small(analyzer, astronaut, grace, astronaut_obs, grace_obs):
    big = cv2.resize(astronaut, (768, 768), interpolation=cv2.INTER_CUBIC)  # face ~135 x 170 px
    small = _resize(grace, 0.42)  # her face ~72 x 90 px: about a third of the area
    canvas = _canvas(768, 768 + small.shape[1])
    canvas[:, :768] = big
    canvas[: small.shape[0], 768:] = small
    assert len(analyzer.detect(canvas)) == 2
    default = analyzer.analyze(canvas)
    assert cosine(default.embedding, astronaut_obs.embedding) > SAME_PERSON_THRESHOLD
    other = analyzer.analyze(canvas, face_index=1)
    assert cosine(other.embedding, grace_obs.embedding) > SAME_PERSON_THRESHOLD


@pytest.mark.parametrize("kind", ["plain", "texture"])
def test_no_face(analyzer, kind):
    if kind == "plain":
        image = _canvas(300, 400)
    else:
        noise = np.random.default_rng(0).random((300, 400, 3)).astype(np.float32)
        image = (cv2.GaussianBlur(noise, (0, 0), 3) * 255).astype(np.uint8)
    with pytest.raises(FaceError, match="no face found in the photo"):
        analyzer.analyze(image)


def test_no_face_names_the_file(analyzer, tmp_path):
    path = tmp_path / "wall.png"
    Image.fromarray(_canvas(200, 200)).save(path)
    with pytest.raises(FaceError, match=f"no face found in {path}"):
        analyzer.analyze(path)


def test_tiny_face_is_refused(analyzer, astronaut):
    canvas = _canvas(512, 512)
    small = _resize(astronaut, 1 / 3)  # face ~30 px
    canvas[170 : 170 + small.shape[0], 170 : 170 + small.shape[1]] = small
    faces = analyzer.detect(canvas)
    assert len(faces) == 1 and faces[0].size < 40
    with pytest.raises(FaceError, match=r"is \d+ px; at least 64 px is needed"):
        analyzer.analyze(canvas)


def test_min_face_size_is_configurable():
    from idvid.face import FaceAnalyzer

    strict = FaceAnalyzer(min_face_size=200)
    with pytest.raises(FaceError, match="the face in x.jpg is 150 px; at least 200 px"):
        strict.choose([_fake_face(150.0)], None, "x.jpg")
    assert strict.choose([_fake_face(250.0)], None, "x.jpg").size == 250
    assert strict._detector is None  # choose() alone loads no model


def _fake_face(side: float, x: float = 0.0):
    from idvid.face import FaceDetection

    return FaceDetection(np.array([x, 0, side, side], np.float32), np.zeros((5, 2), np.float32), 0.9)


@pytest.mark.parametrize(
    "modify",
    ["gray", "rgba", "gray16", "exif"],
)
def test_odd_formats_still_give_one_frontal_face(modify, analyzer, astronaut, tmp_path):
    path = tmp_path / f"{modify}.png"
    if modify == "gray":
        Image.fromarray(astronaut).convert("L").save(path)
    elif modify == "rgba":
        alpha = np.zeros(astronaut.shape[:2], np.uint8)
        alpha[20:300, 120:330] = 255  # the head and shoulders; the rest is transparent
        Image.fromarray(np.dstack([astronaut, alpha])).save(path)
    elif modify == "gray16":
        gray = np.asarray(Image.fromarray(astronaut).convert("L")).astype(np.uint16) * 257
        Image.fromarray(gray).save(path)
    else:
        path = tmp_path / "exif.jpg"
        exif = Image.Exif()
        exif[0x0112] = 6  # stored rotated 90 degrees counter-clockwise; display rotates it back
        Image.fromarray(np.rot90(astronaut)).save(path, quality=95, exif=exif)
    faces = analyzer.detect(path)
    assert len(faces) == 1
    obs = analyzer.analyze(path)
    assert obs.image_size == (512, 512)
    assert_near_frontal(obs.pose)
    if modify == "rgba":
        np.testing.assert_array_equal(analyzer._load(path)[5, 5], [128, 128, 128])


def test_annotate(analyzer, side_by_side):
    faces = analyzer.detect(side_by_side)
    obs = analyzer.analyze(side_by_side, face_index=1)
    preview = analyzer.annotate(side_by_side, faces, observation=obs)
    assert preview.shape == side_by_side.shape and preview.dtype == np.uint8
    changed = np.any(preview != side_by_side, axis=2)
    # both boxes are drawn; mesh points cover the chosen face only
    for face in faces:
        x, y, w, h = face.box.astype(int)
        assert changed[y + h // 2, x - 1 : x + 3].any()
    assert not np.array_equal(preview, side_by_side)


def test_shared_analyzer_across_threads(analyzer, astronaut, astronaut_obs):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(lambda _: analyzer.analyze(astronaut), range(6)))
    for obs in results:
        np.testing.assert_array_equal(obs.embedding, astronaut_obs.embedding)
        np.testing.assert_array_equal(obs.vertices, astronaut_obs.vertices)


def test_large_photo_is_detected_downscaled_and_mapped_back(analyzer, astronaut, astronaut_obs):
    big = cv2.resize(astronaut, (1024, 1024), interpolation=cv2.INTER_CUBIC)
    obs = analyzer.analyze(big)
    width = astronaut_obs.detection.box[2]
    np.testing.assert_allclose(obs.detection.box, 2 * astronaut_obs.detection.box, atol=0.05 * 2 * width)
    # YuNet's landmarks jitter by a few px with the input scale; a wrong mapping would be off by ~30%.
    np.testing.assert_allclose(obs.detection.landmarks, 2 * astronaut_obs.detection.landmarks, atol=0.1 * 2 * width)
    assert np.abs(obs.vertices - 2 * astronaut_obs.vertices).mean() < 0.03 * 2 * width
    assert cosine(obs.embedding, astronaut_obs.embedding) > 0.8


def test_choose_rules_on_fake_detections():
    from idvid.face import FaceAnalyzer

    def face(x: float, side: float):
        return _fake_face(side, x)

    chooser = FaceAnalyzer()
    # Given in any order, numbered left to right.
    right, left = face(500, 100), face(10, 100)
    assert chooser.choose([right, left], 0, "p.jpg") is left
    assert chooser.choose([right, left], 1, "p.jpg") is right
    # Clearly largest (area ratio >= 1.5) wins; just below that is ambiguous.
    big = face(300, 100 * np.sqrt(1.5) + 0.01)
    assert chooser.choose([left, big, right], None, "p.jpg") is big
    close = face(300, 100 * np.sqrt(1.49))
    with pytest.raises(FaceError, match="found 3 faces of similar size in p.jpg; pick one with --face-index 0..2"):
        chooser.choose([left, close, right], None, "p.jpg")
    with pytest.raises(FaceError, match="^no face found in p.jpg$"):
        chooser.choose([], None, "p.jpg")


def test_mesh_model_finding_nothing_is_a_face_error(analyzer):
    blank = _canvas(256, 256)
    with pytest.raises(FaceError, match="the face mesh model found no face in blank.png"):
        analyzer.mesher(blank, _fake_face(100.0, 50.0), "blank.png")


def test_quality_drops_for_blur_and_small_faces(analyzer, astronaut, astronaut_obs, grace_obs):
    from idvid.face.quality import face_quality

    blurred = analyzer.analyze(cv2.GaussianBlur(astronaut, (0, 0), 3))
    assert blurred.quality < astronaut_obs.quality - 0.2
    assert grace_obs.quality > astronaut_obs.quality  # her face is twice as large and as sharp
    assert face_quality(200, 0.9, 500) > face_quality(80, 0.9, 500) > face_quality(32, 0.9, 500) == 0.0
    assert face_quality(200, 0.9, 500) > face_quality(200, 0.9, 20)


@pytest.mark.parametrize("garbage", [
    np.full(15, np.nan, np.float32),  # seen on tiny frames
    np.array([-42875032, 10, 30, 30, *[0] * 10, 0.9], np.float32),  # seen on a 4000x40 strip
    np.array([10, 10, 0, 30, *[0] * 10, 0.9], np.float32),  # an empty box
    np.array([10, 10, 1e6, 1e6, *[0] * 10, 0.9], np.float32),  # a box far larger than the image
])
def test_impossible_detector_rows_are_dropped(analyzer, astronaut, garbage):
    class GarbageThenReal:
        def __init__(self, net):
            self.net = net

        def setInputSize(self, size):
            self.net.setInputSize(size)

        def detect(self, image):
            ok, rows = self.net.detect(image)
            return ok, np.concatenate([garbage[None], rows])

    detector = analyzer.detector
    real = detector._net
    detector._net = GarbageThenReal(real)
    try:
        faces = analyzer.detect(astronaut)
    finally:
        detector._net = real
    assert len(faces) == 1 and np.isfinite(faces[0].box).all()
    h, w = astronaut.shape[:2]
    x, y, bw, bh = faces[0].box
    assert 0 <= x + bw / 2 < w and 0 <= y + bh / 2 < h


@pytest.mark.parametrize("angle", [-45, -30, 30, 45])
def test_identity_survives_turning_the_photo(analyzer, astronaut, astronaut_obs, grace, grace_obs, angle):
    """A photo turned in the image plane is the same face: its embedding stays close to the
    upright one (YuNet's landmarks alone gave cosine 0.02-0.36 for the astronaut at 30-45 deg)."""
    for image, upright in ((astronaut, astronaut_obs), (grace, grace_obs)):
        h, w = image.shape[:2]
        turned = cv2.warpAffine(image, cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0), (w, h),
                                borderMode=cv2.BORDER_REFLECT)
        assert cosine(analyzer.analyze(turned).embedding, upright.embedding) > 0.85


def test_a_photo_too_thin_for_a_usable_face_has_none_whatever_the_detector_sees(analyzer, astronaut, monkeypatch):
    """YuNet's int8 kernels differ by CPU; on some it finds a small "face" in a thin strip."""
    from idvid.face.observation import FaceDetection

    phantom = FaceDetection(box=np.array([10, 0, 59, 59], np.float32), landmarks=np.zeros((5, 2), np.float32),
                            score=0.9)
    monkeypatch.setattr(analyzer, "_detector", lambda image: [phantom])
    strip = np.ascontiguousarray(astronaut[:analyzer.min_face_size - 1])
    assert analyzer.detect(strip) == []
    with pytest.raises(FaceError, match="^no face found in the photo$"):
        analyzer.analyze(strip)
    assert analyzer.detect(astronaut[:analyzer.min_face_size]) == [phantom]  # a photo that can hold one is asked
