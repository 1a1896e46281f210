"""Temporal flicker: what optical flow cannot explain between consecutive frames."""

from __future__ import annotations

from idvid.eval.registry import Metric, register_metric


@register_metric
class TemporalFlicker(Metric):
    """Temporal flicker: the flow-compensated frame difference.

    For each consecutive pair (t, t+1), frame t is warped onto frame t+1 with the dense
    DIS flow of ``motion_amplitude`` (same resolution, bilinear); e_t = mean absolute
    difference between frame t+1 and the warped frame t over RGB channels and the pixels
    whose flow lands inside frame t, with pixel values in [0, 1].
    ``temporal_flicker`` = mean_t e_t. 0 for a still video or pure, well-tracked motion;
    brightness flicker, popping details and texture boiling raise it.
    """

    name = "temporal_flicker"
    higher_is_better = False
    requires = frozenset({"opencv"})
    outputs = ("temporal_flicker",)

    def compute(self, ctx):
        stats = ctx.flow()
        ctx.add_series("flicker", range(len(stats.flicker)), stats.flicker)
        return {"temporal_flicker": float(stats.flicker.mean())}
