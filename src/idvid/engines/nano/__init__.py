"""The offline default engine: the person's real photo on its 3D face mesh, animated from text."""

from typing import TYPE_CHECKING

from idvid.lazy import lazy_exports

if TYPE_CHECKING:  # pragma: no cover
    from idvid.engines.nano.pipeline import NanoPipeline

__all__ = ["NanoPipeline"]
__getattr__, __dir__ = lazy_exports(__name__, {"NanoPipeline": "idvid.engines.nano.pipeline"})
