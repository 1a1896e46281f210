"""Face FID with a user-given feature extractor."""

from __future__ import annotations

import numpy as np

from idvid.eval.registry import Metric, register_metric

NAN = float("nan")


@register_metric
class FaceFid(Metric):
    """Face FID (ConsisID protocol) with a user-given ONNX feature extractor.

    Features f() of the 224 px aligned face crops (largest face of each sampled frame, as
    for ``facesim``; the reference crop likewise) come from ``ModelPaths.fid_features``,
    e.g. torchvision's InceptionV3 (pool, 2048-d) exported to ONNX, input resized to 299 px.
    ConsisID computes, per frame, a "FID" between one reference crop and one frame crop;
    with one sample per side both covariances are zero, so each term is the squared
    distance |f(ref) - f(frame_t)|^2. ``face_fid`` = the mean of that over the frames with
    a face (with several references, f(ref) is their mean), which is comparable with
    ConsisID's numbers. A true Fréchet distance needs many faces: the per-frame and
    reference features are kept in ``EvalResult.features`` (``face_fid_frames``,
    ``face_fid_reference``) so a benchmark can pool them over videos and call
    :func:`idvid.eval.fid.frechet_distance_from_features`.
    """

    name = "face_fid"
    higher_is_better = False
    requires = frozenset({"face_analyzer", "fid_features"})
    outputs = ("face_fid",)

    def compute(self, ctx):
        faces = [f for f in ctx.frame_faces() if f is not None]
        extractor = ctx.models.fid_features()
        reference = extractor(np.stack([r.crop for r in ctx.references]))
        ctx.features["face_fid_reference"] = reference
        if not faces:
            ctx.note(self.name, "no face found in the sampled frames")
            return {"face_fid": NAN}
        frames = extractor(np.stack([f.crop for f in faces]))
        ctx.features["face_fid_frames"] = frames
        distances = ((frames - reference.mean(0)) ** 2).sum(axis=1)
        ctx.add_series("face_fid", [f.frame_index for f in faces], distances)
        return {"face_fid": float(distances.mean())}
