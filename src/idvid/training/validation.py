"""Validation during training: videos of held-out identities, scored with the evaluation metrics.

Every ``validation.every`` steps the main process samples one video per held-out clip (the clip's
caption, its stored reference views as the identity, its frame size, a fixed seed per clip), with
the EMA weights when EMA is on, and scores it with :func:`idvid.eval.evaluate_video`: FaceSim
against the references, face detection rate, identity stability, motion. Videos go to
``OUT/validation/step-<N>/<clip>.mp4``, one JSON line per clip to ``OUT/validation/scores.jsonl``,
and the means to the training log (``validation/*`` in TensorBoard).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from idvid.errors import DataError

METRICS = ("facesim", "face_detection_rate", "identity_stability", "motion_amplitude")
MIN_FACE_SIZE = 16  # validation videos are as small as the training clips


def small_video_eval_models():
    """Evaluation models whose face analyzer accepts the small faces of training-size videos."""
    from idvid.eval.models import EvalModels
    from idvid.face.analyzer import shared_analyzer

    return EvalModels(analyzer=shared_analyzer(min_face_size=MIN_FACE_SIZE))


def reference_observations(refs: dict, chosen: np.ndarray, image_size: tuple[int, int], source: str | None):
    """Stored reference views of a clip -> FaceObservations (what the pipeline and the metrics take)."""
    from idvid.face.observation import FaceDetection, FaceObservation, HeadPose

    blank = FaceDetection(box=np.zeros(4, np.float32), landmarks=np.zeros((5, 2), np.float32), score=1.0)
    return [FaceObservation(detection=blank, crop=refs["crops"][i], embedding=refs["embeddings"][i],
                            vertices=refs["vertices"][i], pose=HeadPose(*map(float, refs["poses"][i])),
                            image_size=image_size, quality=1.0, source=source)
            for i in chosen]


class Validator:
    """config: the whole TrainConfig (its ``validation`` and ``data`` sections); out: the folder."""

    def __init__(self, config, out: Path) -> None:
        from idvid.data.dataset import ClipDataset

        v, d = config.validation, config.data
        self.config, self.out = v, Path(out)
        self.num_frames = v.num_frames or d.num_frames
        try:
            self.dataset = ClipDataset(d.root, split=v.split, num_frames=self.num_frames, num_refs=d.num_refs,
                                       caption_dropout=0.0, identity_dropout=0.0, seed=config.train.seed)
        except DataError as e:
            raise DataError(f"validation: {e} (make held-out clips, e.g. idvid synth --heldout-fraction, "
                             "or set validation.every: 0)") from None
        self.indices = list(range(min(v.clips, len(self.dataset))))
        self._models = None

    @property
    def models(self):
        if self._models is None:
            self._models = small_video_eval_models()
        return self._models

    def sample(self, pipe, index: int, folder: Path) -> tuple[dict, object]:
        """One held-out clip -> (its scores, the generated VideoOutput)."""
        from idvid.eval.evaluate import evaluate_video
        from idvid.video import write_video

        meta = self.dataset.metas[index]
        targets, refs, chosen, _, _ = self.dataset.plan(index)
        first = folder / f"{meta['clip_id']}.first.png"  # the image condition of image-to-video backbones
        _write_png(self.dataset.store.read_frames(meta["clip_id"], targets[:1])[0], first)
        faces = reference_observations(refs, chosen, (meta["height"], meta["width"]), str(first))
        v = self.config
        video = pipe(prompt=meta["caption"] or "a person", faces=faces, num_frames=self.num_frames,
                     height=meta["height"], width=meta["width"], num_inference_steps=v.num_inference_steps,
                     guidance_scale=v.guidance_scale, identity_guidance_scale=v.identity_guidance_scale, seed=index)
        write_video(video.frames, folder / f"{meta['clip_id']}.mp4", fps=meta.get("fps", 8), overwrite=True)
        result = evaluate_video(video.frames, faces, meta["caption"], metrics=list(METRICS), models=self.models,
                                fps=meta.get("fps", 8))
        return {"clip_id": meta["clip_id"], **result.values}, video

    def run(self, pipe, step: int, is_main: bool = True) -> dict[str, float]:
        """Sample and score every validation clip (main process only) -> mean of each score."""
        if not is_main:
            return {}
        folder = self.out / f"step-{step:07d}"
        folder.mkdir(parents=True, exist_ok=True)
        pipe.set_progress_bar_config(disable=True)
        rows = [self.sample(pipe, index, folder)[0] for index in self.indices]
        with (self.out / "scores.jsonl").open("a") as f:
            for row in rows:
                f.write(json.dumps({"step": step, **{k: _finite(v) for k, v in row.items()}}) + "\n")
        keys = [k for k in rows[0] if k != "clip_id"]
        return {k: float(np.nanmean([r[k] for r in rows])) if any(math.isfinite(r[k]) for r in rows) else math.nan
                for k in keys}


def _write_png(frame: np.ndarray, path: Path) -> None:
    from PIL import Image

    Image.fromarray(frame).save(path)


def _finite(value):
    return value if not isinstance(value, float) or math.isfinite(value) else None
