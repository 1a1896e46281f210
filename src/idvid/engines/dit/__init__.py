"""The DiT engine: a diffusers video transformer (CogVideoX, Wan) with idvid's identity adapter
(see ``pipeline``)."""

from pathlib import Path
from typing import TYPE_CHECKING

from idvid.lazy import lazy_exports

if TYPE_CHECKING:  # pragma: no cover
    from idvid.engines.dit.limits import plan
    from idvid.engines.dit.pipeline import IDVideoPipeline
    from idvid.engines.dit.pipeline import IDVideoPipeline as Pipeline


def recognizes(path: Path) -> bool:
    """Whether ``path`` is a diffusers-format directory (a saved pipeline or a backbone)."""
    return (Path(path) / "model_index.json").is_file()


__all__ = ["IDVideoPipeline", "Pipeline", "plan", "recognizes"]
# ``plan`` builds modules on the meta device, so even it waits until a DiT model is asked for.
__getattr__, __dir__ = lazy_exports(__name__, {"IDVideoPipeline": "idvid.engines.dit.pipeline",
                                               "Pipeline": "idvid.engines.dit.pipeline:IDVideoPipeline",
                                               "plan": "idvid.engines.dit.limits"})
