"""Frozen face analysis: detection, alignment, identity embedding, dense mesh, head pose.

Names load on first use (module ``__getattr__``), so ``import idvid.face`` does not import
OpenCV or MediaPipe.
"""

from typing import TYPE_CHECKING

from idvid.lazy import lazy_exports

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

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
