"""The offline default engine: the person's real photo on its 3D face mesh, animated from text."""

from idvid.engines.nano.pipeline import NanoPipeline

__all__ = ["NanoPipeline"]
