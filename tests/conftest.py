"""Shared fixtures: the real sample photos and their (real-model) face analysis, made once."""

from pathlib import Path

import numpy as np
import pytest

ASSETS = Path(__file__).resolve().parents[1] / "assets"


@pytest.fixture(scope="session")
def astronaut_path() -> Path:
    return ASSETS / "astronaut.jpg"


@pytest.fixture(scope="session")
def hopper_path() -> Path:
    return ASSETS / "grace_hopper.jpg"


@pytest.fixture(scope="session")
def face_analyzer():
    from idvid.face import FaceAnalyzer

    return FaceAnalyzer()


@pytest.fixture(scope="session")
def astronaut_face(face_analyzer, astronaut_path):
    return face_analyzer.analyze(astronaut_path)


@pytest.fixture(scope="session")
def hopper_face(face_analyzer, hopper_path):
    return face_analyzer.analyze(hopper_path)


@pytest.fixture(scope="session")
def rng():
    return np.random.default_rng(0)
