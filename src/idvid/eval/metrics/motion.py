"""Motion metrics: whole-frame motion amplitude (optical flow) and face motion (dense mesh)."""

from __future__ import annotations

import numpy as np

from idvid.eval.faces import motion_between, motion_from_reference
from idvid.eval.registry import Metric, register_metric

NAN = float("nan")


def face_motion_ref(ctx) -> tuple[list[int], np.ndarray]:
    """(frame indices, FM-ref per sampled frame with a mesh); cached on the context."""

    def compute():
        meshes = [m for m in ctx.frame_meshes() if m is not None]
        reference = ctx.reference.vertices
        return [m.frame_index for m in meshes], np.array([motion_from_reference(m.vertices, reference) for m in meshes])

    return ctx.cached("face_motion_ref", compute)


def face_motion_inter(ctx) -> tuple[list[int], np.ndarray]:
    """(first frame of each pair, FM-inter) over consecutive sampled frames that both have a mesh."""

    def compute():
        meshes = ctx.frame_meshes()
        pairs = [(a, b) for a, b in zip(meshes, meshes[1:]) if a is not None and b is not None]
        return [a.frame_index for a, _ in pairs], np.array([motion_between(a.vertices, b.vertices) for a, b in pairs])

    return ctx.cached("face_motion_inter", compute)


@register_metric
class MotionAmplitude(Metric):
    """Motion amplitude (OpenS2V style): the mean optical-flow magnitude over all consecutive
    frame pairs of the whole video, normalised by the frame diagonal.

    For each pair (t, t+1), dense flow from frame t+1 to frame t is computed with OpenCV DIS
    (medium preset) on the grey frames, area-downscaled so the longer side is <= 512 px;
    m_t = mean over pixels of |flow| / diagonal (both at that resolution).
    ``motion_amplitude`` = mean_t m_t. 0 for a still video; a uniform shift of k px per frame
    gives about k / diagonal.
    """

    name = "motion_amplitude"
    higher_is_better = True
    requires = frozenset({"opencv"})
    outputs = ("motion_amplitude",)

    def compute(self, ctx):
        stats = ctx.flow()
        ctx.add_series("motion", range(len(stats.motion)), stats.motion)
        return {"motion_amplitude": float(stats.motion.mean())}


@register_metric
class FaceMotion(Metric):
    """Face motion from the dense 478-point mesh of the largest face in each sampled frame
    (the frames of ``facesim``; frames without a mesh are left out).

    Each mesh is normalised by its inter-ocular distance d (3D distance between the eye
    centres, each the mean of that eye's two corners).
    ``face_motion_ref`` (FM-ref) = mean over frames of mean_i |n(M_t)_i - n(M_ref)_i|, where
    n() centres a mesh on its centroid and divides by d, and M_ref is the primary
    reference's mesh: how far the face's pose and expression are from the reference
    (position and size are dropped: photo and video do not share a frame).
    ``face_motion_inter`` (FM-inter) = mean over consecutive sampled frames both with a mesh
    of mean_i |M_t'_i - M_t_i| / ((d_t + d_t') / 2): face movement between frames, in
    inter-ocular units, translation included.
    NaN without enough meshes (1 for FM-ref, 2 consecutive for FM-inter).
    """

    name = "face_motion"
    higher_is_better = None
    requires = frozenset({"face_analyzer"})
    outputs = ("face_motion_ref", "face_motion_inter")

    def compute(self, ctx):
        frames_ref, fm_ref = face_motion_ref(ctx)
        frames_inter, fm_inter = face_motion_inter(ctx)
        if len(fm_ref):
            ctx.add_series("face_motion_ref", frames_ref, fm_ref)
        if len(fm_inter):
            ctx.add_series("face_motion_inter", frames_inter, fm_inter)
        else:
            ctx.note(self.name, "fewer than two consecutive sampled frames with a face mesh")
        return {
            "face_motion_ref": float(fm_ref.mean()) if len(fm_ref) else NAN,
            "face_motion_inter": float(fm_inter.mean()) if len(fm_inter) else NAN,
        }
