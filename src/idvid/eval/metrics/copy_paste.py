"""Copy-paste detection: is the generated face a frozen copy of the reference photo?"""

from __future__ import annotations

import numpy as np

from idvid.eval.faces import procrustes_residual, ssim_gray
from idvid.eval.metrics.identity import _mean_clamped
from idvid.eval.metrics.motion import face_motion_ref
from idvid.eval.registry import Metric, register_metric

NAN = float("nan")

# The copy-paste flag's thresholds. A pasted face matches the reference (SFace cosine well
# above the 0.363 same-person line: the photo pasted on a canvas scores ~0.95, a different
# person ~0.16) while its pose, expression and shape relative to the reference stay fixed.
# Measured on the astronaut photo pasted on a 480 x 720 canvas with sub-pixel drift, scaling
# and +-4 deg in-plane sway (re-detected and re-meshed every frame): pose std <= 0.5 deg,
# expression residual <= 0.009, FM-ref <= 0.035. The thresholds sit above that jitter and
# below a visible head turn (a few degrees of std), a smile, or another face (residual 0.05,
# FM-ref 0.08 for Grace Hopper against the astronaut).
COPY_MIN_FACESIM = 0.80
COPY_MAX_POSE_STD = 2.0  # degrees, for yaw and for pitch
COPY_MAX_EXPRESSION = 0.02  # mean Procrustes residual / inter-ocular distance
COPY_MAX_FACE_MOTION_REF = 0.05  # FM-ref, inter-ocular units


@register_metric
class CopyPaste(Metric):
    """Copy-paste indicators over the sampled frames with a face (those of ``facesim``).

    ``pose_yaw_std``, ``pose_pitch_std``: population std (degrees) of the head yaw and pitch
    read from each frame's dense mesh (pose diversity; 0 for a frozen head).
    ``expression_diversity``: mean over frames of the non-rigid residual of the frame's mesh
    after a least-squares similarity (Procrustes) alignment to the primary reference mesh:
    mean vertex distance / the reference's inter-ocular distance (0: same expression and
    shape as the reference).
    ``crop_ssim``: mean grey-level SSIM (Gaussian 11 x 11, sigma 1.5) between each frame's
    224 px aligned face crop and the reference's (1: pixel-identical face). Informational:
    it is sensitive to small alignment shifts (the reference re-detected after pasting on
    another canvas scores ~0.5, another person ~0.2), so it is not part of the flag.
    ``copy_paste``: 1.0 when the face is a frozen copy of the reference: facesim >= 0.80 AND
    both pose stds < 2 deg AND expression_diversity < 0.02 AND face_motion_ref < 0.05
    (see ``face_motion``); else 0.0. NaN when no sampled frame has a face mesh.
    """

    name = "copy_paste"
    higher_is_better = False
    output_directions = {
        "pose_yaw_std": None,
        "pose_pitch_std": None,
        "expression_diversity": None,
        "crop_ssim": None,
    }
    requires = frozenset({"face_analyzer"})
    outputs = ("pose_yaw_std", "pose_pitch_std", "expression_diversity", "crop_ssim", "copy_paste")

    def compute(self, ctx):
        faces = [f for f in ctx.frame_faces() if f is not None]
        meshes = [m for m in ctx.frame_meshes() if m is not None]
        reference = ctx.reference
        ssim = [ssim_gray(f.crop, reference.crop) for f in faces]
        if ssim:
            ctx.add_series("crop_ssim", [f.frame_index for f in faces], ssim)
        values = {"crop_ssim": float(np.mean(ssim)) if ssim else NAN}
        if not meshes:
            ctx.note(self.name, "no sampled frame has a face mesh")
            return {"pose_yaw_std": NAN, "pose_pitch_std": NAN, "expression_diversity": NAN, **values, "copy_paste": NAN}
        frames = [m.frame_index for m in meshes]
        yaw = np.array([m.pose.yaw for m in meshes])
        pitch = np.array([m.pose.pitch for m in meshes])
        ctx.add_series("yaw", frames, yaw)
        ctx.add_series("pitch", frames, pitch)
        ctx.add_series("roll", frames, [m.pose.roll for m in meshes])
        residual = np.array([procrustes_residual(m.vertices, reference.vertices) for m in meshes])
        ctx.add_series("expression_residual", frames, residual)
        values.update(
            pose_yaw_std=float(yaw.std()),
            pose_pitch_std=float(pitch.std()),
            expression_diversity=float(residual.mean()),
        )
        facesim = _mean_clamped(ctx.facesim_per_frame())
        _, fm_ref = face_motion_ref(ctx)
        frozen = (
            facesim >= COPY_MIN_FACESIM
            and values["pose_yaw_std"] < COPY_MAX_POSE_STD
            and values["pose_pitch_std"] < COPY_MAX_POSE_STD
            and values["expression_diversity"] < COPY_MAX_EXPRESSION
            and float(fm_ref.mean()) < COPY_MAX_FACE_MOTION_REF
        )
        values["copy_paste"] = 1.0 if frozen else 0.0
        return {key: values[key] for key in self.outputs}
