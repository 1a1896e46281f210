"""FantasyID (arXiv 2502.13995), with its authors' released weights: CogVideoX-5B image-to-video
with a 2D face abstractor over EVA-CLIP features, a FLAME point cloud through a vertex network,
and a face cross-attention after every other block (see ``transformer`` and ``pipeline``)."""

from pathlib import Path
from typing import TYPE_CHECKING

from idvid.engines.model_dir import names_pipeline
from idvid.lazy import lazy_exports

if TYPE_CHECKING:  # pragma: no cover
    from idvid.engines.fantasyid.limits import plan
    from idvid.engines.fantasyid.pipeline import FantasyIDEnginePipeline
    from idvid.engines.fantasyid.pipeline import FantasyIDEnginePipeline as Pipeline


def recognizes(path: Path) -> bool:
    """Whether ``path`` is a FantasyID folder: one idvid saved, or the release, whose index may name
    ConsisID's pipeline but whose transformer config has FantasyID's face-module keys."""
    import json

    if names_pipeline(path, ("FantasyIDEnginePipeline",)):
        return True
    if not (path / "model_index.json").is_file():
        return False
    for folder in ("transformer_ema", "transformer"):
        try:
            keys = json.loads((path / folder / "config.json").read_text())
        except (OSError, ValueError):
            continue
        return isinstance(keys, dict) and "cross_attn_interval" in keys and "LFE_id_dim" not in keys
    return False


__all__ = ["FantasyIDEnginePipeline", "Pipeline", "plan", "recognizes"]
__getattr__, __dir__ = lazy_exports(__name__, {"FantasyIDEnginePipeline": "idvid.engines.fantasyid.pipeline",
                                               "Pipeline": "idvid.engines.fantasyid.pipeline:FantasyIDEnginePipeline",
                                               "plan": "idvid.engines.fantasyid.limits"})
