"""Fixtures for the video tests; helpers live in video_helpers.py."""

import numpy as np
import pytest
from video_helpers import smooth_clip


@pytest.fixture
def clip() -> np.ndarray:
    """``(6, 24, 32, 3)`` uint8 smooth gradients."""
    return smooth_clip()
