"""The driving video the tests render (unique name: imported by tests and tests/conftest.py):
its length, rate, faceless gap, and the control columns it moves."""

from idvid.render.controls import CONTROL_NAMES

DRIVE_FPS, DRIVE_FRAMES = 20, 60
DRIVE_GAP = slice(40, 44)  # 0.2 s without a face


def control_column(name: str) -> int:
    return CONTROL_NAMES.index(name)
