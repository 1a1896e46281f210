"""Prompt-motion agreement: does the head do what the prompt says?"""

from __future__ import annotations

import numpy as np

from idvid.engines.nano.head_actions import classify_actions
from idvid.engines.nano.motion_check import check_action
from idvid.eval.registry import Metric, register_metric

NAN = float("nan")


@register_metric
class PromptMotion(Metric):
    """Prompt-motion agreement for head actions.

    The prompt's head actions (turn left / right, look up / down, tilt left / right, nod,
    shake) are read from its words (:mod:`idvid.engines.nano.head_actions`). The head pose (yaw,
    pitch, roll from the dense mesh) of the sampled frames with a face mesh, relative to the
    first such frame, is checked against each (:mod:`idvid.engines.nano.motion_check`): a turn /
    look / tilt must reach 10 deg in the named direction (the subject's own left / right);
    a nod needs a down-then-up pitch cycle and a shake a back-and-forth yaw, with swings
    >= 5 deg.
    ``prompt_motion_match`` = fraction of the prompt's actions that pass (1.0 / 0.0 for one
    action). NaN when the prompt names no head action or fewer than two frames have a mesh.
    """

    name = "prompt_motion"
    higher_is_better = True
    requires = frozenset({"face_analyzer"})
    outputs = ("prompt_motion_match",)

    def compute(self, ctx):
        actions = classify_actions(ctx.prompt)
        ctx.info["prompt_actions"] = [a.value for a in actions]
        if not actions:
            ctx.note(self.name, "the prompt names no head action")
            return {"prompt_motion_match": NAN}
        meshes = [m for m in ctx.frame_meshes() if m is not None]
        if len(meshes) < 2:
            ctx.note(self.name, f"needs >= 2 sampled frames with a face mesh, found {len(meshes)}")
            return {"prompt_motion_match": NAN}
        yaw, pitch, roll = (np.array([getattr(m.pose, axis) for m in meshes]) for axis in ("yaw", "pitch", "roll"))
        checks = [check_action(a, yaw, pitch, roll) for a in actions]
        ctx.info["prompt_motion"] = {c.action.value: ("pass: " if c.passed else "fail: ") + c.detail for c in checks}
        return {"prompt_motion_match": float(np.mean([c.passed for c in checks]))}
