"""idvid: identity-preserving video generation.

Heavy modules (torch, diffusers, OpenCV, mediapipe) load on first use, so
``import idvid`` stays fast and never fails for a missing optional extra.
"""

from typing import TYPE_CHECKING

from idvid.lazy import lazy_exports

__version__ = "0.1.0"

# public name -> module that defines it
_LAZY = {
    "IdvidError": "idvid.errors",
    "ConfigError": "idvid.errors",
    "DataError": "idvid.errors",
    "ImageError": "idvid.errors",
    "FaceError": "idvid.errors",
    "ModelFileError": "idvid.errors",
    "GenerationError": "idvid.errors",
    "VideoError": "idvid.errors",
    "FaceAnalyzer": "idvid.face",
    "FaceObservation": "idvid.face",
    "FaceKnowledgeEncoder": "idvid.models.face_knowledge",
    "IdentityInjector": "idvid.models.injection",
    "IDVideoPipeline": "idvid.engines.dit.pipeline",
    "VideoOutput": "idvid.engines.output",
    "load_engine": "idvid.engines",
    "PRESETS": "idvid.presets",
}

__all__ = sorted(_LAZY) + ["__version__"]

if TYPE_CHECKING:  # pragma: no cover
    from idvid.engines import load_engine
    from idvid.engines.dit.pipeline import IDVideoPipeline
    from idvid.engines.output import VideoOutput
    from idvid.errors import (
        ConfigError,
        DataError,
        FaceError,
        GenerationError,
        IdvidError,
        ImageError,
        ModelFileError,
        VideoError,
    )
    from idvid.face import FaceAnalyzer, FaceObservation
    from idvid.models.face_knowledge import FaceKnowledgeEncoder
    from idvid.models.injection import IdentityInjector
    from idvid.presets import PRESETS

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
