"""Wan-VACE: Wan2.1's all-in-one video model, given the person as reference images and the
scene by the prompt (diffusers' ``WanVACEPipeline``; see ``pipeline``)."""

import json
from pathlib import Path
from typing import TYPE_CHECKING

from idvid.lazy import lazy_exports

if TYPE_CHECKING:  # pragma: no cover
    from idvid.engines.vace.limits import plan
    from idvid.engines.vace.pipeline import VacePipeline
    from idvid.engines.vace.pipeline import VacePipeline as Pipeline

# diffusers' class, and ours when idvid saved the directory
PIPELINE_CLASSES = ("WanVACEPipeline", "VacePipeline")


def recognizes(path: Path) -> bool:
    """Whether ``path`` is a diffusers directory of a Wan-VACE pipeline."""
    index = Path(path) / "model_index.json"
    try:
        return json.loads(index.read_text()).get("_class_name") in PIPELINE_CLASSES
    except (OSError, ValueError, AttributeError):
        return False


__all__ = ["Pipeline", "VacePipeline", "plan", "recognizes"]
__getattr__, __dir__ = lazy_exports(__name__, {"VacePipeline": "idvid.engines.vace.pipeline",
                                               "Pipeline": "idvid.engines.vace.pipeline:VacePipeline",
                                               "plan": "idvid.engines.vace.limits"})
