"""Shared fixtures for the whole suite: the real photos and one FaceAnalyzer, loaded once."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest
from drive_helpers import DRIVE_FPS, DRIVE_FRAMES, DRIVE_GAP, control_column

from idvid.face import FaceAnalyzer, load_photo
from idvid.render import Portrait, PortraitRenderer
from idvid.render.controls import NEUTRAL, ControlTrack
from idvid.video import write_video

ASSETS = Path(__file__).resolve().parents[1] / "assets"
ASTRONAUT = ASSETS / "astronaut.jpg"
GRACE = ASSETS / "grace_hopper.jpg"


@pytest.fixture(scope="session")
def analyzer() -> FaceAnalyzer:
    analyzer = FaceAnalyzer().load()
    yield analyzer
    analyzer.close()


@pytest.fixture(scope="session")
def astronaut_path() -> Path:
    return ASTRONAUT


@pytest.fixture(scope="session")
def grace_path() -> Path:
    return GRACE


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    """(512, 512, 3) uint8 RGB."""
    return load_photo(ASTRONAUT)


@pytest.fixture(scope="session")
def grace() -> np.ndarray:
    """(600, 512, 3) uint8 RGB."""
    return load_photo(GRACE)


@pytest.fixture(scope="session")
def astronaut_obs(analyzer):
    return analyzer.analyze(ASTRONAUT)


@pytest.fixture(scope="session")
def grace_obs(analyzer):
    return analyzer.analyze(GRACE)


@pytest.fixture(scope="session")
def side_by_side(astronaut, grace) -> np.ndarray:
    """(256, 512, 3): the astronaut's face on the left, Grace Hopper's at about the same size right."""
    import cv2

    left = astronaut[0:256, 96:352]  # face box ~ (178, 63, 91, 113) in the full photo
    small_grace = cv2.resize(grace, (274, 321), interpolation=cv2.INTER_AREA)  # her ~170 px face -> ~91 px
    return np.ascontiguousarray(np.hstack([left, small_grace[0:256, 10:266]]))


@pytest.fixture
def cpu_burner():
    """Another CPU-heavy process running beside the test (one busy core), as on a loaded machine."""
    burner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    yield burner
    burner.kill()
    burner.wait()


@pytest.fixture
def group_photo(tmp_path, side_by_side) -> Path:
    """Two faces of about the same size, side by side: no face is clearly the main one."""
    from PIL import Image

    path = tmp_path / "two.png"
    Image.fromarray(side_by_side).save(path)
    return path


@pytest.fixture(scope="session")
def shipped_nano():
    """The default engine with its shipped weights, loaded once, its progress bar off."""
    from idvid.engines import load_engine

    engine = load_engine("nano")
    engine.set_progress_bar_config(disable=True)
    return engine


# A driving video for nano --drive (tests/engines/test_nano_drive.py, tests/test_app.py).
@pytest.fixture(scope="session")
def known_track() -> np.ndarray:
    t = np.arange(DRIVE_FRAMES) / DRIVE_FPS
    values = np.tile(NEUTRAL.to_array(), (DRIVE_FRAMES, 1))
    values[:, control_column("yaw")] = 20 * np.sin(2 * np.pi * t / 3)
    values[:, control_column("mouth_open")] = 0.8 * np.clip(np.sin(2 * np.pi * t / 1.5), 0, 1)
    return values


@pytest.fixture(scope="session")
def driving_video(tmp_path_factory, grace, grace_obs, known_track):
    """Grace moved by ``known_track``, a grey gap with no face, and a 440 Hz tone for sound."""
    renderer = PortraitRenderer(Portrait.from_observation(grace, grace_obs), (256, 256), None)
    frames = renderer.render_track(ControlTrack(known_track), fps=DRIVE_FPS)
    frames[DRIVE_GAP] = 128
    folder = tmp_path_factory.mktemp("drive")
    tone = folder / "tone.wav"
    with av.open(str(tone), "w") as container:  # 4 s: longer than the video, so it must be cut
        stream = container.add_stream("pcm_s16le", rate=16000, layout="mono")
        samples = (0.3 * np.sin(2 * np.pi * 440 * np.arange(64000) / 16000) * 32767).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(samples[None], format="s16", layout="mono")
        frame.rate = 16000
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)
    return write_video(frames, folder / "drive.mp4", fps=DRIVE_FPS, audio=tone)
