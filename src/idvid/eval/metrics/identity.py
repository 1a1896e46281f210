"""Identity metrics: FaceSim (SFace, ONNX ArcFace / CurricularFace, dlib), face detection rate,
identity stability."""

from __future__ import annotations

import numpy as np

from idvid.eval.registry import Metric, register_metric

NAN = float("nan")


def _mean_clamped(similarities: np.ndarray) -> float:
    """ConsisID's aggregate: mean of max(0, cos) over the frames with a face (NaN if none)."""
    found = similarities[np.isfinite(similarities)]
    return float(np.clip(found, 0.0, None).mean()) if found.size else NAN


def _no_face_note(ctx, name: str) -> None:
    ctx.note(name, f"no face found in any of the {len(ctx.sample_indices)} sampled frames")


@register_metric
class FaceSim(Metric):
    """FaceSim with SFace (ConsisID protocol, offline embedder).

    16 frames are sampled uniformly (``linspace(0, T-1, 16)`` truncated; all frames when
    T <= 16). In each, the largest YuNet face is embedded with SFace (128-d, unit norm).
    ``facesim`` = mean over the sampled frames with a face of max(0, cos(e_ref, e_t)), where
    e_ref is the reference embedding (the normalised mean of the references' embeddings).
    Frames without a face are left out (see ``face_detection_rate``); NaN when no frame has
    one. SFace's same-person threshold is 0.363.
    """

    name = "facesim"
    higher_is_better = True
    requires = frozenset({"face_analyzer"})
    outputs = ("facesim",)

    def compute(self, ctx):
        similarities = ctx.facesim_per_frame()
        ctx.add_series("facesim", ctx.sample_indices, similarities)
        if not np.isfinite(similarities).any():
            _no_face_note(ctx, self.name)
        return {"facesim": _mean_clamped(similarities)}


@register_metric
class FaceSimOnnx(Metric):
    """FaceSim with user-given ONNX face recognisers (FaceSim-Arc, FaceSim-Cur in ConsisID).

    Same frames, faces and aggregate as ``facesim``. Each face is aligned to the 112 x 112
    ArcFace template (the 224 px aligned crop, area-resized), fed NCHW RGB in [-1, 1], and
    the output is L2-normalised. One output per embedder label: ``facesim_<label>`` (e.g.
    ``facesim_arcface``, ``facesim_curricularface``).
    """

    name = "facesim_onnx"
    higher_is_better = True
    requires = frozenset({"face_analyzer", "onnx_face_embedders"})
    outputs = ("facesim_<label>",)

    def compute(self, ctx):
        from idvid.face.embed import l2_normalise

        faces = ctx.frame_faces()
        found = [f for f in faces if f is not None]
        positions = [i for i, f in enumerate(faces) if f is not None]
        values = {}
        for label, embedder in ctx.models.onnx_face_embedders().items():
            size = embedder.input_size
            references = embedder.embed_crops(_resized([r.crop for r in ctx.references], size))
            reference = l2_normalise(references.mean(axis=0))
            similarities = np.full(len(faces), NAN)
            if found:
                similarities[positions] = embedder.embed_crops(_resized([f.crop for f in found], size)) @ reference
            ctx.add_series(f"facesim_{label}", ctx.sample_indices, similarities)
            values[f"facesim_{label}"] = _mean_clamped(similarities)
        if not found:
            _no_face_note(ctx, self.name)
        return values


def _resized(crops, size: int) -> np.ndarray:
    """Aligned crops (S, S, 3) -> (N, size, size, 3) uint8, area-resized (same template, smaller)."""
    import cv2

    return np.stack([cv2.resize(c, (size, size), interpolation=cv2.INTER_AREA) for c in crops])


@register_metric
class FaceSimDlib(Metric):
    """FaceSim with dlib's ResNet face descriptor (optional; needs ``dlib``).

    Same frames, faces and aggregate as ``facesim``. dlib's 5-point shape predictor and
    descriptor run on each 224 px aligned crop (reference and frames alike) with the face box
    at the aligned template's position, and descriptors are L2-normalised before the cosine.
    """

    name = "facesim_dlib"
    higher_is_better = True
    requires = frozenset({"face_analyzer", "dlib"})
    outputs = ("facesim_dlib",)

    def compute(self, ctx):
        from idvid.face.embed import l2_normalise

        embedder = ctx.models.dlib_embedder()
        faces = ctx.frame_faces()
        reference = l2_normalise(np.mean([embedder.embed_aligned(r.crop) for r in ctx.references], axis=0))
        similarities = np.array([NAN if f is None else float(embedder.embed_aligned(f.crop) @ reference) for f in faces])
        ctx.add_series("facesim_dlib", ctx.sample_indices, similarities)
        if not np.isfinite(similarities).any():
            _no_face_note(ctx, self.name)
        return {"facesim_dlib": _mean_clamped(similarities)}


@register_metric
class FaceDetectionRate(Metric):
    """Face detection rate: the fraction of the uniformly sampled frames (as for ``facesim``) in
    which YuNet finds at least one face (score >= 0.6). A frame without a face is a miss."""

    name = "face_detection_rate"
    higher_is_better = True
    requires = frozenset({"face_analyzer"})
    outputs = ("face_detection_rate",)

    def compute(self, ctx):
        faces = ctx.frame_faces()
        ctx.add_series("face_found", ctx.sample_indices, [0.0 if f is None else 1.0 for f in faces])
        return {"face_detection_rate": sum(f is not None for f in faces) / len(faces)}


@register_metric
class IdentityStability(Metric):
    """Identity stability over the sampled frames with a face (as for ``facesim``).

    With c_t = cos(e_ref, e_t) (SFace, not clamped):
    ``facesim_min`` = min_t c_t (the worst frame);
    ``facesim_std`` = population standard deviation of c_t (lower is steadier);
    ``facesim_consecutive`` = mean cos(e_t, e_t') over consecutive sampled frames t, t' that
    both have a face (frame-to-frame identity drift, independent of the reference).
    NaN when there are too few faces (1 for min/std, 2 for consecutive).
    """

    name = "identity_stability"
    higher_is_better = True
    output_directions = {"facesim_std": False}
    requires = frozenset({"face_analyzer"})
    outputs = ("facesim_min", "facesim_std", "facesim_consecutive")

    def compute(self, ctx):
        similarities = ctx.facesim_per_frame()
        found = similarities[np.isfinite(similarities)]
        faces = ctx.frame_faces()
        pairs = [(a, b) for a, b in zip(faces, faces[1:]) if a is not None and b is not None]
        consecutive = [float(a.embedding @ b.embedding) for a, b in pairs]
        if pairs:
            ctx.add_series("facesim_consecutive", [a.frame_index for a, _ in pairs], consecutive)
        if len(pairs) == 0:
            ctx.note(self.name, "fewer than two consecutive sampled frames with a face")
        return {
            "facesim_min": float(found.min()) if found.size else NAN,
            "facesim_std": float(found.std()) if found.size else NAN,
            "facesim_consecutive": float(np.mean(consecutive)) if consecutive else NAN,
        }
