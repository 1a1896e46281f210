"""Registry of backbone families; the pipeline looks a family up from its transformer."""

from idvid.models.backbones.base import BackboneFamily, VideoGeometry, count_tokens, encode_text
from idvid.models.backbones.cogvideox import CogVideoXFamily
from idvid.models.backbones.wan import WanFamily

FAMILIES: dict[str, BackboneFamily] = {f.name: f for f in (CogVideoXFamily(), WanFamily())}


def family_of(transformer) -> BackboneFamily:
    """The family whose transformer class this is; ValueError for an unsupported class."""
    for family in FAMILIES.values():
        if family.matches(transformer):
            return family
    supported = ", ".join(f.transformer_class for f in FAMILIES.values())
    raise ValueError(f"unsupported backbone {type(transformer).__name__}; supported: {supported}")


__all__ = ["FAMILIES", "BackboneFamily", "VideoGeometry", "count_tokens", "encode_text", "family_of"]
