"""Render fixtures: a real face analysis and Portrait of the astronaut photo, built once.

Self-contained (the suite-wide conftest may rename its fixtures); a local fixture of the
same name as a suite-wide one simply takes precedence here.
"""

from pathlib import Path

import pytest

ASTRONAUT = Path(__file__).resolve().parents[2] / "assets" / "astronaut.jpg"


@pytest.fixture(scope="session")
def face_analyzer():
    from idvid.face import FaceAnalyzer

    analyzer = FaceAnalyzer().load()
    yield analyzer
    analyzer.close()


@pytest.fixture(scope="session")
def astronaut_image():
    from idvid.face import load_photo

    return load_photo(ASTRONAUT)


@pytest.fixture(scope="session")
def astronaut_face(face_analyzer, astronaut_image):
    return face_analyzer.analyze(astronaut_image)


@pytest.fixture(scope="session")
def astronaut_portrait(astronaut_image, astronaut_face):
    from idvid.render import Portrait

    return Portrait.from_observation(astronaut_image, astronaut_face)


@pytest.fixture(scope="session")
def photo_renderer(astronaut_portrait):
    """256x256 on the photo's own background."""
    from idvid.render import PortraitRenderer, SceneSpec

    return PortraitRenderer(astronaut_portrait, (256, 256), SceneSpec("photo"))


@pytest.fixture(scope="session")
def neutral_frame(photo_renderer):
    return photo_renderer.render()


@pytest.fixture(scope="session")
def neutral_observation(face_analyzer, neutral_frame):
    return face_analyzer.analyze(neutral_frame)
