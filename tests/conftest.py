"""Shared fixtures for the whole suite: the real photos and one FaceAnalyzer, loaded once."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from idvid.face import FaceAnalyzer, load_photo

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
