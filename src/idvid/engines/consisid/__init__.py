"""ConsisID: CogVideoX-5B image-to-video with face modules, given ArcFace and EVA-CLIP features
of the person and their masked face as the first frame (diffusers' ``ConsisIDPipeline``; see
``pipeline`` and ``face_encoder``)."""

from pathlib import Path
from typing import TYPE_CHECKING

from idvid.engines.model_dir import names_pipeline
from idvid.lazy import lazy_exports

if TYPE_CHECKING:  # pragma: no cover
    from idvid.engines.consisid.limits import plan
    from idvid.engines.consisid.pipeline import ConsisIDEnginePipeline
    from idvid.engines.consisid.pipeline import ConsisIDEnginePipeline as Pipeline

# diffusers' class, and ours when idvid saved the directory
PIPELINE_CLASSES = ("ConsisIDPipeline", "ConsisIDEnginePipeline")


def recognizes(path: Path) -> bool:
    """Whether ``path`` is a diffusers directory of a ConsisID pipeline."""
    return names_pipeline(path, PIPELINE_CLASSES)


__all__ = ["ConsisIDEnginePipeline", "Pipeline", "plan", "recognizes"]
__getattr__, __dir__ = lazy_exports(__name__, {"ConsisIDEnginePipeline": "idvid.engines.consisid.pipeline",
                                               "Pipeline": "idvid.engines.consisid.pipeline:ConsisIDEnginePipeline",
                                               "plan": "idvid.engines.consisid.limits"})
