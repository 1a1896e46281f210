"""Wan-VACE: Wan2.1's all-in-one video model, given the person as reference images and the
scene by the prompt (diffusers' ``WanVACEPipeline``; see ``pipeline``)."""

from pathlib import Path
from typing import TYPE_CHECKING

from idvid.engines.model_dir import names_pipeline
from idvid.lazy import lazy_exports

if TYPE_CHECKING:  # pragma: no cover
    from idvid.engines.vace.limits import plan
    from idvid.engines.vace.pipeline import VacePipeline
    from idvid.engines.vace.pipeline import VacePipeline as Pipeline

# diffusers' class, and ours when idvid saved the directory
PIPELINE_CLASSES = ("WanVACEPipeline", "VacePipeline")


def recognizes(path: Path) -> bool:
    """Whether ``path`` is a diffusers directory of a Wan-VACE pipeline."""
    return names_pipeline(path, PIPELINE_CLASSES)


__all__ = ["Pipeline", "VacePipeline", "plan", "recognizes"]
__getattr__, __dir__ = lazy_exports(__name__, {"VacePipeline": "idvid.engines.vace.pipeline",
                                               "Pipeline": "idvid.engines.vace.pipeline:VacePipeline",
                                               "plan": "idvid.engines.vace.limits"})
