"""Text alignment: CLIPScore between the frames and the prompt."""

from __future__ import annotations

import numpy as np

from idvid.eval.registry import Metric, register_metric


@register_metric
class ClipScore(Metric):
    """CLIPScore (ConsisID protocol): 100 x cosine between CLIP's projected, normalised
    embeddings of each of the 16 uniformly sampled frames (as for ``facesim``; RGB, CLIP's
    own preprocessing) and of the prompt (truncated to CLIP's 77 tokens), averaged over the
    frames. Not clamped at 0. Needs a local CLIP (``ModelPaths(clip=...)``,
    ``$IDVID_CLIP_PATH`` or ``openai/clip-vit-base-patch32`` in the Hugging Face cache);
    skipped otherwise.
    """

    name = "clipscore"
    higher_is_better = True
    requires = frozenset({"clip"})
    outputs = ("clipscore",)

    def skip_reason(self, ctx):
        if not ctx.prompt.strip():
            return "no prompt given"
        return super().skip_reason(ctx)

    def compute(self, ctx):
        scores = ctx.models.clip()(ctx.sampled_frames, ctx.prompt)
        ctx.add_series("clipscore", ctx.sample_indices, scores)
        return {"clipscore": float(np.mean(scores))}
