"""nano, the offline default engine: the person's real photo on its 3D face mesh, animated from
text by a small motion diffusion transformer (see ``pipeline``)."""

from typing import TYPE_CHECKING

from idvid.engines.nano.limits import plan, recognizes
from idvid.lazy import lazy_exports

if TYPE_CHECKING:  # pragma: no cover
    from idvid.engines.nano.pipeline import NanoPipeline
    from idvid.engines.nano.pipeline import NanoPipeline as Pipeline

__all__ = ["NanoPipeline", "Pipeline", "plan", "recognizes"]
__getattr__, __dir__ = lazy_exports(__name__, {"NanoPipeline": "idvid.engines.nano.pipeline",
                                               "Pipeline": "idvid.engines.nano.pipeline:NanoPipeline"})
