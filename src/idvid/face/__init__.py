"""Frozen face analysis: detection, alignment, identity embedding, dense mesh, head pose.

Names load on first use (module ``__getattr__``), so ``import idvid.face`` does not import
OpenCV or MediaPipe.
"""

from importlib import import_module
from typing import TYPE_CHECKING

_LAZY = {
    "FaceAnalyzer": "idvid.face.analyzer",
    "FaceObservation": "idvid.face.observation",
    "FaceDetection": "idvid.face.observation",
    "HeadPose": "idvid.face.observation",
    "SAME_PERSON_THRESHOLD": "idvid.face.observation",
    "load_photo": "idvid.face.photo",
    "ALIGNED_CROP_SIZE": "idvid.face.align",
    "cosine": "idvid.face.embed",
}

__all__ = sorted(_LAZY)

if TYPE_CHECKING:  # pragma: no cover
    from idvid.face.align import ALIGNED_CROP_SIZE  # noqa: F401
    from idvid.face.analyzer import FaceAnalyzer  # noqa: F401
    from idvid.face.embed import cosine  # noqa: F401
    from idvid.face.observation import SAME_PERSON_THRESHOLD, FaceDetection, FaceObservation, HeadPose  # noqa: F401
    from idvid.face.photo import load_photo  # noqa: F401


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'idvid.face' has no attribute {name!r}")
    value = getattr(import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(list(globals()) + __all__)
